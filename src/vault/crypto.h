#ifndef LANEVAULT_VAULT_CRYPTO_H_
#define LANEVAULT_VAULT_CRYPTO_H_

// The vault's whole cryptographic surface. This header and crypto.cc are the
// only code in the project that calls libsodium; callers never see nonces,
// raw key bytes or algorithm choices.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace lanevault::vault {

// Initialises libsodium. Idempotent and thread-safe; every other function
// here calls it, so callers only need it to fail early.
absl::Status InitCrypto();

// Bytes in libsodium's guarded memory: locked (never swapped), fenced by
// guard pages, and zeroed when freed. Holds keys and decrypted plaintext.
// Movable, not copyable.
class SecureBytes {
 public:
  SecureBytes() = default;
  explicit SecureBytes(size_t size);  // zero-filled; aborts if out of memory
  ~SecureBytes();
  SecureBytes(SecureBytes&& other) noexcept;
  SecureBytes& operator=(SecureBytes&& other) noexcept;
  SecureBytes(const SecureBytes&) = delete;
  SecureBytes& operator=(const SecureBytes&) = delete;

  static SecureBytes CopyOf(absl::string_view bytes);

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  absl::string_view view() const {
    return {reinterpret_cast<const char*>(data_), size_};
  }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Overwrites a std::string's bytes with zeros (for plaintext that had to
// pass through ordinary memory, such as a protobuf field).
void Wipe(std::string& s);

// SHA-256 of `data` (32 bytes).
std::string Sha256(absl::string_view data);

// An Ed25519 signature check. True only for a valid signature by `public_key`.
bool VerifyEd25519(absl::string_view public_key, absl::string_view message,
                   absl::string_view signature);

class MasterKey;

// An Ed25519 key for signing the access log's checkpoints, derived from the
// master key (libsodium's KDF, its own context), so it lives and dies with
// the vault host and needs no file of its own. Thread-safe.
class SigningKey {
 public:
  static SigningKey DeriveFrom(const MasterKey& master,
                               absl::string_view context);
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

// An item's ciphertext and its data key, wrapped by a key-encryption key.
struct SealedItem {
  std::string wrapped_key;  // nonce || XChaCha20-Poly1305(KEK, data key)
  std::string ciphertext;   // nonce || XChaCha20-Poly1305(data key, item)
  uint32_t key_version = 0;
};

// The root of the key hierarchy: 32 random bytes in a 0600 file on the vault
// host. It never leaves that host and never reaches a log.
class MasterKey {
 public:
  // Creates a new key file with mode 0600. ALREADY_EXISTS if it exists.
  static absl::Status CreateKeyFile(const std::string& path);
  // Loads a key file; FAILED_PRECONDITION if group or others can read it,
  // INVALID_ARGUMENT if it is not exactly 32 bytes.
  static absl::StatusOr<MasterKey> LoadFromFile(const std::string& path);

  MasterKey(MasterKey&&) = default;
  MasterKey& operator=(MasterKey&&) = default;

 private:
  friend class Envelope;
  friend class SigningKey;
  explicit MasterKey(SecureBytes key) : key_(std::move(key)) {}
  SecureBytes key_;
};

// Envelope encryption: each Seal draws a fresh random data key, encrypts the
// plaintext under it with XChaCha20-Poly1305, and wraps the data key under
// the key-encryption key. `associated_data` is authenticated by both layers,
// so a ciphertext or wrapped key moved to another item, or whose bound
// fields were edited, fails to open. Thread-safe.
class Envelope {
 public:
  explicit Envelope(MasterKey kek, uint32_t key_version = 1);

  absl::StatusOr<SealedItem> Seal(absl::string_view plaintext,
                                  absl::string_view associated_data) const;
  // DATA_LOSS when either layer fails to authenticate (damage or tampering).
  absl::StatusOr<SecureBytes> Open(const SealedItem& sealed,
                                   absl::string_view associated_data) const;

 private:
  MasterKey kek_;
  uint32_t key_version_;
};

}  // namespace lanevault::vault

#endif  // LANEVAULT_VAULT_CRYPTO_H_
