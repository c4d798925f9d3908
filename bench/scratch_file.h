#ifndef LANEVAULT_BENCH_SCRATCH_FILE_H_
#define LANEVAULT_BENCH_SCRATCH_FILE_H_

// A plain file the benchmarks write by hand (a replay of what SQLite wrote,
// a prototype's slots): positioned writes, syncs, errors as values.

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace lanevault::bench {

// INTERNAL naming `what` and errno (taken before anything else can set it).
inline absl::Status ErrnoStatus(const char* what, const std::string& path) {
  const int err = errno;
  return absl::InternalError(
      absl::StrCat(what, " ", path, ": ", std::strerror(err)));
}

class ScratchFile {
 public:
  ScratchFile() = default;
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;
  ~ScratchFile() {
    if (fd_ >= 0) close(fd_);
  }

  // Creates `path` empty (0600), or empties it.
  absl::Status Create(const std::string& path) {
    path_ = path;
    fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
    return fd_ >= 0 ? absl::OkStatus() : ErrnoStatus("open", path_);
  }

  absl::Status WriteAt(const char* p, size_t n, int64_t at) {
    while (n > 0) {
      const ssize_t w = pwrite(fd_, p, n, at);
      if (w < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("pwrite", path_);
      }
      p += w;
      n -= static_cast<size_t>(w);
      at += w;
    }
    return absl::OkStatus();
  }

  absl::Status Sync() {
    return fdatasync(fd_) == 0 ? absl::OkStatus()
                               : ErrnoStatus("fdatasync", path_);
  }

  absl::Status Truncate(int64_t size) {
    if (ftruncate(fd_, size) != 0) return ErrnoStatus("ftruncate", path_);
    return fsync(fd_) == 0 ? absl::OkStatus() : ErrnoStatus("fsync", path_);
  }

 private:
  int fd_ = -1;
  std::string path_;
};

}  // namespace lanevault::bench

#endif  // LANEVAULT_BENCH_SCRATCH_FILE_H_
