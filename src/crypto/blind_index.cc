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

std::string BlindIndex::Of(absl::string_view plate) const {
  std::string normal = Normalize(plate);
  if (normal.empty()) return "";
  std::string out = Mac(normal);
  Wipe(normal);
  return out;
}

std::string BlindIndex::Mac(absl::string_view data) const {
  std::string out(32, '\0');
  crypto_generichash(reinterpret_cast<unsigned char*>(out.data()), out.size(),
                     U(data), data.size(), key_.data(), key_.size());
  return out;
}

std::string BlindIndex::OfScope(absl::string_view plate,
                                absl::string_view scope) const {
  std::string normal = Normalize(plate);
  if (normal.empty()) return "";
  // The scope's key on the stack, wiped after: a lookup derives one for
  // every cell a plate may be kept until, and a locked allocation each cost
  // more than the hashing.
  unsigned char scope_key[crypto_generichash_KEYBYTES];
  const std::string label = absl::StrCat("lanevault-plate-scope-v1\n", scope);
  crypto_generichash(scope_key, sizeof scope_key, U(label), label.size(),
                     key_.data(), key_.size());
  std::string out(32, '\0');
  crypto_generichash(reinterpret_cast<unsigned char*>(out.data()), out.size(),
                     U(normal), normal.size(), scope_key, sizeof scope_key);
  sodium_memzero(scope_key, sizeof scope_key);
  Wipe(normal);
  return out;
}

bool BlindIndex::Verify(absl::string_view data, absl::string_view mac) const {
  const std::string expected = Mac(data);
  return mac.size() >= 16 && mac.size() <= expected.size() &&
         sodium_memcmp(mac.data(), expected.data(), mac.size()) == 0;
}

}  // namespace lanevault::crypto
