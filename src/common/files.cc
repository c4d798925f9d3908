#include "common/files.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace lanevault {
namespace {

absl::Status ErrnoStatus(int err, absl::string_view what,
                         const std::string& path) {
  std::string message = absl::StrCat(what, " ", path, ": ", std::strerror(err));
  switch (err) {
    case ENOENT:
      return absl::NotFoundError(message);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(message);
    case ENOSPC:
    case EDQUOT:
      return absl::ResourceExhaustedError(message);
    default:
      return absl::InternalError(message);
  }
}

}  // namespace

absl::StatusOr<std::string> ReadFileToString(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return ErrnoStatus(errno, "cannot open", path);
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return ErrnoStatus(errno, "cannot read", path);
  return std::move(out).str();
}

absl::Status WriteFileAtomically(const std::string& path,
                                 absl::string_view data, int mode) {
  const std::string tmp = absl::StrCat(path, ".tmp");
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return ErrnoStatus(errno, "cannot create", tmp);
  size_t written = 0;
  while (written < data.size()) {
    ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return ErrnoStatus(err, "cannot write", tmp);
    }
    written += static_cast<size_t>(n);
  }
  if (::fchmod(fd, mode) != 0 || ::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return ErrnoStatus(err, "cannot sync", tmp);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return ErrnoStatus(err, "cannot rename onto", path);
  }
  return absl::OkStatus();
}

absl::Status WriteFileDurably(const std::string& path, absl::string_view data,
                              int mode) {
  if (absl::Status s = WriteFileAtomically(path, data, mode); !s.ok()) {
    return s;
  }
  const size_t slash = path.rfind('/');
  return SyncDirectory(slash == std::string::npos ? "."
                                                  : path.substr(0, slash));
}

absl::Status SyncDirectory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "cannot open folder", dir);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return ErrnoStatus(err, "cannot sync folder", dir);
  return absl::OkStatus();
}

absl::Status MakeDirectories(const std::string& dir) {
  if (dir.empty()) return absl::OkStatus();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return ErrnoStatus(ec.value(), "cannot create directory", dir);
  return absl::OkStatus();
}

absl::Status MakeParentDirectories(const std::string& file) {
  return MakeDirectories(std::filesystem::path(file).parent_path().string());
}

namespace {

// Why a file with these attributes cannot hold a secret; OK when it can.
absl::Status CheckPrivateStat(const struct stat& st, const std::string& path) {
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " is not a regular file"));
  }
  if ((st.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s has mode %04o; a secret must not be readable by group or others "
        "(chmod 600 %s)",
        path, st.st_mode & 07777, path));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckPrivateFile(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    return ErrnoStatus(errno, "cannot stat", path);
  return CheckPrivateStat(st, path);
}

absl::StatusOr<int> OpenPrivateFile(const std::string& path) {
  // O_NONBLOCK: a FIFO put in a secret's place must not hang the open; the
  // check below refuses it before anything is read.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return ErrnoStatus(errno, "cannot open", path);
  struct stat st;
  absl::Status checked = ::fstat(fd, &st) == 0
                             ? CheckPrivateStat(st, path)
                             : ErrnoStatus(errno, "cannot stat", path);
  if (checked.ok() && ::fcntl(fd, F_SETFL, 0) != 0) {
    checked = ErrnoStatus(errno, "cannot read", path);
  }
  if (!checked.ok()) {
    ::close(fd);
    return checked;
  }
  return fd;
}

absl::StatusOr<std::string> ReadPrivateFile(const std::string& path,
                                            size_t max_bytes) {
  absl::StatusOr<int> fd = OpenPrivateFile(path);
  if (!fd.ok()) return fd.status();
  std::string data;
  data.reserve(4096);  // a secret's copies are not left behind by growth
  char buffer[4096];
  absl::Status status;
  for (;;) {
    const ssize_t n = ::read(*fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      status = ErrnoStatus(errno, "cannot read", path);
      break;
    }
    if (n == 0) break;
    if (data.size() + static_cast<size_t>(n) > max_bytes) {
      status = absl::InvalidArgumentError(
          absl::StrCat(path, " is longer than a secret file may be (",
                       max_bytes, " bytes)"));
      break;
    }
    data.append(buffer, static_cast<size_t>(n));
  }
  ::close(*fd);
  explicit_bzero(buffer, sizeof buffer);
  if (!status.ok()) {
    explicit_bzero(data.data(), data.size());
    return status;
  }
  return data;
}

}  // namespace lanevault
