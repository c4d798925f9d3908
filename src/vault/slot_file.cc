#include "vault/slot_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "common/files.h"

namespace lanevault::vault {
namespace {

// Noise to overwrite slots with. A slot is overwritten from the place in it
// its offset picks, so neighbouring slots do not get the same bytes.
constexpr size_t kNoiseBytes = 1 << 16;

std::string MakeNoise() {
  // Not a secret, only neither ciphertext nor zeros: a fixed generator.
  std::string noise(kNoiseBytes, '\0');
  uint64_t x = 0x9e3779b97f4a7c15u;
  for (char& c : noise) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x | 1);
  }
  return noise;
}

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

// A slot, as rows name it: not negative, not past `end`, no overflow.
bool IsSlotWithin(const Slot& slot, int64_t end) {
  return slot.at >= 0 && slot.length >= 0 &&
         slot.length <= std::numeric_limits<int64_t>::max() - slot.at &&
         slot.at + slot.length <= end;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SlotFile>> SlotFile::Open(
    const std::string& path, int64_t committed_end) {
  if (committed_end < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("a slot file cannot end at ", committed_end));
  }
  // O_NOFOLLOW refuses a link as the last part of the path only; the
  // folder is the vault's, checked where the vault is opened.
  const int flags = O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK |
                    (committed_end == 0 ? O_CREAT : 0);
  const int fd = open(path.c_str(), flags, 0600);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) {
      return absl::DataLossError(absl::StrCat(
          "the slot file ", path, " is missing, but the database names ",
          committed_end, " bytes of slots in it"));
    }
    if (err == ELOOP || err == EISDIR || err == ENXIO) {
      return absl::FailedPreconditionError(
          absl::StrCat("the slot file ", path,
                       " is a link, a folder or a device: move it away"));
    }
    return Failed("cannot open the slot file", path, err);
  }
  std::unique_ptr<SlotFile> file =
      absl::WrapUnique(new SlotFile(path, fd, committed_end));
  struct stat st {};
  if (fstat(fd, &st) != 0) return Failed("cannot stat", path, errno);
  if (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0 ||
      st.st_uid != geteuid() || st.st_nlink != 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the slot file ", path,
        " must be a regular file of this user's alone, under one name, that "
        "no one else may read or write (chmod 600, remove other links)"));
  }
  if (st.st_size < committed_end) {
    return absl::DataLossError(absl::StrCat(
        "the slot file ", path, " ends at ", st.st_size,
        " bytes but the database names slots up to ", committed_end,
        ": it was cut short, or an older copy was put back"));
  }
  if (st.st_size > committed_end) {
    // Appended for rows that never committed: no key for them was stored,
    // and they go as purged bytes go. Cut off, they no longer read from the
    // file; the overwrite is for the disk's blocks, so a full disk (a
    // retried overwrite may need space where a punch freed it) leaves it
    // to the cut alone.
    absl::Status erased =
        file->OverwriteAndSync({{committed_end, st.st_size - committed_end}});
    if (!erased.ok() && !absl::IsResourceExhausted(erased)) return erased;
    if (ftruncate(fd, committed_end) != 0) {
      return Failed("cannot cut the slot file", path, errno);
    }
    if (fsync(fd) != 0) return Failed("cannot sync", path, errno);
  }
  // A file just made survives a power loss only once its folder is synced.
  const size_t slash = path.rfind('/');
  if (absl::Status s = SyncDirectory(slash == std::string::npos ? "."
                                     : slash == 0               ? "/"
                                                  : path.substr(0, slash));
      !s.ok()) {
    return s;
  }
  return file;
}

SlotFile::SlotFile(std::string path, int fd, int64_t end)
    : path_(std::move(path)), fd_(fd), end_(end), noise_(MakeNoise()) {}

SlotFile::~SlotFile() { close(fd_); }

absl::StatusOr<Slot> SlotFile::Append(absl::string_view bytes) {
  const Slot slot{end(), static_cast<int64_t>(bytes.size())};
  if (absl::Status s =
          WriteAll(fd_, bytes.data(), bytes.size(), slot.at, path_);
      !s.ok()) {
    return s;  // the end stays: whatever reached the file is written over
  }
  end_.store(slot.at + slot.length, std::memory_order_release);
  return slot;
}

void SlotFile::Rewind(int64_t end) {
  if (end >= 0 && end < this->end()) {
    end_.store(end, std::memory_order_release);
  }
}

absl::Status SlotFile::Sync() {
  return fdatasync(fd_) == 0 ? absl::OkStatus()
                             : Failed("cannot sync", path_, errno);
}

absl::StatusOr<std::string> SlotFile::Read(const Slot& slot) const {
  if (!IsSlotWithin(slot, end())) {
    return absl::DataLossError(absl::StrCat(
        "a slot at ", slot.at, " of ", slot.length, " bytes is not one of ",
        path_, " (which ends at ", end(), ")"));
  }
  std::string out(static_cast<size_t>(slot.length), '\0');
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t r = pread(fd_, out.data() + done, out.size() - done,
                            slot.at + static_cast<int64_t>(done));
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

absl::Status SlotFile::Overwrite(int64_t at, int64_t length) {
  const int64_t end = at + length;
  while (at < end) {
    // Only where the file holds data: a part given back by an earlier
    // erase reads as zeros, and writing it again would need space.
    const off_t data = lseek(fd_, at, SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) return absl::OkStatus();  // no data from here on
      return Failed("cannot seek in", path_, errno);
    }
    if (data >= end) return absl::OkStatus();
    const off_t hole = lseek(fd_, data, SEEK_HOLE);
    if (hole < 0) return Failed("cannot seek in", path_, errno);
    const int64_t upto = std::min<int64_t>(hole, end);
    for (int64_t p = data; p < upto;) {
      const size_t from = static_cast<size_t>(p) % (noise_.size() / 2);
      const size_t n = static_cast<size_t>(
          std::min<int64_t>(upto - p, noise_.size() - from));
      if (absl::Status s = WriteAll(fd_, noise_.data() + from, n, p, path_);
          !s.ok()) {
        return s;
      }
      p += static_cast<int64_t>(n);
    }
    at = upto;
  }
  return absl::OkStatus();
}

absl::Status SlotFile::OverwriteAndSync(const std::vector<Slot>& slots) {
  for (const Slot& slot : slots) {
    if (absl::Status s = Overwrite(slot.at, slot.length); !s.ok()) return s;
  }
  return Sync();
}

absl::Status SlotFile::Erase(const std::vector<Slot>& slots) {
  for (const Slot& slot : slots) {
    if (!IsSlotWithin(slot, end())) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot erase a slot at ", slot.at, " of ", slot.length,
                       " bytes from ", path_, " (which ends at ", end(), ")"));
    }
  }
  if (absl::Status s = OverwriteAndSync(slots); !s.ok()) return s;
  // The blocks a slot wholly covers go back to the file system; a block it
  // shares with a neighbour stays (overwritten). A file system that cannot
  // punch keeps them all: the bytes are overwritten either way.
  struct stat st {};
  const int64_t block =
      fstat(fd_, &st) == 0 && st.st_blksize > 0 ? st.st_blksize : 4096;
  for (const Slot& slot : slots) {
    const int64_t from = (slot.at + block - 1) / block * block;
    const int64_t to = (slot.at + slot.length) / block * block;
    if (to <= from) continue;
    int rc;
    do {
      rc = fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, from,
                     to - from);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0 && errno != EOPNOTSUPP && errno != ENOSYS) {
      return Failed("cannot give space back in", path_, errno);
    }
  }
  return absl::OkStatus();
}

}  // namespace lanevault::vault
