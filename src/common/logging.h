#ifndef LANEVAULT_COMMON_LOGGING_H_
#define LANEVAULT_COMMON_LOGGING_H_

#include <memory>

#include "absl/strings/string_view.h"
#include "spdlog/formatter.h"
#include "spdlog/spdlog.h"

// Debian's Abseil has its own string_view type; let fmt print it.
template <>
struct fmt::formatter<absl::string_view> : fmt::formatter<fmt::string_view> {
  template <typename Context>
  auto format(absl::string_view s, Context& ctx) const {
    return fmt::formatter<fmt::string_view>::format(
        fmt::string_view(s.data(), s.size()), ctx);
  }
};

namespace lanevault {

// Sends logs to stderr in one format for everything the process prints:
//   plain  "2026-12-03T04:10:35.123Z info lanevaultd: message"
//   json   {"ts":"2026-12-03T04:10:35.123Z","level":"info",
//           "logger":"lanevaultd","msg":"message","fields":{"thread":123}}
//          one object a line; a library's line also has "file" and "line"
//          in fields when the library gave them.
// Fails the program (exit 2) for another `format`. Logs never carry
// secrets, plate text, principal names or image bytes: log ids and counts
// instead.
void InitLogging(absl::string_view program, absl::string_view level,
                 absl::string_view format = "plain");

// The formatter InitLogging gives its sinks for `format` ("plain" or
// "json"): in both, a message's control characters are escaped, so one call
// is one line; json also replaces invalid UTF-8 with U+FFFD.
std::unique_ptr<spdlog::formatter> MakeLogFormatter(absl::string_view format);

// A logger for the lines of a library the process links ("grpc", "ffmpeg"):
// the program's sinks, format and level, named "<program>.<library>".
std::shared_ptr<spdlog::logger> LibraryLogger(absl::string_view library);

// FFmpeg (which OpenCV's video sources use) writes its own lines to stderr
// ("[tcp @ 0x…] Connection refused"): sends them through
// LibraryLogger("ffmpeg") instead: errors as errors, warnings as debug
// lines (a poor stream makes hundreds). Found at run
// time in the process (no link to libavutil); false when FFmpeg is not
// loaded. OpenCV's own logging is set to errors only (OPENCV_LOG_LEVEL)
// unless the environment says otherwise. Call before the first capture.
bool RouteFfmpegLogs();

}  // namespace lanevault

#endif  // LANEVAULT_COMMON_LOGGING_H_
