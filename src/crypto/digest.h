#ifndef LANEVAULT_CRYPTO_DIGEST_H_
#define LANEVAULT_CRYPTO_DIGEST_H_

// Unkeyed digests.
#include <string>

#include "absl/strings/string_view.h"

namespace lanevault::crypto {

// SHA-256 of `data` (32 bytes).
std::string Sha256(absl::string_view data);

}  // namespace lanevault::crypto

#endif  // LANEVAULT_CRYPTO_DIGEST_H_
