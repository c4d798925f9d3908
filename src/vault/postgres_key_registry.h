#ifndef LANEVAULT_VAULT_POSTGRES_KEY_REGISTRY_H_
#define LANEVAULT_VAULT_POSTGRES_KEY_REGISTRY_H_

// The key registry (key_registry.h) in the vault's PostgreSQL schema
// (tables kek_registry, key_generation and replicas, schema step 3), on a
// connection of its own, so that a KEK is registered and shared while an
// intake's transaction waits on the store's connection.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "vault/key_registry.h"
#include "vault/postgres.h"
#include "vault/postgres_store.h"

namespace lanevault::vault {

class PostgresKeyRegistry final : public KeyRegistry {
 public:
  // `self` is this replica's announced address and principal (empty
  // address: it announces nothing and serves no hand-over).
  PostgresKeyRegistry(PostgresOptions options, ReplicaPeer self);

  absl::Status Adopt(const std::vector<StoredKek>& held, KeyGeneration local,
                     uint32_t next_version) override;
  absl::StatusOr<std::vector<RegisteredKek>> Keks() override;
  absl::StatusOr<KeyGeneration> Generation() override;
  absl::StatusOr<uint32_t> NewVersion(int64_t period_day,
                                      uint32_t generation) override;
  absl::Status MarkShared(uint32_t version) override;
  absl::StatusOr<KeyGeneration> Rotate() override;
  absl::StatusOr<std::vector<ReplicaPeer>> LivePeers() override;
  absl::Status Heartbeat() override;
  absl::Status Leave() override;
  absl::StatusOr<bool> ClaimLogSeed() override;

 private:
  absl::StatusOr<pg::Connection*> ConnectedLocked()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<pg::Result> ExecLocked(absl::string_view sql,
                                        const pg::Params& params = {})
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const PostgresOptions options_;
  const ReplicaPeer self_;
  absl::Mutex mu_;
  std::optional<pg::Connection> db_ ABSL_GUARDED_BY(mu_);
};

}  // namespace lanevault::vault

#endif  // LANEVAULT_VAULT_POSTGRES_KEY_REGISTRY_H_
