#ifndef LANEVAULT_COMMON_LOGGING_H_
#define LANEVAULT_COMMON_LOGGING_H_

#include "absl/strings/string_view.h"
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

// Sends logs to stderr as "time level program: message". Logs never carry
// secrets, plate text or image bytes: log ids and counts instead.
void InitLogging(absl::string_view program, absl::string_view level);

}  // namespace lanevault

#endif  // LANEVAULT_COMMON_LOGGING_H_
