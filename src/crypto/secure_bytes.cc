#include "crypto/secure_bytes.h"

#include <sodium.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace lanevault::crypto {
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

}  // namespace lanevault::crypto
