#include "common/logging.h"

#include <dlfcn.h>

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/json_logging.h"
#include "common/program.h"
#include "spdlog/pattern_formatter.h"
#include "spdlog/sinks/stdout_sinks.h"

namespace lanevault {
namespace {

constexpr char kPlainPattern[] = "%Y-%m-%dT%H:%M:%S.%eZ %l %n: %*";

// Length of the valid UTF-8 sequence at the start of `s`, or 0 where it is
// not one (a stray continuation byte, an overlong form, a surrogate, a
// truncated sequence): such bytes become U+FFFD, so a hostile string in a
// line (a lane id, a camera's error text) cannot make the JSON invalid.
size_t Utf8SequenceLength(fmt::string_view s) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char b0 = byte(0);
  if (b0 < 0x80) return 1;
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xbf;  // the second byte's range
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    n = 2;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    n = 3;
    if (b0 == 0xe0) lo = 0xa0;
    if (b0 == 0xed) hi = 0x9f;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    n = 4;
    if (b0 == 0xf0) lo = 0x90;
    if (b0 == 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  if (s.size() < n) return 0;
  if (byte(1) < lo || byte(1) > hi) return 0;
  for (size_t i = 2; i < n; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xbf) return 0;
  }
  return n;
}

void AppendJsonString(fmt::string_view s, spdlog::memory_buf_t& out) {
  out.push_back('"');
  for (size_t i = 0; i < s.size();) {
    const char c = s[i];
    switch (c) {
      case '"':
        out.append(std::string_view("\\\""));
        ++i;
        continue;
      case '\\':
        out.append(std::string_view("\\\\"));
        ++i;
        continue;
      case '\n':
        out.append(std::string_view("\\n"));
        ++i;
        continue;
      case '\r':
        out.append(std::string_view("\\r"));
        ++i;
        continue;
      case '\t':
        out.append(std::string_view("\\t"));
        ++i;
        continue;
      default:
        break;
    }
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      fmt::format_to(std::back_inserter(out), "\\u{:04x}",
                     static_cast<unsigned>(u));
      ++i;
      continue;
    }
    const size_t n =
        Utf8SequenceLength(fmt::string_view(s.data() + i, s.size() - i));
    if (n == 0) {
      out.append(std::string_view("\\ufffd"));
      ++i;
    } else {
      out.append(s.data() + i, s.data() + i + n);
      i += n;
    }
  }
  out.push_back('"');
}

// A plain line is one line: a message's control characters (a newline in
// an error text from a camera or a peer) are written as escapes, so nothing
// a message carries can forge a second log line.
class EscapedMessage final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    for (const char c : msg.payload) {
      const auto u = static_cast<unsigned char>(c);
      if (c == '\n') {
        dest.append(std::string_view("\\n"));
      } else if (c == '\r') {
        dest.append(std::string_view("\\r"));
      } else if (c == '\t') {
        dest.append(std::string_view("\\t"));
      } else if (u < 0x20 || u == 0x7f) {
        fmt::format_to(std::back_inserter(dest), "\\x{:02x}",
                       static_cast<unsigned>(u));
      } else {
        dest.push_back(c);
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<EscapedMessage>();
  }
};

// One JSON object a line: ts, level, logger, msg, fields.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg,
              spdlog::memory_buf_t& dest) override {
    const auto since_epoch = msg.time.time_since_epoch();
    const auto seconds =
        std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
    const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(
        since_epoch - seconds);
    const std::time_t t = seconds.count();
    std::tm tm;
    gmtime_r(&t, &tm);
    fmt::format_to(std::back_inserter(dest),
                   "{{\"ts\":\"{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z\","
                   "\"level\":",
                   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                   tm.tm_min, tm.tm_sec, millis.count());
    const auto level = spdlog::level::to_string_view(msg.level);
    AppendJsonString(fmt::string_view(level.data(), level.size()), dest);
    dest.append(std::string_view(",\"logger\":"));
    AppendJsonString(
        fmt::string_view(msg.logger_name.data(), msg.logger_name.size()), dest);
    dest.append(std::string_view(",\"msg\":"));
    AppendJsonString(fmt::string_view(msg.payload.data(), msg.payload.size()),
                     dest);
    fmt::format_to(std::back_inserter(dest), ",\"fields\":{{\"thread\":{}",
                   msg.thread_id);
    if (!msg.source.empty()) {
      dest.append(std::string_view(",\"file\":"));
      AppendJsonString(msg.source.filename, dest);
      fmt::format_to(std::back_inserter(dest), ",\"line\":{}", msg.source.line);
    }
    dest.append(std::string_view("}}\n"));
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

std::atomic<bool> json_logging{false};

std::mutex& LibraryLoggersMu() {
  static std::mutex mu;
  return mu;
}

// FFmpeg's av_log callback, by its C signature (libavutil/log.h).
using AvLogCallback = void (*)(void*, int, const char*, va_list);
constexpr int kAvLogError = 16;
constexpr int kAvLogWarning = 24;

void FfmpegLine(void* avcl, int level, const char* fmt, va_list args) {
  if (level > kAvLogWarning) return;
  // av_log_format_line gives the "[tcp @ 0x…] " prefix FFmpeg's own
  // printer would; found beside av_log_set_callback.
  using FormatLine =
      void (*)(void*, int, const char*, va_list, char*, int, int*);
  static const auto format_line =
      reinterpret_cast<FormatLine>(dlsym(RTLD_DEFAULT, "av_log_format_line"));
  char line[1024];
  if (format_line != nullptr) {
    int print_prefix = 1;
    format_line(avcl, level, fmt, args, line, sizeof line, &print_prefix);
  } else {
    std::vsnprintf(line, sizeof line, fmt, args);
  }
  absl::string_view text = absl::StripTrailingAsciiWhitespace(line);
  if (text.empty()) return;
  static const std::shared_ptr<spdlog::logger> logger = LibraryLogger("ffmpeg");
  // FFmpeg's warnings (a damaged packet) come by the hundred on a poor
  // stream: they are debug lines here, as OpenCV keeps them out by default.
  logger->log(level <= kAvLogError ? spdlog::level::err : spdlog::level::debug,
              "{}", text);
}

}  // namespace

std::unique_ptr<spdlog::formatter> MakeLogFormatter(absl::string_view format) {
  if (format == "json") return std::make_unique<JsonFormatter>();
  auto plain = std::make_unique<spdlog::pattern_formatter>(
      spdlog::pattern_time_type::utc);
  plain->add_flag<EscapedMessage>('*').set_pattern(kPlainPattern);
  return plain;
}

void InitLogging(absl::string_view program, absl::string_view level,
                 absl::string_view format) {
  if (format != "plain" && format != "json") {
    Fail(absl::StrCat("--log_format is plain or json, not '", format, "'"), 2);
  }
  auto logger = spdlog::stderr_logger_mt(std::string(program));
  logger->set_formatter(MakeLogFormatter(format));
  json_logging = format == "json";
  logger->set_level(spdlog::level::from_str(std::string(level)));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

bool JsonLogging() { return json_logging; }

std::shared_ptr<spdlog::logger> LibraryLogger(absl::string_view library) {
  std::lock_guard lock(LibraryLoggersMu());
  const std::shared_ptr<spdlog::logger> main = spdlog::default_logger();
  const std::string name = absl::StrCat(main->name(), ".", library);
  if (auto existing = spdlog::get(name)) return existing;
  // The sinks carry the format; the level is the program's.
  auto logger = std::make_shared<spdlog::logger>(name, main->sinks().begin(),
                                                 main->sinks().end());
  logger->set_level(main->level());
  logger->flush_on(spdlog::level::info);
  spdlog::register_logger(logger);
  return logger;
}

bool RouteFfmpegLogs() {
  // OpenCV's own lines: errors only, unless asked for more.
  setenv("OPENCV_LOG_LEVEL", "ERROR", /*overwrite=*/0);
  using SetCallback = void (*)(AvLogCallback);
  const auto set_callback =
      reinterpret_cast<SetCallback>(dlsym(RTLD_DEFAULT, "av_log_set_callback"));
  if (set_callback == nullptr) return false;
  set_callback(&FfmpegLine);
  return true;
}

}  // namespace lanevault
