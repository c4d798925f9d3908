#ifndef LANEVAULT_API_CONTRACT_FOLLOWER_H_
#define LANEVAULT_API_CONTRACT_FOLLOWER_H_

// Keeps the contract in force on one lanevaultd replica in step with the
// others. Each replica holds its contract in memory, but a version that
// takes effect anywhere (activated over the API, or read from a config on
// SIGHUP) is kept in the vault's contract table, which replicas on one
// PostgreSQL vault share. Without this, a contract activated through one
// replica would govern only that one until the others were sent SIGHUP: a
// stricter contract would not bind callers who went to another replica.
//
// The gate calls CatchUp before each call: at most once per `every` it
// reads the kept versions (a few rows), and a newer version of the contract
// in force that carries enough signatures by this replica's trusted keys is
// put in force. So a call that reaches a replica more than `every` after a
// version took effect elsewhere is decided by that version. A thread does
// the same while no calls come, for the replica's own lanes. The version's
// activation is in the shared access log already (logged where it was
// activated), so following it logs nothing more; a version this replica
// cannot verify stays out of force and raises a critical alert, since the
// replicas then decide by different contracts.

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "policy/policy.h"
#include "vault/vault.h"

namespace lanevault::api {

// The newest version of `in_force`'s contract kept in `vault` above
// `in_force`'s version that loads with `trusted` keys and `required`
// signatures; null when there is none. Versions that no longer load are
// named in the log (and, with `refused`, their numbers added to it).
std::unique_ptr<policy::Policy> NewerKeptContract(
    vault::Vault& vault, const policy::Policy& in_force,
    const std::vector<policy::TrustedKey>& trusted, int required,
    std::vector<uint64_t>* refused = nullptr);

// A new version is numbered less than this above the highest kept or in
// force: one far above would leave no room for any version after it.
inline constexpr uint64_t kMaxContractVersionStep = 1000;
// And a first contract, where nothing is kept or in force, below this.
inline constexpr uint64_t kMaxFirstContractVersion = uint64_t{1} << 32;

// Whether a contract (`contract_id` v`version`, signing `text`) may take
// effect in `vault`, whatever brings it (a config file at start or on
// SIGHUP, an activation over the API): a vault follows one contract id, so
// another id (a look-alike with an invisible character, or a plainly other
// contract) is FAILED_PRECONDITION; and a version the vault keeps is that
// text for good, so another text under a kept id and version (a re-signed
// edit, a file swapped on the host) is FAILED_PRECONDITION too, as is
// another text under a version proposed over the API with the `required`
// signatures by `trusted` keys, and a version kMaxContractVersionStep or
// more above both `in_force` (0: none yet) and every kept version of the
// id (kMaxFirstContractVersion or more with none). The same text with more
// or other signatures is the same contract. `what` names the contract's
// source in the error.
absl::Status CheckAgainstKeptContracts(
    vault::Vault& vault, const std::string& contract_id, uint64_t version,
    uint64_t in_force, const std::string& text,
    const std::vector<policy::TrustedKey>& trusted, int required,
    const std::string& what);

// The text a kept contract row signs ("" where the kept copy does not
// parse).
std::string KeptContractText(const std::string& signed_text);

class ContractFollower {
 public:
  // `holder` (not owned) is what the gate decides by; `every` zero: look
  // before every call (tests).
  ContractFollower(vault::Vault* vault, policy::PolicyHolder* holder,
                   std::vector<policy::TrustedKey> trusted, int required,
                   absl::Duration every);
  ~ContractFollower();
  ContractFollower(const ContractFollower&) = delete;
  ContractFollower& operator=(const ContractFollower&) = delete;

  // Puts a newer kept version in force if the last look is older than
  // `every`. Calls that arrive while one looks wait for its answer, so none
  // is decided by a contract older than the bound allows.
  void CatchUp();

 private:
  void LookLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  vault::Vault* const vault_;
  policy::PolicyHolder* const holder_;
  const std::vector<policy::TrustedKey> trusted_;
  const int required_;
  const absl::Duration every_;
  absl::Mutex mu_;
  absl::Time looked_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // Versions already refused here: alerted once, not loaded again.
  std::vector<uint64_t> refused_ ABSL_GUARDED_BY(mu_);
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace lanevault::api

#endif  // LANEVAULT_API_CONTRACT_FOLLOWER_H_
