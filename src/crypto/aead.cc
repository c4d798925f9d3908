#include "crypto/aead.h"

#include <sodium.h>

#include "absl/strings/str_cat.h"
#include "crypto/sodium_bytes.h"

namespace lanevault::crypto::internal {
namespace {

constexpr size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t kTagBytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;
static_assert(kAeadKeyBytes == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);

}  // namespace

std::string AeadEncrypt(const SecureBytes& key, absl::string_view plaintext,
                        absl::string_view ad) {
  std::string out(kNonceBytes + plaintext.size() + kTagBytes, '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(out.data());
  randombytes_buf(nonce, kNonceBytes);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      nonce + kNonceBytes, &written, U(plaintext), plaintext.size(), U(ad),
      ad.size(), nullptr, nonce, key.data());
  out.resize(kNonceBytes + written);
  return out;
}

// `short_lived`: the result lives for one call (see SecureBytes).
absl::StatusOr<SecureBytes> AeadDecrypt(const SecureBytes& key,
                                        absl::string_view sealed,
                                        absl::string_view ad,
                                        absl::string_view what,
                                        bool short_lived) {
  if (sealed.size() < kNonceBytes + kTagBytes) {
    return absl::DataLossError(absl::StrCat(what, " is truncated"));
  }
  SecureBytes out =
      short_lived
          ? SecureBytes::ShortLived(sealed.size() - kNonceBytes - kTagBytes)
          : SecureBytes(sealed.size() - kNonceBytes - kTagBytes);
  unsigned long long written = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          out.data(), &written, nullptr, U(sealed) + kNonceBytes,
          sealed.size() - kNonceBytes, U(ad), ad.size(), U(sealed),
          key.data()) != 0) {
    return absl::DataLossError(
        absl::StrCat(what, " failed authentication (damaged or moved)"));
  }
  return out;
}

}  // namespace lanevault::crypto::internal
