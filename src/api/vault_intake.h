#ifndef LANEVAULT_API_VAULT_INTAKE_H_
#define LANEVAULT_API_VAULT_INTAKE_H_

#include <atomic>

#include "capture/lane.h"
#include "policy/policy.h"
#include "vault/vault.h"

namespace lanevault::api {

// The in-process lane sink: the policy decides per item what is kept and
// until when, dropped items never reach the vault, and the rest is sealed
// and stored with its intake audit entry in one transaction.
class VaultIntake final : public capture::RecordSink {
 public:
  VaultIntake(const policy::Policy* policy, vault::Vault* vault)
      : policy_(policy), vault_(vault) {}

  absl::Status Submit(v1::Record record) override;

  uint64_t items_dropped() const { return items_dropped_; }

 private:
  const policy::Policy* policy_;
  vault::Vault* vault_;
  std::atomic<uint64_t> items_dropped_{0};
};

}  // namespace lanevault::api

#endif  // LANEVAULT_API_VAULT_INTAKE_H_
