#include "vault/slot_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"

namespace lanevault::vault {
namespace {

// Noise to overwrite slots with, read from a place that moves with the slot.
constexpr size_t kNoiseBytes = 1 << 16;

absl::Status Failed(const char* what, const std::string& path, int err) {
  const std::string message =
      absl::StrCat(what, " ", path, ": ", std::strerror(err));
  if (err == ENOSPC || err == EDQUOT || err == EFBIG) {
    return absl::ResourceExhaustedError(
        absl::StrCat(message, " (the disk is full)"));
  }
  return absl::UnavailableError(message);
}

absl::Status WriteAll(int fd, const char* p, size_t n, int64_t at,
                      const std::string& path) {
  while (n > 0) {
    const ssize_t w = pwrite(fd, p, n, at);
    if (w < 0) {
      if (errno == EINTR) continue;
      return Failed("cannot write", path, errno);
    }
    p += w;
    n -= static_cast<size_t>(w);
    at += w;
  }
  return absl::OkStatus();
}

// The directory entry of a file just made survives a power loss only once
// its directory is synced.
absl::Status SyncDirectoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? std::string(".")
                          : slash == 0               ? std::string("/")
                                                     : path.substr(0, slash);
  const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Failed("cannot open", dir, errno);
  const int rc = fsync(fd);
  const int err = errno;
  close(fd);
  return rc == 0 ? absl::OkStatus() : Failed("cannot sync", dir, err);
}

}  // namespace

absl::StatusOr<std::unique_ptr<SlotFile>> SlotFile::Open(
    const std::string& path, int64_t committed_end) {
  const int fd =
      open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Failed("cannot open the slot file", path, errno);
  std::unique_ptr<SlotFile> file(new SlotFile(path, fd, committed_end));
  struct stat st {};
  if (fstat(fd, &st) != 0) return Failed("cannot stat", path, errno);
  if (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("the slot file ", path,
                     " is not a regular file only its owner may use (chmod "
                     "600 it, or move it away)"));
  }
  if (st.st_size < committed_end) {
    return absl::DataLossError(absl::StrCat(
        "the slot file ", path, " ends at ", st.st_size,
        " bytes but the database names slots up to ", committed_end,
        ": it was cut short, or an older copy was put back"));
  }
  if (st.st_size > committed_end) {
    // Appended for rows that never committed: nobody holds their keys, and
    // they go as purged bytes go.
    const Slot orphans{committed_end, st.st_size - committed_end};
    if (absl::Status s = file->Erase({orphans}); !s.ok()) return s;
    if (ftruncate(fd, committed_end) != 0 || fsync(fd) != 0) {
      return Failed("cannot cut the slot file", path, errno);
    }
  }
  if (absl::Status s = SyncDirectoryOf(path); !s.ok()) return s;
  return file;
}

SlotFile::SlotFile(std::string path, int fd, int64_t end)
    : path_(std::move(path)), fd_(fd), end_(end), noise_(kNoiseBytes, '\0') {
  // Not a secret: only not the ciphertext, and not zeros.
  std::mt19937_64 rng(std::random_device{}());
  for (char& c : noise_) c = static_cast<char>(rng() | 1);
}

SlotFile::~SlotFile() { close(fd_); }

absl::StatusOr<Slot> SlotFile::Append(absl::string_view bytes) {
  const Slot slot{end_, static_cast<int64_t>(bytes.size())};
  if (absl::Status s =
          WriteAll(fd_, bytes.data(), bytes.size(), slot.at, path_);
      !s.ok()) {
    return s;  // end_ unchanged: whatever reached the file is written over
  }
  end_ = slot.end();
  return slot;
}

void SlotFile::Rewind(int64_t end) { end_ = std::min(end_, end); }

absl::Status SlotFile::Sync() {
  return fdatasync(fd_) == 0 ? absl::OkStatus()
                             : Failed("cannot sync", path_, errno);
}

absl::StatusOr<std::string> SlotFile::Read(const Slot& slot) const {
  if (slot.at < 0 || slot.length < 0) {
    return absl::DataLossError(absl::StrCat("a slot at ", slot.at, " of ",
                                            slot.length, " bytes is not one"));
  }
  std::string out(static_cast<size_t>(slot.length), '\0');
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t r =
        pread(fd_, out.data() + done, out.size() - done, slot.at + done);
    if (r < 0) {
      if (errno == EINTR) continue;
      return Failed("cannot read", path_, errno);
    }
    if (r == 0) {
      return absl::DataLossError(
          absl::StrCat("the slot file ", path_, " ends before the slot at ",
                       slot.at, " of ", slot.length, " bytes does"));
    }
    done += static_cast<size_t>(r);
  }
  return out;
}

absl::Status SlotFile::Overwrite(const Slot& slot) {
  int64_t at = slot.at;
  int64_t left = slot.length;
  while (left > 0) {
    const size_t from = static_cast<size_t>(at) % (noise_.size() / 2);
    const size_t n = std::min<size_t>(left, noise_.size() - from);
    if (absl::Status s = WriteAll(fd_, noise_.data() + from, n, at, path_);
        !s.ok()) {
      return s;
    }
    at += static_cast<int64_t>(n);
    left -= static_cast<int64_t>(n);
  }
  return absl::OkStatus();
}

absl::Status SlotFile::Erase(const std::vector<Slot>& slots) {
  for (const Slot& slot : slots) {
    if (absl::Status s = Overwrite(slot); !s.ok()) return s;
  }
  if (absl::Status s = Sync(); !s.ok()) return s;
  // The blocks a slot wholly covers go back to the file system; a block it
  // shares with a neighbour stays (overwritten). A file system that cannot
  // punch keeps them all: the bytes are overwritten either way.
  struct stat st {};
  const int64_t block =
      fstat(fd_, &st) == 0 && st.st_blksize > 0 ? st.st_blksize : 4096;
  for (const Slot& slot : slots) {
    const int64_t from = (slot.at + block - 1) / block * block;
    const int64_t to = slot.end() / block * block;
    if (to <= from) continue;
    if (fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, from,
                  to - from) != 0 &&
        errno != EOPNOTSUPP) {
      return Failed("cannot free space in", path_, errno);
    }
  }
  return absl::OkStatus();
}

}  // namespace lanevault::vault
