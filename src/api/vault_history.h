#ifndef LANEVAULT_API_VAULT_HISTORY_H_
#define LANEVAULT_API_VAULT_HISTORY_H_

#include "policy/policy.h"
#include "vault/vault.h"

namespace lanevault::api {

// The policy's view of a principal's past, answered from the vault's access
// log (so quotas and linkage survive restarts). If the log cannot answer,
// it answers as if the worst were true: quotas spent, every category read.
class VaultAccessHistory final : public policy::AccessHistory {
 public:
  explicit VaultAccessHistory(vault::Vault* vault) : vault_(vault) {}
  Reads ReadsSince(absl::string_view principal,
                   absl::Time since) const override;
  std::vector<v1::DataCategory> CategoriesRead(
      absl::string_view principal, absl::string_view record_id) const override;

 private:
  vault::Vault* vault_;
};

}  // namespace lanevault::api

#endif  // LANEVAULT_API_VAULT_HISTORY_H_
