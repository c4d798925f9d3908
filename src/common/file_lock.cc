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
    const std::string& path, bool keep_content) {
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot open ", path, " to lock it: ", strerror(errno)));
  }
  const std::string note = keep_content ? path + ".lock" : path;
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    close(fd);
    if (err != EWOULDBLOCK) {
      return absl::UnavailableError(
          absl::StrCat("cannot lock ", path, ": ", strerror(err)));
    }
    absl::StatusOr<std::string> holder = ReadFileToString(note);
    std::string pid =
        holder.ok() ? std::string(absl::StripAsciiWhitespace(*holder)) : "";
    return absl::FailedPreconditionError(
        absl::StrCat(path, " is held by another process",
                     pid.empty() ? "" : absl::StrCat(" (pid ", pid, ")"),
                     ": only one process may own it at a time"));
  }
  // The pid is only for the next process's message; the lock holds
  // whether or not it can be written.
  const int note_fd =
      keep_content ? open(note.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)
                   : fd;
  if (note_fd >= 0) {
    const std::string pid = absl::StrCat(getpid(), "\n");
    if (ftruncate(note_fd, 0) == 0) {
      (void)!pwrite(note_fd, pid.data(), pid.size(), 0);
    }
  }
  return std::unique_ptr<FileLock>(
      new FileLock(path, fd, keep_content ? note_fd : -1));
}

FileLock::~FileLock() {
  // The file stays: removing it would race with a process that opened it
  // and is about to lock it.
  if (note_fd_ >= 0) close(note_fd_);
  if (fd_ >= 0) close(fd_);
}

}  // namespace lanevault
