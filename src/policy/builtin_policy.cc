// The walking skeleton's fixed allow-list. It follows the land-border pilot:
// faces kept 12 hours for identity verification, plate text 30 days, plate
// images 7 days; scene images and metadata are not kept; plates and faces of
// one crossing are never released together (linkage); export and training
// are prohibited for everyone. Contracts replace it. It is signed by no
// one, so the daemon runs it only with --dev_builtin_policy, and it says
// so in the daemon's log while it decides.

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "common/time_util.h"
#include "policy/policy.h"

namespace lanevault::policy {
namespace {

constexpr char kContractId[] = "builtin-pilot";
constexpr char kPurposeIdentity[] = "identity-verification";
constexpr char kPurposeVehicle[] = "vehicle-inspection";

struct Retention {
  v1::DataCategory category;
  absl::Duration keep;
};
constexpr Retention kRetention[] = {
    {v1::DATA_CATEGORY_FACE_IMAGE, absl::Hours(12)},
    {v1::DATA_CATEGORY_PLATE_TEXT, absl::Hours(24 * 30)},
    {v1::DATA_CATEGORY_PLATE_IMAGE, absl::Hours(24 * 7)},
};

bool IsPlate(v1::DataCategory c) {
  return c == v1::DATA_CATEGORY_PLATE_TEXT ||
         c == v1::DATA_CATEGORY_PLATE_IMAGE;
}

AccessDecision Deny(std::string rule, std::string code, std::string reason) {
  return {MakeDecision(v1::VERDICT_DENY, {std::move(rule)}, std::move(code),
                       std::move(reason)),
          {}};
}

// Which roles the allow-list lets do what at all; for inspectors,
// DecideAccess then asks for a purpose and categories it knows.
bool Permitted(Role role, v1::Action action) {
  switch (action) {
    case v1::ACTION_VIEW_LANES:
      return role == Role::kOperator || role == Role::kCompliance ||
             role == Role::kContractor;
    case v1::ACTION_READ_AUDIT:
    case v1::ACTION_VIEW_RETENTION:
      return role == Role::kAuditor || role == Role::kCompliance;
    case v1::ACTION_MANAGE_CONTRACT:
    case v1::ACTION_MANAGE_HOLD:
    case v1::ACTION_MANAGE_ALERTS:
    case v1::ACTION_ROTATE_KEYS:
      return role == Role::kCompliance;
    case v1::ACTION_INTAKE:
      return role == Role::kLane;
    case v1::ACTION_SEARCH_METADATA:
    case v1::ACTION_SEARCH_PLATE:
    case v1::ACTION_READ_RECORD:
    case v1::ACTION_READ_ITEM:
      return role == Role::kInspector;
    default:
      return false;  // export, training, linkage, purge: no role
  }
}

// How often, at most, the daemon's log is reminded that the allow-list
// decides (on the next decision after this much time).
constexpr absl::Duration kWarnEvery = absl::Minutes(1);

AccessDecision Allow(std::string rule, std::string reason,
                     std::vector<v1::DataCategory> categories = {}) {
  return {MakeDecision(v1::VERDICT_ALLOW, {std::move(rule)}, "allowed",
                       std::move(reason)),
          std::move(categories)};
}

class BuiltinPolicy final : public Policy {
 public:
  std::string contract_id() const override { return kContractId; }
  uint64_t contract_version() const override { return 1; }

  Role RoleOf(absl::string_view principal) const override {
    // Certificates of the dev PKI are named "<role>-<name>".
    static constexpr std::pair<absl::string_view, Role> kPrefixes[] = {
        {"lane-", Role::kLane},
        {"operator-", Role::kOperator},
        {"inspector-", Role::kInspector},
        {"auditor-", Role::kAuditor},
        {"compliance-", Role::kCompliance},
        {"contractor-", Role::kContractor}};
    for (const auto& [prefix, role] : kPrefixes) {
      if (absl::StartsWith(principal, prefix)) return role;
    }
    return Role::kUnknown;
  }

  v1::IntakeDecision DecideIntake(const v1::Record& record) const override {
    NoteDecision();
    v1::IntakeDecision out;
    out.set_record_id(record.record_id());
    out.set_contract_id(kContractId);
    out.set_contract_version(1);
    const absl::Time seen = FromProto(record.first_seen());
    for (const v1::Item& item : record.items()) {
      v1::ItemDecision* d = out.add_items();
      d->set_item_id(item.item_id());
      d->set_category(item.category());
      const auto* rule = std::find_if(
          std::begin(kRetention), std::end(kRetention),
          [&](const Retention& r) { return r.category == item.category(); });
      if (rule == std::end(kRetention)) {
        d->set_keep(false);
        *d->mutable_decision() = MakeDecision(
            v1::VERDICT_DENY, {"builtin.intake.default-deny"}, "not_permitted",
            absl::StrCat(v1::DataCategory_Name(item.category()),
                         " is not kept under the pilot"));
        continue;
      }
      d->set_keep(true);
      *d->mutable_deadline() = ToProto(seen + rule->keep);
      *d->mutable_decision() = MakeDecision(
          v1::VERDICT_ALLOW, {"builtin.intake.keep"}, "allowed",
          absl::StrCat("kept for ", absl::FormatDuration(rule->keep)));
    }
    return out;
  }

  AccessDecision DecideAccess(const AccessRequest& r) const override {
    NoteDecision();
    if (!v1::Action_IsValid(r.action) ||
        !std::all_of(r.categories.begin(), r.categories.end(),
                     v1::DataCategory_IsValid) ||
        !std::all_of(r.available.begin(), r.available.end(),
                     v1::DataCategory_IsValid)) {
      return Deny("builtin.default-deny", "invalid_request",
                  "the request names an action or category the pilot does "
                  "not know");
    }
    // Prohibitions first: they beat any permit.
    if (r.action == v1::ACTION_EXPORT || r.action == v1::ACTION_TRAIN ||
        r.action == v1::ACTION_LINK) {
      return Deny("builtin.prohibit.export-train-link", "prohibited",
                  "export, training use and plate-to-face linkage are "
                  "prohibited for every role");
    }
    const bool wants_plate =
        std::any_of(r.categories.begin(), r.categories.end(), IsPlate);
    const bool wants_face = std::count(r.categories.begin(), r.categories.end(),
                                       v1::DATA_CATEGORY_FACE_IMAGE) > 0;
    if (wants_plate && wants_face) {
      return Deny("builtin.prohibit.linkage", "linkage",
                  "a crossing's plate and faces are never released together");
    }
    // Who may do what is Permitted's, shared with MayEver; here each
    // permitted action gets its rule.
    if (Permitted(r.role, r.action)) {
      switch (r.action) {
        case v1::ACTION_VIEW_LANES:
          return Allow("builtin.permit.lanes", "lane status and counts");
        case v1::ACTION_READ_AUDIT:
          return Allow("builtin.permit.audit", "access log for oversight");
        case v1::ACTION_VIEW_RETENTION:
          return Allow("builtin.permit.retention", "retention oversight");
        case v1::ACTION_MANAGE_CONTRACT:
        case v1::ACTION_MANAGE_HOLD:
        case v1::ACTION_MANAGE_ALERTS:
        case v1::ACTION_ROTATE_KEYS:
          return Allow("builtin.permit.compliance", "contract compliance");
        case v1::ACTION_INTAKE:
          return Allow("builtin.permit.intake", "lane intake");
        case v1::ACTION_SEARCH_METADATA:
        case v1::ACTION_SEARCH_PLATE:
        case v1::ACTION_READ_RECORD:
        case v1::ACTION_READ_ITEM:
          return InspectorRead(r);
        default:
          break;
      }
    }
    return Deny("builtin.default-deny", "default_deny",
                absl::StrCat("no rule lets role ", RoleName(r.role), " do ",
                             v1::Action_Name(r.action)));
  }

  bool MayEver(Role role, v1::Action action) const override {
    return Permitted(role, action);
  }

 private:
  // Counts a decision, and at most every kWarnEvery says how many were
  // taken under this unsigned allow-list since it last said so.
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
        "built-in development allow-list (--dev_builtin_policy), which no "
        "one signed: not for production",
        n);
  }

  mutable absl::Mutex mu_;
  mutable uint64_t decisions_ ABSL_GUARDED_BY(mu_) = 0;
  mutable absl::Time next_warning_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  static AccessDecision InspectorRead(const AccessRequest& r) {
    std::vector<v1::DataCategory> allowed;
    std::string rule;
    if (r.purpose == kPurposeIdentity) {
      allowed = {v1::DATA_CATEGORY_FACE_IMAGE};
      rule = "builtin.permit.identity-verification";
    } else if (r.purpose == kPurposeVehicle) {
      allowed = {v1::DATA_CATEGORY_PLATE_TEXT, v1::DATA_CATEGORY_PLATE_IMAGE};
      rule = "builtin.permit.vehicle-inspection";
    } else {
      return Deny(
          "builtin.default-deny", "purpose_not_permitted",
          absl::StrCat("purpose '", r.purpose, "' is not permitted; use ",
                       kPurposeIdentity, " or ", kPurposeVehicle));
    }
    if (r.action == v1::ACTION_SEARCH_METADATA ||
        r.action == v1::ACTION_SEARCH_PLATE) {
      return Allow(rule, "search returns record ids only");
    }
    for (v1::DataCategory c : r.categories) {
      if (std::find(allowed.begin(), allowed.end(), c) == allowed.end()) {
        return Deny(rule, "category_not_permitted",
                    absl::StrCat(v1::DataCategory_Name(c),
                                 " is not readable for ", r.purpose));
      }
    }
    std::vector<v1::DataCategory> granted;
    for (v1::DataCategory c : r.available) {
      const bool asked = r.categories.empty() ||
                         std::find(r.categories.begin(), r.categories.end(),
                                   c) != r.categories.end();
      if (asked &&
          std::find(allowed.begin(), allowed.end(), c) != allowed.end() &&
          std::find(granted.begin(), granted.end(), c) == granted.end()) {
        granted.push_back(c);
      }
    }
    if (granted.empty()) {
      return Deny(
          rule, "nothing_readable",
          absl::StrCat("the record holds nothing readable for ", r.purpose));
    }
    return Allow(rule, absl::StrCat("readable for ", r.purpose), granted);
  }
};

}  // namespace

absl::string_view RoleName(Role role) {
  switch (role) {
    case Role::kLane:
      return "lane";
    case Role::kOperator:
      return "operator";
    case Role::kInspector:
      return "inspector";
    case Role::kAuditor:
      return "auditor";
    case Role::kCompliance:
      return "compliance";
    case Role::kContractor:
      return "contractor";
    case Role::kUnknown:
      break;
  }
  return "unknown";
}

v1::Decision MakeDecision(v1::Verdict verdict,
                          std::vector<std::string> rule_ids,
                          std::string reason_code, std::string reason) {
  v1::Decision d;
  d.set_verdict(verdict);
  for (auto& r : rule_ids) d.add_rule_ids(std::move(r));
  d.set_reason_code(std::move(reason_code));
  d.set_reason(std::move(reason));
  return d;
}

Role RoleFromName(absl::string_view name) {
  for (Role r : {Role::kLane, Role::kOperator, Role::kInspector, Role::kAuditor,
                 Role::kCompliance, Role::kContractor}) {
    if (RoleName(r) == name) return r;
  }
  return Role::kUnknown;
}

std::unique_ptr<Policy> NewBuiltinPolicy() {
  return std::make_unique<BuiltinPolicy>();
}

v1::Record ApplyIntake(const v1::Record& record,
                       const v1::IntakeDecision& decision, int* dropped) {
  v1::Record out = record;
  out.clear_items();
  out.clear_plate_candidates();  // capture-side only, never stored
  out.set_contract_id(decision.contract_id());
  out.set_contract_version(decision.contract_version());
  int drops = 0;
  for (const v1::Item& item : record.items()) {
    const auto& ds = decision.items();
    auto it =
        std::find_if(ds.begin(), ds.end(), [&](const v1::ItemDecision& d) {
          return d.item_id() == item.item_id();
        });
    if (it == ds.end() || !it->keep()) {
      ++drops;  // default deny: an item without a decision is dropped
      continue;
    }
    v1::Item* kept = out.add_items();
    *kept = item;
    *kept->mutable_deadline() = it->deadline();
  }
  if (dropped != nullptr) *dropped = drops;
  return out;
}

}  // namespace lanevault::policy
