#include "crypto/blind_index.h"

#include <sodium.h>

#include "absl/strings/str_cat.h"
#include "crypto/sodium_bytes.h"

namespace lanevault::crypto {
using internal::U;

BlindIndex BlindIndex::DeriveFrom(const MasterKey& master, uint64_t subkey_id,
                                  const char (&context)[9]) {
  return BlindIndex(
      master.DeriveSubkey(crypto_generichash_KEYBYTES, subkey_id, context));
}

std::string BlindIndex::Normalize(absl::string_view plate) {
  std::string out;
  for (char c : plate) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) out.push_back(c);
  }
  return out;
}

namespace {

// 32 bytes of BLAKE2b over `data` under `key` (crypto_generichash_KEYBYTES).
std::string KeyedHash(absl::string_view data, const uint8_t* key) {
  std::string out(32, '\0');
  crypto_generichash(reinterpret_cast<unsigned char*>(out.data()), out.size(),
                     U(data), data.size(), key, crypto_generichash_KEYBYTES);
  return out;
}

}  // namespace

std::string BlindIndex::Of(absl::string_view plate) const {
  std::string normal = Normalize(plate);
  if (normal.empty()) return "";
  std::string out = Mac(normal);
  Wipe(normal);
  return out;
}

std::string BlindIndex::Mac(absl::string_view data) const {
  return KeyedHash(data, key_.data());
}

std::string BlindIndex::OfScope(absl::string_view plate,
                                absl::string_view scope) const {
  std::string normal = Normalize(plate);
  if (normal.empty()) return "";
  // The scope's key in a plain string, wiped after: a lookup derives one for
  // every cell a plate may be kept until, and a locked allocation each cost
  // more than the hashing.
  std::string scope_key =
      Mac(absl::StrCat("lanevault-plate-scope-v1\n", scope));
  std::string out = KeyedHash(normal, U(scope_key));
  Wipe(scope_key);
  Wipe(normal);
  return out;
}

bool BlindIndex::Verify(absl::string_view data, absl::string_view mac) const {
  const std::string expected = Mac(data);
  return mac.size() >= 16 && mac.size() <= expected.size() &&
         sodium_memcmp(mac.data(), expected.data(), mac.size()) == 0;
}

}  // namespace lanevault::crypto
