#include "crypto/secure_bytes.h"

#include <sodium.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

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

namespace {

// Short-lived buffers are whole pages, so that unlocking one never unlocks
// a page another still holds (mlock and munlock work on pages), and each
// thread keeps a few of them locked and zeroed for the next call: locking
// and unlocking a buffer per call (a read uses eight) cost more of an
// unmarked read than anything the read itself did.
constexpr size_t kPage = 4096;
// Per thread: at most this many free blocks of one size, and this many
// bytes in all (about one read's keys and items); beyond, a block is
// unlocked and freed as before. Small, because what the threads keep counts
// against the process's lockable memory (RLIMIT_MEMLOCK, 8 MiB under
// systemd by default), which the long-lived keys need too: 64 server
// threads keep 4 MiB at most.
constexpr size_t kFreePerSize = 4;
constexpr size_t kFreeBytes = 64 * 1024;

size_t BlockSize(size_t size) {
  size_t block = kPage;
  while (block < size) block *= 2;
  return block;
}

class LockedBlocks {
 public:
  ~LockedBlocks() {
    for (const Free& f : free_) Drop(f.data, f.size);
  }
  // A zeroed, locked block of `size` (a BlockSize) bytes.
  uint8_t* Take(size_t size) {
    for (size_t i = free_.size(); i-- > 0;) {
      if (free_[i].size != size) continue;
      uint8_t* data = free_[i].data;
      free_.erase(free_.begin() + static_cast<std::ptrdiff_t>(i));
      bytes_ -= size;
      return data;
    }
    auto* data = static_cast<uint8_t*>(std::aligned_alloc(kPage, size));
    if (data == nullptr) std::abort();
    std::memset(data, 0, size);
    sodium_mlock(data, size);  // best effort: no swap
    return data;
  }
  // `used` bytes of the block were written: they are zeroed, and the
  // block kept for the next Take or unlocked and freed.
  void Give(uint8_t* data, size_t size, size_t used) {
    sodium_memzero(data, used);
    size_t same = 0;
    for (const Free& f : free_) same += f.size == size;
    if (same >= kFreePerSize || bytes_ + size > kFreeBytes) {
      Drop(data, size);
      return;
    }
    free_.push_back({data, size});
    bytes_ += size;
  }

 private:
  struct Free {
    uint8_t* data;
    size_t size;
  };
  static void Drop(uint8_t* data, size_t size) {
    sodium_munlock(data, size);  // zeroes, then unlocks
    std::free(data);
  }
  std::vector<Free> free_;
  size_t bytes_ = 0;
};

LockedBlocks& ThreadBlocks() {
  thread_local LockedBlocks blocks;
  return blocks;
}

}  // namespace

SecureBytes SecureBytes::ShortLived(size_t size) {
  SecureBytes out;
  out.size_ = size;
  out.guarded_ = false;
  out.data_ = ThreadBlocks().Take(BlockSize(size));
  return out;
}

void SecureBytes::Release() {
  if (data_ == nullptr) return;
  if (guarded_) {
    sodium_free(data_);  // zeroes before freeing
  } else {
    // To the releasing thread's blocks: a buffer moved to another thread
    // goes back there, which is as good.
    ThreadBlocks().Give(data_, BlockSize(size_), size_);
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
