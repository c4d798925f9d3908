// Helpers of the policy module's surface (policy.h) that belong to no one
// policy: role names, decisions, and applying an intake decision.

#include "policy/policy.h"

#include <algorithm>

namespace lanevault::policy {

PurposeView ViewOfPurpose(const v1::Purpose& purpose) {
  PurposeView view;
  view.purpose = purpose.id();
  view.scope = purpose.scope().empty() ? purpose.id() : purpose.scope();
  const absl::Duration g = absl::Seconds(purpose.time_granularity().seconds());
  if (g > absl::Seconds(1)) view.time_granularity = g;
  view.checkpoint_only =
      purpose.location() == v1::ANSWER_LOCATION_CHECKPOINT;
  view.restrictions.assign(purpose.restrictions().begin(),
                           purpose.restrictions().end());
  return view;
}

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
