// Retention, legal holds and alerts in the SQLite store.

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/time_util.h"
#include "vault/sqlite_store_impl.h"

namespace lanevault::vault {

namespace {

// Deletes the plate_blinds rows of one purged item (schema step 12), found
// through the item's own copy of its blind indexes, and its plate_candidates
// rows (before step 12). Returns whether some of its rows may be left, found
// by no copy: the batch's orphan sweep (DeleteOrphanPlateBlinds) then takes
// them. `*damaged` receives why when the copy itself is wrong.
absl::StatusOr<bool> DeletePlateIndexes(
    Database& db, const std::string& record_id, const std::string& item_id,
    int64_t category, const std::string& packed, std::string* damaged) {
  absl::StatusOr<Statement> old_rows = db.Cached(
      "DELETE FROM plate_candidates WHERE record_id = ? AND item_id = ?");
  if (!old_rows.ok()) return old_rows.status();
  old_rows->Bind(1, record_id).Bind(2, item_id);
  if (absl::Status s = old_rows->Run(); !s.ok()) return s;
  const bool indexed_before_step_12 = sqlite3_changes(db.handle()) > 0;
  absl::StatusOr<std::vector<RankedBlind>> blinds = UnpackPlateBlinds(packed);
  if (!blinds.ok()) {
    *damaged = std::string(blinds.status().message());
    return true;
  }
  size_t deleted = 0;
  for (const RankedBlind& b : *blinds) {
    absl::StatusOr<Statement> del = db.Cached(
        "DELETE FROM plate_blinds WHERE blind = ? AND rank = ? AND "
        "record_id = ? AND item_id = ?");
    if (!del.ok()) return del.status();
    del->BindBlob(1, b.blind)
        .Bind(2, b.rank)
        .Bind(3, record_id)
        .Bind(4, item_id);
    if (absl::Status s = del->Run(); !s.ok()) return s;
    deleted += static_cast<size_t>(sqlite3_changes(db.handle()));
  }
  if (deleted != blinds->size()) {
    *damaged = absl::StrCat("it names ", blinds->size(), " rows, ", deleted,
                            " were found");
    return true;
  }
  // A plate text is indexed (rank 1 at least) in plate_candidates before
  // step 12 and through its copy since. With neither, its copy was wiped,
  // or it was stored before schema step 2 (never indexed) or with a plate
  // that normalises to nothing: the sweep looks, as it cannot tell which.
  return category == v1::DATA_CATEGORY_PLATE_TEXT && blinds->empty() &&
         !indexed_before_step_12;
}

// Index rows whose item is gone: one pass over plate_blinds, each row's
// item looked up by key. Run once in a purge batch that met an item whose
// copy could not account for its rows, inside the batch's transaction, so
// no blind index outlives its item (or stays on disk past its retention)
// whatever was done to the copy.
absl::StatusOr<uint64_t> DeleteOrphanPlateBlinds(Database& db) {
  // A record counting items without a range keeps its rows, as the sweep
  // keeps the record (LV_RECORD_HAS_ITEMS): its items cannot be found, so
  // none is known gone.
  absl::StatusOr<Statement> sweep = db.Cached(
      "DELETE FROM plate_blinds WHERE NOT EXISTS(SELECT 1 FROM records r "
      "WHERE r.record_id = plate_blinds.record_id AND ("
      "(r.items_first IS NULL AND r.item_count > 0) OR EXISTS(SELECT 1 FROM "
      "items i WHERE i.item_rowid BETWEEN r.items_first AND r.items_last AND "
      "i.record_id = r.record_id AND i.item_id = plate_blinds.item_id)))");
  if (!sweep.ok()) return sweep.status();
  if (absl::Status s = sweep->Run(); !s.ok()) return s;
  return static_cast<uint64_t>(sqlite3_changes(db.handle()));
}

}  // namespace

// "This item's record is under a hold in force", as SQL over items `i`.
#define LV_HELD                                                            \
  "EXISTS(SELECT 1 FROM hold_records h JOIN legal_holds l USING(hold_id) " \
  "WHERE h.record_id = i.record_id AND l.lifted_us IS NULL)"

// "Record ?1, the row of `records` being read, still has an item", as SQL:
// its items are found through the row-id range in its row (schema step 14).
// A record counting items without a range (which the migration fills; only
// a file edited or written by another build lacks one) is kept.
#define LV_RECORD_HAS_ITEMS                                       \
  "((records.items_first IS NULL AND records.item_count > 0) OR " \
  "EXISTS(SELECT 1 FROM items i WHERE i.item_rowid BETWEEN "      \
  "records.items_first AND records.items_last AND i.record_id = ?1))"

absl::Status SqliteStore::WithAuditLocked(
    v1::AuditEntry audit, absl::FunctionRef<absl::Status()> body) {
  absl::StatusOr<Transaction> tx = Transaction::Begin(db_);
  if (!tx.ok()) return tx.status();
  if (absl::Status s = body(); !s.ok()) return s;
  tlog::CompactRange edge = edge_;
  absl::StatusOr<uint64_t> seq = AppendLocked(std::move(audit), edge);
  if (!seq.ok()) return seq.status();
  if (absl::Status s = tx->Commit(); !s.ok()) return s;
  AdoptEdgeLocked(std::move(edge));
  return absl::OkStatus();
}

absl::StatusOr<absl::Time> SqliteStore::NextDeadline() {
  absl::MutexLock lock(&mu_);
  // In deadline order through the index; stops at the first item not held.
  absl::StatusOr<Statement> q =
      db_.Cached("SELECT i.deadline_us FROM items i WHERE NOT " LV_HELD
                 " ORDER BY i.deadline_us LIMIT 1");
  if (!q.ok()) return q.status();
  absl::StatusOr<bool> row = q->Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::InfiniteFuture();
  return absl::FromUnixMicros(q->Int(0));
}

absl::StatusOr<absl::Time> SqliteStore::LastDeadline() {
  SqliteReaders::Lease db = readers_->Borrow();
  // The last entry of items_by_deadline.
  absl::StatusOr<Statement> q =
      db->Cached("SELECT MAX(deadline_us) FROM items");
  if (!q.ok()) return q.status();
  absl::StatusOr<bool> row = q->Step();
  if (!row.ok()) return row.status();
  if (!*row || q->IsNull(0)) return absl::InfinitePast();
  return absl::FromUnixMicros(q->Int(0));
}

absl::StatusOr<PurgeResult> SqliteStore::PurgeExpired(
    absl::Time now, int limit, const v1::AuditEntry& purge_template) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Transaction> tx = Transaction::Begin(db_);
  if (!tx.ok()) return tx.status();
  struct Due {
    std::string item_id, record_id;
    int64_t category, deadline_us, rowid;
    std::string plate_blinds;  // packed (schema step 12)
  };
  std::vector<Due> due;
  {
    absl::StatusOr<Statement> q = db_.Cached(
        "SELECT i.item_id, i.record_id, i.category, i.deadline_us, "
        "i.plate_blind, i.item_rowid FROM items i "
        "WHERE i.deadline_us <= ? AND NOT " LV_HELD
        " ORDER BY i.deadline_us LIMIT ?");
    if (!q.ok()) return q.status();
    q->Bind(1, ToUnixMicrosSaturated(now)).Bind(2, static_cast<int64_t>(limit));
    absl::Status rows = q->ForEachRow([&] {
      due.push_back({q->Text(0), q->Text(1), q->Int(2), q->Int(3), q->Int(5),
                     q->Blob(4)});
      return absl::OkStatus();
    });
    if (!rows.ok()) return rows;
  }
  PurgeResult result;
  tlog::CompactRange edge = edge_;
  // One access-log entry per record names all of its items this batch
  // purges: a sweep writes one entry (and its tree nodes) per record instead
  // of one per item, and each record's entry still says which items went,
  // of which categories, so WasPurged and per-record queries are unchanged.
  // Records keep the order of their first due item.
  std::vector<std::pair<std::string, std::vector<const Due*>>> by_record;
  {
    absl::flat_hash_map<std::string, size_t> at;
    for (const Due& d : due) {
      auto [it, added] = at.try_emplace(d.record_id, by_record.size());
      if (added) by_record.emplace_back(d.record_id, std::vector<const Due*>());
      by_record[it->second].second.push_back(&d);
    }
  }
  size_t unaccounted = 0;  // items whose index rows no copy accounts for
  for (const auto& [record_id, items] : by_record) {
    int64_t latest_us = 0;
    v1::AuditEntry entry = purge_template;
    entry.set_record_id(record_id);
    for (const Due* d : items) {
      // The ciphertext, the wrapped key and the blind indexes go together:
      // those indexed since step 12 found through the item's own copy.
      std::string damaged;
      absl::StatusOr<bool> maybe_left = DeletePlateIndexes(
          db_, record_id, d->item_id, d->category, d->plate_blinds, &damaged);
      if (!maybe_left.ok()) return maybe_left.status();
      if (*maybe_left) ++unaccounted;
      if (!damaged.empty()) {
        spdlog::error(
            "item {} of record {}: its copy of its plate blind indexes is "
            "wrong ({}); its rows are found by a sweep of plate_blinds "
            "instead (was the file edited?)",
            d->item_id, record_id, damaged);
      }
      absl::StatusOr<Statement> del =
          db_.Cached("DELETE FROM items WHERE item_rowid = ?");
      if (!del.ok()) return del.status();
      del->Bind(1, d->rowid);
      if (absl::Status s = del->Run(); !s.ok()) return s;
      entry.add_item_ids(d->item_id);
      entry.add_categories(static_cast<v1::DataCategory>(d->category));
      latest_us = std::max(latest_us, d->deadline_us);
    }
    absl::StatusOr<Statement> count = db_.Cached(
        "UPDATE records SET item_count = MAX(item_count - ?2, 0) "
        "WHERE record_id = ?1 AND item_count > 0");
    if (!count.ok()) return count.status();
    count->Bind(1, record_id).Bind(2, static_cast<int64_t>(items.size()));
    if (absl::Status s = count->Run(); !s.ok()) return s;
    // Every item named was due by its own deadline; the latest is when
    // the last of them became due.
    entry.set_detail(absl::StrCat(
        "deadline=",
        absl::FormatTime(absl::RFC3339_sec, absl::FromUnixMicros(latest_us),
                         absl::UTCTimeZone())));
    absl::StatusOr<uint64_t> seq = AppendLocked(std::move(entry), edge);
    if (!seq.ok()) return seq.status();
    result.items += items.size();
    // A record's canary mark outlives it, as in canary_marks before step
    // 13: a harvested decoy's id still trips the canary after its
    // retention, and every record's mark (random for a real one) moves
    // there alike, so the table says no more than it did.
    absl::StatusOr<Statement> keep_mark = db_.Cached(
        "INSERT OR IGNORE INTO canary_marks(mark) SELECT canary_mark FROM "
        "records WHERE record_id = ?1 AND canary_mark IS NOT NULL AND "
        "NOT " LV_RECORD_HAS_ITEMS);
    if (!keep_mark.ok()) return keep_mark.status();
    keep_mark->Bind(1, record_id);
    if (absl::Status s = keep_mark->Run(); !s.ok()) return s;
    absl::StatusOr<Statement> gone = db_.Cached(
        "DELETE FROM records WHERE record_id = ?1 AND "
        "NOT " LV_RECORD_HAS_ITEMS);
    if (!gone.ok()) return gone.status();
    gone->Bind(1, record_id);
    if (absl::Status s = gone->Run(); !s.ok()) return s;
    result.records += static_cast<uint64_t>(sqlite3_changes(db_.handle()));
  }
  if (unaccounted > 0) {
    absl::StatusOr<uint64_t> orphans = DeleteOrphanPlateBlinds(db_);
    if (!orphans.ok()) return orphans.status();
    spdlog::warn(
        "purge: {} item(s) whose copy of their plate blind indexes did not "
        "account for their rows (damaged, wiped, or stored before schema "
        "step 2): one sweep of plate_blinds removed {} row(s) whose item is "
        "gone",
        unaccounted, *orphans);
  }
  if (absl::Status s = tx->Commit(); !s.ok()) return s;
  AdoptEdgeLocked(std::move(edge));
  return result;
}

absl::Status SqliteStore::Compact() {
  absl::MutexLock lock(&mu_);
  return TruncateWalLocked();
}

absl::StatusOr<std::vector<CategoryRetentionRow>> SqliteStore::RetentionCounts(
    absl::Time now) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Statement> q = db_.Cached(
      "SELECT category, COUNT(*), SUM(held), "
      "SUM(CASE WHEN deadline_us <= ?1 AND NOT held THEN 1 ELSE 0 END), "
      "MIN(CASE WHEN held THEN NULL ELSE deadline_us END) "
      "FROM (SELECT i.category AS category, i.deadline_us AS "
      "deadline_us, " LV_HELD
      " AS held FROM items i) GROUP BY category ORDER BY category");
  if (!q.ok()) return q.status();
  q->Bind(1, ToUnixMicrosSaturated(now));
  std::vector<CategoryRetentionRow> out;
  absl::Status rows = q->ForEachRow([&] {
    CategoryRetentionRow& r = out.emplace_back();
    r.category = static_cast<v1::DataCategory>(q->Int(0));
    r.items = static_cast<uint64_t>(q->Int(1));
    r.on_hold = static_cast<uint64_t>(q->Int(2));
    r.overdue = static_cast<uint64_t>(q->Int(3));
    if (!q->IsNull(4)) r.next_deadline = absl::FromUnixMicros(q->Int(4));
    return absl::OkStatus();
  });
  if (!rows.ok()) return rows;
  return out;
}

absl::Status SqliteStore::PutHold(const HoldRow& hold, v1::AuditEntry audit) {
  absl::MutexLock lock(&mu_);
  return WithAuditLocked(std::move(audit), [&]() -> absl::Status {
    absl::StatusOr<Statement> ins = db_.Cached(
        "INSERT INTO legal_holds(hold_id, case_id, reason, placed_by, "
        "placed_us) VALUES(?,?,?,?,?)");
    if (!ins.ok()) return ins.status();
    ins->Bind(1, hold.hold_id)
        .Bind(2, hold.case_id)
        .Bind(3, hold.reason)
        .Bind(4, hold.placed_by)
        .Bind(5, ToUnixMicrosSaturated(hold.placed));
    if (absl::Status s = ins->Run(); !s.ok()) return s;
    for (const std::string& record_id : hold.record_ids) {
      absl::StatusOr<Statement> exists =
          db_.Cached("SELECT 1 FROM records WHERE record_id = ?");
      if (!exists.ok()) return exists.status();
      exists->Bind(1, record_id);
      absl::StatusOr<bool> found = exists->Step();
      if (!found.ok()) return found.status();
      if (!*found) {
        return absl::NotFoundError(absl::StrCat(
            "no record ", record_id, " (purged, or never taken in)"));
      }
      absl::StatusOr<Statement> link = db_.Cached(
          "INSERT OR IGNORE INTO hold_records(hold_id, record_id) "
          "VALUES(?,?)");
      if (!link.ok()) return link.status();
      link->Bind(1, hold.hold_id).Bind(2, record_id);
      if (absl::Status s = link->Run(); !s.ok()) return s;
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<std::string>> SqliteStore::HoldRecordsLocked(
    absl::string_view hold_id) {
  absl::StatusOr<Statement> q = db_.Cached(
      "SELECT record_id FROM hold_records WHERE hold_id = ? ORDER BY "
      "record_id");
  if (!q.ok()) return q.status();
  q->Bind(1, hold_id);
  return q->AllText(0);
}

namespace {

constexpr const char* kHoldColumns =
    "hold_id, case_id, reason, placed_by, placed_us, "
    "COALESCE(lifted_by, ''), lifted_us, COALESCE(lift_reason, '')";

HoldRow HoldFromRow(const Statement& q) {
  HoldRow h;
  h.hold_id = q.Text(0);
  h.case_id = q.Text(1);
  h.reason = q.Text(2);
  h.placed_by = q.Text(3);
  h.placed = absl::FromUnixMicros(q.Int(4));
  h.lifted_by = q.Text(5);
  if (!q.IsNull(6)) h.lifted = absl::FromUnixMicros(q.Int(6));
  h.lift_reason = q.Text(7);
  return h;
}

}  // namespace

absl::StatusOr<HoldRow> SqliteStore::LiftHold(absl::string_view hold_id,
                                              absl::string_view lifted_by,
                                              absl::Time lifted,
                                              absl::string_view reason,
                                              v1::AuditEntry audit) {
  absl::MutexLock lock(&mu_);
  HoldRow out;
  absl::Status s = WithAuditLocked(std::move(audit), [&]() -> absl::Status {
    absl::StatusOr<Statement> q = db_.Prepare(absl::StrCat(
        "SELECT ", kHoldColumns, " FROM legal_holds WHERE hold_id = ?"));
    if (!q.ok()) return q.status();
    q->Bind(1, hold_id);
    absl::StatusOr<bool> row = q->Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::NotFoundError(absl::StrCat("no hold ", hold_id));
    out = HoldFromRow(*q);
    if (!out.active()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "hold ", hold_id, " was already lifted by ", out.lifted_by));
    }
    absl::StatusOr<Statement> up = db_.Cached(
        "UPDATE legal_holds SET lifted_by = ?, lifted_us = ?, lift_reason = ? "
        "WHERE hold_id = ?");
    if (!up.ok()) return up.status();
    up->Bind(1, lifted_by)
        .Bind(2, ToUnixMicrosSaturated(lifted))
        .Bind(3, reason)
        .Bind(4, hold_id);
    if (absl::Status u = up->Run(); !u.ok()) return u;
    out.lifted_by = std::string(lifted_by);
    out.lifted = lifted;
    out.lift_reason = std::string(reason);
    absl::StatusOr<std::vector<std::string>> records =
        HoldRecordsLocked(hold_id);
    if (!records.ok()) return records.status();
    out.record_ids = std::move(*records);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::vector<HoldRow>> SqliteStore::Holds(bool include_lifted) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Statement> q = db_.Prepare(
      absl::StrCat("SELECT ", kHoldColumns,
                   " FROM legal_holds WHERE ? OR lifted_us IS NULL ",
                   "ORDER BY placed_us, hold_id"));
  if (!q.ok()) return q.status();
  q->Bind(1, static_cast<int64_t>(include_lifted));
  std::vector<HoldRow> out;
  absl::Status rows = q->ForEachRow([&] {
    out.push_back(HoldFromRow(*q));
    return absl::OkStatus();
  });
  if (!rows.ok()) return rows;
  for (HoldRow& h : out) {
    absl::StatusOr<std::vector<std::string>> records =
        HoldRecordsLocked(h.hold_id);
    if (!records.ok()) return records.status();
    h.record_ids = std::move(*records);
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> SqliteStore::HoldCases(
    absl::string_view record_id) {
  SqliteReaders::Lease db = readers_->Borrow();
  absl::StatusOr<Statement> q = db->Cached(
      "SELECT l.case_id FROM hold_records h JOIN legal_holds l "
      "USING(hold_id) WHERE h.record_id = ? AND l.lifted_us IS NULL");
  if (!q.ok()) return q.status();
  q->Bind(1, record_id);
  return q->AllText(0);
}

absl::Status SqliteStore::PutAlert(const AlertRow& alert) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Statement> q = db_.Cached(
      "INSERT INTO alerts(alert_id, raised_us, severity, kind, principal, "
      "message) VALUES(?,?,?,?,?,?)");
  if (!q.ok()) return q.status();
  q->Bind(1, alert.alert_id)
      .Bind(2, ToUnixMicrosSaturated(alert.raised))
      .Bind(3, alert.severity)
      .Bind(4, alert.kind)
      .Bind(5, alert.principal)
      .Bind(6, alert.message);
  return q->Run();
}

namespace {

constexpr const char* kAlertColumns =
    "alert_id, raised_us, severity, kind, principal, message, "
    "COALESCE(acknowledged_by, '')";

AlertRow AlertFromRow(const Statement& q) {
  return AlertRow{q.Text(0), absl::FromUnixMicros(q.Int(1)),
                  q.Text(2), q.Text(3),
                  q.Text(4), q.Text(5),
                  q.Text(6)};
}

}  // namespace

absl::StatusOr<std::vector<AlertRow>> SqliteStore::Alerts(
    bool include_acknowledged) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Statement> q = db_.Prepare(
      absl::StrCat("SELECT ", kAlertColumns,
                   " FROM alerts WHERE ? OR acknowledged_by IS NULL "
                   "ORDER BY raised_us, alert_id"));
  if (!q.ok()) return q.status();
  q->Bind(1, static_cast<int64_t>(include_acknowledged));
  std::vector<AlertRow> out;
  absl::Status rows = q->ForEachRow([&] {
    out.push_back(AlertFromRow(*q));
    return absl::OkStatus();
  });
  if (!rows.ok()) return rows;
  return out;
}

absl::StatusOr<AlertRow> SqliteStore::AcknowledgeAlert(
    absl::string_view alert_id, absl::string_view by) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Statement> up = db_.Cached(
      "UPDATE alerts SET acknowledged_by = COALESCE(acknowledged_by, ?) "
      "WHERE alert_id = ?");
  if (!up.ok()) return up.status();
  up->Bind(1, by).Bind(2, alert_id);
  if (absl::Status s = up->Run(); !s.ok()) return s;
  absl::StatusOr<Statement> q = db_.Prepare(absl::StrCat(
      "SELECT ", kAlertColumns, " FROM alerts WHERE alert_id = ?"));
  if (!q.ok()) return q.status();
  q->Bind(1, alert_id);
  absl::StatusOr<bool> row = q->Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::NotFoundError(absl::StrCat("no alert ", alert_id));
  return AlertFromRow(*q);
}

#undef LV_HELD

}  // namespace lanevault::vault
