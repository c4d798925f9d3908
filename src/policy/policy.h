#ifndef LANEVAULT_POLICY_POLICY_H_
#define LANEVAULT_POLICY_POLICY_H_

// The policy module's public surface: who plays which role, what of a
// crossing may be kept and for how long, and whether an access is allowed.
// Decides on the facts it is given; touches no storage. Thread-safe.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lanevault/v1/contract.pb.h"
#include "lanevault/v1/decision.pb.h"
#include "lanevault/v1/types.pb.h"
#include "policy/contract.h"

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
Role RoleFromName(absl::string_view name);  // kUnknown for anything else

// What the policy needs of a principal's past, for quotas and for linkage
// across calls. The vault answers from the access log.
class AccessHistory {
 public:
  virtual ~AccessHistory() = default;
  struct Reads {
    uint32_t reads = 0;    // allowed reads
    uint32_t records = 0;  // distinct records among them
  };
  // What `principal` was allowed to read since `since`.
  virtual Reads ReadsSince(absl::string_view principal,
                           absl::Time since) const = 0;
  // Categories `principal` was ever given, or shown, of `record_id`.
  virtual std::vector<v1::DataCategory> CategoriesRead(
      absl::string_view principal, absl::string_view record_id) const = 0;
  // The same for everyone of a group together (RoleBinding.group). A
  // history that knows no groups has nothing to say.
  virtual Reads GroupReadsSince(absl::string_view /*group*/,
                                absl::Time /*since*/) const {
    return {};
  }
  virtual std::vector<v1::DataCategory> GroupCategoriesRead(
      absl::string_view /*group*/, absl::string_view /*record_id*/) const {
    return {};
  }
  // Whether a principal (or, with `group`, anyone of that group) was
  // allowed to read `record_id` since `since`: a second look at a record
  // already counted is no new record.
  virtual bool ReadSince(absl::string_view /*who*/, bool /*group*/,
                         absl::string_view /*record_id*/,
                         absl::Time /*since*/) const {
    return false;
  }
  // Allowed calls of `action` (lookups, searches) since `since`, by a
  // principal or, with `group`, by everyone of that group.
  virtual uint32_t CallsSince(absl::string_view /*who*/, bool /*group*/,
                              v1::Action /*action*/,
                              absl::Time /*since*/) const {
    return 0;
  }
};

struct AccessRequest {
  std::string principal;
  Role role = Role::kUnknown;
  std::string group;  // RoleOf's companion, GroupOf; empty: none
  v1::Action action = v1::ACTION_UNSPECIFIED;
  std::string purpose;
  std::string case_id;
  // Categories asked for; empty means "whatever I may read".
  std::vector<v1::DataCategory> categories;
  // Categories the record actually holds (for reads).
  std::vector<v1::DataCategory> available;
  std::string record_id;  // for reads: linkage history
  // Where the caller acts from; empty: from its binding in the contract.
  std::string checkpoint;
  // Intake by a lane: the lane it submits for and the checkpoint of the
  // record, each checked against the caller's binding (RoleBinding.lanes,
  // checkpoints). Empty is no lane or checkpoint, refused where the
  // binding names any.
  std::string lane;
  std::string record_checkpoint;
  const AccessHistory* history = nullptr;  // null: no past to consider
  absl::Time now;
};

// A principal or group whose use of a limit reached the quota's
// alert_fraction with an allowed call: reading at a rate near its quota.
struct NearQuota {
  std::string who;
  bool group = false;
  absl::Duration window;
  uint32_t sustained_windows = 3;  // how many in a row make it an alert
  std::string limit;               // e.g. "12 records per 1h"
};

// Approval a permit requires before it takes effect for one request
// (Permit.approval): `required` distinct principals of `approver_role`,
// none of them the requester; an approval is used within `ttl`, once.
struct ApprovalRule {
  std::string permit_id;
  uint32_t required = 0;
  std::string approver_role;
  absl::Duration ttl = absl::Hours(1);
};

struct AccessDecision {
  AccessDecision() = default;
  AccessDecision(v1::Decision decision_in,
                 std::vector<v1::DataCategory> categories_in = {},
                 std::vector<NearQuota> near_quota_in = {})
      : decision(std::move(decision_in)),
        categories(std::move(categories_in)),
        near_quota(std::move(near_quota_in)) {}
  v1::Decision decision;
  // For reads: the categories the caller may have, a subset of `available`.
  std::vector<v1::DataCategory> categories;
  // Allowed calls only: the limits this call brought near.
  std::vector<NearQuota> near_quota;
  // Allowed calls only: a quota counted this call, so the caller must count
  // it exactly while it is in flight (see wiring/quota_ledger.h).
  bool quota_counted = false;
  // Allowed calls only: the call may go ahead only once this approval is
  // given (api/approvals.h); unset when no permit it needs requires one.
  std::optional<ApprovalRule> approval;
  // Refused calls only: refused as linkage because of what the caller (or
  // its group) has already seen of the crossing, not because the call
  // asked for both sides. Such a refusal tells what was seen.
  bool linkage_by_history = false;
  bool allowed() const { return decision.verdict() == v1::VERDICT_ALLOW; }
};

// What answers under one purpose may say (Purpose in contract.proto): the
// scope whose handles name records, how coarse times and places are, and
// the restrictions on use a receipt carries.
struct PurposeView {
  std::string purpose;
  std::string scope;  // never empty: the purpose's own id by default
  absl::Duration time_granularity = absl::Seconds(1);
  bool checkpoint_only = false;  // the checkpoint, not the lane
  std::vector<std::string> restrictions;
};
// The view a contract's purpose declares.
PurposeView ViewOfPurpose(const v1::Purpose& purpose);

class Policy {
 public:
  virtual ~Policy() = default;
  virtual std::string contract_id() const = 0;
  virtual uint64_t contract_version() const = 0;
  // The role a certificate identity plays; kUnknown when unbound.
  virtual Role RoleOf(absl::string_view principal) const = 0;
  // The group it belongs to (RoleBinding.group); empty: none.
  virtual std::string GroupOf(absl::string_view /*principal*/) const {
    return "";
  }
  // Per item: keep or drop, and the deadline (capture time + retention).
  virtual v1::IntakeDecision DecideIntake(const v1::Record& record) const = 0;
  virtual AccessDecision DecideAccess(const AccessRequest& request) const = 0;
  // Whether any permit lets `role` do `action` at all, for some purpose,
  // categories and time. False means every DecideAccess of that role and
  // action denies, so the gate refuses such calls before looking anything
  // up, with one answer whatever they name.
  virtual bool MayEver(Role role, v1::Action action) const = 0;
  // What answers under `purpose` may say; NOT_FOUND for a purpose the
  // contract does not declare.
  virtual absl::StatusOr<PurposeView> ViewOf(
      absl::string_view purpose) const = 0;
  // Every distinct scope the contract's purposes declare (a handle is
  // resolved by trying each).
  virtual std::vector<std::string> Scopes() const = 0;
  // The purposes of one scope.
  virtual std::vector<std::string> PurposesOf(
      absl::string_view scope) const = 0;
};

// A decision: verdict, the rules that decided, a stable code, a sentence.
v1::Decision MakeDecision(v1::Verdict verdict,
                          std::vector<std::string> rule_ids,
                          std::string reason_code, std::string reason);

// The development policy (lanevaultd --dev_builtin_policy), in force until
// contracts are loaded: the contract engine deciding by BuiltinContract(), an
// unsigned development contract (its rules are in builtin_contract.cc), with
// linkage judged within one call only and a reminder in the log once a
// minute while it decides.
std::unique_ptr<Policy> NewBuiltinPolicy();
v1::Contract BuiltinContract();

// The policy a validated contract defines: default deny, a prohibition
// beats any permit, nothing but purge and audit outside the effective
// window, linkage of a crossing's plate and faces (in one call or across
// calls) only where permitted, quotas per permit. INVALID_ARGUMENT with the
// first validation error for a contract that does not validate.
absl::StatusOr<std::unique_ptr<Policy>> NewContractPolicy(
    v1::Contract contract);
// The same engine over the built-in development contract, which also covers
// every checkpoint (a signed contract must name each one). Only
// NewBuiltinPolicy uses it.
absl::StatusOr<std::unique_ptr<Policy>> NewDevelopmentContractPolicy(
    v1::Contract contract);

// The policy in force, replaceable while the daemon runs. A replacement
// that fails (bad signature, invalid contract) changes nothing: the running
// contract stays in force. Thread-safe; decisions never block on a swap
// for longer than a pointer copy.
class PolicyHolder final : public Policy {
 public:
  explicit PolicyHolder(std::shared_ptr<const Policy> initial)
      : current_(std::move(initial)) {}
  // Puts `next` in force, unless it is an older version of the contract in
  // force (two changes racing, an activation against a follower or a
  // SIGHUP, must not leave the older in force): then returns false.
  bool Replace(std::shared_ptr<const Policy> next);
  std::shared_ptr<const Policy> current() const;

  std::string contract_id() const override { return current()->contract_id(); }
  uint64_t contract_version() const override {
    return current()->contract_version();
  }
  Role RoleOf(absl::string_view principal) const override {
    return current()->RoleOf(principal);
  }
  std::string GroupOf(absl::string_view principal) const override {
    return current()->GroupOf(principal);
  }
  v1::IntakeDecision DecideIntake(const v1::Record& record) const override {
    return current()->DecideIntake(record);
  }
  AccessDecision DecideAccess(const AccessRequest& request) const override {
    return current()->DecideAccess(request);
  }
  bool MayEver(Role role, v1::Action action) const override {
    return current()->MayEver(role, action);
  }
  absl::StatusOr<PurposeView> ViewOf(absl::string_view purpose) const override {
    return current()->ViewOf(purpose);
  }
  std::vector<std::string> Scopes() const override {
    return current()->Scopes();
  }
  std::vector<std::string> PurposesOf(absl::string_view scope) const override {
    return current()->PurposesOf(scope);
  }

 private:
  mutable absl::Mutex mu_;
  std::shared_ptr<const Policy> current_ ABSL_GUARDED_BY(mu_);
};

// Loads a signed contract file, checks it carries `required` signatures by
// `trusted` keys, validates it and builds its policy. Any failure names the
// file and the reason.
absl::StatusOr<std::unique_ptr<Policy>> LoadSignedContract(
    const std::string& path, const std::vector<TrustedKey>& trusted,
    int required);

// The same for a signed contract already in memory (one proposed over the
// API): PERMISSION_DENIED without enough valid signatures, INVALID_ARGUMENT
// for a contract that does not parse or validate.
absl::StatusOr<std::unique_ptr<Policy>> PolicyFromSigned(
    const v1::SignedContract& signed_contract,
    const std::vector<TrustedKey>& trusted, int required);

// Runs a table of cases (see PolicyCases in contract.proto) and returns one
// line per mismatch; empty when every case got its expected verdict.
std::vector<std::string> RunPolicyCases(const Policy& policy,
                                        const v1::Contract& contract,
                                        const v1::PolicyCases& cases);

// How many readings of a plate intake keeps, the top one (the plate text
// item's content) included. Each is one more blind index a lookup can match:
// enough for the usual one- and two-character confusions of a misread
// (O/0, B/8, 1/I, a bolt read as a character) to be found, few enough that
// a lookup's short answer is not filled with other vehicles' near misses,
// and that intake writes only a handful of index rows per crossing.
inline constexpr int kMaxPlateReadings = 5;
// The longest reading kept, in capitals and digits (as a plate text item).
inline constexpr int kMaxPlateReadingChars = 16;

// The record with only the kept items, each carrying its deadline, and the
// contract stamped on it. `dropped` counts the items the decision dropped.
// The first kept plate text item takes the crossing's other readings: up to
// kMaxPlateReadings - 1 of them, best first, each of 1 to
// kMaxPlateReadingChars capitals and digits and not the same plate as one
// before it (others are passed over). A record whose plate text is not
// kept keeps no reading.
v1::Record ApplyIntake(const v1::Record& record,
                       const v1::IntakeDecision& decision, int* dropped);

}  // namespace lanevault::policy

#endif  // LANEVAULT_POLICY_POLICY_H_
