#ifndef LANEVAULT_COMMON_FILE_LOCK_H_
#define LANEVAULT_COMMON_FILE_LOCK_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace lanevault {

// An exclusive advisory lock (flock) on a file, held until destruction or
// the process's death, so two processes never own one resource (a vault, a
// spool). The file keeps the owner's pid as text, for the error the next
// process prints; the kernel, not the file's content, decides who holds it,
// so a lock left by a killed process is free at once.
class FileLock {
 public:
  // FAILED_PRECONDITION naming `path` and the holder's pid when another
  // process holds it; other errors when the file cannot be made. With
  // `keep_content`, the lock is taken on a file whose content is not ours
  // (a database: the lock then follows the file through any hard or
  // symbolic link to it) and the pid goes to `path` + ".lock" instead.
  static absl::StatusOr<std::unique_ptr<FileLock>> Acquire(
      const std::string& path, bool keep_content = false);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

  const std::string& path() const { return path_; }

 private:
  FileLock(std::string path, int fd, int note_fd)
      : path_(std::move(path)), fd_(fd), note_fd_(note_fd) {}
  std::string path_;
  int fd_;
  int note_fd_;
};

}  // namespace lanevault

#endif  // LANEVAULT_COMMON_FILE_LOCK_H_
