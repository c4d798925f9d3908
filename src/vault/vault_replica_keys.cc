// The vault's side of the key hand-over between replicas on separate
// machines (key_registry.h): what a peer hands over or asks for.

#include "absl/time/clock.h"
#include "vault/key_registry.h"
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
  const absl::Time started = absl::Now();
  absl::Status synced = periods_->RefreshAndFetch();
  // Fetching a missing KEK from a slow peer can take a call's timeout (per
  // peer asked): beat again after it, so a slow fetch delays the next beat
  // by that much at most, not by a further period (a heartbeat older than
  // kPeerHeartbeatFresh makes the others share a new KEK without this
  // replica).
  if (absl::Now() - started >= kPeerHeartbeatEvery) {
    if (absl::Status s = key_registry_->Heartbeat(); !s.ok()) return s;
  }
  return synced;
}

absl::Status Vault::LeaveReplicas() {
  if (key_registry_ == nullptr) return absl::OkStatus();
  return key_registry_->Leave();
}

}  // namespace lanevault::vault
