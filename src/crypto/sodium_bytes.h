#ifndef LANEVAULT_CRYPTO_SODIUM_BYTES_H_
#define LANEVAULT_CRYPTO_SODIUM_BYTES_H_

// Internal to the crypto module: libsodium takes unsigned bytes.

#include "absl/strings/string_view.h"

namespace lanevault::crypto::internal {

inline const unsigned char* U(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace lanevault::crypto::internal

#endif  // LANEVAULT_CRYPTO_SODIUM_BYTES_H_
