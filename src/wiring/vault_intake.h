#ifndef LANEVAULT_WIRING_VAULT_INTAKE_H_
#define LANEVAULT_WIRING_VAULT_INTAKE_H_

#include <string>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "capture/record_sink.h"
#include "policy/policy.h"
#include "vault/vault.h"
#include "wiring/canary.h"

namespace lanevault::wiring {

// The in-process lane sink: the policy decides per item what is kept and
// until when, dropped items never reach the vault, and the rest is sealed
// and stored with its intake audit entry in one transaction.
class VaultIntake final : public capture::RecordSink {
 public:
  // `canary_every`: plant a canary record beside one in this many records
  // stored, on average (see canary.h); <= 0: none. `max_clock_skew`: how far
  // ahead of the vault's clock a claimed capture time may lie.
  // With canaries, a thread plants them when they fall due (see canary.h);
  // `planter_thread` false leaves that to PlantDueCanaries (tests).
  VaultIntake(const policy::Policy* policy, vault::Vault* vault,
              int canary_every = 0,
              absl::Duration max_clock_skew = absl::Minutes(5),
              bool planter_thread = true);
  ~VaultIntake();

  // Plants the decoys whose time has come by the vault's clock.
  void PlantDueCanaries();

  // INVALID_ARGUMENT when a submitted record cannot be taken as it is: an
  // id that is not a plain token, an item without an id or with one named
  // twice, an unknown category, no capture time, or capture times that
  // cannot be right by the vault's clock (later than now plus the allowed
  // skew, or last seen before first seen). The vault's clock, not the
  // submitter's, bounds how long evidence is kept.
  absl::Status CheckSubmission(const v1::Record& record) const;

  // An in-process lane's crossing, logged as "lane:<lane id>".
  absl::Status Submit(v1::Record record) override;

  struct Kept {
    std::string record_id;
    int items_kept = 0;
    int items_dropped = 0;
  };
  // A crossing with the audit entry its caller prepared (who, how, the
  // verdict so far); the intake fills in what was kept. Deadlines run from
  // the capture time, but never from later than the vault's now.
  // ALREADY_EXISTS only when the same submission (`submission_digest`, see
  // Vault::SubmissionDigest) was stored before; INVALID_ARGUMENT for a
  // record that fails CheckSubmission or whose ids clash;
  // UNAVAILABLE (retry) when the vault cannot write, a full disk included,
  // which is logged once per episode with an alert.
  absl::StatusOr<Kept> Take(v1::Record record, v1::AuditEntry entry,
                            absl::string_view submission_digest = "");

  // Items the policy dropped before they reached the vault, per lane.
  uint64_t ItemsDropped(absl::string_view lane_id) const;
  // Decoys planted on a lane (an operator's records-stored count holds
  // them, so it does not tell how many there are).
  uint64_t CanariesPlanted(absl::string_view lane_id) {
    return canaries_.Planted(lane_id);
  }

 private:
  // Logs and alerts the first failure of a full-disk episode, and its end.
  void NoteDiskFull(bool full, absl::string_view why);

  const policy::Policy* policy_;
  vault::Vault* vault_;
  CanaryPlanter canaries_;
  absl::Notification stop_planter_;
  std::thread planter_;
  const absl::Duration max_clock_skew_;
  mutable absl::Mutex mu_;
  bool disk_full_ ABSL_GUARDED_BY(mu_) = false;
  std::string pending_alert_ ABSL_GUARDED_BY(mu_);  // not yet stored
  absl::flat_hash_map<std::string, uint64_t> dropped_ ABSL_GUARDED_BY(mu_);
};

}  // namespace lanevault::wiring

#endif  // LANEVAULT_WIRING_VAULT_INTAKE_H_
