#include "common/ids.h"

#include <sys/random.h>

#include <array>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace lanevault {
namespace {
constexpr size_t kIdBytes = 16;
}  // namespace

std::string NewId(absl::string_view prefix) {
  std::array<char, kIdBytes> bytes;
  size_t filled = 0;
  while (filled < bytes.size()) {
    ssize_t n = getrandom(bytes.data() + filled, bytes.size() - filled, 0);
    if (n < 0) std::abort();  // the kernel's CSPRNG failing is not survivable
    filled += static_cast<size_t>(n);
  }
  return absl::StrCat(prefix, absl::BytesToHexString(
                                  absl::string_view(bytes.data(), kIdBytes)));
}

bool IsWellFormedId(absl::string_view id, absl::string_view prefix) {
  if (!absl::StartsWith(id, prefix)) return false;
  id.remove_prefix(prefix.size());
  if (id.size() != 2 * kIdBytes) return false;
  for (char c : id) {
    if (!absl::ascii_isxdigit(c) || absl::ascii_isupper(c)) return false;
  }
  return true;
}

}  // namespace lanevault
