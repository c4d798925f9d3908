#ifndef LANEVAULT_CRYPTO_HMAC_H_
#define LANEVAULT_CRYPTO_HMAC_H_

// HMAC-SHA256 (RFC 2104), for messages a receiver outside the vault checks
// with a shared key (the alert webhook's signature).
#include <string>

#include "absl/strings/string_view.h"

namespace lanevault::crypto {

// HMAC-SHA256 of `message` under `key` (any length), 32 bytes.
std::string HmacSha256(absl::string_view key, absl::string_view message);

// Compares two strings in time that depends on their length only.
bool ConstantTimeEqual(absl::string_view a, absl::string_view b);

}  // namespace lanevault::crypto

#endif  // LANEVAULT_CRYPTO_HMAC_H_
