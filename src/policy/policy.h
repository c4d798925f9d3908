#ifndef LANEVAULT_POLICY_POLICY_H_
#define LANEVAULT_POLICY_POLICY_H_

// The policy module's public surface: who plays which role, what of a
// crossing may be kept and for how long, and whether an access is allowed.
// Decides on the facts it is given; touches no storage. Thread-safe.

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lanevault/v1/decision.pb.h"
#include "lanevault/v1/types.pb.h"

namespace lanevault::policy {

enum class Role {
  kUnknown,
  kLane,
  kOperator,
  kInspector,
  kAuditor,
  kCompliance,
  kContractor
};
absl::string_view RoleName(Role role);

struct AccessRequest {
  std::string principal;
  Role role = Role::kUnknown;
  v1::Action action = v1::ACTION_UNSPECIFIED;
  std::string purpose;
  std::string case_id;
  // Categories asked for; empty means "whatever I may read".
  std::vector<v1::DataCategory> categories;
  // Categories the record actually holds (for reads).
  std::vector<v1::DataCategory> available;
  absl::Time now;
};

struct AccessDecision {
  v1::Decision decision;
  // For reads: the categories the caller may have, a subset of `available`.
  std::vector<v1::DataCategory> categories;
  bool allowed() const { return decision.verdict() == v1::VERDICT_ALLOW; }
};

class Policy {
 public:
  virtual ~Policy() = default;
  virtual std::string contract_id() const = 0;
  virtual uint64_t contract_version() const = 0;
  // The role a certificate identity plays; kUnknown when unbound.
  virtual Role RoleOf(absl::string_view principal) const = 0;
  // Per item: keep or drop, and the deadline (capture time + retention).
  virtual v1::IntakeDecision DecideIntake(const v1::Record& record) const = 0;
  virtual AccessDecision DecideAccess(const AccessRequest& request) const = 0;
};

// The walking skeleton's fixed allow-list, in force until contracts are
// loaded (see BuiltinPolicy in builtin_policy.cc for its rules).
std::unique_ptr<Policy> NewBuiltinPolicy();

// The record with only the kept items, each carrying its deadline, and the
// contract stamped on it. `dropped` counts the items the decision dropped.
v1::Record ApplyIntake(const v1::Record& record,
                       const v1::IntakeDecision& decision, int* dropped);

}  // namespace lanevault::policy

#endif  // LANEVAULT_POLICY_POLICY_H_
