#ifndef LANEVAULT_VAULT_OVERSIGHT_H_
#define LANEVAULT_VAULT_OVERSIGHT_H_

// What compliance officers and the API's enforcement keep in the vault:
// legal holds, alerts, lockouts and the refusals that lead to them. Each
// change that is a decision is logged with it in one transaction. Reached
// through Vault::oversight(). Thread-safe.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "lanevault/v1/audit.pb.h"
#include "lanevault/v1/compliance.pb.h"
#include "vault/store.h"

namespace lanevault::vault {

class Oversight {
 public:
  // `hold_lifted` runs after a hold is lifted: what it kept may be overdue.
  Oversight(OversightStore& store, AccessLogStore& log, Clock* clock,
            std::function<void()> hold_lifted)
      : store_(store),
        log_(log),
        clock_(clock),
        hold_lifted_(std::move(hold_lifted)) {}
  Oversight(const Oversight&) = delete;
  Oversight& operator=(const Oversight&) = delete;

  // --- Legal holds. ---
  // INVALID_ARGUMENT without a case id, reason or record; NOT_FOUND for an
  // unknown record.
  absl::StatusOr<HoldRow> PlaceHold(absl::string_view case_id,
                                    absl::string_view reason,
                                    const std::vector<std::string>& record_ids,
                                    v1::AuditEntry audit);
  absl::StatusOr<HoldRow> LiftHold(absl::string_view hold_id,
                                   absl::string_view reason,
                                   v1::AuditEntry audit);
  absl::StatusOr<std::vector<HoldRow>> Holds(bool include_lifted);

  // --- Alerts for compliance officers (also logged as errors). ---
  void RaiseAlert(absl::string_view severity, absl::string_view kind,
                  absl::string_view principal, absl::string_view message);
  // RaiseAlert that says whether the alert was stored (a full disk may not
  // take it; the log line is written either way).
  absl::Status TryRaiseAlert(absl::string_view severity, absl::string_view kind,
                             absl::string_view principal,
                             absl::string_view message);
  absl::StatusOr<std::vector<AlertRow>> Alerts(bool include_acknowledged);
  // Called with each alert as it is raised, stored or not (pushers, watch
  // streams), on the raising thread, which may be an RPC's: a listener must
  // not block (it queues) and must not raise alerts itself.
  using AlertListener = std::function<void(const v1::Alert&)>;
  int AddAlertListener(AlertListener listener);
  // Returns once no call of that listener is running.
  void RemoveAlertListener(int id);
  absl::StatusOr<AlertRow> AcknowledgeAlert(absl::string_view alert_id,
                                            absl::string_view by);

  // --- Lockouts (what the API enforces; see api/gate.h). ---
  // NOT_FOUND when `principal` is not locked out.
  absl::StatusOr<LockoutRow> Lockout(absl::string_view principal);
  // Locks `principal` out, logged with `audit`, and raises a critical alert
  // of `kind`. OK when already locked out (nothing new is written).
  absl::Status LockOut(absl::string_view principal, absl::string_view kind,
                       absl::string_view reason, v1::AuditEntry audit);
  absl::StatusOr<std::vector<LockoutRow>> Lockouts();
  // NOT_FOUND when `principal` is not locked out.
  absl::Status LiftLockout(absl::string_view principal, v1::AuditEntry audit);
  // Refusals of `principal` since `since` that count towards `counted`,
  // from the access log (so the count survives restarts).
  absl::StatusOr<uint32_t> CountRefusals(absl::string_view principal,
                                         v1::RefusalCount counted,
                                         absl::Time since);

 private:
  friend class Vault;
  // Fills the lockout cache from the store, once at open.
  absl::Status LoadLockouts();

  OversightStore& store_;
  AccessLogStore& log_;
  absl::Mutex listeners_mu_;
  std::vector<std::pair<int, AlertListener>> listeners_
      ABSL_GUARDED_BY(listeners_mu_);
  int next_listener_ ABSL_GUARDED_BY(listeners_mu_) = 0;
  Clock* const clock_;
  const std::function<void()> hold_lifted_;

  // Every call asks whether its caller is locked out: answered from this
  // copy of the lockouts table (small, changed only through this class)
  // instead of a query that waits behind every commit.
  absl::Mutex lockouts_mu_;
  absl::flat_hash_map<std::string, LockoutRow> lockouts_
      ABSL_GUARDED_BY(lockouts_mu_);
  // Replicas share the table and change it without telling each other:
  // then each call asks the store, not this copy.
  bool read_lockouts_from_store_ = false;
};

}  // namespace lanevault::vault

#endif  // LANEVAULT_VAULT_OVERSIGHT_H_
