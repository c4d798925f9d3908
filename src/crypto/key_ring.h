#ifndef LANEVAULT_CRYPTO_KEY_RING_H_
#define LANEVAULT_CRYPTO_KEY_RING_H_

// Envelope encryption with versioned key-encryption keys.
#include <cstdint>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "crypto/master_key.h"
#include "crypto/secure_bytes.h"

namespace lanevault::crypto {

// An item's ciphertext and its data key, wrapped by a key-encryption key.
struct SealedItem {
  std::string wrapped_key;  // nonce || XChaCha20-Poly1305(KEK, data key)
  std::string ciphertext;   // nonce || XChaCha20-Poly1305(data key, item)
  // The KEK version that wrapped the data key. Version 0 is the master key
  // itself: items sealed before the vault had versioned KEKs.
  uint32_t key_version = 0;
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
  // returns the form to store. `binding` (what the KEK is for: its retention
  // period) is authenticated with the version, so a stored row cannot be
  // relabelled.
  WrappedKek NewKek(uint32_t version, absl::string_view binding = "");
  // Unwraps a stored KEK into the ring. PERMISSION_DENIED when the master
  // key does not open it (the wrong key file or passphrase, or a row whose
  // binding was edited).
  absl::Status AddKek(const WrappedKek& kek, absl::string_view binding = "");
  // New seals use `version` (which must be in the ring, or 0).
  void SetCurrent(uint32_t version);
  uint32_t current() const;
  // Zeroes and drops a KEK version (its destruction).
  void Forget(uint32_t version);
  bool Has(uint32_t version) const;

  absl::StatusOr<SealedItem> Seal(absl::string_view plaintext,
                                  absl::string_view associated_data) const;
  // Seals under `version` instead of the current one (a retention period's
  // KEK). NOT_FOUND when the version is not in the ring.
  absl::StatusOr<SealedItem> SealWith(uint32_t version,
                                      absl::string_view plaintext,
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

}  // namespace lanevault::crypto

#endif  // LANEVAULT_CRYPTO_KEY_RING_H_
