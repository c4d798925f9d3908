#include "common/ids.h"

#include <sys/random.h>

#include <cstdlib>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace lanevault {
namespace {
constexpr size_t kIdBytes = 16;
}  // namespace

std::string RandomBytes(size_t n) {
  std::string bytes(n, '\0');
  size_t filled = 0;
  while (filled < n) {
    ssize_t got = getrandom(bytes.data() + filled, n - filled, 0);
    if (got < 0) std::abort();  // the kernel's CSPRNG failing is not survivable
    filled += static_cast<size_t>(got);
  }
  return bytes;
}

uint32_t RandomBelow(uint32_t n) {
  // Rejection sampling: no modulo bias.
  const uint32_t limit = UINT32_MAX - UINT32_MAX % n;
  while (true) {
    uint32_t v = 0;
    const std::string b = RandomBytes(sizeof v);
    std::memcpy(&v, b.data(), sizeof v);
    if (v < limit) return v % n;
  }
}

std::string NewId(absl::string_view prefix) {
  return absl::StrCat(prefix, absl::BytesToHexString(RandomBytes(kIdBytes)));
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
