#include "crypto/key_file.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/files.h"

namespace lanevault::crypto {
namespace {
constexpr size_t kKeyBytes = 32;
}  // namespace

absl::Status CreateKeyFileOf32Bytes(const std::string& path) {
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

absl::StatusOr<SecureBytes> LoadKeyFileOf32Bytes(const std::string& path) {
  if (absl::Status s = InitCrypto(); !s.ok()) return s;
  absl::StatusOr<int> opened = OpenPrivateFile(path);
  if (!opened.ok()) return opened.status();
  const int fd = *opened;
  // Read straight into guarded memory; one byte more than a key tells us the
  // file is too long without reading it into ordinary memory.
  SecureBytes key(kKeyBytes + 1);
  ssize_t n = ::read(fd, key.data(), key.size());
  ::close(fd);
  if (n != static_cast<ssize_t>(kKeyBytes)) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, " is not a key file (expected exactly ", kKeyBytes, " bytes)"));
  }
  SecureBytes exact(kKeyBytes);
  std::memcpy(exact.data(), key.data(), kKeyBytes);
  return exact;
}

}  // namespace lanevault::crypto
