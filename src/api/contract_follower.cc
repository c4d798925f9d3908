#include "api/contract_follower.h"

#include <algorithm>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/config.h"
#include "common/logging.h"
#include "common/time_util.h"
#include "google/protobuf/text_format.h"

namespace lanevault::api {

std::string KeptContractText(const std::string& signed_text) {
  v1::SignedContract parsed;
  if (!google::protobuf::TextFormat::ParseFromString(signed_text, &parsed)) {
    return "";
  }
  return parsed.text();
}

absl::Status CheckAgainstKeptContracts(
    vault::Vault& vault, const std::string& contract_id, uint64_t version,
    uint64_t in_force, const std::string& text,
    const std::vector<policy::TrustedKey>& trusted, int required,
    const std::string& what) {
  absl::StatusOr<std::vector<vault::ContractVersionRow>> kept =
      vault.contracts().Versions();
  if (!kept.ok()) return kept.status();
  // Versions count up: one far above the highest kept would leave no room
  // for a newer one, and a contract that can never be replaced. A first
  // contract may start at any number that leaves room above it.
  uint64_t highest = in_force;
  for (const vault::ContractVersionRow& row : *kept) {
    if (row.contract_id == contract_id) {
      highest = std::max(highest, row.version);
    }
  }
  const uint64_t step =
      highest == 0 ? kMaxFirstContractVersion : kMaxContractVersionStep;
  if (version > highest && version - highest >= step) {
    return absl::FailedPreconditionError(absl::StrCat(
        what, " is version ", version, ", ", step, " or more above ",
        highest == 0 ? "nothing kept" : absl::StrCat("version ", highest),
        ": number versions up from the one in force"));
  }
  if (!kept->empty() && std::none_of(kept->begin(), kept->end(),
                                     [&](const vault::ContractVersionRow& row) {
                                       return row.contract_id == contract_id;
                                     })) {
    return absl::FailedPreconditionError(
        absl::StrCat(what, " is contract '", absl::CEscape(contract_id),
                     "', but this vault keeps contract '",
                     absl::CEscape(kept->front().contract_id),
                     "': a vault follows one contract id, in new versions"));
  }
  for (const vault::ContractVersionRow& row : *kept) {
    if (row.contract_id != contract_id || row.version != version) continue;
    if (KeptContractText(row.signed_text) == text) return absl::OkStatus();
    return absl::FailedPreconditionError(absl::StrCat(
        what, " signs another text as ", contract_id, " v", version,
        " than the vault has kept since ", FormatTime(row.activated),
        ": a changed contract takes a new version number, and a kept "
        "version is never replaced"));
  }
  // A version proposed over the API with the signatures it needs, not yet
  // activated, is that text too: another text under its number (from a
  // config file) would take its place unseen by the officers who signed
  // it. A proposal short of them locks nothing, so no one officer can take
  // the numbers ahead by proposing.
  absl::StatusOr<std::vector<vault::ProposalRow>> proposed =
      vault.contracts().Proposals();
  if (!proposed.ok()) return proposed.status();
  for (const vault::ProposalRow& row : *proposed) {
    if (row.contract_id != contract_id || row.version != version) continue;
    v1::SignedContract parsed;
    if (!parsed.ParseFromString(row.signed_contract) || parsed.text() == text ||
        !policy::CheckSignatures(parsed, trusted, required).ok()) {
      continue;
    }
    return absl::FailedPreconditionError(
        absl::StrCat(what, " signs another text as ", contract_id, " v",
                     version, " than the one ", row.proposed_by,
                     " proposed at ", FormatTime(row.proposed),
                     ": a changed contract takes a new version number"));
  }
  return absl::OkStatus();
}

std::unique_ptr<policy::Policy> NewerKeptContract(
    vault::Vault& vault, const policy::Policy& in_force,
    const std::vector<policy::TrustedKey>& trusted, int required,
    std::vector<uint64_t>* refused) {
  auto kept = vault.contracts().Versions();
  if (!kept.ok()) {
    spdlog::error("cannot read kept contract versions: {}",
                  kept.status().message());
    return nullptr;
  }
  // The highest version that loads, not the one kept last: a version kept
  // after a higher one must not take over from it.
  std::stable_sort(
      kept->begin(), kept->end(),
      [](const vault::ContractVersionRow& a,
         const vault::ContractVersionRow& b) { return a.version > b.version; });
  for (const vault::ContractVersionRow& row : *kept) {
    if (row.contract_id != in_force.contract_id() ||
        row.version <= in_force.contract_version()) {
      continue;
    }
    if (refused != nullptr && std::find(refused->begin(), refused->end(),
                                        row.version) != refused->end()) {
      continue;
    }
    v1::SignedContract signed_contract;
    auto policy =
        ParseTextProto(row.signed_text, "kept contract", &signed_contract).ok()
            ? policy::PolicyFromSigned(signed_contract, trusted, required)
            : absl::StatusOr<std::unique_ptr<policy::Policy>>(
                  absl::DataLossError("does not parse"));
    if (policy.ok()) return std::move(*policy);
    spdlog::error("kept contract {} v{} does not load here ({}); not used",
                  row.contract_id, row.version, policy.status().message());
    if (refused != nullptr) refused->push_back(row.version);
  }
  return nullptr;
}

ContractFollower::ContractFollower(vault::Vault* vault,
                                   policy::PolicyHolder* holder,
                                   std::vector<policy::TrustedKey> trusted,
                                   int required, absl::Duration every)
    : vault_(vault),
      holder_(holder),
      trusted_(std::move(trusted)),
      required_(required),
      every_(every) {
  if (every_ <= absl::ZeroDuration()) return;
  thread_ = std::thread([this] {
    while (!stop_.WaitForNotificationWithTimeout(every_)) CatchUp();
  });
}

ContractFollower::~ContractFollower() {
  stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

void ContractFollower::CatchUp() {
  absl::MutexLock lock(&mu_);
  const absl::Time now = absl::Now();
  if (now - looked_ < every_) return;
  LookLocked();
  looked_ = absl::Now();
}

void ContractFollower::LookLocked() {
  const std::shared_ptr<const policy::Policy> current = holder_->current();
  const size_t refused_before = refused_.size();
  std::unique_ptr<policy::Policy> newer =
      NewerKeptContract(*vault_, *current, trusted_, required_, &refused_);
  for (size_t i = refused_before; i < refused_.size(); ++i) {
    vault_->oversight().RaiseAlert(
        "critical", "contract_not_followed", "system",
        absl::StrCat("contract ", current->contract_id(), " v", refused_[i],
                     " took effect on another replica but does not load on "
                     "this one (its trusted keys or required signatures "
                     "differ); this replica stays on v",
                     current->contract_version(),
                     ", so replicas decide by different contracts"));
  }
  if (newer == nullptr) return;
  spdlog::warn(
      "contract {} v{} in force (was v{}): it took effect on "
      "another replica of this vault",
      newer->contract_id(), newer->contract_version(),
      current->contract_version());
  (void)holder_->Replace(
      std::shared_ptr<const policy::Policy>(std::move(newer)));
}

}  // namespace lanevault::api
