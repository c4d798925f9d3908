#ifndef LANEVAULT_VAULT_REPLICA_ROLE_H_
#define LANEVAULT_VAULT_REPLICA_ROLE_H_

// The duties one vault process must do alone: signing the access log's
// checkpoints, the retention sweep, and re-wrapping and destroying keys.
// Several lanevaultd replicas on one PostgreSQL database all serve the
// API, but only the holder of this role does these; when it dies another
// takes the role and continues from what the database holds.

#include <memory>

#include "absl/status/status.h"

namespace lanevault::vault {

class ReplicaRole {
 public:
  virtual ~ReplicaRole() = default;
  // Whether this process holds the role now, taking it when it is free.
  // Cheap enough to call before each duty (one round trip at most); the
  // answer may turn false at any later call (a lost connection loses it).
  virtual bool Held() = 0;
};

// The role of a process that is the vault's only one (SQLite: the file
// lock already makes it so): always held.
class SoleReplica final : public ReplicaRole {
 public:
  bool Held() override { return true; }
};

// A mutex held across every replica of the vault, by a process (not a
// thread): what must be decided with no other replica deciding meanwhile.
class ReplicaMutex {
 public:
  virtual ~ReplicaMutex() = default;
  // Waits (a bounded time) until no other replica holds it. UNAVAILABLE
  // when the database cannot be asked or the wait ran out.
  virtual absl::Status Lock() = 0;
  virtual void Unlock() = 0;
};

}  // namespace lanevault::vault

#endif  // LANEVAULT_VAULT_REPLICA_ROLE_H_
