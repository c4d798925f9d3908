#ifndef LANEVAULT_WIRING_VAULT_HISTORY_H_
#define LANEVAULT_WIRING_VAULT_HISTORY_H_

#include "policy/policy.h"
#include "vault/vault.h"
#include "wiring/quota_ledger.h"

namespace lanevault::wiring {

// The policy's view of a principal's (and its group's) past, answered from
// the vault's access log (so quotas and linkage survive restarts), plus the
// calls admitted and not yet logged (see quota_ledger.h). If the log cannot
// answer, it answers as if the worst were true: quotas spent, every
// category read.
class VaultAccessHistory final : public policy::AccessHistory {
 public:
  VaultAccessHistory(vault::Vault* vault, const QuotaLedger* ledger)
      : vault_(vault), ledger_(ledger) {}
  Reads ReadsSince(absl::string_view principal,
                   absl::Time since) const override;
  std::vector<v1::DataCategory> CategoriesRead(
      absl::string_view principal, absl::string_view record_id) const override;
  Reads GroupReadsSince(absl::string_view group,
                        absl::Time since) const override;
  std::vector<v1::DataCategory> GroupCategoriesRead(
      absl::string_view group, absl::string_view record_id) const override;
  uint32_t CallsSince(absl::string_view who, bool group, v1::Action action,
                      absl::Time since) const override;
  bool ReadSince(absl::string_view who, bool group, absl::string_view record_id,
                 absl::Time since) const override;

 private:
  Reads Counted(absl::string_view who, bool group, absl::Time since) const;
  std::vector<v1::DataCategory> Seen(absl::string_view who, bool group,
                                     absl::string_view record_id) const;

  vault::Vault* vault_;
  const QuotaLedger* ledger_;
};

}  // namespace lanevault::wiring

#endif  // LANEVAULT_WIRING_VAULT_HISTORY_H_
