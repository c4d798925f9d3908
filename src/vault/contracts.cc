#include "vault/contracts.h"

#include <utility>

namespace lanevault::vault {

absl::Status Contracts::KeepVersion(const std::string& contract_id,
                                    uint64_t version,
                                    const std::string& signed_text) {
  return store_.PutContractVersion(
      {contract_id, version, signed_text, clock_->Now()});
}

absl::StatusOr<std::vector<ContractVersionRow>> Contracts::Versions() {
  return store_.ContractVersions();
}

absl::Status Contracts::Propose(const ProposalRow& proposal,
                                v1::AuditEntry audit) {
  return store_.PutProposal(proposal, std::move(audit));
}

absl::StatusOr<ProposalRow> Contracts::Proposal(uint64_t version) {
  return store_.GetProposal(version);
}

absl::StatusOr<std::vector<ProposalRow>> Contracts::Proposals() {
  return store_.Proposals();
}

absl::Status Contracts::Activate(const ProposalRow& proposal,
                                 const ContractVersionRow& version,
                                 v1::AuditEntry audit) {
  return store_.ActivateProposal(proposal, version, std::move(audit));
}

}  // namespace lanevault::vault
