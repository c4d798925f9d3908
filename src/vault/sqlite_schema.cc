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
    // 10: the tree nodes one append completes (its leaf hash, then each
    // subtree it closes, level by level, 32 bytes each) kept in that
    // entry's own row: the row is appended anyway, so they cost no page of
    // their own (audit_nodes wrote ~1.4 pages per intake record committed
    // alone). Nodes stored before this step stay in audit_nodes and are
    // read there; only this step's ALTER is skipped where the column is
    // already there (a test that sets the version back runs it again).
    R"sql(
ALTER TABLE audit_log ADD COLUMN nodes BLOB;
)sql",
    // 11: records clustered by their id (WITHOUT ROWID): the id's own index
    // was a second random-keyed b-tree written per record. Rebuilt with
    // foreign keys off (items reference records), checked before commit.
    R"sql(
CREATE TABLE records_v2(
  record_id TEXT PRIMARY KEY,
  lane_id TEXT NOT NULL,
  checkpoint_id TEXT NOT NULL,
  first_seen_us INTEGER NOT NULL,
  last_seen_us INTEGER NOT NULL,
  contract_id TEXT NOT NULL,
  contract_version INTEGER NOT NULL,
  item_count INTEGER NOT NULL DEFAULT -1,
  submission_digest BLOB
) WITHOUT ROWID;
INSERT INTO records_v2(record_id, lane_id, checkpoint_id, first_seen_us,
                       last_seen_us, contract_id, contract_version,
                       item_count, submission_digest)
  SELECT record_id, lane_id, checkpoint_id, first_seen_us, last_seen_us,
         contract_id, contract_version, item_count, submission_digest
  FROM records ORDER BY record_id;  -- in key order: the new b-tree appended
DROP TABLE records;
ALTER TABLE records_v2 RENAME TO records;
CREATE INDEX records_by_time ON records(first_seen_us, record_id);
)sql",
    // 12: one b-tree of plate readings, keyed by blind index (a lookup's
    // prefix), instead of rows clustered by item plus an index by blind: one
    // random-keyed b-tree written per reading, not two. Purge finds an
    // item's rows through the copy of its blind indexes kept in the item's
    // own row (items.plate_blind, unused since step 7: rank, length and
    // bytes of each), deleted in the same transaction, so no copy outlives
    // the rows purge removes. Readings stored before this step stay in
    // plate_candidates, found and purged there.
    R"sql(
CREATE TABLE plate_blinds(
  blind BLOB NOT NULL,
  rank INTEGER NOT NULL,
  record_id TEXT NOT NULL,
  item_id TEXT NOT NULL,
  PRIMARY KEY(blind, rank, record_id, item_id)
) WITHOUT ROWID;
)sql",
    // 13: each record's canary mark (keyed for a decoy, random for a real
    // record) in the record's own row instead of a b-tree of marks written
    // per record (~1.2 pages committing alone). Marks stored before this
    // step stay in canary_marks and are checked there.
    R"sql(
ALTER TABLE records ADD COLUMN canary_mark BLOB;
)sql",
    // 14: items found through their record's row instead of an index of
    // their own. A record's items are inserted one after another in one
    // transaction, so their row ids are a range, kept in the record's row
    // (items_first, items_last); a read, a lookup or a purge seeks that
    // range and checks each row's record id. items_by_record was one more
    // random-keyed b-tree written per item at intake. The row id is now an
    // INTEGER PRIMARY KEY: a VACUUM (an operator's, say) may renumber an
    // implicit row id, never a declared one. Rebuilt in (record, item)
    // order, so every record from before this step has a range of its own
    // (filled by kAfterStep, below). The foreign key to records goes with the
    // index: without an index on items(record_id), SQLite checks a deleted
    // record for children by scanning every item. The store inserts a record's
    // items after its row, in one transaction, and deletes the row only once
    // its range holds no item.
    R"sql(
CREATE TABLE items_v4(
  item_rowid INTEGER PRIMARY KEY,
  record_id TEXT NOT NULL,
  item_id TEXT NOT NULL,
  category INTEGER NOT NULL,
  deadline_us INTEGER NOT NULL,
  key_version INTEGER NOT NULL,
  plate_blind BLOB,
  wrapped_key BLOB NOT NULL,
  ciphertext BLOB NOT NULL
);
INSERT INTO items_v4(record_id, item_id, category, deadline_us, key_version,
                     plate_blind, wrapped_key, ciphertext)
  SELECT record_id, item_id, category, deadline_us, key_version, plate_blind,
         wrapped_key, ciphertext
  FROM items ORDER BY record_id, item_id;
DROP TABLE items;
ALTER TABLE items_v4 RENAME TO items;
CREATE INDEX items_by_deadline ON items(deadline_us);
ALTER TABLE records ADD COLUMN items_first INTEGER;
ALTER TABLE records ADD COLUMN items_last INTEGER;
)sql",
    // 15: the by-principal index without intake entries (action 1,
    // ACTION_INTAKE). What it serves, the quota counts of a principal's
    // reads and searches, never counts an intake; yet every intake added an
    // entry under its capture node, one more b-tree page written per record
    // committed alone. The queries that use it say "action != 1" too, so
    // SQLite can prove the partial index covers them
    // (kCountReadsByPrincipal, kCountCallsByPrincipal in sqlite_store_impl.h).
    R"sql(
DROP INDEX audit_by_principal;
CREATE INDEX audit_by_principal ON audit_log(principal, time_us)
  WHERE action != 1;
)sql",
    // 16: the by-record index without intake entries, as step 15 did for
    // the by-principal one. Every query it serves asks for a record's
    // reads, searches, purge or key events, never its intake; yet every
    // intake added an entry under a new record id, a random page of the
    // index written per record committed alone. The queries state "action
    // != 1" too and name the index (kWasPurged to kKekEntries in
    // sqlite_store_impl.h).
    R"sql(
DROP INDEX audit_by_record;
CREATE INDEX audit_by_record ON audit_log(record_id, sequence)
  WHERE action != 1;
)sql",
    // 17: the quota indexes hold what the counts ask. A count of a
    // principal's (or a group's) allowed reads in a window walked every
    // entry of theirs in it, refusals and other calls included, and read
    // each entry's row for its verdict, action and record; now it seeks to
    // the allowed calls of one action and reads the index alone, so it
    // walks no more entries than the quota lets them make
    // (kCountReadsByPrincipal, kCountCallsByPrincipal in sqlite_store_impl.h
    // and the group counts in sqlite_store.cc).
    R"sql(
DROP INDEX audit_by_principal;
CREATE INDEX audit_by_principal
  ON audit_log(principal, verdict, action, time_us, record_id)
  WHERE action != 1;
DROP INDEX audit_by_group;
CREATE INDEX audit_by_group
  ON audit_log(grp, verdict, action, time_us, record_id) WHERE grp != '';
)sql",
    // 18: plate readings kept from here on are indexed under the hour (or
    // day) of their deadline (Vault::PlateIndexOf), older ones keep their
    // undated value. Nothing to change in the file: the step is there so
    // that a build from before it refuses this vault (its lookups would ask
    // for the undated value alone and miss every reading kept since).
    R"sql(
SELECT 1;
)sql",
    // 19: the earliest and latest time_us of each whole block of 4,096
    // entries (kAuditBlockEntries), so that a query for a window walks only
    // the blocks that reach into it. The log keeps no index by time (step 2
    // dropped it to spare every append a b-tree), and an entry's time
    // follows its sequence only roughly (it is taken before the entry waits
    // for its commit), so a block's span is stored, not guessed.
    // SqliteStore::AppendLocked adds each block's row with its last entry.
    // Made anew when the step runs again (a vault set back to step 18, and
    // appended to by a build from before it, would lack the later blocks).
    R"sql(
DROP TABLE IF EXISTS audit_blocks;
CREATE TABLE audit_blocks(
  block INTEGER PRIMARY KEY,
  min_time_us INTEGER NOT NULL,
  max_time_us INTEGER NOT NULL
);
INSERT INTO audit_blocks(block, min_time_us, max_time_us)
  SELECT sequence / 4096, MIN(time_us), MAX(time_us) FROM audit_log
  GROUP BY sequence / 4096 HAVING COUNT(*) = 4096;
)sql",
};

// A step whose change is already in place is skipped, all but its version
// bump: ALTER TABLE ... ADD COLUMN cannot say IF NOT EXISTS. Keyed by
// index into kMigrations; the query counts what the step would add.
struct AlreadyDone {
  int64_t step;
  const char* query;
};
constexpr AlreadyDone kAlreadyDone[] = {
    {9,
     "SELECT COUNT(*) FROM pragma_table_info('audit_log') WHERE name = "
     "'nodes'"},
    {12,
     "SELECT COUNT(*) FROM pragma_table_info('records') WHERE name = "
     "'canary_mark'"},
    {13,
     "SELECT COUNT(*) FROM pragma_table_info('records') WHERE name = "
     "'items_first'"},
};

// SQL run after a step, whether it ran or was found done, by index into
// kMigrations. Step 14's ranges: on a vault whose version was set back to
// 13 after the step, a build from before it may have stored records without
// one. From the lowest to the highest row id of the record's items is
// always a correct range, if a wide one: every query checks the record id.
struct AfterStep {
  int64_t step;
  const char* sql;
};
constexpr AfterStep kAfterStep[] = {
    {13, R"sql(
UPDATE records SET items_first = r.lo, items_last = r.hi
  FROM (SELECT record_id, MIN(item_rowid) AS lo, MAX(item_rowid) AS hi
        FROM items GROUP BY record_id) AS r
  WHERE records.record_id = r.record_id AND records.items_first IS NULL;
)sql"},
};

// Steps that rebuild a table other tables reference: SQLite's DROP TABLE
// would check (and, immediate, refuse) the references, so these run with
// foreign keys off and check every reference themselves before commit.
constexpr int64_t kRebuildsAParent[] = {10};

// The columns a rebuild copies, by index into kMigrations: run on a table
// with more (a later step's, on a vault whose schema version was set back)
// it would drop them, and with them what they hold (step 13's canary
// marks), so it refuses instead.
struct RebuildCopies {
  int64_t step;
  const char* table;
  int64_t columns;
};
constexpr RebuildCopies kRebuildCopies[] = {{10, "records", 9},
                                            {13, "items", 8}};

// The steps that go over a whole table in their one transaction, by index
// into kMigrations: a rewrite of the table (`index` null) or an index built
// over it. On a large vault a rewrite takes minutes and needs free disk for
// the table's new copy and the WAL that carries it; an index, a few dozen
// bytes a row, less of both.
struct SlowStep {
  int64_t step;
  const char* table;
  const char* index = nullptr;
};
constexpr SlowStep kSlowSteps[] = {
    {1, "items"},
    {7, "audit_nodes"},
    {8, "items"},
    {10, "records"},
    {13, "items"},
    {14, "audit_log", "the audit_by_principal index"},
    {15, "audit_log", "the audit_by_record index"},
    {16, "audit_log", "the audit_by_principal and audit_by_group indexes"},
    {18, "audit_log", "the audit_blocks table of the log's times"}};
// Free disk a rewrite needs, in multiples of the table rewritten: the WAL
// carries the new copy and, secure_delete being on, every old page zeroed
// (2x); the checkpoint at the commit then grows the file by the new copy
// (1x) before the WAL is reset. Measured on step 9 over a 194 MB items
// table: 2.95x at the peak.
constexpr int kRewriteDiskFactor = 3;

// The first column of the first row of `sql` (0 without a row). The
// statement is finalized before this returns: an open one would lock the
// schema against DROP.
absl::StatusOr<int64_t> QueryInt(Database& db, const std::string& sql) {
  absl::StatusOr<Statement> q = db.Prepare(sql);
  if (!q.ok()) return q.status();
  absl::StatusOr<bool> row = q->Step();
  if (!row.ok()) return row.status();
  return *row ? q->Int(0) : 0;
}

absl::StatusOr<int64_t> UserVersion(Database& db) {
  return QueryInt(db, "PRAGMA user_version");
}

// Says, before a slow step starts, why this start is slow: the row count
// tells an operator how long to expect.
absl::Status AnnounceSlowStep(Database& db, int64_t step) {
  for (const SlowStep& r : kSlowSteps) {
    if (r.step != step) continue;
    absl::StatusOr<int64_t> rows =
        QueryInt(db, absl::StrCat("SELECT COUNT(*) FROM ", r.table));
    if (!rows.ok()) return rows.status();
    if (*rows == 0) continue;  // a new vault: nothing to wait for
    if (r.index != nullptr) {
      spdlog::info(
          "vault schema step {}: building {} over the {} table ({} "
          "rows) in one transaction; on a large vault this start takes a "
          "while",
          step + 1, r.index, r.table, *rows);
      continue;
    }
    spdlog::info(
        "vault schema step {}: rewriting the {} table ({} rows) in one "
        "transaction; on a large vault this start takes minutes, and the "
        "disk needs free space of about {} times the table's size until it "
        "ends",
        step + 1, r.table, *rows, kRewriteDiskFactor);
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> IsAlreadyDone(Database& db, int64_t step) {
  for (const AlreadyDone& d : kAlreadyDone) {
    if (d.step != step) continue;
    absl::StatusOr<int64_t> found = QueryInt(db, d.query);
    if (!found.ok()) return found.status();
    return *found > 0;
  }
  return false;
}

absl::Status CheckRebuildCopiesEveryColumn(Database& db, int64_t step) {
  for (const RebuildCopies& r : kRebuildCopies) {
    if (r.step != step) continue;
    absl::StatusOr<int64_t> columns =
        QueryInt(db, absl::StrCat("SELECT COUNT(*) FROM pragma_table_info('",
                                  r.table, "')"));
    if (!columns.ok()) return columns.status();
    if (*columns != r.columns) {
      return absl::FailedPreconditionError(absl::StrCat(
          "vault schema step ", step + 1, " rebuilds the ", r.table,
          " table from its ", r.columns, " columns, but it has ", *columns,
          ": the rebuild would drop what the others hold (was the schema "
          "version set back?); the vault is left as it was"));
    }
  }
  return absl::OkStatus();
}

absl::Status RunAfterStep(Database& db, int64_t step) {
  for (const AfterStep& a : kAfterStep) {
    if (a.step != step) continue;
    if (absl::Status s = db.Exec(a.sql); !s.ok()) return s;
  }
  return absl::OkStatus();
}

bool RebuildsAParent(int64_t step) {
  for (int64_t s : kRebuildsAParent) {
    if (s == step) return true;
  }
  return false;
}

// Any row whose reference a rebuild broke: the step is rolled back.
absl::Status CheckForeignKeys(Database& db) {
  absl::StatusOr<Statement> q = db.Prepare("PRAGMA foreign_key_check");
  if (!q.ok()) return q.status();
  absl::StatusOr<bool> row = q->Step();
  if (!row.ok()) return row.status();
  if (*row) {
    return absl::DataLossError(absl::StrCat(
        "a row of ", q->Text(0), " references a missing ", q->Text(2)));
  }
  return absl::OkStatus();
}

// Foreign keys off while the steps run, back as they were however they
// end (the pragma is a no-op inside a transaction, so it is set outside).
class ForeignKeysOff {
 public:
  explicit ForeignKeysOff(Database& db) : db_(db) {
    absl::StatusOr<int64_t> on = QueryInt(db_, "PRAGMA foreign_keys");
    on_ = on.ok() && *on != 0 && db_.Exec("PRAGMA foreign_keys=OFF").ok();
  }
  ~ForeignKeysOff() { Restore().IgnoreError(); }
  // Turns them on again (outside any transaction, where SQLite ignores the
  // pragma) and checks that they are: a vault must not run on without them.
  absl::Status Restore() {
    if (!on_) return absl::OkStatus();
    on_ = false;
    if (absl::Status s = db_.Exec("PRAGMA foreign_keys=ON"); !s.ok()) return s;
    absl::StatusOr<int64_t> on = QueryInt(db_, "PRAGMA foreign_keys");
    if (!on.ok()) return on.status();
    if (*on == 0) {
      return absl::InternalError(
          "foreign keys could not be turned on again after the schema "
          "migration");
    }
    return absl::OkStatus();
  }
  ForeignKeysOff(const ForeignKeysOff&) = delete;
  ForeignKeysOff& operator=(const ForeignKeysOff&) = delete;

 private:
  Database& db_;
  bool on_ = false;
};

// The steps from the version found to the latest, each in its own
// transaction (none open when this returns).
absl::StatusOr<int64_t> RunMigrations(Database& db, int64_t latest) {
  int64_t ran = 0;
  while (true) {
    absl::StatusOr<Transaction> tx = Transaction::Begin(db);
    if (!tx.ok()) return tx.status();
    // Read again under the write lock: another process opening the same
    // vault may have run this step between the read above and the lock.
    absl::StatusOr<int64_t> applied = UserVersion(db);
    if (!applied.ok()) return applied.status();
    const int64_t v = *applied;
    if (v > latest) {
      return absl::FailedPreconditionError(absl::StrCat(
          "vault schema version ", v, " is newer than this build (", latest,
          "); upgrade lanevault"));
    }
    if (v == latest) return ran;  // nothing written: the rollback is a no-op
    if (absl::Status s = AnnounceSlowStep(db, v); !s.ok()) return s;
    const absl::Time started = absl::Now();
    absl::StatusOr<bool> done = IsAlreadyDone(db, v);
    if (!done.ok()) return done.status();
    if (!*done) {
      if (absl::Status s = CheckRebuildCopiesEveryColumn(db, v); !s.ok()) {
        return s;
      }
      if (absl::Status s = db.Exec(kMigrations[v]); !s.ok()) return s;
    }
    if (absl::Status s = RunAfterStep(db, v); !s.ok()) return s;
    if (RebuildsAParent(v)) {
      if (absl::Status s = CheckForeignKeys(db); !s.ok()) return s;
    }
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

}  // namespace

absl::StatusOr<int64_t> MigrateSchema(Database& db) {
  constexpr int64_t kLatest = std::size(kMigrations);
  absl::StatusOr<int64_t> seen = UserVersion(db);
  if (!seen.ok()) return seen.status();
  // An up-to-date vault starts without taking the write lock.
  if (*seen == kLatest) return 0;
  // A connection in a transaction keeps the setting it had: turned off
  // before the first BEGIN.
  ForeignKeysOff fk_off(db);
  absl::StatusOr<int64_t> ran = RunMigrations(db, kLatest);
  if (absl::Status s = fk_off.Restore(); !s.ok()) return s;
  return ran;
}

}  // namespace lanevault::vault
