#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/time_util.h"
#include "vault/merkle.h"
#include "vault/sqlite.h"
#include "vault/store.h"

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
};

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(Database db) : db_(std::move(db)) {}

  absl::Status Init() {
    absl::MutexLock lock(&mu_);
    // WAL for concurrent readers; FULL sync so a commit survives power loss;
    // secure_delete so freed pages holding ciphertext are overwritten.
    for (absl::string_view pragma :
         {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
          "PRAGMA secure_delete=ON", "PRAGMA foreign_keys=ON"}) {
      if (absl::Status s = db_.Exec(pragma); !s.ok()) return s;
    }
    if (absl::Status s = Migrate(); !s.ok()) return s;
    return LoadTreeEdge();
  }

  absl::StatusOr<uint64_t> PutRecord(const StoredRecord& record,
                                     v1::AuditEntry audit) override {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<Transaction> tx = Transaction::Begin(db_);
    if (!tx.ok()) return tx.status();
    const v1::RecordSummary& r = record.summary;
    absl::StatusOr<Statement> ins = db_.Cached(
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
      absl::StatusOr<Statement> one = db_.Cached(
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
    merkle::CompactRange edge = edge_;
    absl::StatusOr<uint64_t> seq = AppendLocked(std::move(audit), edge);
    if (!seq.ok()) return seq.status();
    if (absl::Status s = tx->Commit(); !s.ok()) return s;
    edge_ = std::move(edge);
    return *seq;
  }

  absl::StatusOr<StoredRecord> GetRecord(absl::string_view record_id) override {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<Statement> q = db_.Cached(
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
    absl::StatusOr<Statement> items = db_.Cached(
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
    absl::StatusOr<Statement> q = db_.Cached(
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
    std::vector<v1::AuditEntry> one;
    one.push_back(std::move(entry));
    return AppendAuditBatch(std::move(one));
  }

  absl::StatusOr<uint64_t> AppendAuditBatch(
      std::vector<v1::AuditEntry> entries) override {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<Transaction> tx = Transaction::Begin(db_);
    if (!tx.ok()) return tx.status();
    merkle::CompactRange edge = edge_;
    const uint64_t first = edge.size();
    for (v1::AuditEntry& e : entries) {
      absl::StatusOr<uint64_t> seq = AppendLocked(std::move(e), edge);
      if (!seq.ok()) return seq.status();
    }
    if (absl::Status s = tx->Commit(); !s.ok()) return s;
    edge_ = std::move(edge);
    return first;
  }

  absl::StatusOr<std::vector<v1::AuditEntry>> ReadAudit(uint64_t start,
                                                        uint64_t end) override {
    absl::StatusOr<std::vector<std::string>> leaves = AuditLeafData(start, end);
    if (!leaves.ok()) return leaves.status();
    std::vector<v1::AuditEntry> out(leaves->size());
    for (size_t i = 0; i < leaves->size(); ++i) {
      if (!out[i].ParseFromString((*leaves)[i])) {
        return absl::DataLossError(
            absl::StrCat("audit entry ", start + i, " does not parse"));
      }
    }
    return out;
  }

  absl::StatusOr<std::vector<std::string>> AuditLeafData(
      uint64_t start, uint64_t end) override {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<Statement> q = db_.Cached(
        "SELECT sequence, entry FROM audit_log WHERE sequence >= ? AND "
        "sequence < ? ORDER BY sequence");
    if (!q.ok()) return q.status();
    q->Bind(1, static_cast<int64_t>(start)).Bind(2, static_cast<int64_t>(end));
    std::vector<std::string> out;
    while (true) {
      absl::StatusOr<bool> row = q->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      out.push_back(q->Blob(1));
    }
    return out;
  }

  uint64_t AuditSize() override {
    absl::MutexLock lock(&mu_);
    return edge_.size();
  }

  absl::StatusOr<std::string> AuditSubtree(int level, uint64_t index) override {
    absl::MutexLock lock(&mu_);
    return ReadNodeLocked(level, index);
  }

  absl::StatusOr<std::vector<v1::AuditEntry>> QueryAudit(
      const AuditQuery& query) override {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<Statement> q = db_.Cached(
        "SELECT entry FROM audit_log WHERE sequence >= ?1 "
        "AND (?2 = '' OR principal = ?2) AND (?3 = '' OR record_id = ?3) "
        "AND (?4 = 0 OR action = ?4) AND (?5 = 0 OR verdict = ?5) "
        "AND time_us >= ?6 AND time_us < ?7 ORDER BY sequence LIMIT ?8");
    if (!q.ok()) return q.status();
    q->Bind(1, static_cast<int64_t>(query.start_sequence))
        .Bind(2, query.principal)
        .Bind(3, query.record_id)
        .Bind(4, static_cast<int64_t>(query.action))
        .Bind(5, static_cast<int64_t>(query.verdict))
        .Bind(6, ToUnixMicrosSaturated(query.since))
        .Bind(7, ToUnixMicrosSaturated(query.until))
        .Bind(8, static_cast<int64_t>(query.limit));
    std::vector<v1::AuditEntry> out;
    while (true) {
      absl::StatusOr<bool> row = q->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      if (!out.emplace_back().ParseFromString(q->Blob(0))) {
        return absl::DataLossError("an audit entry does not parse");
      }
    }
    return out;
  }

  absl::StatusOr<ReadCounts> CountReads(absl::string_view principal,
                                        absl::Time since) override {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<Statement> q = db_.Cached(
        "SELECT COUNT(*), COUNT(DISTINCT record_id) FROM audit_log "
        "WHERE principal = ? AND time_us >= ? AND verdict = ? "
        "AND action IN (?, ?)");
    if (!q.ok()) return q.status();
    q->Bind(1, principal)
        .Bind(2, ToUnixMicrosSaturated(since))
        .Bind(3, static_cast<int64_t>(v1::VERDICT_ALLOW))
        .Bind(4, static_cast<int64_t>(v1::ACTION_READ_RECORD))
        .Bind(5, static_cast<int64_t>(v1::ACTION_READ_ITEM));
    absl::StatusOr<bool> row = q->Step();
    if (!row.ok()) return row.status();
    return ReadCounts{static_cast<uint32_t>(q->Int(0)),
                      static_cast<uint32_t>(q->Int(1))};
  }

  absl::StatusOr<std::vector<v1::DataCategory>> CategoriesRead(
      absl::string_view principal, absl::string_view record_id) override {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<Statement> q = db_.Cached(
        "SELECT entry FROM audit_log WHERE record_id = ? AND principal = ? "
        "AND verdict = ?");
    if (!q.ok()) return q.status();
    q->Bind(1, record_id)
        .Bind(2, principal)
        .Bind(3, static_cast<int64_t>(v1::VERDICT_ALLOW));
    std::vector<v1::DataCategory> out;
    while (true) {
      absl::StatusOr<bool> row = q->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      v1::AuditEntry e;
      if (!e.ParseFromString(q->Blob(0))) {
        return absl::DataLossError("an audit entry does not parse");
      }
      for (int c : e.categories())
        out.push_back(static_cast<v1::DataCategory>(c));
    }
    return out;
  }

  absl::Status PutContractVersion(const ContractVersionRow& row) override {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<Statement> q = db_.Cached(
        "INSERT OR IGNORE INTO contracts(contract_id, version, signed_text, "
        "activated_us) VALUES(?, ?, ?, ?)");
    if (!q.ok()) return q.status();
    q->Bind(1, row.contract_id)
        .Bind(2, static_cast<int64_t>(row.version))
        .BindBlob(3, row.signed_text)
        .Bind(4, ToUnixMicrosSaturated(row.activated));
    return q->Run();
  }

  absl::StatusOr<std::vector<ContractVersionRow>> ContractVersions() override {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<Statement> q = db_.Cached(
        "SELECT contract_id, version, signed_text, activated_us FROM contracts "
        "ORDER BY activated_us DESC");
    if (!q.ok()) return q.status();
    std::vector<ContractVersionRow> out;
    while (true) {
      absl::StatusOr<bool> row = q->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      out.push_back({q->Text(0), static_cast<uint64_t>(q->Int(1)), q->Blob(2),
                     absl::FromUnixMicros(q->Int(3))});
    }
    return out;
  }

  absl::Status PutCheckpoint(const StoredCheckpoint& checkpoint) override {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<Statement> q = db_.Cached(
        "INSERT OR IGNORE INTO audit_checkpoints(tree_size, note) VALUES(?, "
        "?)");
    if (!q.ok()) return q.status();
    q->Bind(1, static_cast<int64_t>(checkpoint.tree_size))
        .Bind(2, checkpoint.note);
    return q->Run();
  }

  absl::StatusOr<StoredCheckpoint> LatestCheckpoint() override {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<Statement> q = db_.Cached(
        "SELECT tree_size, note FROM audit_checkpoints ORDER BY tree_size "
        "DESC LIMIT 1");
    if (!q.ok()) return q.status();
    absl::StatusOr<bool> row = q->Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::NotFoundError("no checkpoint has been issued yet");
    return StoredCheckpoint{static_cast<uint64_t>(q->Int(0)), q->Text(1)};
  }

  absl::StatusOr<uint64_t> CountRecords() override {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<Statement> q = db_.Cached("SELECT COUNT(*) FROM records");
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

  absl::Status Migrate() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
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

  // Rebuilds the tree's right edge from the stored peaks: one perfect
  // subtree per set bit of the size, largest first.
  absl::Status LoadTreeEdge() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    absl::StatusOr<Statement> q =
        db_.Prepare("SELECT COALESCE(MAX(sequence) + 1, 0) FROM audit_log");
    if (!q.ok()) return q.status();
    absl::StatusOr<bool> row = q->Step();
    if (!row.ok()) return row.status();
    const uint64_t size = static_cast<uint64_t>(q->Int(0));
    std::vector<merkle::Hash> peaks;
    uint64_t covered = 0;
    for (int level = 63; level >= 0; --level) {
      if ((size >> level & 1) == 0) continue;
      absl::StatusOr<std::string> h = ReadNodeLocked(level, covered >> level);
      if (!h.ok()) return h.status();
      peaks.push_back(*h);
      covered += uint64_t{1} << level;
    }
    edge_ = merkle::CompactRange::FromPeaks(size, std::move(peaks));
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> ReadNodeLocked(int level, uint64_t index)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    absl::StatusOr<Statement> q =
        db_.Cached("SELECT hash FROM audit_nodes WHERE level = ? AND idx = ?");
    if (!q.ok()) return q.status();
    q->Bind(1, static_cast<int64_t>(level))
        .Bind(2, static_cast<int64_t>(index));
    absl::StatusOr<bool> row = q->Step();
    if (!row.ok()) return row.status();
    if (!*row) {
      return absl::DataLossError(absl::StrCat("access log tree node ", level,
                                              "/", index, " is missing"));
    }
    return q->Blob(0);
  }

  // Appends inside the caller's transaction, extending `edge`; the caller
  // adopts `edge` only once the transaction has committed.
  absl::StatusOr<uint64_t> AppendLocked(v1::AuditEntry entry,
                                        merkle::CompactRange& edge)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const uint64_t seq = edge.size();
    entry.set_sequence(seq);
    const std::string bytes = entry.SerializeAsString();
    absl::StatusOr<Statement> ins = db_.Cached(
        "INSERT INTO audit_log(sequence, time_us, principal, record_id, "
        "action, verdict, entry) VALUES(?,?,?,?,?,?,?)");
    if (!ins.ok()) return ins.status();
    ins->Bind(1, static_cast<int64_t>(seq))
        .Bind(2, ToUnixMicrosSaturated(FromProto(entry.time())))
        .Bind(3, entry.principal())
        .Bind(4, entry.record_id())
        .Bind(5, static_cast<int64_t>(entry.action()))
        .Bind(6, static_cast<int64_t>(entry.verdict()))
        .BindBlob(7, bytes);
    if (absl::Status s = ins->Run(); !s.ok()) return s;
    for (const auto& node : edge.Append(merkle::LeafHash(bytes))) {
      absl::StatusOr<Statement> put = db_.Cached(
          "INSERT INTO audit_nodes(level, idx, hash) VALUES(?, ?, ?)");
      if (!put.ok()) return put.status();
      put->Bind(1, static_cast<int64_t>(node.level))
          .Bind(2, static_cast<int64_t>(node.index))
          .BindBlob(3, node.hash);
      if (absl::Status s = put->Run(); !s.ok()) return s;
    }
    return seq;
  }

  absl::Mutex mu_;
  Database db_ ABSL_GUARDED_BY(mu_);
  merkle::CompactRange edge_ ABSL_GUARDED_BY(mu_);  // committed tree only
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
