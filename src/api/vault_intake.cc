#include "api/vault_intake.h"

#include "absl/strings/str_cat.h"
#include "api/canary.h"
#include "common/logging.h"
#include "common/time_util.h"
#include "vault/crypto.h"

namespace lanevault::api {

uint64_t VaultIntake::ItemsDropped(absl::string_view lane_id) const {
  absl::MutexLock lock(&mu_);
  auto it = dropped_.find(std::string(lane_id));
  return it == dropped_.end() ? 0 : it->second;
}

absl::Status VaultIntake::Submit(v1::Record record) {
  v1::AuditEntry entry;
  entry.set_principal(absl::StrCat("lane:", record.lane_id()));
  entry.set_role("lane");
  entry.set_verdict(v1::VERDICT_ALLOW);
  entry.set_reason_code("allowed");
  return Take(std::move(record), std::move(entry)).status();
}

absl::StatusOr<VaultIntake::Kept> VaultIntake::Take(v1::Record record,
                                                    v1::AuditEntry entry) {
  const v1::IntakeDecision decision = policy_->DecideIntake(record);
  int dropped = 0;
  v1::Record kept = policy::ApplyIntake(record, decision, &dropped);
  if (dropped > 0) {
    absl::MutexLock lock(&mu_);
    dropped_[record.lane_id()] += static_cast<uint64_t>(dropped);
  }
  // The capture-side copy holds plaintext crops; clear them as soon as the
  // kept copy exists.
  for (v1::Item& item : *record.mutable_items()) {
    vault::Wipe(*item.mutable_content());
  }
  Kept result{kept.record_id(), kept.items_size(), dropped};
  *entry.mutable_time() = ToProto(vault_->clock()->Now());
  entry.set_action(v1::ACTION_INTAKE);
  entry.set_record_id(kept.record_id());
  for (const v1::Item& item : kept.items()) entry.add_item_ids(item.item_id());
  entry.set_detail(absl::StrCat(
      "kept=", kept.items_size(), " dropped=", dropped,
      " contract=", decision.contract_id(), "@", decision.contract_version()));
  if (kept.items().empty()) {
    // Nothing may be kept: the decision itself is still logged.
    entry.set_verdict(v1::VERDICT_DENY);
    entry.set_reason_code("nothing_kept");
    auto seq = vault_->Audit(std::move(entry));
    if (!seq.ok()) return seq.status();
    return result;
  }
  const bool plant = ShouldPlantCanary(canary_every_);
  v1::Record decoy;
  v1::AuditEntry decoy_entry;
  if (plant) {
    decoy = MakeCanary(kept);
    decoy_entry = entry;
    decoy_entry.set_record_id(decoy.record_id());
    decoy_entry.clear_item_ids();
    for (const v1::Item& item : decoy.items()) {
      decoy_entry.add_item_ids(item.item_id());
    }
  }
  absl::Status s = vault_->Intake(kept, std::move(entry));
  for (v1::Item& item : *kept.mutable_items()) {
    vault::Wipe(*item.mutable_content());
  }
  if (!s.ok()) return s;
  spdlog::info("stored record {} from lane {} ({} items, {} dropped by policy)",
               kept.record_id(), kept.lane_id(), kept.items_size(), dropped);
  if (plant) {
    // Logged like the real one (a canary's log line would give it away);
    // a failure only costs a decoy.
    if (absl::Status c = vault_->PlantCanary(decoy, std::move(decoy_entry));
        c.ok()) {
      spdlog::info(
          "stored record {} from lane {} ({} items, {} dropped by policy)",
          decoy.record_id(), decoy.lane_id(), decoy.items_size(), dropped);
    } else {
      spdlog::warn("could not plant a canary: {}", c.message());
    }
  }
  return result;
}

}  // namespace lanevault::api
