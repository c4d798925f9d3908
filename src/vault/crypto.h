#ifndef LANEVAULT_VAULT_CRYPTO_H_
#define LANEVAULT_VAULT_CRYPTO_H_

// The vault's whole cryptographic surface. This header and crypto.cc are the
// only code in the project that calls libsodium; callers never see nonces,
// raw key bytes or algorithm choices.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

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
  // For bytes that live for one call (a data key, an opened item): locked
  // and zeroed on release like the others, but on the ordinary heap,
  // without guard pages. Guard pages cost an mmap and mprotects per
  // buffer, and their TLB flushes across cores halved read throughput.
  static SecureBytes ShortLived(size_t size);
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
  void Release();
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  bool guarded_ = true;
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

// An item's ciphertext and its data key, wrapped by a key-encryption key.
struct SealedItem {
  std::string wrapped_key;  // nonce || XChaCha20-Poly1305(KEK, data key)
  std::string ciphertext;   // nonce || XChaCha20-Poly1305(data key, item)
  // The KEK version that wrapped the data key. Version 0 is the master key
  // itself: items sealed before the vault had versioned KEKs.
  uint32_t key_version = 0;
};

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
  // Argon2id over the passphrase and salt. RESOURCE_EXHAUSTED when the
  // memory limit cannot be met; INVALID_ARGUMENT for a bad salt.
  static absl::StatusOr<MasterKey> FromPassphrase(
      const SecureBytes& passphrase, absl::string_view salt,
      const PassphraseParams& params);

  MasterKey(MasterKey&&) = default;
  MasterKey& operator=(MasterKey&&) = default;

 private:
  friend class KeyRing;
  friend class SigningKey;
  friend class BlindIndex;
  friend class IntakeKey;
  explicit MasterKey(SecureBytes key) : key_(std::move(key)) {}
  SecureBytes key_;
};

// A key-encryption key as stored: wrapped by the master key, with the
// version bound into the wrapping so rows cannot be swapped.
struct WrappedKek {
  uint32_t version = 0;
  std::string wrapped;
};

// The key hierarchy in memory: the master key and every KEK version still in
// use, each in guarded memory. Seal draws a fresh random data key per item,
// encrypts under it with XChaCha20-Poly1305 and wraps it with the current
// KEK; `associated_data` is authenticated by both layers, so a ciphertext or
// wrapped key moved to another item, or whose bound fields were edited,
// fails to open. Thread-safe.
class KeyRing {
 public:
  explicit KeyRing(MasterKey master);

  // A new random KEK under `version`, added to the ring (not yet current);
  // returns the form to store.
  WrappedKek NewKek(uint32_t version);
  // Unwraps a stored KEK into the ring. PERMISSION_DENIED when the master
  // key does not open it (the wrong key file or passphrase).
  absl::Status AddKek(const WrappedKek& kek);
  // New seals use `version` (which must be in the ring, or 0).
  void SetCurrent(uint32_t version);
  uint32_t current() const;
  // Zeroes and drops a KEK version (its destruction).
  void Forget(uint32_t version);
  bool Has(uint32_t version) const;

  absl::StatusOr<SealedItem> Seal(absl::string_view plaintext,
                                  absl::string_view associated_data) const;
  // DATA_LOSS when either layer fails to authenticate (damage or tampering);
  // NOT_FOUND when the item's KEK version is not in the ring.
  absl::StatusOr<SecureBytes> Open(const SealedItem& sealed,
                                   absl::string_view associated_data) const;
  // The item's data key re-wrapped under `to_version`; the ciphertext is
  // untouched. Same errors as Open.
  absl::StatusOr<std::string> Rewrap(const SealedItem& sealed,
                                     absl::string_view associated_data,
                                     uint32_t to_version) const;

 private:
  std::shared_ptr<const SecureBytes> Kek(uint32_t version) const;
  absl::StatusOr<SecureBytes> OpenDataKey(
      const SealedItem& sealed, absl::string_view associated_data) const;

  const MasterKey master_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<uint32_t, std::shared_ptr<const SecureBytes>> keks_
      ABSL_GUARDED_BY(mu_);
  uint32_t current_ ABSL_GUARDED_BY(mu_) = 0;
};

// The blind index over plate text: keyed BLAKE2b of the normalised plate
// under a key of its own (derived from the master key for this one use), so
// an exact plate can be looked up while the text is stored only encrypted,
// and the index value means nothing without the vault host.
class BlindIndex {
 public:
  // The plate index's key. Other uses pass their own subkey id and
  // 8-character context, so no two uses share a key.
  static BlindIndex DeriveFrom(const MasterKey& master, uint64_t subkey_id = 1,
                               const char (&context)[9] = "lvplate1");
  // Uppercase letters and digits only: "kxr-4821 " and "KXR4821" are one
  // plate.
  static std::string Normalize(absl::string_view plate);
  // 32 bytes; the same plate always gives the same value. Empty for a plate
  // with no letters or digits.
  std::string Of(absl::string_view plate) const;
  // 32 bytes of keyed BLAKE2b over `data` exactly as given.
  std::string Mac(absl::string_view data) const;

 private:
  explicit BlindIndex(SecureBytes key) : key_(std::move(key)) {}
  SecureBytes key_;
};

}  // namespace lanevault::vault

#endif  // LANEVAULT_VAULT_CRYPTO_H_
