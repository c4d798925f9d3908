#include "crypto/signing.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>

#include "crypto/key_file.h"
#include "crypto/sodium_bytes.h"

namespace lanevault::crypto {
using internal::U;

bool VerifyEd25519(absl::string_view public_key, absl::string_view message,
                   absl::string_view signature) {
  if (sodium_init() < 0) return false;
  if (public_key.size() != crypto_sign_PUBLICKEYBYTES ||
      signature.size() != crypto_sign_BYTES) {
    return false;
  }
  return crypto_sign_verify_detached(U(signature), U(message), message.size(),
                                     U(public_key)) == 0;
}

SigningKey SigningKey::DeriveFrom(const MasterKey& master,
                                  absl::string_view context) {
  // crypto_kdf contexts are exactly 8 bytes.
  char ctx[crypto_kdf_CONTEXTBYTES + 1] = {};
  std::memcpy(ctx, context.data(), std::min(context.size(), sizeof(ctx) - 1));
  SecureBytes seed = master.DeriveSubkey(crypto_sign_SEEDBYTES, 1, ctx);
  SecureBytes secret(crypto_sign_SECRETKEYBYTES);
  std::string pub(crypto_sign_PUBLICKEYBYTES, '\0');
  crypto_sign_seed_keypair(reinterpret_cast<unsigned char*>(pub.data()),
                           secret.data(), seed.data());
  return SigningKey(std::move(secret), std::move(pub));
}

absl::StatusOr<SigningKey> SigningKey::FromSeed(const SecureBytes& seed) {
  if (seed.size() != crypto_sign_SEEDBYTES) {
    return absl::InvalidArgumentError("a signing seed is 32 bytes");
  }
  SecureBytes secret(crypto_sign_SECRETKEYBYTES);
  std::string pub(crypto_sign_PUBLICKEYBYTES, '\0');
  crypto_sign_seed_keypair(reinterpret_cast<unsigned char*>(pub.data()),
                           secret.data(), seed.data());
  return SigningKey(std::move(secret), std::move(pub));
}

SecureBytes SigningKey::NewSeed() {
  SecureBytes seed(crypto_sign_SEEDBYTES);
  randombytes_buf(seed.data(), seed.size());
  return seed;
}

absl::Status SigningKey::CreateKeyFile(const std::string& path) {
  return CreateKeyFileOf32Bytes(path);
}

absl::StatusOr<SigningKey> SigningKey::LoadFromFile(const std::string& path) {
  absl::StatusOr<SecureBytes> seed = LoadKeyFileOf32Bytes(path);
  if (!seed.ok()) return seed.status();
  return FromSeed(*seed);
}

std::string SigningKey::Sign(absl::string_view message) const {
  std::string sig(crypto_sign_BYTES, '\0');
  crypto_sign_detached(reinterpret_cast<unsigned char*>(sig.data()), nullptr,
                       U(message), message.size(), secret_.data());
  return sig;
}

}  // namespace lanevault::crypto
