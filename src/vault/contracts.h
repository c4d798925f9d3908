#ifndef LANEVAULT_VAULT_CONTRACTS_H_
#define LANEVAULT_VAULT_CONTRACTS_H_

// The contract versions the vault keeps: those that took effect, kept as
// signed, and those proposed over the API while they gather signatures.
// Reached through Vault::contracts(). Thread-safe.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "lanevault/v1/audit.pb.h"
#include "vault/store.h"

namespace lanevault::vault {

class Contracts {
 public:
  Contracts(ContractStore& store, Clock* clock)
      : store_(store), clock_(clock) {}
  Contracts(const Contracts&) = delete;
  Contracts& operator=(const Contracts&) = delete;

  // A contract version that took effect (its first activation is kept).
  absl::Status KeepVersion(const std::string& contract_id, uint64_t version,
                           const std::string& signed_text);
  // Newest activation first.
  absl::StatusOr<std::vector<ContractVersionRow>> Versions();

  // ALREADY_EXISTS for a version already proposed; logged with `audit`.
  absl::Status Propose(const ProposalRow& proposal, v1::AuditEntry audit);
  // The newest proposal of that version; NOT_FOUND when there is none.
  absl::StatusOr<ProposalRow> Proposal(uint64_t version);
  // Newest first.
  absl::StatusOr<std::vector<ProposalRow>> Proposals();
  // Keeps the proposal's gathered signatures and puts `version` in force,
  // with `audit`, in one transaction.
  absl::Status Activate(const ProposalRow& proposal,
                        const ContractVersionRow& version,
                        v1::AuditEntry audit);

 private:
  ContractStore& store_;
  Clock* const clock_;
};

}  // namespace lanevault::vault

#endif  // LANEVAULT_VAULT_CONTRACTS_H_
