#include "crypto/master_key.h"

#include <sodium.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "crypto/aead.h"
#include "crypto/key_file.h"
#include "crypto/sodium_bytes.h"

namespace lanevault::crypto {
using internal::kAeadKeyBytes;
using internal::U;
constexpr size_t kKeyBytes = kAeadKeyBytes;

absl::Status MasterKey::CreateKeyFile(const std::string& path) {
  return CreateKeyFileOf32Bytes(path);
}

absl::StatusOr<MasterKey> MasterKey::LoadFromFile(const std::string& path) {
  absl::StatusOr<SecureBytes> key = LoadKeyFileOf32Bytes(path);
  if (!key.ok()) return key.status();
  return MasterKey(*std::move(key));
}

absl::StatusOr<MasterKey> MasterKey::FromBytes(const SecureBytes& key) {
  if (key.size() != kKeyBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a master key is ", kKeyBytes, " bytes, not ", key.size()));
  }
  return MasterKey(SecureBytes::CopyOf(key.view()));
}

std::string NewPassphraseSalt() {
  if (sodium_init() < 0) std::abort();
  std::string salt(crypto_pwhash_SALTBYTES, '\0');
  randombytes_buf(salt.data(), salt.size());
  return salt;
}

absl::StatusOr<MasterKey> MasterKey::FromPassphrase(
    const SecureBytes& passphrase, absl::string_view salt,
    const PassphraseParams& params) {
  if (absl::Status s = InitCrypto(); !s.ok()) return s;
  if (salt.size() != crypto_pwhash_SALTBYTES) {
    return absl::InvalidArgumentError(
        absl::StrCat("a passphrase salt is ", crypto_pwhash_SALTBYTES,
                     " bytes, not ", salt.size()));
  }
  if (passphrase.size() < 12) {
    return absl::InvalidArgumentError(
        "the passphrase is too short (at least 12 characters)");
  }
  SecureBytes key(kKeyBytes);
  if (crypto_pwhash(key.data(), key.size(),
                    reinterpret_cast<const char*>(passphrase.data()),
                    passphrase.size(), U(salt), params.ops_limit,
                    static_cast<size_t>(params.mem_limit),
                    crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "Argon2id could not get ", params.mem_limit >> 20, " MiB of memory"));
  }
  return MasterKey(std::move(key));
}

SecureBytes MasterKey::DeriveSubkey(size_t bytes, uint64_t subkey_id,
                                    const char (&context)[9]) const {
  SecureBytes key(bytes);
  crypto_kdf_derive_from_key(key.data(), key.size(), subkey_id, context,
                             key_.data());
  return key;
}

std::string MasterKey::Wrap(const SecureBytes& secret,
                            absl::string_view purpose) const {
  return internal::AeadEncrypt(key_, secret.view(),
                               absl::StrCat("lanevault.secret.v1;", purpose));
}

absl::StatusOr<SecureBytes> MasterKey::Unwrap(absl::string_view wrapped,
                                              absl::string_view purpose) const {
  absl::StatusOr<SecureBytes> secret = internal::AeadDecrypt(
      key_, wrapped, absl::StrCat("lanevault.secret.v1;", purpose), purpose);
  if (!secret.ok()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "the master key does not open the vault's ", purpose,
        " (the wrong key, shares or passphrase, or a damaged key store)"));
  }
  return secret;
}

}  // namespace lanevault::crypto
