#ifndef LANEVAULT_CMD_DAEMON_CONTRACT_H_
#define LANEVAULT_CMD_DAEMON_CONTRACT_H_

// The daemon's contract in force: the signed file its config names, or a
// newer version of the same contract that compliance officers activated
// over the API (kept in the vault), whichever is newer. Each change is
// logged as a decision.

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "lanevault/v1/config.pb.h"
#include "policy/policy.h"
#include "vault/vault.h"

namespace lanevault {

// The compliance officers' keys the config trusts (inline or in files).
absl::StatusOr<std::vector<policy::TrustedKey>> TrustedKeys(
    const v1::ContractConfig& config);
int RequiredSignatures(const v1::ContractConfig& config);

// Without a configured contract: FAILED_PRECONDITION, unless
// `dev_builtin_policy` (lanevaultd --dev_builtin_policy) asks for the
// built-in development contract, which no one signed.
absl::StatusOr<std::unique_ptr<policy::Policy>> LoadPolicyInForce(
    const v1::ContractConfig& config, vault::Vault& vault,
    bool dev_builtin_policy);

// Contract changes are decisions too: each goes into the access log. An
// error means it could not be logged, and then the contract must not take
// effect.
[[nodiscard]] absl::Status LogContractDecision(vault::Vault& vault,
                                               bool activated,
                                               const std::string& detail);

}  // namespace lanevault

#endif  // LANEVAULT_CMD_DAEMON_CONTRACT_H_
