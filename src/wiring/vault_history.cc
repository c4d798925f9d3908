#include "wiring/vault_history.h"

#include <limits>

#include "common/logging.h"

namespace lanevault::wiring {
namespace {
constexpr uint32_t kSpent = std::numeric_limits<uint32_t>::max();
}  // namespace

policy::AccessHistory::Reads VaultAccessHistory::Counted(
    absl::string_view who, bool group, absl::Time since) const {
  auto counts = vault_->log().CountReads(who, since, group);
  if (!counts.ok()) {
    spdlog::error("access history unavailable, failing closed: {}",
                  counts.status().message());
    return {kSpent, kSpent};
  }
  // A read admitted and not yet logged counts as a read of a new record:
  // the conservative side.
  const uint32_t pending = ledger_->Pending(who, group, v1::ACTION_READ_RECORD);
  return {counts->reads + pending, counts->records + pending};
}

policy::AccessHistory::Reads VaultAccessHistory::ReadsSince(
    absl::string_view principal, absl::Time since) const {
  return Counted(principal, false, since);
}

policy::AccessHistory::Reads VaultAccessHistory::GroupReadsSince(
    absl::string_view group, absl::Time since) const {
  return Counted(group, true, since);
}

uint32_t VaultAccessHistory::CallsSince(absl::string_view who, bool group,
                                        v1::Action action,
                                        absl::Time since) const {
  auto calls = vault_->log().CountCalls(who, group, action, since);
  if (!calls.ok()) {
    spdlog::error("access history unavailable, failing closed: {}",
                  calls.status().message());
    return kSpent;
  }
  return *calls + ledger_->Pending(who, group, action);
}

bool VaultAccessHistory::ReadSince(absl::string_view who, bool group,
                                   absl::string_view record_id,
                                   absl::Time since) const {
  absl::StatusOr<bool> read =
      vault_->log().ReadRecordSince(who, group, record_id, since);
  // Failing closed: an unknown past is no second look.
  return read.ok() && *read;
}

std::vector<v1::DataCategory> VaultAccessHistory::Seen(
    absl::string_view who, bool group, absl::string_view record_id) const {
  auto read = vault_->log().CategoriesRead(who, record_id, group);
  if (!read.ok()) {
    spdlog::error("access history unavailable, failing closed: {}",
                  read.status().message());
    return {v1::DATA_CATEGORY_PLATE_TEXT, v1::DATA_CATEGORY_PLATE_IMAGE,
            v1::DATA_CATEGORY_FACE_IMAGE};
  }
  // And what calls admitted but not yet logged are handing over.
  for (v1::DataCategory c : ledger_->PendingSeen(who, group, record_id)) {
    read->push_back(c);
  }
  return *read;
}

std::vector<v1::DataCategory> VaultAccessHistory::CategoriesRead(
    absl::string_view principal, absl::string_view record_id) const {
  return Seen(principal, false, record_id);
}

std::vector<v1::DataCategory> VaultAccessHistory::GroupCategoriesRead(
    absl::string_view group, absl::string_view record_id) const {
  return Seen(group, true, record_id);
}

}  // namespace lanevault::wiring
