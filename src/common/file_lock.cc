#include "common/file_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/files.h"

namespace lanevault {

absl::StatusOr<std::unique_ptr<FileLock>> FileLock::Acquire(
    const std::string& path) {
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot open lock file ", path, ": ", strerror(errno)));
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    close(fd);
    if (err != EWOULDBLOCK) {
      return absl::UnavailableError(
          absl::StrCat("cannot lock ", path, ": ", strerror(err)));
    }
    absl::StatusOr<std::string> holder = ReadFileToString(path);
    std::string pid =
        holder.ok() ? std::string(absl::StripAsciiWhitespace(*holder)) : "";
    return absl::FailedPreconditionError(
        absl::StrCat(path, " is held by another process",
                     pid.empty() ? "" : absl::StrCat(" (pid ", pid, ")"),
                     ": only one process may own it at a time"));
  }
  const std::string pid = absl::StrCat(getpid(), "\n");
  if (ftruncate(fd, 0) != 0 || pwrite(fd, pid.data(), pid.size(), 0) !=
                                   static_cast<ssize_t>(pid.size())) {
    // The pid is only for the next process's message; the lock holds.
  }
  return std::unique_ptr<FileLock>(new FileLock(path, fd));
}

FileLock::~FileLock() {
  // The file stays: removing it would race with a process that opened it
  // and is about to lock it.
  if (fd_ >= 0) close(fd_);
}

}  // namespace lanevault
