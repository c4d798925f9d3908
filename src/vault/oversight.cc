#include "vault/oversight.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/logging.h"
#include "common/time_util.h"

namespace lanevault::vault {

absl::StatusOr<HoldRow> Oversight::PlaceHold(
    absl::string_view case_id, absl::string_view reason,
    const std::vector<std::string>& record_ids, v1::AuditEntry audit) {
  if (case_id.empty() || reason.empty()) {
    return absl::InvalidArgumentError(
        "a legal hold needs a case id and a reason");
  }
  if (record_ids.empty()) {
    return absl::InvalidArgumentError("a legal hold must name records");
  }
  HoldRow hold;
  hold.hold_id = NewId("hold-");
  hold.case_id = std::string(case_id);
  hold.reason = std::string(reason);
  hold.record_ids = record_ids;
  hold.placed_by = audit.principal();
  hold.placed = clock_->Now();
  audit.set_case_id(hold.case_id);
  audit.set_detail(absl::StrCat("hold ", hold.hold_id, " placed on ",
                                record_ids.size(), " records"));
  if (absl::Status s = store_.PutHold(hold, std::move(audit)); !s.ok()) {
    return s;
  }
  return hold;
}

absl::StatusOr<HoldRow> Oversight::LiftHold(absl::string_view hold_id,
                                            absl::string_view reason,
                                            v1::AuditEntry audit) {
  if (reason.empty()) {
    return absl::InvalidArgumentError("lifting a hold needs a reason");
  }
  const std::string by = audit.principal();
  audit.set_detail(absl::StrCat("hold ", hold_id, " lifted"));
  absl::StatusOr<HoldRow> hold =
      store_.LiftHold(hold_id, by, clock_->Now(), reason, std::move(audit));
  if (!hold.ok()) return hold.status();
  hold_lifted_();
  return hold;
}

absl::StatusOr<std::vector<HoldRow>> Oversight::Holds(bool include_lifted) {
  return store_.Holds(include_lifted);
}

void Oversight::RaiseAlert(absl::string_view severity, absl::string_view kind,
                           absl::string_view principal,
                           absl::string_view message) {
  TryRaiseAlert(severity, kind, principal, message).IgnoreError();
}

absl::Status Oversight::TryRaiseAlert(absl::string_view severity,
                                      absl::string_view kind,
                                      absl::string_view principal,
                                      absl::string_view message) {
  AlertRow alert{NewId("alert-"),
                 clock_->Now(),
                 std::string(severity),
                 std::string(kind),
                 std::string(principal),
                 std::string(message),
                 ""};
  // An alert about a principal names them (and a canary's, the decoy): the
  // log says only what it is, the alerts table the rest. The vault's own
  // alerts (damage, a full disk) name nobody, and the line carries them
  // when the file itself cannot.
  if (principal == "system") {
    spdlog::error("ALERT {} {} {}: {}", severity, kind, alert.alert_id,
                  message);
  } else {
    spdlog::error("ALERT {} {} {} (names a principal: see alerts list)",
                  severity, kind, alert.alert_id);
  }
  absl::Status s = store_.PutAlert(alert);
  if (!s.ok()) {
    spdlog::error("the alert could not be stored: {}", s.message());
  }
  v1::Alert pushed;
  pushed.set_alert_id(alert.alert_id);
  pushed.set_severity(alert.severity);
  pushed.set_kind(alert.kind);
  pushed.set_principal(alert.principal);
  pushed.set_message(alert.message);
  *pushed.mutable_raised() = lanevault::ToProto(alert.raised);
  absl::ReaderMutexLock lock(&listeners_mu_);
  for (const auto& [id, listener] : listeners_) listener(pushed);
  return s;
}

int Oversight::AddAlertListener(AlertListener listener) {
  absl::MutexLock lock(&listeners_mu_);
  listeners_.emplace_back(next_listener_, std::move(listener));
  return next_listener_++;
}

void Oversight::RemoveAlertListener(int id) {
  absl::MutexLock lock(&listeners_mu_);
  std::erase_if(listeners_, [id](const auto& l) { return l.first == id; });
}

absl::StatusOr<std::vector<AlertRow>> Oversight::Alerts(
    bool include_acknowledged) {
  return store_.Alerts(include_acknowledged);
}

absl::StatusOr<AlertRow> Oversight::AcknowledgeAlert(absl::string_view alert_id,
                                                     absl::string_view by) {
  return store_.AcknowledgeAlert(alert_id, by);
}

absl::Status Oversight::LoadLockouts() {
  absl::StatusOr<std::vector<LockoutRow>> rows = store_.Lockouts();
  if (!rows.ok()) return rows.status();
  absl::MutexLock lock(&lockouts_mu_);
  for (LockoutRow& row : *rows) {
    std::string principal = row.principal;
    lockouts_.emplace(std::move(principal), std::move(row));
  }
  return absl::OkStatus();
}

absl::StatusOr<LockoutRow> Oversight::Lockout(absl::string_view principal) {
  if (read_lockouts_from_store_) {
    absl::StatusOr<std::vector<LockoutRow>> rows = store_.Lockouts();
    if (!rows.ok()) return rows.status();
    for (LockoutRow& row : *rows) {
      if (row.principal == principal) return std::move(row);
    }
    return absl::NotFoundError(absl::StrCat(principal, " is not locked out"));
  }
  absl::MutexLock lock(&lockouts_mu_);
  auto it = lockouts_.find(principal);
  if (it == lockouts_.end()) {
    return absl::NotFoundError(absl::StrCat(principal, " is not locked out"));
  }
  return it->second;
}

absl::Status Oversight::LockOut(absl::string_view principal,
                                absl::string_view kind,
                                absl::string_view reason,
                                v1::AuditEntry audit) {
  LockoutRow row{std::string(principal), std::string(reason), clock_->Now()};
  audit.set_detail(absl::StrCat("locked out: ", reason));
  absl::Status s = store_.PutLockout(row, std::move(audit));
  if (absl::IsAlreadyExists(s)) return absl::OkStatus();
  if (!s.ok()) return s;
  {
    absl::MutexLock lock(&lockouts_mu_);
    lockouts_.insert_or_assign(row.principal, row);
  }
  RaiseAlert("critical", kind, principal,
             absl::StrCat(principal, " is locked out: ", reason,
                          ". Lift with 'lanevaultctl lockouts lift' once "
                          "reviewed."));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<LockoutRow>> Oversight::Lockouts() {
  return store_.Lockouts();
}

absl::Status Oversight::LiftLockout(absl::string_view principal,
                                    v1::AuditEntry audit) {
  absl::Status s = store_.DeleteLockout(principal, std::move(audit));
  if (s.ok()) {
    absl::MutexLock lock(&lockouts_mu_);
    lockouts_.erase(principal);
  }
  return s;
}

absl::StatusOr<uint32_t> Oversight::CountRefusals(absl::string_view principal,
                                                  v1::RefusalCount counted,
                                                  absl::Time since) {
  return log_.CountRefusals(principal, counted, since);
}

}  // namespace lanevault::vault
