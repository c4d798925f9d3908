#ifndef LANEVAULT_VAULT_STORE_ROWS_H_
#define LANEVAULT_VAULT_STORE_ROWS_H_

// What the store's interfaces (store.h) take and return: plain rows, the
// same whatever database holds them.

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "common/time_util.h"
#include "crypto/key_ring.h"
#include "lanevault/v1/audit.pb.h"
#include "lanevault/v1/decision.pb.h"
#include "lanevault/v1/types.pb.h"

namespace lanevault::vault {

// One item as stored: only the category and deadline are in the clear (the
// sweeper and the policy need them); everything else is inside `sealed`.
struct StoredItem {
  std::string item_id;
  v1::DataCategory category = v1::DATA_CATEGORY_UNSPECIFIED;
  absl::Time deadline;
  crypto::SealedItem sealed;
  // Plate text only: the blind index (see BlindIndex) of each kept reading
  // of the plate, best first (element i is rank i + 1; an empty one stores
  // no row), so an exact plate can be found while the readings themselves
  // stay sealed inside the item. Destroyed with the item.
  std::vector<std::string> plate_blind_indexes;
};

struct StoredRecord {
  v1::RecordSummary summary;  // categories are filled in on read
  std::vector<StoredItem> items;
  // At intake: the keyed mark that names the record a canary, or random
  // bytes of the same length for a real record (the vault gives every
  // record one, so the file does not say which are decoys).
  std::string canary_mark;
  // Records a capture node submitted: the keyed digest of what it sent, so a
  // resubmission is recognised as the same one (empty otherwise).
  std::string submission_digest;
};

struct RecordQuery {
  std::string lane_id;  // empty: every lane
  absl::Time since = absl::InfinitePast();
  absl::Time until = absl::InfiniteFuture();
  std::string after_record_id;  // paging: continue after this id
  int limit = 50;
};

// One plate's blind indexes, as a lookup asks for its readings.
struct PlateIndexValues {
  // The plate's undated value: readings indexed before time cells (SQLite
  // schema step 18, PostgreSQL step 7) carry it.
  std::string undated;
  // Its value in each time cell an unexpired reading can be indexed under.
  std::vector<std::string> cells;
};

// A filter over the access log; empty fields match everything.
struct AuditQuery {
  std::string principal;
  std::string record_id;
  v1::Action action = v1::ACTION_UNSPECIFIED;
  v1::Verdict verdict = v1::VERDICT_UNSPECIFIED;
  absl::Time since = absl::InfinitePast();
  absl::Time until = absl::InfiniteFuture();
  uint64_t start_sequence = 0;  // paging: entries at or after this one
  int limit = 100;
  // At most this many sequences from start_sequence are examined (0: no
  // bound), so a filter that matches little costs a bounded walk per call,
  // not one of the whole log; AuditPage says where to go on from.
  uint64_t scan_limit = 0;
  // Entries before this sequence only: a query paged to its end sees the
  // log as it was when it began, not the entries its own pages add.
  uint64_t end_sequence = std::numeric_limits<uint64_t>::max();
};

// A query's answer: its entries, and how far the log was examined.
struct AuditPage {
  std::vector<v1::AuditEntry> entries;
  // Every entry from the query's start to before this one was examined:
  // the next page starts here.
  uint64_t next_sequence = 0;
  // Whether the log (as the query saw it) holds entries at or after
  // next_sequence that were not examined.
  bool more = false;
};

// Where a walk from `start` stops in a log whose entries end before `end`:
// `scan_limit` entries on (0: no bound), or the end. Sequence is each
// store's key, so the walk is a range of its table however little of it
// matches.
inline uint64_t ScanStop(uint64_t start, uint64_t end, uint64_t scan_limit) {
  if (start >= end) return start;
  return scan_limit > 0 && end - start > scan_limit ? start + scan_limit : end;
}

// The page a walk of sequences [query.start_sequence, stop) gave, in a log
// whose entries end before `end`: a full page goes on after its last entry,
// any other after what was walked. The stores keep times to the
// microsecond and ask for every microsecond the window touches; the
// entries' own times, to the nanosecond, decide which are in it.
inline AuditPage PageOf(std::vector<v1::AuditEntry> entries,
                        const AuditQuery& query, uint64_t stop, uint64_t end) {
  AuditPage page;
  page.next_sequence = std::max(query.start_sequence, stop);
  if (query.limit > 0 && !entries.empty() &&
      entries.size() >= static_cast<size_t>(query.limit)) {
    page.next_sequence = entries.back().sequence() + 1;
  }
  page.more = page.next_sequence < end;
  for (v1::AuditEntry& e : entries) {
    const absl::Time t = FromProto(e.time());
    if (t >= query.since && t < query.until) {
      page.entries.push_back(std::move(e));
    }
  }
  return page;
}

struct StoredCheckpoint {
  uint64_t tree_size = 0;
  std::string note;  // the signed note, exactly as issued
};

struct ContractVersionRow {
  std::string contract_id;
  uint64_t version = 0;
  std::string signed_text;  // the signed contract file, byte for byte
  absl::Time activated;
};

// One record to store and the audit entry describing its intake.
struct IntakeRow {
  StoredRecord record;
  v1::AuditEntry audit;
};

struct PurgeResult {
  uint64_t items = 0;
  uint64_t records = 0;  // records left with no items, removed too
};

struct HoldRow {
  std::string hold_id;
  std::string case_id;
  std::string reason;
  std::vector<std::string> record_ids;
  std::string placed_by;
  absl::Time placed;
  std::string lifted_by;  // empty while in force
  absl::Time lifted = absl::InfinitePast();
  std::string lift_reason;
  bool active() const { return lifted_by.empty(); }
};

// Retention figures for one category at a given time.
struct CategoryRetentionRow {
  v1::DataCategory category = v1::DATA_CATEGORY_UNSPECIFIED;
  uint64_t items = 0;
  uint64_t on_hold = 0;
  uint64_t overdue = 0;  // past deadline, not on hold, not yet purged
  absl::Time next_deadline = absl::InfiniteFuture();  // of items not on hold
};

struct AlertRow {
  std::string alert_id;
  absl::Time raised;
  std::string severity;  // "info", "warning", "critical"
  std::string kind;      // "data_loss", "canary_read", ...
  std::string principal;
  std::string message;  // never personal data
  std::string acknowledged_by;
};

// A principal refused access until a compliance officer lifts it.
struct LockoutRow {
  std::string principal;
  std::string reason;  // never personal data
  absl::Time since;
};

// A contract version proposed over the API and the signatures gathered.
struct ProposalRow {
  std::string contract_id;
  uint64_t version = 0;
  std::string signed_contract;  // a serialized v1::SignedContract
  std::string proposed_by;
  absl::Time proposed;
};

struct KekRow {
  crypto::WrappedKek kek;
  absl::Time created;
};

// An item whose data key is wrapped by an older KEK, with what its
// associated data needs.
struct RewrapCandidate {
  std::string record_id;
  std::string contract_id;
  uint64_t contract_version = 0;
  StoredItem item;  // ciphertext left empty: re-wrapping does not need it
};

struct Rewrapped {
  std::string record_id;
  std::string item_id;
  uint32_t from_version = 0;
  uint32_t to_version = 0;
  std::string wrapped_key;
};

struct ReadCounts {
  uint32_t reads = 0;    // allowed reads
  uint32_t records = 0;  // distinct records among them
};

}  // namespace lanevault::vault

#endif  // LANEVAULT_VAULT_STORE_ROWS_H_
