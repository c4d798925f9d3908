#include "crypto/sealed_box.h"

#include <sodium.h>

#include "crypto/sodium_bytes.h"

namespace lanevault::crypto {
using internal::U;

IntakeKey IntakeKey::DeriveFrom(const MasterKey& master) {
  SecureBytes seed = master.DeriveSubkey(crypto_box_SEEDBYTES, 1, "lvintake");
  SecureBytes secret(crypto_box_SECRETKEYBYTES);
  std::string pub(crypto_box_PUBLICKEYBYTES, '\0');
  crypto_box_seed_keypair(reinterpret_cast<unsigned char*>(pub.data()),
                          secret.data(), seed.data());
  return IntakeKey(std::move(secret), std::move(pub));
}

absl::StatusOr<SecureBytes> IntakeKey::Open(absl::string_view sealed) const {
  if (sealed.size() < crypto_box_SEALBYTES) {
    return absl::InvalidArgumentError("the sealed record is too short");
  }
  SecureBytes plain(sealed.size() - crypto_box_SEALBYTES);
  if (crypto_box_seal_open(plain.data(), U(sealed), sealed.size(),
                           U(public_key_), secret_.data()) != 0) {
    return absl::InvalidArgumentError(
        "the record was not sealed to this vault's intake key, or was "
        "altered on the way");
  }
  return plain;
}

absl::StatusOr<std::string> IntakeKey::Seal(absl::string_view public_key,
                                            absl::string_view plaintext) {
  if (public_key.size() != crypto_box_PUBLICKEYBYTES) {
    return absl::InvalidArgumentError("an intake key is 32 bytes");
  }
  std::string out(plaintext.size() + crypto_box_SEALBYTES, '\0');
  crypto_box_seal(reinterpret_cast<unsigned char*>(out.data()), U(plaintext),
                  plaintext.size(), U(public_key));
  return out;
}

}  // namespace lanevault::crypto
