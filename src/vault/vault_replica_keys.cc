// The vault's side of the key hand-over between replicas on separate
// machines (key_registry.h): what a peer hands over or asks for.

#include "vault/vault.h"

namespace lanevault::vault {
absl::Status Vault::AcceptPeerKeks(const std::vector<StoredKek>& keks) {
  return periods_->Accept(keks);
}

absl::StatusOr<std::vector<StoredKek>> Vault::HeldKeks(
    const std::vector<uint32_t>& versions) {
  return periods_->Held(versions);
}

absl::StatusOr<std::string> Vault::WrappedLogSeed() {
  return key_store_->Get(kLogSeedName);
}

absl::Status Vault::SyncReplicaKeys() {
  if (key_registry_ == nullptr) return absl::OkStatus();
  if (absl::Status s = key_registry_->Heartbeat(); !s.ok()) return s;
  return periods_->Refresh();
}

absl::Status Vault::LeaveReplicas() {
  if (key_registry_ == nullptr) return absl::OkStatus();
  return key_registry_->Leave();
}

}  // namespace lanevault::vault
