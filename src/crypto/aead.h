#ifndef LANEVAULT_CRYPTO_AEAD_H_
#define LANEVAULT_CRYPTO_AEAD_H_

// XChaCha20-Poly1305 with a fresh random nonce: the one symmetric cipher
// the module uses (the key ring wraps and seals with it). Internal to
// src/crypto/: callers outside use KeyRing.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "crypto/secure_bytes.h"

namespace lanevault::crypto::internal {

inline constexpr size_t kAeadKeyBytes = 32;

// nonce || ciphertext || tag. The nonce is 192 random bits: random nonces
// are safe for XChaCha20 at any volume this vault will see.
std::string AeadEncrypt(const SecureBytes& key, absl::string_view plaintext,
                        absl::string_view ad);

// DATA_LOSS naming `what` when truncated or not authentic. `short_lived`:
// the result lives for one call (see SecureBytes::ShortLived).
absl::StatusOr<SecureBytes> AeadDecrypt(const SecureBytes& key,
                                        absl::string_view sealed,
                                        absl::string_view ad,
                                        absl::string_view what,
                                        bool short_lived = false);

}  // namespace lanevault::crypto::internal

#endif  // LANEVAULT_CRYPTO_AEAD_H_
