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

// Every problem found, errors and warnings, in document order.
std::vector<ValidationIssue> ValidateContract(const v1::Contract& contract);
bool HasErrors(const std::vector<ValidationIssue>& issues);
// The first error as a status (OK when there is none).
absl::Status FirstError(const std::vector<ValidationIssue>& issues);

// A compliance officer's key the daemon trusts.
struct TrustedKey {
  std::string name;
  std::string public_key;  // Ed25519, 32 bytes
};
using SignatureVerifier =
    std::function<bool(absl::string_view public_key, absl::string_view message,
                       absl::string_view signature)>;

// OK when at least `required` distinct trusted keys signed the exact text;
// PERMISSION_DENIED saying how many valid signatures were found otherwise.
// Signatures by unknown keys, or that do not verify, count for nothing.
absl::Status CheckSignatures(const v1::SignedContract& signed_contract,
                             const std::vector<TrustedKey>& trusted,
                             int required, const SignatureVerifier& verify);

}  // namespace lanevault::policy

#endif  // LANEVAULT_POLICY_CONTRACT_H_
