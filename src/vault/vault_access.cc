// Lockouts, refusal counts and contract proposals: the vault keeps what
// the API enforces, each change with its audit entry in one transaction.

#include "absl/strings/str_cat.h"
#include "vault/vault.h"

namespace lanevault::vault {

absl::Status Vault::LoadLockouts() {
  absl::StatusOr<std::vector<LockoutRow>> rows = store_->Lockouts();
  if (!rows.ok()) return rows.status();
  absl::MutexLock lock(&lockouts_mu_);
  for (LockoutRow& row : *rows) {
    std::string principal = row.principal;
    lockouts_.emplace(std::move(principal), std::move(row));
  }
  return absl::OkStatus();
}

absl::StatusOr<LockoutRow> Vault::Lockout(absl::string_view principal) {
  absl::MutexLock lock(&lockouts_mu_);
  auto it = lockouts_.find(principal);
  if (it == lockouts_.end()) {
    return absl::NotFoundError(absl::StrCat(principal, " is not locked out"));
  }
  return it->second;
}

absl::Status Vault::LockOut(absl::string_view principal, absl::string_view kind,
                            absl::string_view reason, v1::AuditEntry audit) {
  LockoutRow row{std::string(principal), std::string(reason), clock_->Now()};
  audit.set_detail(absl::StrCat("locked out: ", reason));
  absl::Status s = store_->PutLockout(row, std::move(audit));
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

absl::StatusOr<std::vector<LockoutRow>> Vault::Lockouts() {
  return store_->Lockouts();
}

absl::Status Vault::LiftLockout(absl::string_view principal,
                                v1::AuditEntry audit) {
  absl::Status s = store_->DeleteLockout(principal, std::move(audit));
  if (s.ok()) {
    absl::MutexLock lock(&lockouts_mu_);
    lockouts_.erase(principal);
  }
  return s;
}

absl::StatusOr<uint32_t> Vault::CountRefusals(absl::string_view principal,
                                              v1::RefusalCount counted,
                                              absl::Time since) {
  return store_->CountRefusals(principal, counted, since);
}

absl::Status Vault::ProposeContract(const ProposalRow& proposal,
                                    v1::AuditEntry audit) {
  return store_->PutProposal(proposal, std::move(audit));
}

absl::StatusOr<ProposalRow> Vault::ContractProposal(uint64_t version) {
  return store_->GetProposal(version);
}

absl::StatusOr<std::vector<ProposalRow>> Vault::ContractProposals() {
  return store_->Proposals();
}

absl::Status Vault::ActivateContract(const ProposalRow& proposal,
                                     const ContractVersionRow& version,
                                     v1::AuditEntry audit) {
  return store_->ActivateProposal(proposal, version, std::move(audit));
}

}  // namespace lanevault::vault
