#ifndef LANEVAULT_CRYPTO_BLIND_INDEX_H_
#define LANEVAULT_CRYPTO_BLIND_INDEX_H_

// Exact-match lookup over text that is stored only encrypted.
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "crypto/master_key.h"
#include "crypto/secure_bytes.h"

namespace lanevault::crypto {

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
  // Of(plate) within one scope (a time cell the caller names, e.g. "hour
  // 490311"): under a key derived from this one for that scope, so the same
  // plate gives unrelated values in different scopes, and rows indexed
  // under different scopes cannot be matched without this key. Empty where
  // Of is.
  std::string OfScope(absl::string_view plate, absl::string_view scope) const;
  // Whether `mac` is Mac(data), or its first 16 or more bytes, compared in
  // constant time.
  bool Verify(absl::string_view data, absl::string_view mac) const;

 private:
  explicit BlindIndex(SecureBytes key) : key_(std::move(key)) {}
  SecureBytes key_;
};

}  // namespace lanevault::crypto

#endif  // LANEVAULT_CRYPTO_BLIND_INDEX_H_
