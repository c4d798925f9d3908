#ifndef LANEVAULT_CRYPTO_SIGNING_H_
#define LANEVAULT_CRYPTO_SIGNING_H_

// Ed25519 signatures: the access log's checkpoints, officers' contract
// approvals.
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "crypto/master_key.h"
#include "crypto/secure_bytes.h"

namespace lanevault::crypto {

// An Ed25519 signature check. True only for a valid signature by `public_key`.
bool VerifyEd25519(absl::string_view public_key, absl::string_view message,
                   absl::string_view signature);

// An Ed25519 key for signing the access log's checkpoints, derived from the
// master key (libsodium's KDF, its own context), so it lives and dies with
// the vault host and needs no file of its own. Thread-safe.
class SigningKey {
 public:
  static SigningKey DeriveFrom(const MasterKey& master,
                               absl::string_view context);
  // A key of its own from a 32-byte seed (the access log's, kept wrapped in
  // the key store). INVALID_ARGUMENT for another length.
  static absl::StatusOr<SigningKey> FromSeed(const SecureBytes& seed);
  // 32 random bytes for FromSeed.
  static SecureBytes NewSeed();
  // A person's own key (a compliance officer's) in a 0600 file holding its
  // 32-byte seed. CreateKeyFile refuses to overwrite; LoadFromFile refuses
  // a file others can read.
  static absl::Status CreateKeyFile(const std::string& path);
  static absl::StatusOr<SigningKey> LoadFromFile(const std::string& path);
  std::string Sign(absl::string_view message) const;  // 64 bytes
  const std::string& public_key() const { return public_key_; }

 private:
  SigningKey(SecureBytes secret, std::string public_key)
      : secret_(std::move(secret)), public_key_(std::move(public_key)) {}
  SecureBytes secret_;
  std::string public_key_;
};

}  // namespace lanevault::crypto

#endif  // LANEVAULT_CRYPTO_SIGNING_H_
