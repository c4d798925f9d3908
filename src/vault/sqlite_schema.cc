#include <iterator>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/logging.h"
#include "vault/sqlite_store_impl.h"

namespace lanevault::vault {
namespace {

// Schema migrations, applied in order; the database remembers how many ran
// (PRAGMA user_version). Never edit a step once it has shipped: add one.
constexpr absl::string_view kMigrations[] = {
    R"sql(
CREATE TABLE records(
  record_id TEXT PRIMARY KEY,
  lane_id TEXT NOT NULL,
  checkpoint_id TEXT NOT NULL,
  first_seen_us INTEGER NOT NULL,
  last_seen_us INTEGER NOT NULL,
  contract_id TEXT NOT NULL,
  contract_version INTEGER NOT NULL
);
CREATE INDEX records_by_time ON records(first_seen_us, record_id);
CREATE TABLE items(
  item_id TEXT PRIMARY KEY,
  record_id TEXT NOT NULL REFERENCES records(record_id),
  category INTEGER NOT NULL,
  deadline_us INTEGER NOT NULL,
  key_version INTEGER NOT NULL,
  wrapped_key BLOB NOT NULL,
  ciphertext BLOB NOT NULL
);
CREATE INDEX items_by_record ON items(record_id);
CREATE INDEX items_by_deadline ON items(deadline_us);

-- The access log: one row per entry (the exact bytes that were hashed), a
-- few columns copied out of it for auditors' queries, and the Merkle tree's
-- perfect subtrees (level 0 are the leaf hashes).
CREATE TABLE audit_log(
  sequence INTEGER PRIMARY KEY,
  time_us INTEGER NOT NULL,
  principal TEXT NOT NULL,
  record_id TEXT NOT NULL,
  action INTEGER NOT NULL,
  verdict INTEGER NOT NULL,
  entry BLOB NOT NULL
);
CREATE INDEX audit_by_principal ON audit_log(principal, time_us);
CREATE INDEX audit_by_record ON audit_log(record_id, sequence);
CREATE INDEX audit_by_time ON audit_log(time_us);
CREATE TABLE audit_nodes(
  level INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  hash BLOB NOT NULL,
  PRIMARY KEY(level, idx)
) WITHOUT ROWID;
-- Every contract that took effect, exactly as signed: a record names the
-- contract id and version it was taken in under.
CREATE TABLE contracts(
  contract_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  signed_text BLOB NOT NULL,
  activated_us INTEGER NOT NULL,
  PRIMARY KEY(contract_id, version)
);
CREATE TABLE audit_checkpoints(
  tree_size INTEGER PRIMARY KEY,
  note TEXT NOT NULL
);
)sql",
    // 2: versioned key-encryption keys, the plate blind index, retention
    // holds, alerts and small settings.
    R"sql(
-- How many items a record has (-1 for rows from before this step): a read
-- that finds another number reports damage instead of a partial record.
ALTER TABLE records ADD COLUMN item_count INTEGER NOT NULL DEFAULT -1;
CREATE TABLE vault_meta(
  key TEXT PRIMARY KEY,
  value BLOB NOT NULL
);
-- Key-encryption keys, each wrapped by the master key. The newest version
-- wraps new data keys; older ones are re-wrapped away and then deleted.
CREATE TABLE keks(
  version INTEGER PRIMARY KEY,
  wrapped BLOB NOT NULL,
  created_us INTEGER NOT NULL
);
-- Items, rebuilt clustered by record (WITHOUT ROWID, keyed by record and
-- item): a record's items share pages, and there is no separate id index
-- to write. Every index is one more page per intake commit, so this also
-- folds the plate blind index into a column (keyed BLAKE2b of the
-- normalised plate text, plate-text items only; destroyed with the item).
-- Items sealed before this step had their data keys wrapped by the master
-- key itself: key version 0. Rotation re-wraps them like any old version.
CREATE TABLE items_v2(
  record_id TEXT NOT NULL REFERENCES records(record_id),
  item_id TEXT NOT NULL,
  category INTEGER NOT NULL,
  deadline_us INTEGER NOT NULL,
  key_version INTEGER NOT NULL,
  plate_blind BLOB,
  wrapped_key BLOB NOT NULL,
  ciphertext BLOB NOT NULL,
  PRIMARY KEY(record_id, item_id)
) WITHOUT ROWID;
INSERT INTO items_v2(record_id, item_id, category, deadline_us, key_version,
                     wrapped_key, ciphertext)
  SELECT record_id, item_id, category, deadline_us, 0, wrapped_key, ciphertext
  FROM items;
DROP TABLE items;
ALTER TABLE items_v2 RENAME TO items;
CREATE INDEX items_by_deadline ON items(deadline_us);
CREATE INDEX items_by_plate ON items(plate_blind) WHERE plate_blind IS NOT NULL;
-- Re-wrapping after a rotation is rare and scans; time-only log queries
-- scan too (the principal and record indexes serve quotas and linkage).
DROP INDEX audit_by_time;
CREATE TABLE legal_holds(
  hold_id TEXT PRIMARY KEY,
  case_id TEXT NOT NULL,
  reason TEXT NOT NULL,
  placed_by TEXT NOT NULL,
  placed_us INTEGER NOT NULL,
  lifted_by TEXT,
  lifted_us INTEGER,
  lift_reason TEXT
);
CREATE TABLE hold_records(
  hold_id TEXT NOT NULL REFERENCES legal_holds(hold_id),
  record_id TEXT NOT NULL,
  PRIMARY KEY(hold_id, record_id)
) WITHOUT ROWID;
CREATE INDEX hold_records_by_record ON hold_records(record_id);
CREATE TABLE alerts(
  alert_id TEXT PRIMARY KEY,
  raised_us INTEGER NOT NULL,
  severity TEXT NOT NULL,
  kind TEXT NOT NULL,
  principal TEXT NOT NULL,
  message TEXT NOT NULL,
  acknowledged_by TEXT
);
)sql",
    // 3: lockouts, canary marks, contract proposals, and refusals findable
    // per principal.
    R"sql(
-- Principals locked out after repeated refusals or a canary read. Only a
-- compliance officer lifts a lockout (the row is then deleted; the log
-- keeps both events).
CREATE TABLE lockouts(
  principal TEXT PRIMARY KEY,
  reason TEXT NOT NULL,
  since_us INTEGER NOT NULL
);
-- Decoy records, by a keyed hash of their id: a copy of this file does not
-- say which records are decoys.
CREATE TABLE canary_marks(
  mark BLOB PRIMARY KEY
) WITHOUT ROWID;
-- Contract versions proposed over the API, with the signatures gathered so
-- far (a serialized SignedContract).
CREATE TABLE contract_proposals(
  contract_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  signed BLOB NOT NULL,
  proposed_by TEXT NOT NULL,
  proposed_us INTEGER NOT NULL,
  PRIMARY KEY(contract_id, version)
);
-- Refusals per principal in a window decide lockouts.
CREATE INDEX audit_refusals ON audit_log(principal, time_us) WHERE verdict = 2;
)sql",
    // 4: what each refusal counts towards (entries from before counted
    // towards the lockout, as they did), and the keyed digest of what a
    // capture node submitted, so a resubmission is told from a clash.
    R"sql(
ALTER TABLE audit_log ADD COLUMN refusal_count INTEGER NOT NULL DEFAULT 1;
DROP INDEX audit_refusals;
CREATE INDEX audit_refusals_by_count
  ON audit_log(principal, refusal_count, time_us) WHERE verdict = 2;
ALTER TABLE records ADD COLUMN submission_digest BLOB;
)sql",
    // 5: groups of principals (quotas and linkage per group), the records a
    // lookup or search revealed (linkage judged on what was learned), and
    // when a lockout was last lifted (its refusals no longer count).
    R"sql(
ALTER TABLE audit_log ADD COLUMN grp TEXT NOT NULL DEFAULT '';
CREATE INDEX audit_by_group ON audit_log(grp, time_us) WHERE grp != '';
CREATE TABLE audit_reveals(
  sequence INTEGER NOT NULL,
  principal TEXT NOT NULL,
  grp TEXT NOT NULL,
  record_id TEXT NOT NULL
);
CREATE INDEX reveals_by_record ON audit_reveals(record_id);
CREATE TABLE lockout_lifts(
  principal TEXT PRIMARY KEY,
  lifted_us INTEGER NOT NULL
);
)sql",
    // 6: submissions of which the policy kept nothing, so their idempotency
    // key is remembered like a stored record's.
    R"sql(
CREATE TABLE unkept_submissions(
  record_id TEXT PRIMARY KEY,
  digest BLOB NOT NULL
);
)sql",
    // 7: a blind index per plate reading, not just the top one, so an
    // exact-plate lookup finds a vehicle whose first reading was wrong.
    R"sql(
-- One row per kept candidate reading of a plate-text item (rank 1 is the
-- top reading; the readings themselves are sealed inside the item). Rows
-- are clustered by item so a record's rows share pages at intake and go
-- with the item at purge; the blind index serves lookups, ranked.
CREATE TABLE plate_candidates(
  record_id TEXT NOT NULL,
  item_id TEXT NOT NULL,
  rank INTEGER NOT NULL,
  blind BLOB NOT NULL,
  PRIMARY KEY(record_id, item_id, rank)
) WITHOUT ROWID;
CREATE INDEX plate_candidates_by_blind
  ON plate_candidates(blind, rank, record_id);
-- Items stored before this step had only their top reading indexed: it
-- becomes their rank 1, and the items column is emptied, so no second copy
-- of a blind index can outlive the one purge removes. The column itself
-- stays, always NULL: dropping it would rewrite every item, images and
-- all, in one transaction at startup, while this rewrites the small
-- plate-text rows only.
INSERT INTO plate_candidates(record_id, item_id, rank, blind)
  SELECT record_id, item_id, 1, plate_blind FROM items
  WHERE plate_blind IS NOT NULL;
DROP INDEX items_by_plate;
UPDATE items SET plate_blind = NULL WHERE plate_blind IS NOT NULL;
)sql",
    // 8: the access log's tree nodes keyed by the log size at which each
    // was completed, so the nodes one append completes (its leaf and every
    // subtree it closes) are neighbours on one page instead of one page per
    // level: usually one page written per appended entry, not two or more.
    R"sql(
CREATE TABLE audit_nodes_v2(
  -- (idx + 1) << level: the tree size once this node's subtree is whole.
  pos INTEGER NOT NULL,
  level INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  hash BLOB NOT NULL,
  PRIMARY KEY(pos, level)
) WITHOUT ROWID;
INSERT INTO audit_nodes_v2(pos, level, idx, hash)
  SELECT (idx + 1) << level, level, idx, hash FROM audit_nodes;
DROP TABLE audit_nodes;
ALTER TABLE audit_nodes_v2 RENAME TO audit_nodes;
)sql",
    // 9: items as an ordinary table, appended in intake order, with their
    // (record, item) key in an index of its own. Clustered by a random
    // record id, each item put up to ~1 KB of its ciphertext into a leaf
    // page at a random place in the tree (SQLite keeps that much of a
    // WITHOUT ROWID row beside its key), so every intake split and wrote
    // leaf and interior pages all over it: about 5.5 pages per record
    // beside its ~16 overflow pages. Appended, the rows fill pages in
    // order, and only the small key entries land at random places.
    R"sql(
-- plate_blind stays, always NULL, so that a vault from before step 7
-- still migrates through every step after it.
CREATE TABLE items_v3(
  record_id TEXT NOT NULL REFERENCES records(record_id),
  item_id TEXT NOT NULL,
  category INTEGER NOT NULL,
  deadline_us INTEGER NOT NULL,
  key_version INTEGER NOT NULL,
  plate_blind BLOB,
  wrapped_key BLOB NOT NULL,
  ciphertext BLOB NOT NULL
);
INSERT INTO items_v3(record_id, item_id, category, deadline_us, key_version,
                     plate_blind, wrapped_key, ciphertext)
  SELECT record_id, item_id, category, deadline_us, key_version, plate_blind,
         wrapped_key, ciphertext
  FROM items;
DROP TABLE items;
ALTER TABLE items_v3 RENAME TO items;
CREATE UNIQUE INDEX items_by_record ON items(record_id, item_id);
CREATE INDEX items_by_deadline ON items(deadline_us);
)sql",
};

// The steps that rewrite a whole table in their one transaction, by index
// into kMigrations: on a large vault they take minutes and need free disk
// for the table's new copy and the WAL that carries it.
struct Rewrite {
  int64_t step;
  const char* table;
};
constexpr Rewrite kRewrites[] = {
    {1, "items"}, {7, "audit_nodes"}, {8, "items"}};
// Free disk a rewrite needs, in multiples of the table rewritten: the WAL
// carries the new copy and, secure_delete being on, every old page zeroed
// (2x); the checkpoint at the commit then grows the file by the new copy
// (1x) before the WAL is reset. Measured on step 9 over a 194 MB items
// table: 2.95x at the peak.
constexpr int kRewriteDiskFactor = 3;

absl::StatusOr<int64_t> UserVersion(Database& db) {
  // Finalized before the steps run: an open statement would lock the
  // schema against DROP.
  absl::StatusOr<Statement> q = db.Prepare("PRAGMA user_version");
  if (!q.ok()) return q.status();
  absl::StatusOr<bool> row = q->Step();
  if (!row.ok()) return row.status();
  return q->Int(0);
}

// Says, before a rewrite starts, why this start is slow: the row count
// tells an operator how long to expect.
absl::Status AnnounceRewrite(Database& db, int64_t step) {
  for (const Rewrite& r : kRewrites) {
    if (r.step != step) continue;
    absl::StatusOr<Statement> q =
        db.Prepare(absl::StrCat("SELECT COUNT(*) FROM ", r.table));
    if (!q.ok()) return q.status();
    absl::StatusOr<bool> row = q->Step();
    if (!row.ok()) return row.status();
    if (q->Int(0) == 0) continue;  // a new vault: nothing to wait for
    spdlog::info(
        "vault schema step {}: rewriting the {} table ({} rows) in one "
        "transaction; on a large vault this start takes minutes, and the "
        "disk needs free space of about {} times the table's size until it "
        "ends",
        step + 1, r.table, q->Int(0), kRewriteDiskFactor);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<int64_t> MigrateSchema(Database& db) {
  constexpr int64_t kLatest = std::size(kMigrations);
  absl::StatusOr<int64_t> seen = UserVersion(db);
  if (!seen.ok()) return seen.status();
  // An up-to-date vault starts without taking the write lock.
  if (*seen == kLatest) return 0;
  int64_t ran = 0;
  while (true) {
    absl::StatusOr<Transaction> tx = Transaction::Begin(db);
    if (!tx.ok()) return tx.status();
    // Read again under the write lock: another process opening the same
    // vault may have run this step between the read above and the lock.
    absl::StatusOr<int64_t> applied = UserVersion(db);
    if (!applied.ok()) return applied.status();
    const int64_t v = *applied;
    if (v > kLatest) {
      return absl::FailedPreconditionError(absl::StrCat(
          "vault schema version ", v, " is newer than this build (", kLatest,
          "); upgrade lanevault"));
    }
    if (v == kLatest) return ran;  // nothing written: the rollback is a no-op
    if (absl::Status s = AnnounceRewrite(db, v); !s.ok()) return s;
    const absl::Time started = absl::Now();
    if (absl::Status s = db.Exec(kMigrations[v]); !s.ok()) return s;
    if (absl::Status s = db.Exec(absl::StrCat("PRAGMA user_version=", v + 1));
        !s.ok()) {
      return s;
    }
    if (absl::Status s = tx->Commit(); !s.ok()) return s;
    ++ran;
    const absl::Duration took = absl::Now() - started;
    if (took > absl::Seconds(1)) {
      spdlog::info("vault schema step {} done in {}", v + 1,
                   absl::FormatDuration(took));
    }
  }
}

}  // namespace lanevault::vault
