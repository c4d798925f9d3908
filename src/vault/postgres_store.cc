// Records and the access log in the PostgreSQL store.

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/time_util.h"
#include "tlog/merkle.h"
#include "vault/key_registry.h"
#include "vault/postgres.h"
#include "vault/postgres_store_impl.h"
#include "vault/store.h"

namespace lanevault::vault {

// The access log's indexes by principal and by record leave out intakes
// ("action <> 1", schema steps 4 and 5); the queries they serve say so.
static_assert(v1::ACTION_INTAKE == 1,
              "audit_by_principal and audit_by_record leave out 1");

using pg::Params;

absl::Status PostgresStore::Init() {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = SessionSetupLocked(); !s.ok()) return s;
  if (absl::Status s = MigratePostgresSchema(db_); !s.ok()) return s;
  absl::StatusOr<pg::Result> head = db_.Exec("SELECT size FROM log_head");
  if (!head.ok()) return head.status();
  if (head->rows() != 1) return absl::DataLossError("log_head has no row");
  absl::StatusOr<tlog::CompactRange> edge =
      LoadEdgeLocked(static_cast<uint64_t>(head->Int(0, 0)));
  if (!edge.ok()) return edge.status();
  edge_ = std::move(*edge);
  return absl::OkStatus();
}

PostgresStore::~PostgresStore() {
  // The server lets go of a session's advisory locks when its backend sees
  // the connection closed, some time after PQfinish has returned, so a vault
  // reopened at once (a restart, a test) could find its owner lock still
  // taken. Unlocking first makes a clean close release it before it returns.
  absl::MutexLock lock(&mu_);
  if (!options_.owner || !db_.ok()) return;
  db_.Exec("SELECT pg_advisory_unlock($1::int, hashtext(current_schema()))",
           Params().Int(kOwnerLockClass))
      .status()
      .IgnoreError();
}

absl::Status PostgresStore::Health() {
  absl::MutexLock lock(&damage_mu_);
  if (damage_.empty()) return absl::OkStatus();
  return absl::UnavailableError(damage_);
}

absl::Status PostgresStore::SessionSetupLocked() {
  // A commit returns once its WAL is flushed on the server (and on a
  // synchronous standby, if the server names one), whatever the server's or
  // the role's default: intake acknowledges only what survives a crash.
  if (absl::Status s = db_.Run("SET synchronous_commit = on"); !s.ok()) {
    return s;
  }
  if (!options_.owner) return absl::OkStatus();
  absl::StatusOr<pg::Result> got = db_.Exec(
      "SELECT pg_try_advisory_lock($1::int, hashtext(current_schema()))",
      Params().Int(kOwnerLockClass));
  if (!got.ok()) return got.status();
  if (got->Text(0, 0) != "t") {
    return absl::FailedPreconditionError(
        "another lanevaultd holds this PostgreSQL vault (its owner lock is "
        "taken)");
  }
  return absl::OkStatus();
}

absl::Status PostgresStore::ReadyLocked() {
  if (absl::Status s = Health(); !s.ok()) return s;
  if (db_.ok()) return absl::OkStatus();
  if (absl::Status s = db_.Reset(); !s.ok()) return s;
  absl::Status s = SessionSetupLocked();
  if (absl::IsFailedPrecondition(s)) {
    // Someone else took the vault while we were cut off: our edge and
    // everything held in memory may be behind. Stop rather than serve.
    absl::MutexLock lock(&damage_mu_);
    damage_ = std::string(s.message());
    return absl::UnavailableError(damage_);
  }
  if (!s.ok()) return s;
  // Another writer may have appended meanwhile.
  absl::StatusOr<pg::Result> head = db_.Exec("SELECT size FROM log_head");
  if (!head.ok()) return head.status();
  absl::StatusOr<tlog::CompactRange> edge =
      LoadEdgeLocked(static_cast<uint64_t>(head->Int(0, 0)));
  if (!edge.ok()) return edge.status();
  AdoptEdgeLocked(std::move(*edge));
  return absl::OkStatus();
}

absl::StatusOr<pg::Result> PostgresStore::ExecLocked(absl::string_view sql,
                                                     const Params& params) {
  if (absl::Status s = ReadyLocked(); !s.ok()) return s;
  return db_.Exec(sql, params);
}

void PostgresStore::RollbackLocked() { db_.Run("ROLLBACK").IgnoreError(); }

absl::StatusOr<tlog::CompactRange> PostgresStore::BeginAppendLocked() {
  if (absl::Status s = ReadyLocked(); !s.ok()) return s;
  if (absl::Status s = db_.Run("BEGIN"); !s.ok()) return s;
  // The row lock serialises every appending transaction on this database.
  absl::StatusOr<pg::Result> head =
      db_.Exec("SELECT size FROM log_head FOR UPDATE");
  if (!head.ok()) {
    RollbackLocked();
    return head.status();
  }
  const uint64_t size = static_cast<uint64_t>(head->Int(0, 0));
  if (size == edge_.size()) return edge_;
  absl::StatusOr<tlog::CompactRange> edge = LoadEdgeLocked(size);
  if (!edge.ok()) RollbackLocked();
  return edge;
}

absl::Status PostgresStore::CommitAppendLocked(tlog::CompactRange edge) {
  absl::StatusOr<pg::Result> up =
      db_.Exec("UPDATE log_head SET size = $1::bigint",
               Params().Int(static_cast<int64_t>(edge.size())));
  if (!up.ok()) {
    RollbackLocked();
    return up.status();
  }
  if (absl::Status s = db_.Run("COMMIT"); !s.ok()) {
    // A COMMIT that fails rolled back; one whose answer was lost (the
    // connection cut) may have committed: the next append reloads the
    // edge from the head either way.
    RollbackLocked();
    return s;
  }
  AdoptEdgeLocked(std::move(edge));
  return absl::OkStatus();
}

std::vector<absl::Status> PostgresStore::PutRecords(
    std::vector<IntakeRow>& rows) {
  absl::MutexLock lock(&mu_);
  std::vector<absl::Status> out(rows.size());
  absl::StatusOr<tlog::CompactRange> begun = BeginAppendLocked();
  if (!begun.ok()) {
    std::fill(out.begin(), out.end(), begun.status());
    return out;
  }
  tlog::CompactRange edge = std::move(*begun);
  auto fail_all = [&](const absl::Status& s) {
    RollbackLocked();
    std::fill(out.begin(), out.end(), s);
    return out;
  };
  // The rotation fence: DestroyKek takes the log_head lock this transaction
  // now holds before it checks a KEK unused, so either it committed first
  // (and its destruction is seen here) or it sees these items when it runs.
  absl::StatusOr<absl::flat_hash_set<uint32_t>> destroyed =
      DestroyedKeksLocked(rows);
  if (!destroyed.ok()) return fail_all(destroyed.status());
  for (size_t i = 0; i < rows.size(); ++i) {
    for (const StoredItem& item : rows[i].record.items) {
      if (destroyed->contains(item.sealed.key_version)) {
        out[i] = KekDestroyedError(item.sealed.key_version);
        break;
      }
    }
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    if (!out[i].ok()) continue;
    // A savepoint per record, so one bad record (a duplicate id) fails
    // alone while the rest of the group commits.
    if (absl::Status s = db_.Run("SAVEPOINT intake_row"); !s.ok()) {
      return fail_all(s);
    }
    tlog::CompactRange attempt = edge;
    absl::Status s = InsertRecordLocked(rows[i].record);
    if (s.ok()) {
      absl::StatusOr<uint64_t> seq = AppendLocked(rows[i].audit, attempt);
      // The log cannot take the entry: nothing of this group is stored.
      if (!seq.ok()) return fail_all(seq.status());
      rows[i].audit.set_sequence(*seq);
      edge = std::move(attempt);
    } else if (!db_.ok() || absl::IsUnavailable(s) ||
               absl::IsResourceExhausted(s)) {
      return fail_all(s);
    } else {
      if (absl::Status r = db_.Run("ROLLBACK TO SAVEPOINT intake_row");
          !r.ok()) {
        return fail_all(r);
      }
      out[i] = absl::Status(
          s.code(), absl::StrCat("record ", rows[i].record.summary.record_id(),
                                 ": ", s.message()));
    }
    if (absl::Status r = db_.Run("RELEASE SAVEPOINT intake_row"); !r.ok()) {
      return fail_all(r);
    }
  }
  if (absl::Status s = CommitAppendLocked(std::move(edge)); !s.ok()) {
    std::fill(out.begin(), out.end(), s);
  }
  return out;
}

absl::StatusOr<absl::flat_hash_set<uint32_t>>
PostgresStore::DestroyedKeksLocked(const std::vector<IntakeRow>& rows) {
  absl::flat_hash_set<uint32_t> used;
  for (const IntakeRow& row : rows) {
    for (const StoredItem& item : row.record.items) {
      used.insert(item.sealed.key_version);
    }
  }
  std::string list;
  for (uint32_t v : used) absl::StrAppend(&list, list.empty() ? "" : ",", v);
  // A version the registry does not list (a vault that never registered
  // it) is not refused: only a registered destruction is.
  absl::StatusOr<pg::Result> q = db_.Exec(
      "SELECT version FROM kek_registry WHERE destroyed_us IS NOT NULL AND "
      "version = ANY($1::bigint[])",
      Params().Text(absl::StrCat("{", list, "}")));
  if (!q.ok()) return q.status();
  absl::flat_hash_set<uint32_t> out;
  for (int i = 0; i < q->rows(); ++i) {
    out.insert(static_cast<uint32_t>(q->Int(i, 0)));
  }
  return out;
}

absl::Status PostgresStore::InsertRecordLocked(const StoredRecord& record) {
  const v1::RecordSummary& r = record.summary;
  Params p;
  p.Text(r.record_id())
      .Text(r.lane_id())
      .Text(r.checkpoint_id())
      .Int(ToUnixMicrosSaturated(FromProto(r.first_seen())))
      .Int(ToUnixMicrosSaturated(FromProto(r.last_seen())))
      .Text(r.contract_id())
      .Int(static_cast<int64_t>(r.contract_version()))
      .Int(static_cast<int64_t>(record.items.size()));
  if (record.submission_digest.empty()) {
    p.Null();
  } else {
    p.Bytes(record.submission_digest);
  }
  absl::StatusOr<pg::Result> ins = db_.Exec(
      "INSERT INTO records(record_id, lane_id, checkpoint_id, first_seen_us, "
      "last_seen_us, contract_id, contract_version, item_count, "
      "submission_digest) VALUES($1, $2, $3, $4::bigint, $5::bigint, $6, "
      "$7::bigint, $8::bigint, $9::bytea)",
      p);
  if (!ins.ok()) {
    if (absl::IsAlreadyExists(ins.status())) {
      return absl::AlreadyExistsError("this record id is already stored");
    }
    return ins.status();
  }
  for (const StoredItem& it : record.items) {
    Params ip;
    ip.Text(r.record_id())
        .Text(it.item_id)
        .Int(static_cast<int64_t>(it.category))
        .Int(ToUnixMicrosSaturated(it.deadline))
        .Int(static_cast<int64_t>(it.sealed.key_version))
        .Bytes(it.sealed.wrapped_key)
        .Bytes(it.sealed.ciphertext);
    absl::StatusOr<pg::Result> one = db_.Exec(
        "INSERT INTO items(record_id, item_id, category, deadline_us, "
        "key_version, wrapped_key, ciphertext) VALUES($1, $2, $3::int, "
        "$4::bigint, $5::bigint, $6::bytea, $7::bytea)",
        ip);
    if (!one.ok()) {
      if (absl::IsAlreadyExists(one.status())) {
        return absl::InvalidArgumentError(
            absl::StrCat("item id ", it.item_id, " is already used"));
      }
      return one.status();
    }
    for (size_t i = 0; i < it.plate_blind_indexes.size(); ++i) {
      if (it.plate_blind_indexes[i].empty()) continue;
      absl::StatusOr<pg::Result> cand = db_.Exec(
          "INSERT INTO plate_candidates(record_id, item_id, rank, blind) "
          "VALUES($1, $2, $3::int, $4::bytea)",
          Params()
              .Text(r.record_id())
              .Text(it.item_id)
              .Int(static_cast<int64_t>(i + 1))
              .Bytes(it.plate_blind_indexes[i]));
      if (!cand.ok()) return cand.status();
    }
  }
  if (!record.canary_mark.empty()) {
    absl::StatusOr<pg::Result> mark =
        db_.Exec("INSERT INTO canary_marks(mark) VALUES($1::bytea)",
                 Params().Bytes(record.canary_mark));
    if (!mark.ok()) return mark.status();
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> PostgresStore::SubmissionDigest(
    absl::string_view record_id) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<pg::Result> q = ExecLocked(
      "SELECT submission_digest FROM records WHERE record_id = $1 UNION ALL "
      "SELECT digest FROM unkept_submissions WHERE record_id = $1",
      Params().Text(record_id));
  if (!q.ok()) return q.status();
  if (q->rows() == 0) {
    return absl::NotFoundError(absl::StrCat("no record ", record_id));
  }
  return q->IsNull(0, 0) ? std::string() : q->Bytes(0, 0);
}

absl::Status PostgresStore::PutUnkept(absl::string_view record_id,
                                      absl::string_view digest,
                                      v1::AuditEntry audit) {
  absl::MutexLock lock(&mu_);
  return WithAuditLocked(std::move(audit), [&]() -> absl::Status {
    return db_
        .Exec(
            "INSERT INTO unkept_submissions(record_id, digest) "
            "VALUES($1, $2::bytea)",
            Params().Text(record_id).Bytes(digest))
        .status();
  });
}

absl::StatusOr<bool> PostgresStore::WasPurged(absl::string_view record_id) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<pg::Result> q = ExecLocked(
      "SELECT 1 FROM audit_log WHERE record_id = $1 AND action <> 1 AND "
      "action = $2::int LIMIT 1",
      Params().Text(record_id).Int(v1::ACTION_PURGE));
  if (!q.ok()) return q.status();
  return q->rows() > 0;
}

absl::StatusOr<std::vector<std::string>> PostgresStore::FindPlate(
    const PlateIndexValues& plate, absl::Time now, int limit) {
  if (plate.undated.empty()) {
    return absl::InvalidArgumentError("a plate lookup needs a blind index");
  }
  if (1 + plate.cells.size() > kMostPlateIndexValues) {
    return absl::InternalError(absl::StrCat(
        "a plate lookup asked for ", 1 + plate.cells.size(),
        " values, more than the ", kMostPlateIndexValues, " a store takes"));
  }
  // $1 and $2 are the time and the limit, $3... the plate's values: the
  // undated one and its cells'.
  std::string values = "$3::bytea";
  Params params;
  params.Int(ToUnixMicrosSaturated(now)).Int(limit).Bytes(plate.undated);
  for (size_t i = 0; i < plate.cells.size(); ++i) {
    absl::StrAppend(&values, ",$", i + 4, "::bytea");
    params.Bytes(plate.cells[i]);
  }
  absl::MutexLock lock(&mu_);
  absl::StatusOr<pg::Result> q = ExecLocked(
      absl::StrCat("SELECT c.record_id FROM plate_candidates c JOIN items i "
                   "ON i.record_id = c.record_id AND i.item_id = c.item_id "
                   "WHERE c.blind IN (",
                   values,
                   ") AND i.deadline_us > $1::bigint "
                   "GROUP BY c.record_id ORDER BY MIN(c.rank), c.record_id "
                   "LIMIT $2::bigint"),
      params);
  if (!q.ok()) return q.status();
  std::vector<std::string> out;
  for (int i = 0; i < q->rows(); ++i) out.push_back(q->Text(i, 0));
  return out;
}

absl::StatusOr<StoredRecord> PostgresStore::GetRecord(
    absl::string_view record_id) {
  absl::MutexLock lock(&mu_);
  auto named = [&](const absl::Status& s) {
    return absl::Status(s.code(),
                        absl::StrCat("record ", record_id, ": ", s.message()));
  };
  // One statement, one snapshot: the record and its items as of the same
  // commit, even while another connection purges.
  absl::StatusOr<pg::Result> q = ExecLocked(
      "SELECT r.lane_id, r.checkpoint_id, r.first_seen_us, r.last_seen_us, "
      "r.contract_id, r.contract_version, r.item_count, i.item_id, "
      "i.category, i.deadline_us, i.key_version, i.wrapped_key, "
      "i.ciphertext FROM records r LEFT JOIN items i USING(record_id) "
      "WHERE r.record_id = $1 ORDER BY i.item_id",
      Params().Text(record_id));
  if (!q.ok()) return named(q.status());
  if (q->rows() == 0) {
    return absl::NotFoundError(absl::StrCat("no record ", record_id));
  }
  StoredRecord out;
  v1::RecordSummary& s = out.summary;
  s.set_record_id(std::string(record_id));
  s.set_lane_id(q->Text(0, 0));
  s.set_checkpoint_id(q->Text(0, 1));
  *s.mutable_first_seen() = ToProto(absl::FromUnixMicros(q->Int(0, 2)));
  *s.mutable_last_seen() = ToProto(absl::FromUnixMicros(q->Int(0, 3)));
  s.set_contract_id(q->Text(0, 4));
  s.set_contract_version(static_cast<uint64_t>(q->Int(0, 5)));
  const int64_t expected_items = q->Int(0, 6);
  for (int row = 0; row < q->rows(); ++row) {
    if (q->IsNull(row, 7)) continue;  // a record with no items left
    StoredItem it;
    it.item_id = q->Text(row, 7);
    const int64_t category = q->Int(row, 8);
    if (!v1::DataCategory_IsValid(static_cast<int>(category))) {
      return named(absl::DataLossError(
          absl::StrCat("item ", it.item_id, " has category ", category)));
    }
    it.category = static_cast<v1::DataCategory>(category);
    it.deadline = absl::FromUnixMicros(q->Int(row, 9));
    it.sealed.key_version = static_cast<uint32_t>(q->Int(row, 10));
    it.sealed.wrapped_key = q->Bytes(row, 11);
    it.sealed.ciphertext = q->Bytes(row, 12);
    s.add_categories(it.category);
    out.items.push_back(std::move(it));
  }
  if (expected_items >= 0 &&
      out.items.size() != static_cast<size_t>(expected_items)) {
    return absl::DataLossError(absl::StrCat("record ", record_id, ": ",
                                            expected_items, " items expected, ",
                                            out.items.size(), " found"));
  }
  return out;
}

absl::StatusOr<std::vector<v1::RecordSummary>> PostgresStore::FindRecords(
    const RecordQuery& query) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<pg::Result> q = ExecLocked(
      "SELECT record_id, lane_id, checkpoint_id, first_seen_us, "
      "last_seen_us, contract_id, contract_version FROM records "
      "WHERE ($1::text = '' OR lane_id = $1::text) AND first_seen_us >= "
      "$2::bigint AND first_seen_us < $3::bigint AND record_id > $4 "
      "ORDER BY record_id LIMIT $5::bigint",
      Params()
          .Text(query.lane_id)
          .Int(ToUnixMicrosSaturated(query.since))
          .Int(ToUnixMicrosSaturated(query.until))
          .Text(query.after_record_id)
          .Int(query.limit));
  if (!q.ok()) return q.status();
  std::vector<v1::RecordSummary> out;
  for (int i = 0; i < q->rows(); ++i) {
    v1::RecordSummary& s = out.emplace_back();
    s.set_record_id(q->Text(i, 0));
    s.set_lane_id(q->Text(i, 1));
    s.set_checkpoint_id(q->Text(i, 2));
    *s.mutable_first_seen() = ToProto(absl::FromUnixMicros(q->Int(i, 3)));
    *s.mutable_last_seen() = ToProto(absl::FromUnixMicros(q->Int(i, 4)));
    s.set_contract_id(q->Text(i, 5));
    s.set_contract_version(static_cast<uint64_t>(q->Int(i, 6)));
  }
  return out;
}

absl::StatusOr<uint64_t> PostgresStore::CountRecords() {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<pg::Result> q = ExecLocked("SELECT COUNT(*) FROM records");
  if (!q.ok()) return q.status();
  return static_cast<uint64_t>(q->Int(0, 0));
}

absl::StatusOr<uint64_t> PostgresStore::AppendAuditBatch(
    std::vector<v1::AuditEntry> entries) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<tlog::CompactRange> begun = BeginAppendLocked();
  if (!begun.ok()) return begun.status();
  tlog::CompactRange edge = std::move(*begun);
  const uint64_t first = edge.size();
  for (v1::AuditEntry& e : entries) {
    absl::StatusOr<uint64_t> seq = AppendLocked(std::move(e), edge);
    if (!seq.ok()) {
      RollbackLocked();
      return seq.status();
    }
  }
  if (absl::Status s = CommitAppendLocked(std::move(edge)); !s.ok()) return s;
  return first;
}

absl::StatusOr<std::vector<std::string>> PostgresStore::AuditLeafData(
    uint64_t start, uint64_t end) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<pg::Result> q = ExecLocked(
      "SELECT entry FROM audit_log WHERE sequence >= $1::bigint AND "
      "sequence < $2::bigint ORDER BY sequence",
      Params().Int(static_cast<int64_t>(start)).Int(static_cast<int64_t>(end)));
  if (!q.ok()) return q.status();
  std::vector<std::string> out;
  for (int i = 0; i < q->rows(); ++i) out.push_back(q->Bytes(i, 0));
  return out;
}

uint64_t PostgresStore::AuditSize() {
  absl::MutexLock lock(&mu_);
  // Other replicas append too: the size is the database's, and the edge
  // follows it (a new checkpoint signer continues the same tree). When the
  // database cannot be asked, what this process committed last.
  if (ReadyLocked().ok()) {
    absl::StatusOr<pg::Result> head = db_.Exec("SELECT size FROM log_head");
    if (head.ok() && head->rows() == 1 &&
        static_cast<uint64_t>(head->Int(0, 0)) != edge_.size()) {
      absl::StatusOr<tlog::CompactRange> edge =
          LoadEdgeLocked(static_cast<uint64_t>(head->Int(0, 0)));
      if (edge.ok()) AdoptEdgeLocked(std::move(*edge));
    }
  }
  return edge_.size();
}

absl::StatusOr<std::string> PostgresStore::AuditSubtree(int level,
                                                        uint64_t index) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = ReadyLocked(); !s.ok()) return s;
  return ReadNodeLocked(level, index);
}

absl::StatusOr<std::vector<v1::AuditEntry>> PostgresStore::EntriesLocked(
    absl::string_view sql, const Params& params) {
  absl::StatusOr<pg::Result> q = ExecLocked(sql, params);
  if (!q.ok()) return q.status();
  std::vector<v1::AuditEntry> out(q->rows());
  for (int i = 0; i < q->rows(); ++i) {
    if (!out[i].ParseFromString(q->Bytes(i, 0))) {
      return absl::DataLossError("an audit entry does not parse");
    }
  }
  return out;
}

absl::StatusOr<AuditPage> PostgresStore::QueryAudit(const AuditQuery& query) {
  absl::MutexLock lock(&mu_);
  // The log's size first: entries other replicas append after it are left
  // to the next page (the walk stops before it), so the page says truly
  // whether more remain.
  absl::StatusOr<pg::Result> head = ExecLocked("SELECT size FROM log_head");
  if (!head.ok()) return head.status();
  if (head->rows() != 1) {
    return absl::DataLossError("log_head has no row");
  }
  const uint64_t end =
      std::min(static_cast<uint64_t>(head->Int(0, 0)), query.end_sequence);
  const uint64_t start = query.start_sequence;
  const uint64_t stop = ScanStop(start, end, query.scan_limit);
  absl::StatusOr<std::vector<v1::AuditEntry>> entries = EntriesLocked(
      "SELECT entry FROM audit_log WHERE sequence >= $1::bigint "
      "AND sequence < $9::bigint "
      "AND ($2::text = '' OR principal = $2::text) AND ($3::text = '' OR "
      "record_id = $3::text OR sequence IN (SELECT sequence FROM "
      "audit_reveals WHERE record_id = $3::text)) "
      "AND ($4::int = 0 OR action = $4::int) AND ($5::int = 0 OR verdict = "
      "$5::int) AND time_us >= $6::bigint AND time_us < $7::bigint "
      "ORDER BY sequence LIMIT $8::bigint",
      Params()
          .Int(static_cast<int64_t>(start))
          .Text(query.principal)
          .Text(query.record_id)
          .Int(query.action)
          .Int(query.verdict)
          .Int(ToUnixMicrosSaturated(query.since))
          .Int(ToUnixMicrosCeilSaturated(query.until))
          .Int(query.limit)
          .Int(static_cast<int64_t>(stop)));
  if (!entries.ok()) return entries.status();
  return PageOf(*std::move(entries), query, stop, end);
}

absl::StatusOr<ReadCounts> PostgresStore::CountReads(absl::string_view who,
                                                     bool group,
                                                     absl::Time since) {
  absl::MutexLock lock(&mu_);
  Params p;
  p.Text(who)
      .Int(ToUnixMicrosSaturated(since))
      .Int(v1::VERDICT_ALLOW)
      .Int(v1::ACTION_READ_RECORD)
      .Int(v1::ACTION_READ_ITEM);
  absl::StatusOr<pg::Result> q =
      group ? ExecLocked(
                  "SELECT COUNT(*), COUNT(DISTINCT record_id) FROM audit_log "
                  "WHERE grp = $1 AND grp != '' AND time_us >= $2::bigint AND "
                  "verdict = $3::int AND action IN ($4::int, $5::int)",
                  p)
            : ExecLocked(
                  "SELECT COUNT(*), COUNT(DISTINCT record_id) FROM audit_log "
                  "WHERE principal = $1 AND action <> 1 AND time_us >= "
                  "$2::bigint AND verdict = $3::int AND action IN ($4::int, "
                  "$5::int)",
                  p);
  if (!q.ok()) return q.status();
  return ReadCounts{static_cast<uint32_t>(q->Int(0, 0)),
                    static_cast<uint32_t>(q->Int(0, 1))};
}

absl::StatusOr<uint32_t> PostgresStore::CountCalls(absl::string_view who,
                                                   bool group,
                                                   v1::Action action,
                                                   absl::Time since) {
  if (action == v1::ACTION_INTAKE) {
    return absl::InvalidArgumentError("intakes are not counted by principal");
  }
  absl::MutexLock lock(&mu_);
  Params p;
  p.Text(who)
      .Int(ToUnixMicrosSaturated(since))
      .Int(v1::VERDICT_ALLOW)
      .Int(action);
  absl::StatusOr<pg::Result> q =
      group ? ExecLocked(
                  "SELECT COUNT(*) FROM audit_log WHERE grp = $1 AND grp != '' "
                  "AND time_us >= $2::bigint AND verdict = $3::int AND "
                  "action = $4::int",
                  p)
            : ExecLocked(
                  "SELECT COUNT(*) FROM audit_log WHERE principal = $1 AND "
                  "action <> 1 AND time_us >= $2::bigint AND verdict = $3::int "
                  "AND action = $4::int",
                  p);
  if (!q.ok()) return q.status();
  return static_cast<uint32_t>(q->Int(0, 0));
}

absl::StatusOr<bool> PostgresStore::ReadRecordSince(absl::string_view who,
                                                    bool group,
                                                    absl::string_view record_id,
                                                    absl::Time since) {
  absl::MutexLock lock(&mu_);
  Params p;
  p.Text(record_id)
      .Text(who)
      .Int(ToUnixMicrosSaturated(since))
      .Int(v1::VERDICT_ALLOW)
      .Int(v1::ACTION_READ_RECORD)
      .Int(v1::ACTION_READ_ITEM);
  absl::StatusOr<pg::Result> q =
      group ? ExecLocked(
                  "SELECT 1 FROM audit_log WHERE record_id = $1 "
                  "AND action <> 1 AND grp = $2 AND grp != '' "
                  "AND time_us >= $3::bigint AND verdict = $4::int "
                  "AND action IN ($5::int, $6::int) LIMIT 1",
                  p)
            : ExecLocked(
                  "SELECT 1 FROM audit_log WHERE record_id = $1 "
                  "AND action <> 1 AND principal = $2 "
                  "AND time_us >= $3::bigint AND verdict = $4::int "
                  "AND action IN ($5::int, $6::int) LIMIT 1",
                  p);
  if (!q.ok()) return q.status();
  return q->rows() > 0;
}

absl::StatusOr<std::vector<v1::DataCategory>> PostgresStore::CategoriesRead(
    absl::string_view who, bool group, absl::string_view record_id) {
  absl::MutexLock lock(&mu_);
  // What was handed over (reads) and what was revealed (lookups naming the
  // record): both are what the caller learned of it.
  Params p;
  p.Text(record_id).Text(who).Int(v1::VERDICT_ALLOW);
  absl::StatusOr<std::vector<v1::AuditEntry>> entries =
      group ? EntriesLocked(
                  "SELECT entry FROM audit_log WHERE record_id = $1 "
                  "AND action <> 1 AND grp = $2 AND verdict = $3::int "
                  "UNION ALL SELECT a.entry FROM audit_reveals r "
                  "JOIN audit_log a ON a.sequence = r.sequence "
                  "WHERE r.record_id = $1 AND r.grp = $2",
                  p)
            : EntriesLocked(
                  "SELECT entry FROM audit_log WHERE record_id = $1 "
                  "AND action <> 1 AND principal = $2 AND verdict = $3::int "
                  "UNION ALL SELECT a.entry FROM audit_reveals r "
                  "JOIN audit_log a ON a.sequence = r.sequence "
                  "WHERE r.record_id = $1 AND r.principal = $2",
                  p);
  if (!entries.ok()) return entries.status();
  std::vector<v1::DataCategory> out;
  for (const v1::AuditEntry& e : *entries) {
    for (int c : e.categories()) {
      if (v1::DataCategory_IsValid(c)) {
        out.push_back(static_cast<v1::DataCategory>(c));
      }
    }
  }
  return out;
}

absl::Status PostgresStore::PutCheckpoint(const StoredCheckpoint& checkpoint) {
  absl::MutexLock lock(&mu_);
  return ExecLocked(
             "INSERT INTO audit_checkpoints(tree_size, note) "
             "VALUES($1::bigint, $2) ON CONFLICT DO NOTHING",
             Params()
                 .Int(static_cast<int64_t>(checkpoint.tree_size))
                 .Text(checkpoint.note))
      .status();
}

absl::StatusOr<StoredCheckpoint> PostgresStore::LatestCheckpoint() {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<pg::Result> q = ExecLocked(
      "SELECT tree_size, note FROM audit_checkpoints ORDER BY tree_size "
      "DESC LIMIT 1");
  if (!q.ok()) return q.status();
  if (q->rows() == 0) {
    return absl::NotFoundError("no checkpoint has been issued yet");
  }
  return StoredCheckpoint{static_cast<uint64_t>(q->Int(0, 0)), q->Text(0, 1)};
}

void PostgresStore::AdoptEdgeLocked(tlog::CompactRange edge) {
  const bool grew = edge.size() != edge_.size();
  edge_ = std::move(edge);
  if (grew && log_listener_) log_listener_(edge_.size(), edge_.Root());
}

void PostgresStore::SetLogListener(LogListener listener) {
  absl::MutexLock lock(&mu_);
  log_listener_ = std::move(listener);
}

absl::StatusOr<tlog::CompactRange> PostgresStore::LoadEdgeLocked(
    uint64_t size) {
  std::vector<tlog::Hash> peaks;
  uint64_t covered = 0;
  for (int level = 63; level >= 0; --level) {
    if ((size >> level & 1) == 0) continue;
    absl::StatusOr<std::string> h = ReadNodeLocked(level, covered >> level);
    if (!h.ok()) return h.status();
    peaks.push_back(*h);
    covered += uint64_t{1} << level;
  }
  return tlog::CompactRange::FromPeaks(size, std::move(peaks));
}

absl::StatusOr<std::string> PostgresStore::ReadNodeLocked(int level,
                                                          uint64_t index) {
  absl::StatusOr<pg::Result> q = db_.Exec(
      "SELECT hash FROM audit_nodes WHERE level = $1::int AND idx = $2::bigint",
      Params().Int(level).Int(static_cast<int64_t>(index)));
  if (!q.ok()) return q.status();
  if (q->rows() == 0) {
    return absl::DataLossError(absl::StrCat("access log tree node ", level, "/",
                                            index, " is missing"));
  }
  return q->Bytes(0, 0);
}

absl::StatusOr<uint64_t> PostgresStore::AppendLocked(v1::AuditEntry entry,
                                                     tlog::CompactRange& edge) {
  const uint64_t seq = edge.size();
  entry.set_sequence(seq);
  const std::string bytes = entry.SerializeAsString();
  absl::StatusOr<pg::Result> ins = db_.Exec(
      "INSERT INTO audit_log(sequence, time_us, principal, record_id, action, "
      "verdict, entry, refusal_count, grp) VALUES($1::bigint, $2::bigint, $3, "
      "$4, $5::int, $6::int, $7::bytea, $8::int, $9)",
      Params()
          .Int(static_cast<int64_t>(seq))
          .Int(ToUnixMicrosSaturated(FromProto(entry.time())))
          .Text(entry.principal())
          .Text(entry.record_id())
          .Int(entry.action())
          .Int(entry.verdict())
          .Bytes(bytes)
          .Int(entry.verdict() == v1::VERDICT_DENY ? entry.refusal_count()
                                                   : v1::REFUSAL_COUNT_NONE)
          .Text(entry.group()));
  if (!ins.ok()) {
    if (absl::IsAlreadyExists(ins.status())) {
      // We hold the head's row lock and the head says this position is
      // free: the log was written around the head. Nothing may be
      // acknowledged on top of that: the store goes out of service.
      const std::string what = absl::StrCat(
          "access log position ", seq,
          " is already taken although the log head says it is free: the "
          "log was written around lanevault");
      absl::MutexLock lock(&damage_mu_);
      damage_ = what;
      return absl::UnavailableError(what);
    }
    return ins.status();
  }
  if (entry.verdict() == v1::VERDICT_ALLOW) {
    for (const std::string& record_id : entry.revealed_record_ids()) {
      absl::StatusOr<pg::Result> reveal = db_.Exec(
          "INSERT INTO audit_reveals(sequence, principal, grp, record_id) "
          "VALUES($1::bigint, $2, $3, $4)",
          Params()
              .Int(static_cast<int64_t>(seq))
              .Text(entry.principal())
              .Text(entry.group())
              .Text(record_id));
      if (!reveal.ok()) return reveal.status();
    }
  }
  for (const auto& node : edge.Append(tlog::LeafHash(bytes))) {
    absl::StatusOr<pg::Result> put = db_.Exec(
        "INSERT INTO audit_nodes(level, idx, hash) VALUES($1::int, "
        "$2::bigint, $3::bytea)",
        Params()
            .Int(node.level)
            .Int(static_cast<int64_t>(node.index))
            .Bytes(node.hash));
    if (!put.ok()) return put.status();
  }
  return seq;
}

absl::Status PostgresStore::WithAuditLocked(
    v1::AuditEntry audit, absl::FunctionRef<absl::Status()> body) {
  absl::StatusOr<tlog::CompactRange> begun = BeginAppendLocked();
  if (!begun.ok()) return begun.status();
  tlog::CompactRange edge = std::move(*begun);
  if (absl::Status s = body(); !s.ok()) {
    RollbackLocked();
    return s;
  }
  absl::StatusOr<uint64_t> seq = AppendLocked(std::move(audit), edge);
  if (!seq.ok()) {
    RollbackLocked();
    return seq.status();
  }
  return CommitAppendLocked(std::move(edge));
}

absl::StatusOr<std::unique_ptr<Store>> OpenPostgresStore(
    const PostgresOptions& options) {
  absl::StatusOr<pg::Connection> db =
      pg::Connection::Open(options.conninfo, options.password);
  if (!db.ok()) return db.status();
  auto store = std::make_unique<PostgresStore>(std::move(*db), options);
  if (absl::Status s = store->Init(); !s.ok()) {
    return absl::Status(s.code(),
                        absl::StrCat("PostgreSQL vault: ", s.message()));
  }
  return store;
}

}  // namespace lanevault::vault
