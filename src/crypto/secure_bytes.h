#ifndef LANEVAULT_CRYPTO_SECURE_BYTES_H_
#define LANEVAULT_CRYPTO_SECURE_BYTES_H_

// Memory for secrets: keys and decrypted plaintext. libsodium is called
// only from this module (src/crypto/); callers never see nonces, raw key
// bytes or algorithm choices.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace lanevault::crypto {

// Initialises libsodium. Idempotent and thread-safe; every other function
// here calls it, so callers only need it to fail early.
absl::Status InitCrypto();

// Bytes in libsodium's guarded memory: locked (never swapped), fenced by
// guard pages, and zeroed when freed. Holds keys and decrypted plaintext.
// Movable, not copyable.
class SecureBytes {
 public:
  SecureBytes() = default;
  explicit SecureBytes(size_t size);  // zero-filled; aborts if out of memory
  // For bytes that live for one call (a data key, an opened item): locked
  // and zeroed on release like the others, but without guard pages, in
  // whole pages that each thread keeps locked for its next calls. Guard
  // pages cost an mmap and mprotects per buffer, and their TLB flushes
  // across cores halved read throughput; locking and unlocking each buffer
  // cost a read more than its own work.
  static SecureBytes ShortLived(size_t size);
  ~SecureBytes();
  SecureBytes(SecureBytes&& other) noexcept;
  SecureBytes& operator=(SecureBytes&& other) noexcept;
  SecureBytes(const SecureBytes&) = delete;
  SecureBytes& operator=(const SecureBytes&) = delete;

  static SecureBytes CopyOf(absl::string_view bytes);

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  absl::string_view view() const {
    return {reinterpret_cast<const char*>(data_), size_};
  }

 private:
  void Release();
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  bool guarded_ = true;
};

// Overwrites a std::string's bytes with zeros (for plaintext that had to
// pass through ordinary memory, such as a protobuf field).
void Wipe(std::string& s);

// Reads a secret (a passphrase) from a file descriptor straight into guarded
// memory, dropping one trailing newline. INVALID_ARGUMENT when empty.
absl::StatusOr<SecureBytes> ReadSecret(int fd);

}  // namespace lanevault::crypto

#endif  // LANEVAULT_CRYPTO_SECURE_BYTES_H_
