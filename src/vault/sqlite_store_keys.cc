// Key-encryption keys and small settings in the SQLite store.

#include "absl/strings/str_cat.h"
#include "common/time_util.h"
#include "vault/sqlite_store_impl.h"

namespace lanevault::vault {

absl::StatusOr<std::string> SqliteStore::GetMeta(absl::string_view key) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Statement> q =
      db_.Cached("SELECT value FROM vault_meta WHERE key = ?");
  if (!q.ok()) return q.status();
  q->Bind(1, key);
  absl::StatusOr<bool> row = q->Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::NotFoundError(absl::StrCat("no setting ", key));
  return q->Blob(0);
}

absl::Status SqliteStore::PutMeta(absl::string_view key,
                                  absl::string_view value) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Statement> q = db_.Cached(
      "INSERT INTO vault_meta(key, value) VALUES(?, ?) "
      "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
  if (!q.ok()) return q.status();
  q->Bind(1, key).BindBlob(2, value);
  return q->Run();
}

absl::StatusOr<std::vector<KekRow>> SqliteStore::Keks() {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Statement> q = db_.Cached(
      "SELECT version, wrapped, created_us FROM keks ORDER BY version");
  if (!q.ok()) return q.status();
  std::vector<KekRow> out;
  absl::Status rows = q->ForEachRow([&] {
    out.push_back({{static_cast<uint32_t>(q->Int(0)), q->Blob(1)},
                   absl::FromUnixMicros(q->Int(2))});
    return absl::OkStatus();
  });
  if (!rows.ok()) return rows;
  return out;
}

absl::Status SqliteStore::DestroyKek(uint32_t version, absl::Time from,
                                     absl::Time to, v1::AuditEntry audit) {
  absl::MutexLock lock(&mu_);
  return WithAuditLocked(std::move(audit), [&]() -> absl::Status {
    // Through the deadline index: a period's items are that day's only.
    absl::StatusOr<Statement> used = db_.Cached(
        "SELECT COUNT(*) FROM items WHERE deadline_us >= ? AND deadline_us < ? "
        "AND key_version = ?");
    if (!used.ok()) return used.status();
    used->Bind(1, ToUnixMicrosSaturated(from))
        .Bind(2, ToUnixMicrosSaturated(to))
        .Bind(3, static_cast<int64_t>(version));
    absl::StatusOr<bool> row = used->Step();
    if (!row.ok()) return row.status();
    if (used->Int(0) != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("key version ", version, " still wraps ", used->Int(0),
                       " data keys"));
    }
    absl::StatusOr<Statement> del =
        db_.Cached("DELETE FROM keks WHERE version = ?");
    if (!del.ok()) return del.status();
    del->Bind(1, static_cast<int64_t>(version));
    return del->Run();
  });
}

absl::StatusOr<std::vector<v1::AuditEntry>> SqliteStore::QueryKekEntries(
    absl::Time since, absl::Time until, uint64_t start_sequence, int limit) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Statement> q = db_.Cached(kKekEntries);
  if (!q.ok()) return q.status();
  q->Bind(1, static_cast<int64_t>(start_sequence))
      .Bind(2, ToUnixMicrosSaturated(since))
      .Bind(3, ToUnixMicrosSaturated(until))
      .Bind(4, static_cast<int64_t>(limit));
  return ReadEntries(*q);
}

absl::Status SqliteStore::DeleteLegacyKeks() {
  absl::MutexLock lock(&mu_);
  // secure_delete zeroes the pages; the checkpoint empties the WAL of them.
  if (absl::Status s = db_.Exec("DELETE FROM keks"); !s.ok()) return s;
  return TruncateWalLocked();
}

absl::StatusOr<std::vector<std::pair<uint32_t, uint64_t>>>
SqliteStore::ItemsPerKeyVersion() {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Statement> q = db_.Cached(
      "SELECT key_version, COUNT(*) FROM items GROUP BY key_version "
      "ORDER BY key_version");
  if (!q.ok()) return q.status();
  std::vector<std::pair<uint32_t, uint64_t>> out;
  absl::Status rows = q->ForEachRow([&] {
    out.emplace_back(static_cast<uint32_t>(q->Int(0)),
                     static_cast<uint64_t>(q->Int(1)));
    return absl::OkStatus();
  });
  if (!rows.ok()) return rows;
  return out;
}

absl::StatusOr<std::vector<RewrapCandidate>> SqliteStore::ItemsToRewrap(
    uint32_t below_version, int limit) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Statement> q = db_.Cached(
      "SELECT i.record_id, r.contract_id, r.contract_version, i.item_id, "
      "i.category, i.deadline_us, i.key_version, i.wrapped_key FROM items i "
      "JOIN records r USING(record_id) WHERE i.key_version < ? LIMIT ?");
  if (!q.ok()) return q.status();
  q->Bind(1, static_cast<int64_t>(below_version))
      .Bind(2, static_cast<int64_t>(limit));
  std::vector<RewrapCandidate> out;
  absl::Status rows = q->ForEachRow([&] {
    RewrapCandidate& c = out.emplace_back();
    c.record_id = q->Text(0);
    c.contract_id = q->Text(1);
    c.contract_version = static_cast<uint64_t>(q->Int(2));
    c.item.item_id = q->Text(3);
    c.item.category = static_cast<v1::DataCategory>(q->Int(4));
    c.item.deadline = absl::FromUnixMicros(q->Int(5));
    c.item.sealed.key_version = static_cast<uint32_t>(q->Int(6));
    c.item.sealed.wrapped_key = q->Blob(7);
    return absl::OkStatus();
  });
  if (!rows.ok()) return rows;
  return out;
}

absl::StatusOr<uint64_t> SqliteStore::UpdateWrappedKeys(
    const std::vector<Rewrapped>& keys) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Transaction> tx = Transaction::Begin(db_);
  if (!tx.ok()) return tx.status();
  uint64_t updated = 0;
  for (const Rewrapped& k : keys) {
    // The record's range of item rows; a record that lost its range (a
    // damaged file: its reads answer DATA_LOSS) is searched for in the whole
    // table, so that its keys still move and the old generation's KEKs can
    // be destroyed on time.
    absl::StatusOr<Statement> up = db_.Cached(
        "UPDATE items SET key_version = ?1, wrapped_key = ?2 "
        "WHERE item_rowid BETWEEN "
        "coalesce((SELECT items_first FROM records WHERE record_id = ?3), 0) "
        "AND coalesce((SELECT items_last FROM records WHERE record_id = ?3), "
        "9223372036854775807) AND "
        "record_id = ?3 AND item_id = ?4 AND key_version = ?5");
    if (!up.ok()) return up.status();
    up->Bind(1, static_cast<int64_t>(k.to_version))
        .BindBlob(2, k.wrapped_key)
        .Bind(3, k.record_id)
        .Bind(4, k.item_id)
        .Bind(5, static_cast<int64_t>(k.from_version));
    if (absl::Status s = up->Run(); !s.ok()) return s;
    updated += static_cast<uint64_t>(sqlite3_changes(db_.handle()));
  }
  if (absl::Status s = tx->Commit(); !s.ok()) return s;
  return updated;
}

}  // namespace lanevault::vault
