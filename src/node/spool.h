#ifndef LANEVAULT_NODE_SPOOL_H_
#define LANEVAULT_NODE_SPOOL_H_

// A capture node's durable spool: sealed records wait here, in the order
// they were formed, until the vault acknowledges them.
//
// One file per record, `<dir>/<seq>.rec` (seq zero-padded, so names sort in
// order), each "LVSPOOL1" + 8-byte little-endian length + a SpoolEntry +
// the SHA-256 of all before it. Written to `<seq>.tmp`, fsync'd, renamed
// and the folder fsync'd before Append returns: once it is OK the record
// survives a crash. A file that does not verify is moved to `damaged/`
// and reported, never sent and never a crash; a record the vault refused
// for good goes to `refused/`, still sealed, for an operator to look at.
// Neither counts towards the bounds.
//
// So that a crash between spooling a record and keeping its lane's resume
// position cannot form the crossing again, the spool also answers Floor():
// the furthest `settled_before` of any record it ever held for a lane and
// source, from the entries present and `floors/`, written before an entry
// is removed.

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lanevault/v1/node.pb.h"

namespace lanevault::node {

struct SpoolLimits {
  uint64_t max_records = 100000;
  uint64_t max_bytes = uint64_t{2} << 30;
};

struct SpoolStats {
  uint64_t depth = 0;  // records waiting or in flight
  uint64_t bytes = 0;
  absl::Time oldest = absl::InfiniteFuture();  // when the oldest was spooled
  uint64_t appended = 0;
  uint64_t removed = 0;
  uint64_t damaged = 0;        // moved to damaged/
  uint64_t refused = 0;        // moved to refused/
  uint64_t full_refusals = 0;  // Appends refused because the spool was full
  bool full = false;
};

class Spool {
 public:
  // Opens (making if missing, mode 0700) `dir`, clears half-written files a
  // crash left, and reads every entry's header. Damaged entries are moved
  // aside and reported. FAILED_PRECONDITION for a folder others may read
  // or write.
  static absl::StatusOr<std::unique_ptr<Spool>> Open(const std::string& dir,
                                                     SpoolLimits limits);
  ~Spool();

  // Durable when OK. RESOURCE_EXHAUSTED while full (reported in the log when
  // it fills and while it stays full); UNAVAILABLE when the disk refuses.
  absl::StatusOr<uint64_t> Append(const v1::SpoolEntry& entry);

  struct Taken {
    uint64_t seq = 0;
    v1::SpoolEntry entry;
  };
  // The oldest entry nobody holds, waiting up to `timeout` for one;
  // nullopt when none came or the spool is closed. Whoever takes an entry
  // must Remove, Refuse or Return it.
  std::optional<Taken> Take(absl::Duration timeout);
  // The vault did not acknowledge it: it goes back to the front.
  void Return(uint64_t seq);
  // The vault refuses it for now in a way a resend soon cannot change (the
  // node is not bound to its lane, or locked out): it is taken again only
  // after `wait`, and the entries behind it go on meanwhile.
  void Defer(uint64_t seq, absl::Duration wait);
  // Every entry of `lane_id`, spooled now or later, waits `wait` before it
  // is taken (each send would be refused, and each refusal counted).
  void PauseLane(const std::string& lane_id, absl::Duration wait);
  // The vault acknowledged it: gone for good (its floor kept first).
  absl::Status Remove(const Taken& taken);
  // The vault refused it for good: moved to refused/, reported.
  void Refuse(const Taken& taken, absl::string_view why);

  // See the file comment: 0 when the spool knows nothing of this source.
  int64_t Floor(const std::string& lane_id, const std::string& source);

  SpoolStats Stats() const;
  // Wakes every Take; later Takes return at once.
  void Close();
  const std::string& dir() const { return dir_; }

 private:
  Spool(std::string dir, SpoolLimits limits);
  absl::Status Load();
  std::string PathOf(uint64_t seq) const;
  absl::StatusOr<v1::SpoolEntry> Read(uint64_t seq) const;
  void MoveAside(uint64_t seq, absl::string_view folder, absl::string_view why)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RequeueDeferred() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Drops an entry that left the folder from the counts.
  void Forget(uint64_t seq) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void NoteFloor(const v1::SpoolEntry& entry)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status KeepFloor(const v1::SpoolEntry& entry);

  const std::string dir_;
  const SpoolLimits limits_;
  mutable absl::Mutex mu_;
  std::deque<uint64_t> waiting_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<uint64_t> held_ ABSL_GUARDED_BY(mu_);
  std::vector<std::pair<uint64_t, absl::Time>> deferred_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, absl::Time> paused_ ABSL_GUARDED_BY(mu_);
  struct Meta {
    uint64_t bytes = 0;
    absl::Time spooled_at;
    std::string lane_id;
  };
  absl::flat_hash_map<uint64_t, Meta> present_ ABSL_GUARDED_BY(mu_);
  // (lane id, source) -> furthest settled_before of the entries present.
  absl::flat_hash_map<std::pair<std::string, std::string>, int64_t> floors_
      ABSL_GUARDED_BY(mu_);
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_) = 1;
  SpoolStats stats_ ABSL_GUARDED_BY(mu_);
  absl::Time full_reported_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  absl::Mutex floor_files_mu_;  // one writer of floors/ at a time
};

}  // namespace lanevault::node

#endif  // LANEVAULT_NODE_SPOOL_H_
