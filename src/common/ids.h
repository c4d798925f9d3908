#ifndef LANEVAULT_COMMON_IDS_H_
#define LANEVAULT_COMMON_IDS_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace lanevault {

// A new identifier: `prefix` followed by 128 random bits in lowercase hex.
// Random, not sequential, so that knowing one record id says nothing about
// the next one (walking ids is how bulk copies start).
std::string NewId(absl::string_view prefix);

// `n` bytes from the kernel's CSPRNG.
std::string RandomBytes(size_t n);
// Uniform in [0, n); n > 0.
uint32_t RandomBelow(uint32_t n);

// True if `id` has the form NewId(prefix) produces.
bool IsWellFormedId(absl::string_view id, absl::string_view prefix);

}  // namespace lanevault

#endif  // LANEVAULT_COMMON_IDS_H_
