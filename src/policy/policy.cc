// Helpers of the policy module's surface (policy.h) that belong to no one
// policy: role names, decisions, and applying an intake decision.

#include "policy/policy.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace lanevault::policy {
namespace {

// Capitals and digits only, as the blind index reads a plate.
std::string PlainPlate(absl::string_view text) {
  std::string out;
  for (char c : text) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) out.push_back(c);
  }
  return out;
}

// In the form the capture node sends and the vault indexes: nothing to
// normalise, so what is sealed is exactly what is indexed.
bool PlainReading(absl::string_view text) {
  return !text.empty() &&
         text.size() <= static_cast<size_t>(kMaxPlateReadingChars) &&
         PlainPlate(text) == text;
}

// Votes beyond this say nothing more (a crossing is seconds of frames).
constexpr int32_t kMaxVotes = 1 << 20;

void KeepOtherReadings(const v1::Record& record, v1::Item& plate) {
  std::vector<std::string> kept = {PlainPlate(plate.content())};
  for (const v1::PlateCandidate& c : record.plate_candidates()) {
    if (static_cast<int>(kept.size()) >= kMaxPlateReadings) break;
    if (!PlainReading(c.text()) ||
        std::find(kept.begin(), kept.end(), c.text()) != kept.end()) {
      continue;
    }
    kept.push_back(c.text());
    v1::PlateCandidate* out = plate.add_plate_candidates();
    out->set_text(c.text());
    const float confidence = c.confidence();
    out->set_confidence(
        std::isfinite(confidence) ? std::clamp(confidence, 0.0f, 1.0f) : 0.0f);
    out->set_votes(std::clamp(c.votes(), 0, kMaxVotes));
  }
}

}  // namespace

PurposeView ViewOfPurpose(const v1::Purpose& purpose) {
  PurposeView view;
  view.purpose = purpose.id();
  view.scope = purpose.scope().empty() ? purpose.id() : purpose.scope();
  const absl::Duration g = absl::Seconds(purpose.time_granularity().seconds());
  if (g > absl::Seconds(1)) view.time_granularity = g;
  view.checkpoint_only = purpose.location() == v1::ANSWER_LOCATION_CHECKPOINT;
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
  out.clear_plate_candidates();  // kept, if at all, in the plate text item
  out.set_contract_id(decision.contract_id());
  out.set_contract_version(decision.contract_version());
  int drops = 0;
  v1::Item* plate = nullptr;
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
    // Readings are the crossing's to give, checked below, not an item's.
    kept->clear_plate_candidates();
    if (plate == nullptr && kept->category() == v1::DATA_CATEGORY_PLATE_TEXT) {
      plate = kept;
    }
  }
  // (A repeated message field's elements stay put as more are added.)
  if (plate != nullptr) KeepOtherReadings(record, *plate);
  if (dropped != nullptr) *dropped = drops;
  return out;
}

}  // namespace lanevault::policy
