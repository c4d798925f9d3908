#ifndef LANEVAULT_POLICY_CONTRACT_H_
#define LANEVAULT_POLICY_CONTRACT_H_

// Contracts as documents: parsing (protobuf's own TextFormat), validation
// that names the field and the reason, and signature checks.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lanevault/v1/contract.pb.h"

namespace lanevault::policy {

struct ValidationIssue {
  std::string field_path;  // e.g. "permits[2].categories[0]"
  std::string message;
  bool warning = false;  // warnings do not block a contract
};

// Parses protobuf text format; INVALID_ARGUMENT "<line>:<col>: reason".
absl::StatusOr<v1::Contract> ParseContract(absl::string_view text);

// How many records a read permit's quota lets one principal (or, with
// `group`, one group) obtain at most: over six weeks, the length of the 2019
// incident, and over the contract's life. Unlimited permits are left out.
struct HarvestBudget {
  int permit_index = 0;
  std::string permit_id;
  std::string group;  // empty: one principal
  uint64_t records_over_six_weeks = 0;
  uint64_t records_over_life = 0;
};
std::vector<HarvestBudget> HarvestBudgets(const v1::Contract& contract);

// Every problem found, errors and warnings, in document order.
std::vector<ValidationIssue> ValidateContract(const v1::Contract& contract);
bool HasErrors(const std::vector<ValidationIssue>& issues);

// The coarsest time granularity of the contract's purposes, in seconds (0
// when none sets one): the cell every item's deadline runs from.
int64_t CoarsestGranularitySeconds(const v1::Contract& contract);
// The first error as a status (OK when there is none).
absl::Status FirstError(const std::vector<ValidationIssue>& issues);

// A compliance officer's key the daemon trusts.
struct TrustedKey {
  std::string name;
  std::string public_key;  // Ed25519, 32 bytes
};

// OK when at least `required` distinct trusted keys signed the exact text;
// PERMISSION_DENIED saying how many valid signatures were found otherwise.
// Signatures by unknown keys, or that do not verify (Ed25519), count for
// nothing.
absl::Status CheckSignatures(const v1::SignedContract& signed_contract,
                             const std::vector<TrustedKey>& trusted,
                             int required);

}  // namespace lanevault::policy

#endif  // LANEVAULT_POLICY_CONTRACT_H_
