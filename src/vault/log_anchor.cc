#include "vault/log_anchor.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "crypto/digest.h"

namespace lanevault::vault {
namespace {

// magic (8) | generation (8) | size (8) | root (32) | a 16-byte tag over
// the preceding 56. Integers little-endian. The newest generation wins, not
// the largest size: an accepted rollback lowers it. The tag of an
// "LVANCHR3" slot is keyed (a key from the master key), so root cannot
// write one; "LVANCHR2" slots, from before, carry a plain SHA-256 and are
// read only while the vault allows it (see LogAnchor::Open).
constexpr char kMagic[] = "LVANCHR3";
constexpr char kUnkeyedMagic[] = "LVANCHR2";
constexpr size_t kBody = 56;
constexpr size_t kSlot = kBody + 16;

void PutU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}

uint64_t GetU64(absl::string_view in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v |= static_cast<uint64_t>(static_cast<unsigned char>(in[i])) << (8 * i);
  }
  return v;
}

struct Slot {
  uint64_t generation = 0;
  LogAnchor::Head head;
};

std::string EncodeSlot(uint64_t generation, const LogAnchor::Head& head,
                       const crypto::BlindIndex& key) {
  std::string slot(kMagic, 8);
  PutU64(slot, generation);
  PutU64(slot, head.size);
  slot += head.root;
  slot.resize(kBody, '\0');
  slot += key.Mac(slot).substr(0, 16);
  return slot;
}

std::optional<Slot> DecodeSlot(absl::string_view slot,
                               const crypto::BlindIndex* key,
                               bool allow_unkeyed) {
  if (slot.size() != kSlot) return std::nullopt;
  const absl::string_view magic = slot.substr(0, 8);
  const absl::string_view body = slot.substr(0, kBody);
  const absl::string_view tag = slot.substr(kBody);
  bool intact = false;
  if (magic == absl::string_view(kMagic, 8)) {
    // Without a key (a tool that only reports the head) it is taken as is.
    intact = key == nullptr || key->Verify(body, tag);
  } else if (magic == absl::string_view(kUnkeyedMagic, 8)) {
    intact = (allow_unkeyed || key == nullptr) &&
             crypto::Sha256(body).substr(0, 16) == tag;
  }
  if (!intact) return std::nullopt;
  Slot out;
  out.generation = GetU64(slot.substr(8));
  out.head.size = GetU64(slot.substr(16));
  out.head.root = std::string(slot.substr(24, 32));
  return out;
}

absl::Status Errno(absl::string_view what, const std::string& path) {
  return absl::UnavailableError(
      absl::StrCat(what, " ", path, ": ", strerror(errno)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<LogAnchor>> LogAnchor::Open(
    const std::string& path, const crypto::BlindIndex* key,
    bool allow_unkeyed) {
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("cannot open the log anchor", path);
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    close(fd);
    return absl::FailedPreconditionError(absl::StrCat(
        "the log anchor ", path,
        " is held by another process: one vault per state directory"));
  }
  std::unique_ptr<LogAnchor> anchor(
      new LogAnchor(path, fd, key, allow_unkeyed));
  absl::StatusOr<std::optional<Head>> head = anchor->Read();
  if (!head.ok()) return head.status();
  return anchor;
}

LogAnchor::~LogAnchor() {
  Sync().IgnoreError();
  close(fd_);
}

absl::StatusOr<std::optional<LogAnchor::Head>> LogAnchor::Read() {
  char buf[2 * kSlot];
  const ssize_t n = pread(fd_, buf, sizeof buf, 0);
  if (n < 0) return Errno("cannot read the log anchor", path_);
  if (n == 0) return std::optional<Head>();
  std::optional<Slot> best;
  size_t best_at = 0;
  for (size_t at = 0; at + kSlot <= static_cast<size_t>(n); at += kSlot) {
    std::optional<Slot> slot =
        DecodeSlot(absl::string_view(buf + at, kSlot), key_, allow_unkeyed_);
    if (slot.has_value() &&
        (!best.has_value() || slot->generation > best->generation)) {
      best = slot;
      best_at = at;
    }
  }
  if (!best.has_value()) {
    return absl::DataLossError(absl::StrCat(
        "the log anchor ", path_,
        " is damaged or forged (no slot whose tag the vault's key makes)"));
  }
  absl::MutexLock lock(&mu_);
  // The next write goes to the other slot, so the newest stays intact.
  generation_ = best->generation;
  next_slot_at_ = best_at == 0 ? kSlot : 0;
  return std::optional<Head>(best->head);
}

absl::Status LogAnchor::Note(const Head& head) {
  absl::MutexLock lock(&mu_);
  if (key_ == nullptr) {
    return absl::FailedPreconditionError(
        "a log anchor opened without its key "
        "is read only");
  }
  const std::string slot = EncodeSlot(generation_ + 1, head, *key_);
  if (pwrite(fd_, slot.data(), slot.size(),
             static_cast<off_t>(next_slot_at_)) !=
      static_cast<ssize_t>(slot.size())) {
    return Errno("cannot write the log anchor", path_);
  }
  ++generation_;
  next_slot_at_ = next_slot_at_ == 0 ? kSlot : 0;
  return absl::OkStatus();
}

absl::Status LogAnchor::Sync() {
  if (fdatasync(fd_) != 0) return Errno("cannot sync the log anchor", path_);
  return absl::OkStatus();
}

}  // namespace lanevault::vault
