#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/time_util.h"
#include "vault/sqlite.h"
#include "vault/store.h"

namespace lanevault::vault {
namespace {

// Schema migrations, applied in order; the database remembers how many ran
// (PRAGMA user_version). Never edit a shipped step: add one.
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
CREATE TABLE audit_log(
  sequence INTEGER PRIMARY KEY,
  entry BLOB NOT NULL
);
)sql",
};

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(Database db) : db_(std::move(db)) {}

  absl::Status Init() {
    // WAL for concurrent readers; FULL sync so a commit survives power loss;
    // secure_delete so freed pages holding ciphertext are overwritten.
    for (absl::string_view pragma :
         {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
          "PRAGMA secure_delete=ON", "PRAGMA foreign_keys=ON"}) {
      if (absl::Status s = db_.Exec(pragma); !s.ok()) return s;
    }
    absl::StatusOr<Statement> q = db_.Prepare("PRAGMA user_version");
    if (!q.ok()) return q.status();
    absl::StatusOr<bool> row = q->Step();
    if (!row.ok()) return row.status();
    const int64_t applied = q->Int(0);
    constexpr int64_t kLatest = std::size(kMigrations);
    if (applied > kLatest) {
      return absl::FailedPreconditionError(absl::StrCat(
          "vault schema version ", applied, " is newer than this build (",
          kLatest, "); upgrade lanevault"));
    }
    for (int64_t v = applied; v < kLatest; ++v) {
      absl::StatusOr<Transaction> tx = Transaction::Begin(db_);
      if (!tx.ok()) return tx.status();
      if (absl::Status s = db_.Exec(kMigrations[v]); !s.ok()) return s;
      if (absl::Status s =
              db_.Exec(absl::StrCat("PRAGMA user_version=", v + 1));
          !s.ok()) {
        return s;
      }
      if (absl::Status s = tx->Commit(); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::StatusOr<uint64_t> PutRecord(const StoredRecord& record,
                                     v1::AuditEntry audit) override {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<Transaction> tx = Transaction::Begin(db_);
    if (!tx.ok()) return tx.status();
    const v1::RecordSummary& r = record.summary;
    absl::StatusOr<Statement> ins = db_.Prepare(
        "INSERT INTO records(record_id, lane_id, checkpoint_id, "
        "first_seen_us, last_seen_us, contract_id, contract_version) "
        "VALUES(?,?,?,?,?,?,?)");
    if (!ins.ok()) return ins.status();
    ins->Bind(1, r.record_id())
        .Bind(2, r.lane_id())
        .Bind(3, r.checkpoint_id())
        .Bind(4, ToUnixMicrosSaturated(FromProto(r.first_seen())))
        .Bind(5, ToUnixMicrosSaturated(FromProto(r.last_seen())))
        .Bind(6, r.contract_id())
        .Bind(7, static_cast<int64_t>(r.contract_version()));
    if (absl::Status s = ins->Run(); !s.ok()) return s;
    for (const StoredItem& it : record.items) {
      absl::StatusOr<Statement> one = db_.Prepare(
          "INSERT INTO items(item_id, record_id, category, deadline_us, "
          "key_version, wrapped_key, ciphertext) VALUES(?,?,?,?,?,?,?)");
      if (!one.ok()) return one.status();
      one->Bind(1, it.item_id)
          .Bind(2, r.record_id())
          .Bind(3, static_cast<int64_t>(it.category))
          .Bind(4, ToUnixMicrosSaturated(it.deadline))
          .Bind(5, static_cast<int64_t>(it.sealed.key_version))
          .BindBlob(6, it.sealed.wrapped_key)
          .BindBlob(7, it.sealed.ciphertext);
      if (absl::Status s = one->Run(); !s.ok()) return s;
    }
    absl::StatusOr<uint64_t> seq = AppendAuditLocked(std::move(audit));
    if (!seq.ok()) return seq.status();
    if (absl::Status s = tx->Commit(); !s.ok()) return s;
    return *seq;
  }

  absl::StatusOr<StoredRecord> GetRecord(absl::string_view record_id) override {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<Statement> q = db_.Prepare(
        "SELECT lane_id, checkpoint_id, first_seen_us, last_seen_us, "
        "contract_id, contract_version FROM records WHERE record_id=?");
    if (!q.ok()) return q.status();
    q->Bind(1, record_id);
    absl::StatusOr<bool> row = q->Step();
    if (!row.ok()) return WithRecord(row.status(), record_id);
    if (!*row) {
      return absl::NotFoundError(absl::StrCat("no record ", record_id));
    }
    StoredRecord out;
    v1::RecordSummary& s = out.summary;
    s.set_record_id(std::string(record_id));
    s.set_lane_id(q->Text(0));
    s.set_checkpoint_id(q->Text(1));
    *s.mutable_first_seen() = ToProto(absl::FromUnixMicros(q->Int(2)));
    *s.mutable_last_seen() = ToProto(absl::FromUnixMicros(q->Int(3)));
    s.set_contract_id(q->Text(4));
    s.set_contract_version(static_cast<uint64_t>(q->Int(5)));
    absl::StatusOr<Statement> items = db_.Prepare(
        "SELECT item_id, category, deadline_us, key_version, wrapped_key, "
        "ciphertext FROM items WHERE record_id=? ORDER BY item_id");
    if (!items.ok()) return items.status();
    items->Bind(1, record_id);
    while (true) {
      absl::StatusOr<bool> more = items->Step();
      if (!more.ok()) return WithRecord(more.status(), record_id);
      if (!*more) break;
      StoredItem it;
      it.item_id = items->Text(0);
      const int64_t category = items->Int(1);
      if (!v1::DataCategory_IsValid(static_cast<int>(category))) {
        return absl::DataLossError(absl::StrCat("record ", record_id, ": item ",
                                                it.item_id, " has category ",
                                                category));
      }
      it.category = static_cast<v1::DataCategory>(category);
      it.deadline = absl::FromUnixMicros(items->Int(2));
      it.sealed.key_version = static_cast<uint32_t>(items->Int(3));
      it.sealed.wrapped_key = items->Blob(4);
      it.sealed.ciphertext = items->Blob(5);
      s.add_categories(it.category);
      out.items.push_back(std::move(it));
    }
    return out;
  }

  absl::StatusOr<std::vector<v1::RecordSummary>> FindRecords(
      const RecordQuery& query) override {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<Statement> q = db_.Prepare(
        "SELECT record_id, lane_id, checkpoint_id, first_seen_us, "
        "last_seen_us, contract_id, contract_version FROM records "
        "WHERE (?1 = '' OR lane_id = ?1) AND first_seen_us >= ?2 "
        "AND first_seen_us < ?3 AND record_id > ?4 "
        "ORDER BY record_id LIMIT ?5");
    if (!q.ok()) return q.status();
    q->Bind(1, query.lane_id)
        .Bind(2, ToUnixMicrosSaturated(query.since))
        .Bind(3, ToUnixMicrosSaturated(query.until))
        .Bind(4, query.after_record_id)
        .Bind(5, static_cast<int64_t>(query.limit));
    std::vector<v1::RecordSummary> out;
    while (true) {
      absl::StatusOr<bool> row = q->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      v1::RecordSummary& s = out.emplace_back();
      s.set_record_id(q->Text(0));
      s.set_lane_id(q->Text(1));
      s.set_checkpoint_id(q->Text(2));
      *s.mutable_first_seen() = ToProto(absl::FromUnixMicros(q->Int(3)));
      *s.mutable_last_seen() = ToProto(absl::FromUnixMicros(q->Int(4)));
      s.set_contract_id(q->Text(5));
      s.set_contract_version(static_cast<uint64_t>(q->Int(6)));
    }
    return out;
  }

  absl::StatusOr<uint64_t> AppendAudit(v1::AuditEntry entry) override {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<Transaction> tx = Transaction::Begin(db_);
    if (!tx.ok()) return tx.status();
    absl::StatusOr<uint64_t> seq = AppendAuditLocked(std::move(entry));
    if (!seq.ok()) return seq.status();
    if (absl::Status s = tx->Commit(); !s.ok()) return s;
    return *seq;
  }

  absl::StatusOr<std::vector<v1::AuditEntry>> ReadAudit(uint64_t start,
                                                        uint64_t end) override {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<Statement> q = db_.Prepare(
        "SELECT sequence, entry FROM audit_log WHERE sequence >= ? AND "
        "sequence < ? ORDER BY sequence");
    if (!q.ok()) return q.status();
    q->Bind(1, static_cast<int64_t>(start)).Bind(2, static_cast<int64_t>(end));
    std::vector<v1::AuditEntry> out;
    while (true) {
      absl::StatusOr<bool> row = q->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      if (!out.emplace_back().ParseFromString(q->Blob(1))) {
        return absl::DataLossError(
            absl::StrCat("audit entry ", q->Int(0), " does not parse"));
      }
    }
    return out;
  }

  absl::StatusOr<uint64_t> CountRecords() override {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<Statement> q = db_.Prepare("SELECT COUNT(*) FROM records");
    if (!q.ok()) return q.status();
    absl::StatusOr<bool> row = q->Step();
    if (!row.ok()) return row.status();
    return static_cast<uint64_t>(q->Int(0));
  }

 private:
  static absl::Status WithRecord(const absl::Status& s,
                                 absl::string_view record_id) {
    return absl::Status(s.code(),
                        absl::StrCat("record ", record_id, ": ", s.message()));
  }

  absl::StatusOr<uint64_t> AppendAuditLocked(v1::AuditEntry entry)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    absl::StatusOr<Statement> next =
        db_.Prepare("SELECT COALESCE(MAX(sequence) + 1, 0) FROM audit_log");
    if (!next.ok()) return next.status();
    absl::StatusOr<bool> row = next->Step();
    if (!row.ok()) return row.status();
    const uint64_t seq = static_cast<uint64_t>(next->Int(0));
    entry.set_sequence(seq);
    absl::StatusOr<Statement> ins =
        db_.Prepare("INSERT INTO audit_log(sequence, entry) VALUES(?, ?)");
    if (!ins.ok()) return ins.status();
    ins->Bind(1, static_cast<int64_t>(seq))
        .BindBlob(2, entry.SerializeAsString());
    if (absl::Status s = ins->Run(); !s.ok()) return s;
    return seq;
  }

  absl::Mutex mu_;
  Database db_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(
    const std::string& path) {
  absl::StatusOr<Database> db = Database::Open(path);
  if (!db.ok()) return db.status();
  auto store = std::make_unique<SqliteStore>(std::move(*db));
  if (absl::Status s = store->Init(); !s.ok()) {
    return absl::Status(s.code(),
                        absl::StrCat("vault ", path, ": ", s.message()));
  }
  return store;
}

}  // namespace lanevault::vault
