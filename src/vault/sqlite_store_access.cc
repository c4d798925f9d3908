// What the API enforces (lockouts, refusal counts, canary marks) and the
// contract versions proposed over it.

#include "absl/strings/str_cat.h"
#include "common/time_util.h"
#include "vault/sqlite_store_impl.h"

namespace lanevault::vault {
namespace {

LockoutRow LockoutFromRow(const Statement& q) {
  return {q.Text(0), q.Text(1), absl::FromUnixMicros(q.Int(2))};
}

ProposalRow ProposalFromRow(const Statement& q) {
  return {q.Text(0), static_cast<uint64_t>(q.Int(1)), q.Blob(2), q.Text(3),
          absl::FromUnixMicros(q.Int(4))};
}

// Cached statements are keyed by their literal text.
#define LV_PROPOSAL_COLUMNS \
  "contract_id, version, signed, proposed_by, proposed_us"

}  // namespace

absl::Status SqliteStore::PutLockout(const LockoutRow& lockout,
                                     v1::AuditEntry audit) {
  absl::MutexLock lock(&mu_);
  return WithAuditLocked(std::move(audit), [&]() -> absl::Status {
    absl::StatusOr<Statement> ins = db_.Cached(
        "INSERT INTO lockouts(principal, reason, since_us) VALUES(?,?,?)");
    if (!ins.ok()) return ins.status();
    ins->Bind(1, lockout.principal)
        .Bind(2, lockout.reason)
        .Bind(3, ToUnixMicrosSaturated(lockout.since));
    return ins->Run();
  });
}

absl::StatusOr<std::vector<LockoutRow>> SqliteStore::Lockouts() {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Statement> q = db_.Cached(
      "SELECT principal, reason, since_us FROM lockouts ORDER BY since_us");
  if (!q.ok()) return q.status();
  std::vector<LockoutRow> out;
  absl::Status rows = q->ForEachRow([&] {
    out.push_back(LockoutFromRow(*q));
    return absl::OkStatus();
  });
  if (!rows.ok()) return rows;
  return out;
}

absl::Status SqliteStore::DeleteLockout(absl::string_view principal,
                                        v1::AuditEntry audit) {
  const int64_t lifted_us = ToUnixMicrosSaturated(FromProto(audit.time()));
  absl::MutexLock lock(&mu_);
  return WithAuditLocked(std::move(audit), [&]() -> absl::Status {
    absl::StatusOr<Statement> del =
        db_.Cached("DELETE FROM lockouts WHERE principal = ?");
    if (!del.ok()) return del.status();
    del->Bind(1, principal);
    if (absl::Status s = del->Run(); !s.ok()) return s;
    if (sqlite3_changes(db_.handle()) == 0) {
      return absl::NotFoundError(absl::StrCat(principal, " is not locked out"));
    }
    // The refusals that led here are judged: they no longer count towards
    // the next lockout.
    absl::StatusOr<Statement> lifted = db_.Cached(
        "INSERT OR REPLACE INTO lockout_lifts(principal, lifted_us) "
        "VALUES(?, ?)");
    if (!lifted.ok()) return lifted.status();
    lifted->Bind(1, principal).Bind(2, lifted_us);
    return lifted->Run();
  });
}

absl::StatusOr<uint32_t> SqliteStore::CountRefusals(absl::string_view principal,
                                                    v1::RefusalCount counted,
                                                    absl::Time since) {
  SqliteReaders::Lease db = readers_->Borrow();
  absl::StatusOr<Statement> q = db->Cached(
      "SELECT COUNT(*) FROM audit_log WHERE principal = ?1 AND "
      "refusal_count = ?2 AND time_us >= MAX(?3, COALESCE((SELECT lifted_us "
      "+ 1 FROM lockout_lifts WHERE principal = ?1), 0)) AND verdict = 2");
  if (!q.ok()) return q.status();
  q->Bind(1, principal)
      .Bind(2, static_cast<int64_t>(counted))
      .Bind(3, ToUnixMicrosSaturated(since));
  absl::StatusOr<bool> row = q->Step();
  if (!row.ok()) return row.status();
  return static_cast<uint32_t>(q->Int(0));
}

absl::StatusOr<bool> SqliteStore::HasCanaryMark(absl::string_view record_id,
                                                absl::string_view mark) {
  SqliteReaders::Lease db = readers_->Borrow();
  // In the record's row since schema step 13; in canary_marks before it.
  absl::StatusOr<Statement> q = db->Cached(
      "SELECT 1 FROM records WHERE record_id = ?1 AND canary_mark = ?2 "
      "UNION ALL SELECT 1 FROM canary_marks WHERE mark = ?2 LIMIT 1");
  if (!q.ok()) return q.status();
  q->Bind(1, record_id).BindBlob(2, mark);
  return q->Step();
}

absl::Status SqliteStore::PutProposal(const ProposalRow& proposal,
                                      v1::AuditEntry audit) {
  absl::MutexLock lock(&mu_);
  return WithAuditLocked(std::move(audit), [&]() -> absl::Status {
    absl::StatusOr<Statement> ins =
        db_.Cached("INSERT INTO contract_proposals(" LV_PROPOSAL_COLUMNS
                   ") VALUES(?,?,?,?,?)");
    if (!ins.ok()) return ins.status();
    ins->Bind(1, proposal.contract_id)
        .Bind(2, static_cast<int64_t>(proposal.version))
        .BindBlob(3, proposal.signed_contract)
        .Bind(4, proposal.proposed_by)
        .Bind(5, ToUnixMicrosSaturated(proposal.proposed));
    absl::Status s = ins->Run();
    if (absl::IsAlreadyExists(s)) {
      return absl::AlreadyExistsError(absl::StrCat(
          "version ", proposal.version, " of ", proposal.contract_id,
          " was already proposed; raise the version"));
    }
    return s;
  });
}

absl::StatusOr<ProposalRow> SqliteStore::GetProposal(uint64_t version) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Statement> q =
      db_.Cached("SELECT " LV_PROPOSAL_COLUMNS
                 " FROM contract_proposals WHERE version = ? "
                 "ORDER BY proposed_us DESC LIMIT 1");
  if (!q.ok()) return q.status();
  q->Bind(1, static_cast<int64_t>(version));
  absl::StatusOr<bool> row = q->Step();
  if (!row.ok()) return row.status();
  if (!*row) {
    return absl::NotFoundError(
        absl::StrCat("no contract version ", version, " was proposed"));
  }
  return ProposalFromRow(*q);
}

absl::StatusOr<std::vector<ProposalRow>> SqliteStore::Proposals() {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Statement> q =
      db_.Cached("SELECT " LV_PROPOSAL_COLUMNS
                 " FROM contract_proposals ORDER BY proposed_us DESC");
  if (!q.ok()) return q.status();
  std::vector<ProposalRow> out;
  absl::Status rows = q->ForEachRow([&] {
    out.push_back(ProposalFromRow(*q));
    return absl::OkStatus();
  });
  if (!rows.ok()) return rows;
  return out;
}

absl::Status SqliteStore::ActivateProposal(const ProposalRow& proposal,
                                           const ContractVersionRow& version,
                                           v1::AuditEntry audit) {
  absl::MutexLock lock(&mu_);
  return WithAuditLocked(std::move(audit), [&]() -> absl::Status {
    absl::StatusOr<Statement> up = db_.Cached(
        "UPDATE contract_proposals SET signed = ? WHERE contract_id = ? AND "
        "version = ?");
    if (!up.ok()) return up.status();
    up->BindBlob(1, proposal.signed_contract)
        .Bind(2, proposal.contract_id)
        .Bind(3, static_cast<int64_t>(proposal.version));
    if (absl::Status s = up->Run(); !s.ok()) return s;
    absl::StatusOr<Statement> ins = db_.Cached(
        "INSERT OR REPLACE INTO contracts(contract_id, version, signed_text, "
        "activated_us) VALUES(?, ?, ?, ?)");
    if (!ins.ok()) return ins.status();
    ins->Bind(1, version.contract_id)
        .Bind(2, static_cast<int64_t>(version.version))
        .BindBlob(3, version.signed_text)
        .Bind(4, ToUnixMicrosSaturated(version.activated));
    return ins->Run();
  });
}

}  // namespace lanevault::vault
