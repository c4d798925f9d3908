// The development policy (lanevaultd --dev_builtin_policy, the API tests):
// not an engine of its own but a contract, decided by the contract engine
// like any signed one. It follows the land-border pilot without its
// quotas, groups or checkpoint limits, and judges linkage within one call
// only (see Reminding). It is signed by no one, so the daemon runs it only
// when asked by name, and says so in its log while it decides.

#include <cstdlib>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "policy/contract.h"
#include "policy/policy.h"

namespace lanevault::policy {
namespace {

constexpr char kBuiltinContract[] = R"pb(
  # Decisions by a permit or prohibition here cite its "builtin." rule id;
  # those the engine makes itself (default-deny, categories.*) cite the
  # engine's ids, and every entry names the contract, builtin-pilot.
  id: "builtin-pilot"
  version: 1
  # In force at any time a Timestamp can name (0001-01-01 to the end of
  # 9999), on every lane. It names one checkpoint to validate; the engine
  # runs it covering every checkpoint (NewDevelopmentContractPolicy).
  effective_from { seconds: -62135596800 }
  effective_until { seconds: 253402300799 nanos: 999999999 }
  checkpoints: "dev-any"

  # Faces 12 hours, plate text 30 days, plate images 7 days; scene images
  # and metadata are not kept.
  categories {
    category: DATA_CATEGORY_FACE_IMAGE
    retention { seconds: 43200 }
  }
  categories {
    category: DATA_CATEGORY_PLATE_TEXT
    retention { seconds: 2592000 }
  }
  categories {
    category: DATA_CATEGORY_PLATE_IMAGE
    retention { seconds: 604800 }
  }

  purposes {
    id: "identity-verification"
    description: "identity verification at primary inspection"
    scope: "identity"
    time_granularity { seconds: 3600 }
    location: ANSWER_LOCATION_CHECKPOINT
    restrictions: "development data: not for any operational use"
  }
  purposes {
    id: "vehicle-inspection"
    description: "checking a vehicle against its plate"
    scope: "vehicle"
    time_granularity { seconds: 60 }
    restrictions: "development data: not for any operational use"
  }

  # Certificates of the dev PKI are named "<role>-<name>".
  bindings { role: "lane" principal_patterns: "lane-*" }
  bindings { role: "operator" principal_patterns: "operator-*" }
  bindings { role: "inspector" principal_patterns: "inspector-*" }
  bindings { role: "auditor" principal_patterns: "auditor-*" }
  bindings { role: "compliance" principal_patterns: "compliance-*" }
  bindings { role: "contractor" principal_patterns: "contractor-*" }

  permits { id: "builtin.permit.intake" role: "lane" actions: ACTION_INTAKE }
  # A permit has one role and a rule id one permit, so what several roles
  # may do has one permit, and id, per role.
  permits {
    id: "builtin.permit.lanes.operator"
    role: "operator"
    actions: [ ACTION_VIEW_LANES, ACTION_VIEW_SNAPSHOT ]
  }
  permits {
    id: "builtin.permit.lanes.contractor"
    role: "contractor"
    actions: ACTION_VIEW_LANES
  }
  permits {
    id: "builtin.permit.lanes.compliance"
    role: "compliance"
    actions: ACTION_VIEW_LANES
  }
  permits {
    id: "builtin.permit.audit.auditor"
    role: "auditor"
    actions: [ ACTION_READ_AUDIT, ACTION_TRACE ]
  }
  permits {
    id: "builtin.permit.audit.compliance"
    role: "compliance"
    actions: ACTION_READ_AUDIT
  }
  permits {
    id: "builtin.permit.retention.auditor"
    role: "auditor"
    actions: ACTION_VIEW_RETENTION
  }
  permits {
    id: "builtin.permit.retention.compliance"
    role: "compliance"
    actions: ACTION_VIEW_RETENTION
  }
  permits {
    id: "builtin.permit.compliance"
    role: "compliance"
    actions: [
      ACTION_MANAGE_CONTRACT,
      ACTION_MANAGE_HOLD,
      ACTION_MANAGE_ALERTS,
      ACTION_ROTATE_KEYS,
      ACTION_BACKUP,
      ACTION_RESOLVE_HANDLE,
      ACTION_TRACE
    ]
  }
  # Inspectors read and search for one of two purposes, which decides the
  # side of the crossing they get. No quotas.
  permits {
    id: "builtin.permit.identity-verification"
    role: "inspector"
    purposes: "identity-verification"
    actions: [
      ACTION_READ_RECORD,
      ACTION_READ_ITEM,
      ACTION_SEARCH_PLATE,
      ACTION_SEARCH_METADATA
    ]
    categories: DATA_CATEGORY_FACE_IMAGE
  }
  permits {
    id: "builtin.permit.vehicle-inspection"
    role: "inspector"
    purposes: "vehicle-inspection"
    actions: [
      ACTION_READ_RECORD,
      ACTION_READ_ITEM,
      ACTION_SEARCH_PLATE,
      ACTION_SEARCH_METADATA
    ]
    categories: [ DATA_CATEGORY_PLATE_TEXT, DATA_CATEGORY_PLATE_IMAGE ]
  }

  # Linkage is refused with no prohibition: no permit grants ACTION_LINK,
  # so a plate and faces asked for together are refused as "linkage" (and
  # ACTION_LINK itself by default). A prohibition on ACTION_LINK would
  # refuse them as "prohibited" instead.
  prohibitions {
    id: "builtin.prohibit.export-train"
    actions: [ ACTION_EXPORT, ACTION_TRAIN ]
    description: "export and training use are prohibited for every role"
  }
)pb";

// How often, at most, the daemon's log is reminded that the development
// contract decides (on the next decision after this much time).
constexpr absl::Duration kWarnEvery = absl::Minutes(1);

// The contract's policy, counting its decisions for the reminder; it
// decides nothing itself (but see DecideAccess).
class Reminding final : public Policy {
 public:
  explicit Reminding(std::unique_ptr<Policy> policy)
      : policy_(std::move(policy)) {}

  std::string contract_id() const override { return policy_->contract_id(); }
  uint64_t contract_version() const override {
    return policy_->contract_version();
  }
  Role RoleOf(absl::string_view principal) const override {
    return policy_->RoleOf(principal);
  }
  std::string GroupOf(absl::string_view principal) const override {
    return policy_->GroupOf(principal);
  }
  v1::IntakeDecision DecideIntake(const v1::Record& record) const override {
    NoteDecision();
    return policy_->DecideIntake(record);
  }
  // The development policy has never judged linkage across calls (the
  // walking skeleton's inspector reads a crossing's plate, then its faces),
  // and no contract can say so: every contract judges it on the access
  // history. So the history is not passed on; with no quotas it serves
  // nothing else here. One call asking for both sides is still linkage.
  AccessDecision DecideAccess(const AccessRequest& request) const override {
    NoteDecision();
    AccessRequest without_past = request;
    without_past.history = nullptr;
    return policy_->DecideAccess(without_past);
  }
  bool MayEver(Role role, v1::Action action) const override {
    return policy_->MayEver(role, action);
  }
  absl::StatusOr<PurposeView> ViewOf(absl::string_view purpose) const override {
    return policy_->ViewOf(purpose);
  }
  std::vector<std::string> Scopes() const override { return policy_->Scopes(); }
  std::vector<std::string> PurposesOf(absl::string_view scope) const override {
    return policy_->PurposesOf(scope);
  }

 private:
  // Counts a decision, and at most every kWarnEvery says how many were
  // taken under this unsigned contract since it last said so.
  void NoteDecision() const {
    const absl::Time now = absl::Now();
    uint64_t n = 0;
    {
      absl::MutexLock lock(&mu_);
      ++decisions_;
      if (now < next_warning_) return;
      n = decisions_;
      decisions_ = 0;
      next_warning_ = now + kWarnEvery;
    }
    spdlog::warn(
        "{} decision(s) since the last reminder were taken under the "
        "built-in development contract (--dev_builtin_policy), which no "
        "one signed: not for production",
        n);
  }

  const std::unique_ptr<Policy> policy_;
  mutable absl::Mutex mu_;
  mutable uint64_t decisions_ ABSL_GUARDED_BY(mu_) = 0;
  mutable absl::Time next_warning_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace

v1::Contract BuiltinContract() {
  absl::StatusOr<v1::Contract> contract = ParseContract(kBuiltinContract);
  // Fixed at build time and checked by policy_test: failing is a bug.
  if (!contract.ok()) {
    spdlog::critical("the built-in contract does not parse: {}",
                     contract.status().message());
    std::abort();
  }
  return *std::move(contract);
}

std::unique_ptr<Policy> NewBuiltinPolicy() {
  absl::StatusOr<std::unique_ptr<Policy>> policy =
      NewDevelopmentContractPolicy(BuiltinContract());
  if (!policy.ok()) {
    spdlog::critical("the built-in contract does not validate: {}",
                     policy.status().message());
    std::abort();
  }
  return std::make_unique<Reminding>(*std::move(policy));
}

}  // namespace lanevault::policy
