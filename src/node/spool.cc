#include "node/spool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "capture/resume_position.h"
#include "common/files.h"
#include "common/logging.h"
#include "common/time_util.h"
#include "crypto/digest.h"

namespace lanevault::node {
namespace {

namespace fs = std::filesystem;

constexpr absl::string_view kMagic = "LVSPOOL1";
constexpr size_t kDigestBytes = 32;
constexpr absl::string_view kSuffix = ".rec";
// A record is a crossing's crops, far below the vault's message limit
// (4 MiB by default); an entry file larger than this is not one.
constexpr uint64_t kMaxEntryBytes = 16 << 20;

std::string Encode(const std::string& payload) {
  std::string out(kMagic);
  uint64_t n = payload.size();
  for (int i = 0; i < 8; ++i) {
    out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  }
  out += payload;
  out += crypto::Sha256(out);
  return out;
}

absl::StatusOr<std::string> Decode(absl::string_view bytes) {
  if (bytes.size() < kMagic.size() + 8 + kDigestBytes ||
      !absl::StartsWith(bytes, kMagic)) {
    return absl::DataLossError("not a spool entry (bad header or too short)");
  }
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) {
    n |= uint64_t{static_cast<unsigned char>(bytes[kMagic.size() + i])}
         << (8 * i);
  }
  const size_t body = kMagic.size() + 8;
  if (n != bytes.size() - body - kDigestBytes) {
    return absl::DataLossError(absl::StrCat(
        "length field says ", n, " bytes, the file holds ",
        bytes.size() - body - kDigestBytes, " (truncated or extended)"));
  }
  if (crypto::Sha256(bytes.substr(0, body + n)) !=
      bytes.substr(body + n, kDigestBytes)) {
    return absl::DataLossError("checksum does not match (altered on disk)");
  }
  return std::string(bytes.substr(body, n));
}

// Only what the node itself could have written: a regular file, not
// followed through a link, no larger than any entry can be. Anything else
// (a FIFO that would block, a link to /dev/zero, a sparse giant) is damage.
absl::StatusOr<std::string> ReadEntryFile(const std::string& path) {
  const int fd =
      ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    return absl::DataLossError(
        absl::StrCat("cannot open it as a plain file: ", std::strerror(errno)));
  }
  struct stat st;
  std::string out;
  absl::Status status;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    status = absl::DataLossError("not a regular file");
  } else if (static_cast<uint64_t>(st.st_size) > kMaxEntryBytes) {
    status = absl::DataLossError(absl::StrCat(
        st.st_size, " bytes: larger than any entry (", kMaxEntryBytes, ")"));
  } else {
    out.resize(static_cast<size_t>(st.st_size));
    size_t got = 0;
    while (got < out.size()) {
      const ssize_t n = ::read(fd, out.data() + got, out.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    if (got != out.size()) status = absl::DataLossError("short read");
  }
  ::close(fd);
  if (!status.ok()) return status;
  return out;
}

absl::Status MakePrivateDirectory(const std::string& dir) {
  // Made 0700 whatever the umask; one that exists keeps its mode, and is
  // refused below if others may use it.
  if (absl::Status s = MakeDirectories(fs::path(dir).parent_path().string());
      !s.ok()) {
    return s;
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::UnavailableError(
        absl::StrCat("cannot make ", dir, ": ", std::strerror(errno)));
  }
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot stat ", dir, ": ", std::strerror(errno)));
  }
  if ((st.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s is mode %04o: a spool holds sealed evidence and its metadata; "
        "make it 0700 (chmod 700 %s)",
        dir, st.st_mode & 07777, dir));
  }
  return absl::OkStatus();
}

}  // namespace

Spool::Spool(std::string dir, SpoolLimits limits)
    : dir_(std::move(dir)), limits_(limits) {}

Spool::~Spool() { Close(); }

absl::StatusOr<std::unique_ptr<Spool>> Spool::Open(const std::string& dir,
                                                   SpoolLimits limits) {
  if (dir.empty()) return absl::InvalidArgumentError("spool.dir: must be set");
  if (absl::Status s = MakePrivateDirectory(dir); !s.ok()) return s;
  for (const char* sub : {"damaged", "refused", "floors"}) {
    if (absl::Status s = MakePrivateDirectory(absl::StrCat(dir, "/", sub));
        !s.ok()) {
      return s;
    }
  }
  std::unique_ptr<Spool> spool(new Spool(dir, limits));
  if (absl::Status s = spool->Load(); !s.ok()) return s;
  return spool;
}

std::string Spool::PathOf(uint64_t seq) const {
  return absl::StrFormat("%s/%020d%s", dir_, seq, kSuffix);
}

absl::Status Spool::Load() {
  std::vector<uint64_t> seqs;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(dir_, ec)) {
    const std::string name = e.path().filename().string();
    if (absl::EndsWith(name, ".tmp")) {
      // A write a crash cut short: never acknowledged, so never counted on.
      fs::remove(e.path(), ec);
      continue;
    }
    uint64_t seq = 0;
    if (!absl::EndsWith(name, kSuffix) ||
        !absl::SimpleAtoi(name.substr(0, name.size() - kSuffix.size()), &seq)) {
      continue;
    }
    seqs.push_back(seq);
  }
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot list the spool ", dir_, ": ", ec.message()));
  }
  std::sort(seqs.begin(), seqs.end());
  absl::MutexLock lock(&mu_);
  for (uint64_t seq : seqs) {
    next_seq_ = std::max(next_seq_, seq + 1);
    absl::StatusOr<v1::SpoolEntry> entry = Read(seq);
    if (!entry.ok()) {
      MoveAside(seq, "damaged", entry.status().message());
      continue;
    }
    const uint64_t bytes = fs::file_size(PathOf(seq), ec);
    present_[seq] =
        Meta{ec ? 0 : bytes, FromProto(entry->spooled_at()), entry->lane_id()};
    stats_.bytes += present_[seq].bytes;
    stats_.oldest = std::min(stats_.oldest, present_[seq].spooled_at);
    waiting_.push_back(seq);
    NoteFloor(*entry);
  }
  if (!present_.empty()) {
    spdlog::info("spool {}: {} record(s) from before the restart to send", dir_,
                 present_.size());
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::SpoolEntry> Spool::Read(uint64_t seq) const {
  absl::StatusOr<std::string> bytes = ReadEntryFile(PathOf(seq));
  if (!bytes.ok()) return bytes.status();
  absl::StatusOr<std::string> payload = Decode(*bytes);
  if (!payload.ok()) return payload.status();
  v1::SpoolEntry entry;
  if (!entry.ParseFromString(*payload)) {
    return absl::DataLossError("the entry does not parse");
  }
  if (entry.lane_id().empty() || entry.sealed_record().empty() ||
      entry.idempotency_key().empty()) {
    return absl::DataLossError("the entry lacks its lane, record or key");
  }
  return entry;
}

void Spool::MoveAside(uint64_t seq, absl::string_view folder,
                      absl::string_view why) {
  const std::string from = PathOf(seq);
  const std::string to =
      absl::StrFormat("%s/%s/%020d%s", dir_, folder, seq, kSuffix);
  std::error_code ec;
  fs::rename(from, to, ec);
  if (folder == "damaged") {
    ++stats_.damaged;
    spdlog::error(
        "spool: entry {} is damaged ({}); moved to {} and skipped. The "
        "crossing it held is lost unless the file can be repaired.",
        from, why, ec ? std::string("nowhere: ") + ec.message() : to);
  } else {
    ++stats_.refused;
    spdlog::error(
        "spool: the vault refused entry {} for good ({}); moved to {}, still "
        "sealed, for an operator to look at",
        from, why, ec ? std::string("nowhere: ") + ec.message() : to);
  }
}

void Spool::Forget(uint64_t seq) {
  auto it = present_.find(seq);
  if (it == present_.end()) return;
  stats_.bytes -= it->second.bytes;
  const bool was_oldest = it->second.spooled_at <= stats_.oldest;
  present_.erase(it);
  if (was_oldest) {
    stats_.oldest = absl::InfiniteFuture();
    for (const auto& [other, meta] : present_) {
      stats_.oldest = std::min(stats_.oldest, meta.spooled_at);
    }
  }
}

void Spool::NoteFloor(const v1::SpoolEntry& entry) {
  if (entry.source().empty()) return;
  int64_t& floor = floors_[{entry.lane_id(), entry.source()}];
  floor = std::max(floor, entry.settled_before());
}

absl::StatusOr<uint64_t> Spool::Append(const v1::SpoolEntry& entry) {
  const std::string bytes = Encode(entry.SerializeAsString());
  if (bytes.size() > kMaxEntryBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a record of ", bytes.size(), " bytes is larger than any crossing"));
  }
  uint64_t seq;
  {
    absl::MutexLock lock(&mu_);
    const bool full = present_.size() + 1 > limits_.max_records ||
                      stats_.bytes + bytes.size() > limits_.max_bytes;
    if (full) {
      ++stats_.full_refusals;
      const absl::Time now = absl::Now();
      if (!stats_.full || now - full_reported_ > absl::Seconds(30)) {
        full_reported_ = now;
        spdlog::critical(
            "spool {} is FULL ({} records, {} bytes; limits {} and {}), the "
            "oldest spooled {} ago: the vault has not acknowledged them. "
            "Lanes hold their formed records and drop frames until it "
            "drains.",
            dir_, present_.size(), stats_.bytes, limits_.max_records,
            limits_.max_bytes,
            absl::FormatDuration(
                absl::Trunc(now - stats_.oldest, absl::Seconds(1))));
      }
      stats_.full = true;
      return absl::ResourceExhaustedError(
          absl::StrCat("the spool is full (", present_.size(), " records)"));
    }
    seq = next_seq_++;
  }
  const std::string path = PathOf(seq);
  absl::Status s = WriteFileAtomically(path, bytes, 0600);
  if (s.ok()) s = SyncDirectory(dir_);
  if (!s.ok()) {
    std::error_code ec;
    fs::remove(path, ec);
    return absl::UnavailableError(
        absl::StrCat("cannot spool the record: ", s.message()));
  }
  absl::MutexLock lock(&mu_);
  const absl::Time at = FromProto(entry.spooled_at());
  present_[seq] = Meta{bytes.size(), at, entry.lane_id()};
  stats_.bytes += bytes.size();
  stats_.oldest = std::min(stats_.oldest, at);
  ++stats_.appended;
  if (stats_.full) {
    stats_.full = false;
    spdlog::warn("spool {} takes records again ({} waiting)", dir_,
                 present_.size());
  }
  // Sequence numbers are handed out in order but written concurrently:
  // keep the queue sorted.
  waiting_.insert(std::upper_bound(waiting_.begin(), waiting_.end(), seq), seq);
  NoteFloor(entry);
  return seq;
}

std::optional<Spool::Taken> Spool::Take(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::MutexLock lock(&mu_);
  while (true) {
    auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return closed_ || !waiting_.empty();
    };
    RequeueDeferred();
    mu_.AwaitWithDeadline(absl::Condition(&ready), deadline);
    RequeueDeferred();
    if (closed_ || waiting_.empty()) return std::nullopt;
    const uint64_t seq = waiting_.front();
    waiting_.pop_front();
    if (auto meta = present_.find(seq); meta != present_.end()) {
      if (auto p = paused_.find(meta->second.lane_id);
          p != paused_.end() && p->second > absl::Now()) {
        deferred_.push_back({seq, p->second});
        continue;
      }
    }
    absl::StatusOr<v1::SpoolEntry> entry = Read(seq);
    if (!entry.ok()) {
      MoveAside(seq, "damaged", entry.status().message());
      Forget(seq);
      continue;
    }
    held_.insert(seq);
    return Taken{seq, std::move(*entry)};
  }
}

void Spool::Return(uint64_t seq) {
  absl::MutexLock lock(&mu_);
  if (held_.erase(seq) == 0) return;
  waiting_.insert(std::upper_bound(waiting_.begin(), waiting_.end(), seq), seq);
}

void Spool::Defer(uint64_t seq, absl::Duration wait) {
  absl::MutexLock lock(&mu_);
  if (held_.erase(seq) == 0) return;
  deferred_.push_back({seq, absl::Now() + wait});
}

void Spool::PauseLane(const std::string& lane_id, absl::Duration wait) {
  absl::MutexLock lock(&mu_);
  paused_[lane_id] = absl::Now() + wait;
}

void Spool::RequeueDeferred() {
  const absl::Time now = absl::Now();
  for (auto it = deferred_.begin(); it != deferred_.end();) {
    if (it->second > now) {
      ++it;
      continue;
    }
    waiting_.insert(
        std::upper_bound(waiting_.begin(), waiting_.end(), it->first),
        it->first);
    it = deferred_.erase(it);
  }
}

absl::Status Spool::KeepFloor(const v1::SpoolEntry& entry) {
  if (entry.source().empty()) return absl::OkStatus();
  absl::MutexLock lock(&floor_files_mu_);
  capture::ResumePosition floor(absl::StrCat(dir_, "/floors"), entry.lane_id(),
                                entry.source());
  if (floor.Load() >= entry.settled_before()) return absl::OkStatus();
  return floor.Save(entry.settled_before());
}

absl::Status Spool::Remove(const Taken& taken) {
  // The floor first: once the entry is gone, only the floor says that its
  // crossing was formed.
  if (absl::Status s = KeepFloor(taken.entry); !s.ok()) {
    Return(taken.seq);
    return s;
  }
  const std::string path = PathOf(taken.seq);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    const int err = errno;
    Return(taken.seq);
    return absl::UnavailableError(
        absl::StrCat("cannot remove ", path, ": ", std::strerror(err)));
  }
  absl::MutexLock lock(&mu_);
  held_.erase(taken.seq);
  Forget(taken.seq);
  ++stats_.removed;
  return absl::OkStatus();
}

void Spool::Refuse(const Taken& taken, absl::string_view why) {
  absl::MutexLock lock(&mu_);
  held_.erase(taken.seq);
  MoveAside(taken.seq, "refused", why);
  Forget(taken.seq);
}

int64_t Spool::Floor(const std::string& lane_id, const std::string& source) {
  int64_t kept;
  {
    absl::MutexLock lock(&floor_files_mu_);
    kept =
        capture::ResumePosition(absl::StrCat(dir_, "/floors"), lane_id, source)
            .Load();
  }
  absl::MutexLock lock(&mu_);
  auto it = floors_.find({lane_id, source});
  return std::max(kept, it == floors_.end() ? int64_t{0} : it->second);
}

SpoolStats Spool::Stats() const {
  absl::MutexLock lock(&mu_);
  SpoolStats out = stats_;
  out.depth = present_.size();  // derived, never kept apart
  return out;
}

void Spool::Close() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
}

}  // namespace lanevault::node
