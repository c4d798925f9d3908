// The PostgreSQL store's schema, as numbered migrations.

#include <iterator>

#include "absl/strings/str_cat.h"
#include "vault/postgres_store_impl.h"

namespace lanevault::vault {
namespace {

// Schema migrations, applied in order; the database remembers how many ran
// (lanevault_schema). Never edit a step once it has shipped: add one. Step
// 1 is SQLite's six steps folded into one (sqlite_schema.cc says why each
// table and index exists). Ids compared or ordered are COLLATE "C": byte
// order, as SQLite's, whatever the database's locale.
constexpr absl::string_view kMigrations[] = {
    R"sql(
CREATE TABLE records(
  record_id TEXT COLLATE "C" PRIMARY KEY,
  lane_id TEXT NOT NULL,
  checkpoint_id TEXT NOT NULL,
  first_seen_us BIGINT NOT NULL,
  last_seen_us BIGINT NOT NULL,
  contract_id TEXT NOT NULL,
  contract_version BIGINT NOT NULL,
  item_count BIGINT NOT NULL,
  submission_digest BYTEA
);
CREATE INDEX records_by_time ON records(first_seen_us, record_id);
CREATE TABLE items(
  record_id TEXT COLLATE "C" NOT NULL REFERENCES records(record_id),
  item_id TEXT COLLATE "C" NOT NULL,
  category INTEGER NOT NULL,
  deadline_us BIGINT NOT NULL,
  key_version BIGINT NOT NULL,
  plate_blind BYTEA,
  wrapped_key BYTEA NOT NULL,
  ciphertext BYTEA NOT NULL,
  PRIMARY KEY(record_id, item_id)
);
CREATE INDEX items_by_deadline ON items(deadline_us);
CREATE INDEX items_by_plate ON items(plate_blind) WHERE plate_blind IS NOT NULL;

-- The access log: one row per entry (the exact bytes that were hashed),
-- the columns auditors' queries need, and the tree's perfect subtrees.
CREATE TABLE audit_log(
  sequence BIGINT PRIMARY KEY,
  time_us BIGINT NOT NULL,
  principal TEXT NOT NULL,
  record_id TEXT COLLATE "C" NOT NULL,
  action INTEGER NOT NULL,
  verdict INTEGER NOT NULL,
  entry BYTEA NOT NULL,
  refusal_count INTEGER NOT NULL DEFAULT 1,
  grp TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_by_principal ON audit_log(principal, time_us);
CREATE INDEX audit_by_record ON audit_log(record_id, sequence);
CREATE INDEX audit_refusals_by_count
  ON audit_log(principal, refusal_count, time_us) WHERE verdict = 2;
CREATE INDEX audit_by_group ON audit_log(grp, time_us) WHERE grp != '';
CREATE TABLE audit_nodes(
  level INTEGER NOT NULL,
  idx BIGINT NOT NULL,
  hash BYTEA NOT NULL,
  PRIMARY KEY(level, idx)
);
CREATE TABLE audit_reveals(
  sequence BIGINT NOT NULL,
  principal TEXT NOT NULL,
  grp TEXT NOT NULL,
  record_id TEXT COLLATE "C" NOT NULL
);
CREATE INDEX reveals_by_record ON audit_reveals(record_id);
CREATE TABLE audit_checkpoints(
  tree_size BIGINT PRIMARY KEY,
  note TEXT NOT NULL
);
-- The log's committed size, one row. Every transaction that appends takes
-- this row's lock first (SELECT ... FOR UPDATE) and writes the new size
-- before it commits: appends from any number of connections are serialised
-- by the database, each continuing the tree the last commit left.
CREATE TABLE log_head(
  one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK(one),
  size BIGINT NOT NULL
);
INSERT INTO log_head(size) VALUES(0);

CREATE TABLE contracts(
  contract_id TEXT NOT NULL,
  version BIGINT NOT NULL,
  signed_text BYTEA NOT NULL,
  activated_us BIGINT NOT NULL,
  PRIMARY KEY(contract_id, version)
);
CREATE TABLE vault_meta(
  key TEXT PRIMARY KEY,
  value BYTEA NOT NULL
);
CREATE TABLE keks(
  version BIGINT PRIMARY KEY,
  wrapped BYTEA NOT NULL,
  created_us BIGINT NOT NULL
);
CREATE TABLE legal_holds(
  hold_id TEXT COLLATE "C" PRIMARY KEY,
  case_id TEXT NOT NULL,
  reason TEXT NOT NULL,
  placed_by TEXT NOT NULL,
  placed_us BIGINT NOT NULL,
  lifted_by TEXT,
  lifted_us BIGINT,
  lift_reason TEXT
);
CREATE TABLE hold_records(
  hold_id TEXT COLLATE "C" NOT NULL REFERENCES legal_holds(hold_id),
  record_id TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY(hold_id, record_id)
);
CREATE INDEX hold_records_by_record ON hold_records(record_id);
CREATE TABLE alerts(
  alert_id TEXT COLLATE "C" PRIMARY KEY,
  raised_us BIGINT NOT NULL,
  severity TEXT NOT NULL,
  kind TEXT NOT NULL,
  principal TEXT NOT NULL,
  message TEXT NOT NULL,
  acknowledged_by TEXT
);
CREATE TABLE lockouts(
  principal TEXT PRIMARY KEY,
  reason TEXT NOT NULL,
  since_us BIGINT NOT NULL
);
CREATE TABLE lockout_lifts(
  principal TEXT PRIMARY KEY,
  lifted_us BIGINT NOT NULL
);
CREATE TABLE canary_marks(
  mark BYTEA PRIMARY KEY
);
CREATE TABLE contract_proposals(
  contract_id TEXT NOT NULL,
  version BIGINT NOT NULL,
  signed BYTEA NOT NULL,
  proposed_by TEXT NOT NULL,
  proposed_us BIGINT NOT NULL,
  PRIMARY KEY(contract_id, version)
);
CREATE TABLE unkept_submissions(
  record_id TEXT COLLATE "C" PRIMARY KEY,
  digest BYTEA NOT NULL
);
)sql",
    // 2: SQLite's step 7, a blind index per plate reading (ranked), with
    // the top readings indexed before it moved over as rank 1.
    R"sql(
CREATE TABLE plate_candidates(
  record_id TEXT COLLATE "C" NOT NULL,
  item_id TEXT COLLATE "C" NOT NULL,
  rank INTEGER NOT NULL,
  blind BYTEA NOT NULL,
  PRIMARY KEY(record_id, item_id, rank)
);
CREATE INDEX plate_candidates_by_blind
  ON plate_candidates(blind, rank, record_id);
INSERT INTO plate_candidates(record_id, item_id, rank, blind)
  SELECT record_id, item_id, 1, plate_blind FROM items
  WHERE plate_blind IS NOT NULL;
DROP INDEX items_by_plate;
-- Unlike SQLite's, PostgreSQL's DROP COLUMN rewrites no row.
ALTER TABLE items DROP COLUMN plate_blind;
)sql",
    // 3: replicas on separate machines, each with its own key store file
    // (key_registry.h). What the database knows of the keys, never a key:
    // which KEK versions exist (numbered here, so two hosts never take the
    // same number), whether every live replica holds one (shared_us) and
    // whether it was destroyed; the rotation generation; and the replicas
    // that hand keys to each other, with their heartbeats.
    R"sql(
CREATE SEQUENCE kek_versions;
CREATE TABLE kek_registry(
  version BIGINT PRIMARY KEY,
  period_day BIGINT NOT NULL,
  generation BIGINT NOT NULL,
  created_us BIGINT NOT NULL,
  shared_us BIGINT,
  destroyed_us BIGINT
);
CREATE TABLE key_generation(
  one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK(one),
  generation BIGINT NOT NULL,
  start_version BIGINT NOT NULL
);
CREATE TABLE replicas(
  address TEXT PRIMARY KEY,
  principal TEXT NOT NULL,
  heartbeat_us BIGINT NOT NULL
);
)sql",
    // 4: SQLite's step 15, the by-principal index without intake entries
    // (action 1): the quota counts it serves never count an intake, and
    // their queries say "action <> 1" so the planner can use it.
    R"sql(
DROP INDEX audit_by_principal;
CREATE INDEX audit_by_principal ON audit_log(principal, time_us)
  WHERE action <> 1;
)sql",
    // 5: SQLite's step 16, the by-record index without intake entries: no
    // query it serves asks for an intake, and each states "action <> 1".
    R"sql(
DROP INDEX audit_by_record;
CREATE INDEX audit_by_record ON audit_log(record_id, sequence)
  WHERE action <> 1;
)sql",
    // 6: SQLite's step 17, the quota indexes keyed by what the counts ask
    // (verdict and action before time), the record in the index, so a
    // count walks only the allowed calls of one action in its window.
    R"sql(
DROP INDEX audit_by_principal;
CREATE INDEX audit_by_principal
  ON audit_log(principal, verdict, action, time_us) INCLUDE (record_id)
  WHERE action <> 1;
DROP INDEX audit_by_group;
CREATE INDEX audit_by_group ON audit_log(grp, verdict, action, time_us)
  INCLUDE (record_id) WHERE grp != '';
)sql",
    // 7: SQLite's step 18: readings kept from here on are indexed under the
    // hour (or day) of their deadline. Nothing changes in the tables; the step
    // makes a build from before it refuse the database, whose lookups would
    // miss every reading kept since.
    R"sql(
SELECT 1;
)sql",
};

}  // namespace

absl::Status MigratePostgresSchema(pg::Connection& db) {
  constexpr int64_t kLatest = std::size(kMigrations);
  if (absl::Status s = db.Run("BEGIN"); !s.ok()) return s;
  auto fail = [&](absl::Status s) {
    db.Run("ROLLBACK").IgnoreError();
    return s;
  };
  // One process migrates at a time (replicas starting together); the others
  // wait here and then find the work done.
  if (absl::StatusOr<pg::Result> r = db.Exec(
          "SELECT pg_advisory_xact_lock($1::int, hashtext(current_schema()))",
          pg::Params().Int(kMigrationLockClass));
      !r.ok()) {
    return fail(r.status());
  }
  if (absl::Status s =
          db.Run("CREATE TABLE IF NOT EXISTS lanevault_schema("
                 "one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK(one), "
                 "version BIGINT NOT NULL)");
      !s.ok()) {
    return fail(s);
  }
  absl::StatusOr<pg::Result> v =
      db.Exec("SELECT COALESCE((SELECT version FROM lanevault_schema), 0)");
  if (!v.ok()) return fail(v.status());
  const int64_t applied = v->Int(0, 0);
  if (applied > kLatest) {
    return fail(absl::FailedPreconditionError(absl::StrCat(
        "vault schema version ", applied, " is newer than this build (",
        kLatest, "); upgrade lanevault")));
  }
  for (int64_t step = applied; step < kLatest; ++step) {
    if (absl::Status s = db.Run(kMigrations[step]); !s.ok()) return fail(s);
  }
  if (applied < kLatest) {
    absl::StatusOr<pg::Result> up = db.Exec(
        "INSERT INTO lanevault_schema(version) VALUES($1::bigint) "
        "ON CONFLICT(one) DO UPDATE SET version = excluded.version",
        pg::Params().Int(kLatest));
    if (!up.ok()) return fail(up.status());
  }
  return db.Run("COMMIT");
}

}  // namespace lanevault::vault
