#ifndef LANEVAULT_API_VAULT_INTAKE_H_
#define LANEVAULT_API_VAULT_INTAKE_H_

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "capture/lane.h"
#include "policy/policy.h"
#include "vault/vault.h"

namespace lanevault::api {

// The in-process lane sink: the policy decides per item what is kept and
// until when, dropped items never reach the vault, and the rest is sealed
// and stored with its intake audit entry in one transaction.
class VaultIntake final : public capture::RecordSink {
 public:
  // `canary_every`: plant a canary record beside one in this many records
  // stored, on average (see canary.h); <= 0: none.
  VaultIntake(const policy::Policy* policy, vault::Vault* vault,
              int canary_every = 0)
      : policy_(policy), vault_(vault), canary_every_(canary_every) {}

  // An in-process lane's crossing, logged as "lane:<lane id>".
  absl::Status Submit(v1::Record record) override;

  struct Kept {
    std::string record_id;
    int items_kept = 0;
    int items_dropped = 0;
  };
  // A crossing with the audit entry its caller prepared (who, how, the
  // verdict so far); the intake fills in what was kept. ALREADY_EXISTS
  // when that record id was taken in before.
  absl::StatusOr<Kept> Take(v1::Record record, v1::AuditEntry entry);

  // Items the policy dropped before they reached the vault, per lane.
  uint64_t ItemsDropped(absl::string_view lane_id) const;

 private:
  const policy::Policy* policy_;
  vault::Vault* vault_;
  const int canary_every_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, uint64_t> dropped_ ABSL_GUARDED_BY(mu_);
};

}  // namespace lanevault::api

#endif  // LANEVAULT_API_VAULT_INTAKE_H_
