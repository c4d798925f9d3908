#include "api/vault_history.h"

#include <limits>

#include "common/logging.h"

namespace lanevault::api {
namespace {
constexpr uint32_t kSpent = std::numeric_limits<uint32_t>::max();
}  // namespace

policy::AccessHistory::Reads VaultAccessHistory::ReadsSince(
    absl::string_view principal, absl::Time since) const {
  auto counts = vault_->CountReads(principal, since);
  if (!counts.ok()) {
    spdlog::error("access history unavailable, failing closed: {}",
                  counts.status().message());
    return {kSpent, kSpent};
  }
  return {counts->reads, counts->records};
}

std::vector<v1::DataCategory> VaultAccessHistory::CategoriesRead(
    absl::string_view principal, absl::string_view record_id) const {
  auto read = vault_->CategoriesRead(principal, record_id);
  if (!read.ok()) {
    spdlog::error("access history unavailable, failing closed: {}",
                  read.status().message());
    return {v1::DATA_CATEGORY_PLATE_TEXT, v1::DATA_CATEGORY_PLATE_IMAGE,
            v1::DATA_CATEGORY_FACE_IMAGE};
  }
  return *read;
}

}  // namespace lanevault::api
