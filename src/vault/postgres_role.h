#ifndef LANEVAULT_VAULT_POSTGRES_ROLE_H_
#define LANEVAULT_VAULT_POSTGRES_ROLE_H_

// The replica role (replica_role.h) on PostgreSQL: a session advisory lock,
// keyed by the vault's schema, held on a connection of its own. The lock is
// the server's: it goes when the holder's session ends (the process
// killed, its connection cut or timed out by the server's keepalives), and
// then the first replica to ask takes it. No lease times to tune, no clock
// to trust.
//
// Each Held() of the holder checks its session with one round trip, so a
// holder that lost its connection learns it at its next duty and stops
// doing it; it asks for the lock again from then on.

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "vault/postgres.h"
#include "vault/postgres_store.h"
#include "vault/replica_role.h"

namespace lanevault::vault {

class PostgresRole final : public ReplicaRole {
 public:
  // Does not connect yet: the first Held() does (so a database that is
  // briefly away at start does not stop the replica from serving).
  explicit PostgresRole(PostgresOptions options);
  ~PostgresRole() override;

  bool Held() override;

 private:
  absl::Status ConnectLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether the held session still answers.
  bool StillHeldLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Asks for the lock; true when taken.
  bool TryTakeLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const PostgresOptions options_;
  absl::Mutex mu_;
  std::optional<pg::Connection> db_ ABSL_GUARDED_BY(mu_);
  bool held_ ABSL_GUARDED_BY(mu_) = false;
};

// A ReplicaMutex on PostgreSQL: a session advisory lock of `lock_class`,
// keyed by the vault's schema, on a connection of its own. A holder that
// dies frees it with its session.
class PostgresMutex final : public ReplicaMutex {
 public:
  PostgresMutex(PostgresOptions options, int lock_class);
  ~PostgresMutex() override;

  absl::Status Lock() override;
  void Unlock() override;

 private:
  const PostgresOptions options_;
  const int lock_class_;
  absl::Mutex mu_;
  std::optional<pg::Connection> db_ ABSL_GUARDED_BY(mu_);
};

}  // namespace lanevault::vault

#endif  // LANEVAULT_VAULT_POSTGRES_ROLE_H_
