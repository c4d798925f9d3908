#ifndef LANEVAULT_CRYPTO_MASTER_KEY_H_
#define LANEVAULT_CRYPTO_MASTER_KEY_H_

// The root of the vault's key hierarchy.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "crypto/secure_bytes.h"

namespace lanevault::crypto {

// How hard a passphrase is stretched (Argon2id). Stored beside the salt so a
// vault made with one setting still opens after the default changes.
struct PassphraseParams {
  uint64_t ops_limit = 3;             // libsodium's "moderate"
  uint64_t mem_limit = 256ull << 20;  // 256 MiB
};

// Random bytes for a passphrase salt (16 bytes).
std::string NewPassphraseSalt();

// Reads a secret (a passphrase) from a file descriptor straight into guarded
// memory, dropping one trailing newline. INVALID_ARGUMENT when empty.
absl::StatusOr<SecureBytes> ReadSecret(int fd);

// The root of the key hierarchy: 32 bytes that never leave the vault host and
// never reach a log. Either a 0600 file or a passphrase stretched with
// Argon2id.
class MasterKey {
 public:
  // Creates a new key file with mode 0600. ALREADY_EXISTS if it exists.
  static absl::Status CreateKeyFile(const std::string& path);
  // Loads a key file; FAILED_PRECONDITION if group or others can read it,
  // INVALID_ARGUMENT if it is not exactly 32 bytes.
  static absl::StatusOr<MasterKey> LoadFromFile(const std::string& path);
  // A copy of 32 bytes the caller holds (a key put together at unseal).
  // INVALID_ARGUMENT for any other length.
  static absl::StatusOr<MasterKey> FromBytes(const SecureBytes& key);
  // Argon2id over the passphrase and salt. RESOURCE_EXHAUSTED when the
  // memory limit cannot be met; INVALID_ARGUMENT for a bad salt.
  static absl::StatusOr<MasterKey> FromPassphrase(
      const SecureBytes& passphrase, absl::string_view salt,
      const PassphraseParams& params);

  MasterKey(MasterKey&&) = default;
  MasterKey& operator=(MasterKey&&) = default;

  // A key of `bytes` for one use, named by `subkey_id` and an 8-character
  // `context` (libsodium's KDF): no two uses share a key, and none reveals
  // the master key.
  SecureBytes DeriveSubkey(size_t bytes, uint64_t subkey_id,
                           const char (&context)[9]) const;

  // A secret of the vault's own (the access log's signing seed) wrapped by
  // this key under `purpose`, and unwrapped again; PERMISSION_DENIED when
  // this key does not open it (the wrong key, or a damaged key store).
  std::string Wrap(const SecureBytes& secret, absl::string_view purpose) const;
  absl::StatusOr<SecureBytes> Unwrap(absl::string_view wrapped,
                                     absl::string_view purpose) const;

 private:
  friend class KeyRing;  // wraps its KEKs with the key itself
  explicit MasterKey(SecureBytes key) : key_(std::move(key)) {}
  SecureBytes key_;
};

}  // namespace lanevault::crypto

#endif  // LANEVAULT_CRYPTO_MASTER_KEY_H_
