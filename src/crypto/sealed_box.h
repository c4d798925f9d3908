#ifndef LANEVAULT_CRYPTO_SEALED_BOX_H_
#define LANEVAULT_CRYPTO_SEALED_BOX_H_

// Sealing to a public key: what a capture node can do and not undo.
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "crypto/master_key.h"
#include "crypto/secure_bytes.h"

namespace lanevault::crypto {

// The vault's intake key: capture nodes seal each crossing to its public
// half (a libsodium sealed box: X25519 + XSalsa20-Poly1305), so neither the
// network nor the node can read a record once it is sent.
class IntakeKey {
 public:
  static IntakeKey DeriveFrom(const MasterKey& master);
  const std::string& public_key() const { return public_key_; }  // 32 bytes
  // INVALID_ARGUMENT when the box was not sealed to this key or altered.
  absl::StatusOr<SecureBytes> Open(absl::string_view sealed) const;
  // What a capture node does: anyone may seal to a public key.
  static absl::StatusOr<std::string> Seal(absl::string_view public_key,
                                          absl::string_view plaintext);

 private:
  IntakeKey(SecureBytes secret, std::string public_key)
      : secret_(std::move(secret)), public_key_(std::move(public_key)) {}
  SecureBytes secret_;
  std::string public_key_;
};

}  // namespace lanevault::crypto

#endif  // LANEVAULT_CRYPTO_SEALED_BOX_H_
