#include "disk_replay.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace lanevault::bench {
namespace {

absl::Status Errno(const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

// Closes its descriptor; the bench's files are scratch.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

absl::Status WriteAll(int fd, const char* p, size_t n, off_t at) {
  while (n > 0) {
    const ssize_t w = pwrite(fd, p, n, at);
    if (w < 0) {
      if (errno == EINTR) continue;
      return Errno("pwrite");
    }
    p += w;
    n -= static_cast<size_t>(w);
    at += w;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<double> ReplayWrites(const std::string& dir,
                                    const WriteShape& shape) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const std::string wal_path = dir + "/replay-wal";
  const std::string db_path = dir + "/replay-db";
  Fd db{open(db_path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600)};
  if (db.fd < 0) return Errno("open " + db_path);
  // The database's pages exist before the checkpoint overwrites them.
  const std::vector<char> page(static_cast<size_t>(shape.page_size), '\0');
  for (int64_t at = 0; at < shape.db_bytes; at += shape.page_size) {
    if (absl::Status s = WriteAll(db.fd, page.data(), page.size(), at);
        !s.ok()) {
      return s;
    }
  }
  if (fdatasync(db.fd) != 0) return Errno("fdatasync");

  Fd wal{open(wal_path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600)};
  if (wal.fd < 0) return Errno("open " + wal_path);
  const int64_t frame = shape.page_size + 24;
  const int64_t frames = shape.wal_bytes / frame;
  const int64_t commits = std::max<int64_t>(1, shape.commits);
  std::vector<char> frame_bytes(static_cast<size_t>(frame), '\0');
  const absl::Time t0 = absl::Now();
  int64_t written = 0;
  for (int64_t c = 0; c < commits; ++c) {
    const int64_t upto = frames * (c + 1) / commits;
    for (; written < upto; ++written) {
      if (absl::Status s = WriteAll(wal.fd, frame_bytes.data(),
                                    frame_bytes.size(), written * frame);
          !s.ok()) {
        return s;
      }
    }
    if (fdatasync(wal.fd) != 0) return Errno("fdatasync");
  }
  for (int64_t at = 0; at < shape.db_bytes; at += shape.page_size) {
    if (absl::Status s = WriteAll(db.fd, page.data(), page.size(), at);
        !s.ok()) {
      return s;
    }
  }
  if (fdatasync(db.fd) != 0) return Errno("fdatasync");
  if (ftruncate(wal.fd, 0) != 0) return Errno("ftruncate");
  if (fsync(wal.fd) != 0) return Errno("fsync");
  const double seconds = absl::ToDoubleSeconds(absl::Now() - t0);
  std::filesystem::remove(wal_path, ec);
  std::filesystem::remove(db_path, ec);
  return seconds;
}

}  // namespace lanevault::bench
