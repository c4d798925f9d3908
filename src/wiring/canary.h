#ifndef LANEVAULT_WIRING_CANARY_H_
#define LANEVAULT_WIRING_CANARY_H_

// Canary records: decoys planted among real crossings. Reading one raises a
// critical alert and locks the reader out (see Gate::Run). They are worth
// something only if nobody can tell them apart, so a decoy copies no real
// record: it takes the shape (lane, categories, crop sizes, duration, how
// long after the vehicle left it was stored, retention) of a random recent
// real record, and arrives at a random time of its own, logged then, as a
// crossing would. Crop sizes vary by a few percent around the shape's, so no
// decoy repeats a real record's sizes. What is sealed is padded alike
// (vault.cc), and every
// record carries a mark in the file, a keyed one only for decoys. A decoy's
// plate, and each of its other readings (as many as its shape's plate had),
// is 10 random characters, longer than any real plate, so an exact plate
// lookup for a real vehicle never returns one.

#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lanevault/v1/audit.pb.h"
#include "lanevault/v1/types.pb.h"

namespace lanevault::wiring {

// What a decoy copies of a real record stored: never its content.
struct RecordShape {
  struct ItemShape {
    // Category, media type, box, confidence, frame: what is sealed beside
    // the content, so a decoy's sealed item is as long as a real one's.
    v1::Item meta;
    size_t size = 0;  // of the content
    // The deadline less the start of first_seen's cell (`cell` below).
    absl::Duration keep;
  };
  std::string lane_id, checkpoint_id, contract_id;
  uint64_t contract_version = 0;
  // Real deadlines run from whole cells of the coarsest purpose
  // (ItemDecision.deadline_cell, one for the record), and a decoy's must
  // too, or its expiry would tell it apart.
  absl::Duration cell;
  absl::Duration duration;  // last_seen - first_seen
  absl::Duration lag;       // stored at - last_seen
  std::vector<ItemShape> items;
  int dropped = 0;       // items the policy dropped
  v1::AuditEntry entry;  // who and how it was taken in; no ids, no time
};

// `deadline_cell`: the cell the policy ran the record's deadlines from
// (zero: from the capture time itself).
RecordShape ShapeOf(const v1::Record& kept, const v1::AuditEntry& entry,
                    int dropped, absl::Time stored_at,
                    absl::Duration deadline_cell = absl::ZeroDuration());

// Decides when decoys arrive and what they look like. Thread-safe.
class CanaryPlanter {
 public:
  // On average one decoy in `every` real records; none when `every` <= 0.
  explicit CanaryPlanter(int every) : every_(every) {}

  // A real record was stored at `now`: its shape joins the recent ones,
  // and now and then a decoy is scheduled at a random time ahead, within
  // about the gap real records arrive at.
  void NoteReal(RecordShape shape, absl::Time now);

  struct Decoy {
    v1::Record record;
    v1::AuditEntry entry;
    int dropped = 0;
  };
  // Decoys whose time has come, shaped like random recent real records and
  // timed as if they had just been stored at `now`, never overlapping the
  // last real crossing of their lane (a due decoy waits until it would not).
  std::vector<Decoy> Due(absl::Time now);

  // Decoys planted on a lane: its records stored, as an operator sees
  // them, count them, so the count does not tell how many there are.
  uint64_t Planted(absl::string_view lane_id);

 private:
  const int every_;
  absl::Mutex mu_;
  std::deque<RecordShape> shapes_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::Time> scheduled_ ABSL_GUARDED_BY(mu_);
  // Per lane, when its last real crossing ended: a lane sees one vehicle at
  // a time, so a decoy never overlaps one.
  absl::flat_hash_map<std::string, absl::Time> lane_free_from_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, uint64_t> planted_ ABSL_GUARDED_BY(mu_);
  absl::Time last_real_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Duration mean_gap_ ABSL_GUARDED_BY(mu_) = absl::Seconds(10);
};

}  // namespace lanevault::wiring

#endif  // LANEVAULT_WIRING_CANARY_H_
