#include "crypto/key_ring.h"

#include <sodium.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "crypto/aead.h"

namespace lanevault::crypto {
using internal::AeadDecrypt;
using internal::AeadEncrypt;
using internal::kAeadKeyBytes;

namespace {

std::string KekAssociatedData(uint32_t version, absl::string_view binding) {
  // v1 rows (no binding) keep their original associated data.
  if (binding.empty()) return absl::StrCat("lanevault.kek.v1;", version);
  return absl::StrCat("lanevault.kek.v2;", version, ";", binding);
}

}  // namespace

KeyRing::KeyRing(MasterKey master) : master_(std::move(master)) {}

WrappedKek KeyRing::NewKek(uint32_t version, absl::string_view binding) {
  auto kek = std::make_shared<SecureBytes>(kAeadKeyBytes);
  crypto_aead_xchacha20poly1305_ietf_keygen(kek->data());
  WrappedKek out{version, AeadEncrypt(master_.key_, kek->view(),
                                      KekAssociatedData(version, binding))};
  absl::MutexLock lock(&mu_);
  keks_[version] = std::move(kek);
  return out;
}

absl::Status KeyRing::AddKek(const WrappedKek& kek, absl::string_view binding) {
  absl::StatusOr<SecureBytes> key = AeadDecrypt(
      master_.key_, kek.wrapped, KekAssociatedData(kek.version, binding),
      "key-encryption key");
  if (!key.ok() || key->size() != kAeadKeyBytes) {
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
  return SealWith(version, plaintext, associated_data);
}

absl::StatusOr<SealedItem> KeyRing::SealWith(
    uint32_t version, absl::string_view plaintext,
    absl::string_view associated_data) const {
  std::shared_ptr<const SecureBytes> kek = Kek(version);
  if (kek == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("key-encryption key version ", version, " is not loaded"));
  }
  // One guarded, locked buffer per thread for data keys: guarded memory
  // costs an mmap, mprotect and mlock per allocation, too much per item.
  thread_local SecureBytes data_key(kAeadKeyBytes);
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
  if (data_key->size() != kAeadKeyBytes) {
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

}  // namespace lanevault::crypto
