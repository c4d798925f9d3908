// Retention, legal holds and alerts in the PostgreSQL store.

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/time_util.h"
#include "vault/postgres_store_impl.h"

namespace lanevault::vault {

using pg::Params;

// "This item's record is under a hold in force", as SQL over items `i`.
#define LV_HELD                                                            \
  "EXISTS(SELECT 1 FROM hold_records h JOIN legal_holds l USING(hold_id) " \
  "WHERE h.record_id = i.record_id AND l.lifted_us IS NULL)"

absl::StatusOr<absl::Time> PostgresStore::NextDeadline() {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<pg::Result> q =
      ExecLocked("SELECT i.deadline_us FROM items i WHERE NOT " LV_HELD
                 " ORDER BY i.deadline_us LIMIT 1");
  if (!q.ok()) return q.status();
  if (q->rows() == 0) return absl::InfiniteFuture();
  return absl::FromUnixMicros(q->Int(0, 0));
}

absl::StatusOr<absl::Time> PostgresStore::LastDeadline() {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<pg::Result> q =
      ExecLocked("SELECT MAX(deadline_us) FROM items");
  if (!q.ok()) return q.status();
  if (q->rows() == 0 || q->IsNull(0, 0)) return absl::InfinitePast();
  return absl::FromUnixMicros(q->Int(0, 0));
}

absl::StatusOr<PurgeResult> PostgresStore::PurgeExpired(
    absl::Time now, int limit, const v1::AuditEntry& purge_template) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<tlog::CompactRange> begun = BeginAppendLocked();
  if (!begun.ok()) return begun.status();
  tlog::CompactRange edge = std::move(*begun);
  auto fail = [&](absl::Status s) {
    RollbackLocked();
    return s;
  };
  // FOR UPDATE OF i: a hold placed meanwhile by another connection waits
  // for this purge, or this purge sees it.
  absl::StatusOr<pg::Result> due = db_.Exec(
      "SELECT i.item_id, i.record_id, i.category, i.deadline_us FROM items i "
      "WHERE i.deadline_us <= $1::bigint AND NOT " LV_HELD
      " ORDER BY i.deadline_us LIMIT $2::bigint FOR UPDATE OF i",
      Params().Int(ToUnixMicrosSaturated(now)).Int(limit));
  if (!due.ok()) return fail(due.status());
  PurgeResult result;
  std::vector<std::string> touched;
  for (int row = 0; row < due->rows(); ++row) {
    const std::string item_id = due->Text(row, 0);
    const std::string record_id = due->Text(row, 1);
    // The ciphertext, the wrapped key and the blind indexes go together.
    for (const char* sql :
         {"DELETE FROM plate_candidates WHERE record_id = $1 AND item_id = $2",
          "DELETE FROM items WHERE record_id = $1 AND item_id = $2"}) {
      absl::StatusOr<pg::Result> del =
          db_.Exec(sql, Params().Text(record_id).Text(item_id));
      if (!del.ok()) return fail(del.status());
    }
    absl::StatusOr<pg::Result> count = db_.Exec(
        "UPDATE records SET item_count = item_count - 1 "
        "WHERE record_id = $1 AND item_count > 0",
        Params().Text(record_id));
    if (!count.ok()) return fail(count.status());
    v1::AuditEntry entry = purge_template;
    entry.set_record_id(record_id);
    entry.add_item_ids(item_id);
    entry.add_categories(static_cast<v1::DataCategory>(due->Int(row, 2)));
    entry.set_detail(absl::StrCat(
        "deadline=", absl::FormatTime(absl::RFC3339_sec,
                                      absl::FromUnixMicros(due->Int(row, 3)),
                                      absl::UTCTimeZone())));
    absl::StatusOr<uint64_t> seq = AppendLocked(std::move(entry), edge);
    if (!seq.ok()) return fail(seq.status());
    ++result.items;
    touched.push_back(record_id);
  }
  std::sort(touched.begin(), touched.end());
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
  for (const std::string& record_id : touched) {
    absl::StatusOr<pg::Result> del = db_.Exec(
        "DELETE FROM records WHERE record_id = $1 AND NOT EXISTS("
        "SELECT 1 FROM items WHERE record_id = $1)",
        Params().Text(record_id));
    if (!del.ok()) return fail(del.status());
    result.records += del->Affected();
  }
  if (absl::Status s = CommitAppendLocked(std::move(edge)); !s.ok()) return s;
  return result;
}

absl::StatusOr<std::vector<CategoryRetentionRow>>
PostgresStore::RetentionCounts(absl::Time now) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<pg::Result> q = ExecLocked(
      "SELECT category, COUNT(*), SUM(CASE WHEN held THEN 1 ELSE 0 END), "
      "SUM(CASE WHEN deadline_us <= $1::bigint AND NOT held THEN 1 ELSE 0 "
      "END), MIN(CASE WHEN held THEN NULL ELSE deadline_us END) "
      "FROM (SELECT i.category AS category, i.deadline_us AS "
      "deadline_us, " LV_HELD
      " AS held FROM items i) AS t GROUP BY category ORDER BY category",
      Params().Int(ToUnixMicrosSaturated(now)));
  if (!q.ok()) return q.status();
  std::vector<CategoryRetentionRow> out;
  for (int i = 0; i < q->rows(); ++i) {
    CategoryRetentionRow& r = out.emplace_back();
    r.category = static_cast<v1::DataCategory>(q->Int(i, 0));
    r.items = static_cast<uint64_t>(q->Int(i, 1));
    r.on_hold = static_cast<uint64_t>(q->Int(i, 2));
    r.overdue = static_cast<uint64_t>(q->Int(i, 3));
    if (!q->IsNull(i, 4)) r.next_deadline = absl::FromUnixMicros(q->Int(i, 4));
  }
  return out;
}

absl::Status PostgresStore::PutHold(const HoldRow& hold, v1::AuditEntry audit) {
  absl::MutexLock lock(&mu_);
  return WithAuditLocked(std::move(audit), [&]() -> absl::Status {
    absl::StatusOr<pg::Result> ins = db_.Exec(
        "INSERT INTO legal_holds(hold_id, case_id, reason, placed_by, "
        "placed_us) VALUES($1, $2, $3, $4, $5::bigint)",
        Params()
            .Text(hold.hold_id)
            .Text(hold.case_id)
            .Text(hold.reason)
            .Text(hold.placed_by)
            .Int(ToUnixMicrosSaturated(hold.placed)));
    if (!ins.ok()) return ins.status();
    for (const std::string& record_id : hold.record_ids) {
      // FOR SHARE: a purge on another connection cannot delete the record
      // between this check and the commit.
      absl::StatusOr<pg::Result> exists =
          db_.Exec("SELECT 1 FROM records WHERE record_id = $1 FOR SHARE",
                   Params().Text(record_id));
      if (!exists.ok()) return exists.status();
      if (exists->rows() == 0) {
        return absl::NotFoundError(absl::StrCat(
            "no record ", record_id, " (purged, or never taken in)"));
      }
      absl::StatusOr<pg::Result> link = db_.Exec(
          "INSERT INTO hold_records(hold_id, record_id) VALUES($1, $2) "
          "ON CONFLICT DO NOTHING",
          Params().Text(hold.hold_id).Text(record_id));
      if (!link.ok()) return link.status();
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<std::string>> PostgresStore::HoldRecordsLocked(
    absl::string_view hold_id) {
  absl::StatusOr<pg::Result> q = db_.Exec(
      "SELECT record_id FROM hold_records WHERE hold_id = $1 ORDER BY "
      "record_id",
      Params().Text(hold_id));
  if (!q.ok()) return q.status();
  std::vector<std::string> out;
  for (int i = 0; i < q->rows(); ++i) out.push_back(q->Text(i, 0));
  return out;
}

namespace {

#define LV_HOLD_COLUMNS                              \
  "hold_id, case_id, reason, placed_by, placed_us, " \
  "COALESCE(lifted_by, ''), lifted_us, COALESCE(lift_reason, '')"

HoldRow HoldFromRow(const pg::Result& q, int i) {
  HoldRow h;
  h.hold_id = q.Text(i, 0);
  h.case_id = q.Text(i, 1);
  h.reason = q.Text(i, 2);
  h.placed_by = q.Text(i, 3);
  h.placed = absl::FromUnixMicros(q.Int(i, 4));
  h.lifted_by = q.Text(i, 5);
  if (!q.IsNull(i, 6)) h.lifted = absl::FromUnixMicros(q.Int(i, 6));
  h.lift_reason = q.Text(i, 7);
  return h;
}

#define LV_ALERT_COLUMNS                                      \
  "alert_id, raised_us, severity, kind, principal, message, " \
  "COALESCE(acknowledged_by, '')"

AlertRow AlertFromRow(const pg::Result& q, int i) {
  return AlertRow{q.Text(i, 0), absl::FromUnixMicros(q.Int(i, 1)),
                  q.Text(i, 2), q.Text(i, 3),
                  q.Text(i, 4), q.Text(i, 5),
                  q.Text(i, 6)};
}

}  // namespace

absl::StatusOr<HoldRow> PostgresStore::LiftHold(absl::string_view hold_id,
                                                absl::string_view lifted_by,
                                                absl::Time lifted,
                                                absl::string_view reason,
                                                v1::AuditEntry audit) {
  absl::MutexLock lock(&mu_);
  HoldRow out;
  absl::Status s = WithAuditLocked(std::move(audit), [&]() -> absl::Status {
    absl::StatusOr<pg::Result> q =
        db_.Exec("SELECT " LV_HOLD_COLUMNS
                 " FROM legal_holds WHERE hold_id = $1 "
                 "FOR UPDATE",
                 Params().Text(hold_id));
    if (!q.ok()) return q.status();
    if (q->rows() == 0) {
      return absl::NotFoundError(absl::StrCat("no hold ", hold_id));
    }
    out = HoldFromRow(*q, 0);
    if (!out.active()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "hold ", hold_id, " was already lifted by ", out.lifted_by));
    }
    absl::StatusOr<pg::Result> up = db_.Exec(
        "UPDATE legal_holds SET lifted_by = $1, lifted_us = $2::bigint, "
        "lift_reason = $3 WHERE hold_id = $4",
        Params()
            .Text(lifted_by)
            .Int(ToUnixMicrosSaturated(lifted))
            .Text(reason)
            .Text(hold_id));
    if (!up.ok()) return up.status();
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

absl::StatusOr<std::vector<HoldRow>> PostgresStore::Holds(bool include_lifted) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<pg::Result> q =
      ExecLocked("SELECT " LV_HOLD_COLUMNS
                 " FROM legal_holds WHERE $1::boolean OR lifted_us IS NULL "
                 "ORDER BY placed_us, hold_id",
                 Params().Bool(include_lifted));
  if (!q.ok()) return q.status();
  std::vector<HoldRow> out;
  for (int i = 0; i < q->rows(); ++i) out.push_back(HoldFromRow(*q, i));
  for (HoldRow& h : out) {
    absl::StatusOr<std::vector<std::string>> records =
        HoldRecordsLocked(h.hold_id);
    if (!records.ok()) return records.status();
    h.record_ids = std::move(*records);
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> PostgresStore::HoldCases(
    absl::string_view record_id) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<pg::Result> q = ExecLocked(
      "SELECT l.case_id FROM hold_records h JOIN legal_holds l "
      "USING(hold_id) WHERE h.record_id = $1 AND l.lifted_us IS NULL",
      Params().Text(record_id));
  if (!q.ok()) return q.status();
  std::vector<std::string> out;
  for (int i = 0; i < q->rows(); ++i) out.push_back(q->Text(i, 0));
  return out;
}

absl::Status PostgresStore::PutAlert(const AlertRow& alert) {
  absl::MutexLock lock(&mu_);
  return ExecLocked(
             "INSERT INTO alerts(alert_id, raised_us, severity, kind, "
             "principal, message) VALUES($1, $2::bigint, $3, $4, $5, $6)",
             Params()
                 .Text(alert.alert_id)
                 .Int(ToUnixMicrosSaturated(alert.raised))
                 .Text(alert.severity)
                 .Text(alert.kind)
                 .Text(alert.principal)
                 .Text(alert.message))
      .status();
}

absl::StatusOr<std::vector<AlertRow>> PostgresStore::Alerts(
    bool include_acknowledged) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<pg::Result> q =
      ExecLocked("SELECT " LV_ALERT_COLUMNS
                 " FROM alerts WHERE $1::boolean OR acknowledged_by IS NULL "
                 "ORDER BY raised_us, alert_id",
                 Params().Bool(include_acknowledged));
  if (!q.ok()) return q.status();
  std::vector<AlertRow> out;
  for (int i = 0; i < q->rows(); ++i) out.push_back(AlertFromRow(*q, i));
  return out;
}

absl::StatusOr<AlertRow> PostgresStore::AcknowledgeAlert(
    absl::string_view alert_id, absl::string_view by) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<pg::Result> q = ExecLocked(
      "UPDATE alerts SET acknowledged_by = COALESCE(acknowledged_by, $1) "
      "WHERE alert_id = $2 RETURNING " LV_ALERT_COLUMNS,
      Params().Text(by).Text(alert_id));
  if (!q.ok()) return q.status();
  if (q->rows() == 0) {
    return absl::NotFoundError(absl::StrCat("no alert ", alert_id));
  }
  return AlertFromRow(*q, 0);
}

#undef LV_HELD
#undef LV_HOLD_COLUMNS
#undef LV_ALERT_COLUMNS

}  // namespace lanevault::vault
