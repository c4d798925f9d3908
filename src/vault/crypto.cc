#include "vault/crypto.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/files.h"

namespace lanevault::vault {
namespace {

constexpr size_t kKeyBytes = crypto_aead_xchacha20poly1305_ietf_KEYBYTES;
constexpr size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t kTagBytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;
static_assert(kKeyBytes == 32);

const unsigned char* U(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// nonce || ciphertext || tag, with a fresh random nonce (192 bits: random
// nonces are safe for XChaCha20 at any volume this vault will see).
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
                                        bool short_lived = false) {
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

}  // namespace

absl::Status InitCrypto() {
  if (sodium_init() < 0)
    return absl::InternalError("libsodium failed to start");
  return absl::OkStatus();
}

SecureBytes::SecureBytes(size_t size) : size_(size) {
  if (sodium_init() < 0) std::abort();
  // sodium_malloc(0) is valid but we keep one byte so data() is never null.
  data_ = static_cast<uint8_t*>(sodium_malloc(size == 0 ? 1 : size));
  if (data_ == nullptr) std::abort();
  sodium_memzero(data_, size == 0 ? 1 : size);
}

SecureBytes SecureBytes::ShortLived(size_t size) {
  SecureBytes out;
  out.size_ = size;
  out.guarded_ = false;
  out.data_ = new uint8_t[size == 0 ? 1 : size]();
  sodium_mlock(out.data_, size == 0 ? 1 : size);  // best effort: no swap
  return out;
}

void SecureBytes::Release() {
  if (data_ == nullptr) return;
  if (guarded_) {
    sodium_free(data_);  // zeroes before freeing
  } else {
    sodium_munlock(data_, size_ == 0 ? 1 : size_);  // zeroes, then unlocks
    delete[] data_;
  }
  data_ = nullptr;
}

SecureBytes::~SecureBytes() { Release(); }

SecureBytes::SecureBytes(SecureBytes&& other) noexcept
    : data_(other.data_), size_(other.size_), guarded_(other.guarded_) {
  other.data_ = nullptr;
  other.size_ = 0;
}

SecureBytes& SecureBytes::operator=(SecureBytes&& other) noexcept {
  if (this != &other) {
    Release();
    data_ = other.data_;
    size_ = other.size_;
    guarded_ = other.guarded_;
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

SecureBytes SecureBytes::CopyOf(absl::string_view bytes) {
  SecureBytes out(bytes.size());
  if (!bytes.empty()) std::memcpy(out.data(), bytes.data(), bytes.size());
  return out;
}

void Wipe(std::string& s) {
  if (!s.empty()) sodium_memzero(s.data(), s.size());
  s.clear();
}

std::string Sha256(absl::string_view data) {
  std::string out(crypto_hash_sha256_BYTES, '\0');
  crypto_hash_sha256(reinterpret_cast<unsigned char*>(out.data()), U(data),
                     data.size());
  return out;
}

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
  char ctx[crypto_kdf_CONTEXTBYTES] = {};
  std::memcpy(ctx, context.data(), std::min(context.size(), sizeof(ctx)));
  SecureBytes seed(crypto_sign_SEEDBYTES);
  crypto_kdf_derive_from_key(seed.data(), seed.size(), 1, ctx,
                             master.key_.data());
  SecureBytes secret(crypto_sign_SECRETKEYBYTES);
  std::string pub(crypto_sign_PUBLICKEYBYTES, '\0');
  crypto_sign_seed_keypair(reinterpret_cast<unsigned char*>(pub.data()),
                           secret.data(), seed.data());
  return SigningKey(std::move(secret), std::move(pub));
}

absl::Status SigningKey::CreateKeyFile(const std::string& path) {
  // The same 0600, never-overwrite file discipline as the master key.
  return MasterKey::CreateKeyFile(path);
}

absl::StatusOr<SigningKey> SigningKey::LoadFromFile(const std::string& path) {
  absl::StatusOr<MasterKey> seed = MasterKey::LoadFromFile(path);
  if (!seed.ok()) return seed.status();
  SecureBytes secret(crypto_sign_SECRETKEYBYTES);
  std::string pub(crypto_sign_PUBLICKEYBYTES, '\0');
  crypto_sign_seed_keypair(reinterpret_cast<unsigned char*>(pub.data()),
                           secret.data(), seed->key_.data());
  return SigningKey(std::move(secret), std::move(pub));
}

std::string SigningKey::Sign(absl::string_view message) const {
  std::string sig(crypto_sign_BYTES, '\0');
  crypto_sign_detached(reinterpret_cast<unsigned char*>(sig.data()), nullptr,
                       U(message), message.size(), secret_.data());
  return sig;
}

absl::Status MasterKey::CreateKeyFile(const std::string& path) {
  if (absl::Status s = InitCrypto(); !s.ok()) return s;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) {
      return absl::AlreadyExistsError(absl::StrCat(path, " already exists"));
    }
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create ", path, ": ", std::strerror(errno)));
  }
  SecureBytes key(kKeyBytes);
  randombytes_buf(key.data(), key.size());
  const bool ok =
      ::write(fd, key.data(), key.size()) == static_cast<ssize_t>(key.size()) &&
      ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());
    return absl::InternalError(absl::StrCat("cannot write ", path));
  }
  return absl::OkStatus();
}

absl::StatusOr<MasterKey> MasterKey::LoadFromFile(const std::string& path) {
  if (absl::Status s = InitCrypto(); !s.ok()) return s;
  if (absl::Status s = CheckPrivateFile(path); !s.ok()) return s;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  // Read straight into guarded memory; one byte more than a key tells us the
  // file is too long without reading it into ordinary memory.
  SecureBytes key(kKeyBytes + 1);
  ssize_t n = ::read(fd, key.data(), key.size());
  ::close(fd);
  if (n != static_cast<ssize_t>(kKeyBytes)) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, " is not a master key (expected exactly ", kKeyBytes, " bytes)"));
  }
  SecureBytes exact(kKeyBytes);
  std::memcpy(exact.data(), key.data(), kKeyBytes);
  return MasterKey(std::move(exact));
}

std::string NewPassphraseSalt() {
  if (sodium_init() < 0) std::abort();
  std::string salt(crypto_pwhash_SALTBYTES, '\0');
  randombytes_buf(salt.data(), salt.size());
  return salt;
}

absl::StatusOr<SecureBytes> ReadSecret(int fd) {
  if (absl::Status s = InitCrypto(); !s.ok()) return s;
  constexpr size_t kMax = 4096;
  SecureBytes buf(kMax);
  size_t used = 0;
  while (used < kMax) {
    ssize_t n = ::read(fd, buf.data() + used, kMax - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot read the passphrase: ", std::strerror(errno)));
    }
    if (n == 0) break;
    used += static_cast<size_t>(n);
    if (buf.data()[used - 1] == '\n') break;  // one line is enough
  }
  while (used > 0 &&
         (buf.data()[used - 1] == '\n' || buf.data()[used - 1] == '\r')) {
    --used;
  }
  if (used == 0) return absl::InvalidArgumentError("the passphrase is empty");
  SecureBytes out(used);
  std::memcpy(out.data(), buf.data(), used);
  return out;
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

namespace {

std::string KekAssociatedData(uint32_t version) {
  return absl::StrCat("lanevault.kek.v1;", version);
}

}  // namespace

KeyRing::KeyRing(MasterKey master) : master_(std::move(master)) {}

WrappedKek KeyRing::NewKek(uint32_t version) {
  auto kek = std::make_shared<SecureBytes>(kKeyBytes);
  crypto_aead_xchacha20poly1305_ietf_keygen(kek->data());
  WrappedKek out{version, AeadEncrypt(master_.key_, kek->view(),
                                      KekAssociatedData(version))};
  absl::MutexLock lock(&mu_);
  keks_[version] = std::move(kek);
  return out;
}

absl::Status KeyRing::AddKek(const WrappedKek& kek) {
  absl::StatusOr<SecureBytes> key =
      AeadDecrypt(master_.key_, kek.wrapped, KekAssociatedData(kek.version),
                  "key-encryption key");
  if (!key.ok() || key->size() != kKeyBytes) {
    return absl::PermissionDeniedError(absl::StrCat(
        "the master key does not open key-encryption key version ", kek.version,
        " (wrong key file or passphrase, or a damaged row)"));
  }
  absl::MutexLock lock(&mu_);
  keks_[kek.version] = std::make_shared<SecureBytes>(std::move(*key));
  return absl::OkStatus();
}

void KeyRing::SetCurrent(uint32_t version) {
  absl::MutexLock lock(&mu_);
  current_ = version;
}

uint32_t KeyRing::current() const {
  absl::MutexLock lock(&mu_);
  return current_;
}

void KeyRing::Forget(uint32_t version) {
  absl::MutexLock lock(&mu_);
  keks_.erase(version);  // SecureBytes zeroes it once no seal holds it
}

bool KeyRing::Has(uint32_t version) const {
  if (version == 0) return true;
  absl::MutexLock lock(&mu_);
  return keks_.contains(version);
}

std::shared_ptr<const SecureBytes> KeyRing::Kek(uint32_t version) const {
  if (version == 0) {
    // The master key itself (legacy items); aliasing keeps no copy.
    return std::shared_ptr<const SecureBytes>(std::shared_ptr<void>(),
                                              &master_.key_);
  }
  absl::MutexLock lock(&mu_);
  auto it = keks_.find(version);
  return it == keks_.end() ? nullptr : it->second;
}

absl::StatusOr<SealedItem> KeyRing::Seal(
    absl::string_view plaintext, absl::string_view associated_data) const {
  uint32_t version;
  {
    absl::MutexLock lock(&mu_);
    version = current_;
  }
  std::shared_ptr<const SecureBytes> kek = Kek(version);
  if (kek == nullptr) {
    return absl::InternalError(
        absl::StrCat("key-encryption key version ", version, " is not loaded"));
  }
  // One guarded, locked buffer per thread for data keys: guarded memory
  // costs an mmap, mprotect and mlock per allocation, too much per item.
  thread_local SecureBytes data_key(kKeyBytes);
  crypto_aead_xchacha20poly1305_ietf_keygen(data_key.data());
  SealedItem sealed;
  sealed.ciphertext = AeadEncrypt(data_key, plaintext, associated_data);
  sealed.wrapped_key = AeadEncrypt(*kek, data_key.view(), associated_data);
  sodium_memzero(data_key.data(), data_key.size());
  sealed.key_version = version;
  return sealed;
}

absl::StatusOr<SecureBytes> KeyRing::OpenDataKey(
    const SealedItem& sealed, absl::string_view associated_data) const {
  std::shared_ptr<const SecureBytes> kek = Kek(sealed.key_version);
  if (kek == nullptr) {
    return absl::NotFoundError(absl::StrCat("key-encryption key version ",
                                            sealed.key_version,
                                            " is not in the key ring"));
  }
  absl::StatusOr<SecureBytes> data_key =
      AeadDecrypt(*kek, sealed.wrapped_key, associated_data, "wrapped data key",
                  /*short_lived=*/true);
  if (!data_key.ok()) return data_key.status();
  if (data_key->size() != kKeyBytes) {
    return absl::DataLossError("wrapped data key has the wrong length");
  }
  return data_key;
}

absl::StatusOr<SecureBytes> KeyRing::Open(
    const SealedItem& sealed, absl::string_view associated_data) const {
  absl::StatusOr<SecureBytes> data_key = OpenDataKey(sealed, associated_data);
  if (!data_key.ok()) return data_key.status();
  return AeadDecrypt(*data_key, sealed.ciphertext, associated_data,
                     "item ciphertext", /*short_lived=*/true);
}

absl::StatusOr<std::string> KeyRing::Rewrap(const SealedItem& sealed,
                                            absl::string_view associated_data,
                                            uint32_t to_version) const {
  absl::StatusOr<SecureBytes> data_key = OpenDataKey(sealed, associated_data);
  if (!data_key.ok()) return data_key.status();
  std::shared_ptr<const SecureBytes> kek = Kek(to_version);
  if (kek == nullptr) {
    return absl::NotFoundError(absl::StrCat("key-encryption key version ",
                                            to_version, " is not loaded"));
  }
  return AeadEncrypt(*kek, data_key->view(), associated_data);
}

IntakeKey IntakeKey::DeriveFrom(const MasterKey& master) {
  SecureBytes seed(crypto_box_SEEDBYTES);
  crypto_kdf_derive_from_key(seed.data(), seed.size(), 1, "lvintake",
                             master.key_.data());
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

BlindIndex BlindIndex::DeriveFrom(const MasterKey& master, uint64_t subkey_id,
                                  const char (&context)[9]) {
  SecureBytes key(crypto_generichash_KEYBYTES);
  crypto_kdf_derive_from_key(key.data(), key.size(), subkey_id, context,
                             master.key_.data());
  return BlindIndex(std::move(key));
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

}  // namespace lanevault::vault
