#ifndef LANEVAULT_VAULT_KEY_REGISTRY_H_
#define LANEVAULT_VAULT_KEY_REGISTRY_H_

// Replicas on separate machines each keep their own key store file
// (kek_store.h): a replica's disk may be lost, and the database must never
// hold a key, not even wrapped, so that destroying a period's KEK reaches
// every copy of the database. Two things keep the key stores in step:
//
//   KeyRegistry  what the database knows of the keys, never a key: which
//                KEK versions exist (numbered by the database, so two hosts
//                never take one number), whether every live replica holds
//                one, whether it was destroyed; the rotation generation;
//                and which replicas are alive, with their addresses.
//   KeyPeers     how a replica hands KEKs (as stored: wrapped by the master
//                key, which every replica of one vault shares) to its peers
//                and fetches what it lacks, over mutual TLS (src/replica).
//
// A new KEK seals nothing until every live peer has acknowledged holding it
// durably, so losing the machine that made it loses nothing acknowledged.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "vault/kek_store.h"

namespace lanevault::vault {

// A replica whose heartbeat is older than this is not waited for: a KEK is
// shared without it, and it fetches what it lacks when it is back. Replicas
// beat about every kPeerHeartbeatEvery.
inline constexpr absl::Duration kPeerHeartbeatFresh = absl::Seconds(10);
inline constexpr absl::Duration kPeerHeartbeatEvery = absl::Seconds(2);

struct RegisteredKek {
  uint32_t version = 0;
  int64_t period_day = StoredKek::kNoPeriod;
  uint32_t generation = 0;
  bool shared = false;     // every replica alive when it was made holds it
  bool destroyed = false;  // logged as key_destroyed; every copy must go
};

struct KeyGeneration {
  uint32_t generation = 1;
  // KEKs numbered below this are of an older generation.
  uint32_t start_version = 1;
};

// Another replica of the vault, as it announced itself.
struct ReplicaPeer {
  std::string address;    // host:port of its key hand-over listener
  std::string principal;  // the name its certificate carries
};

// What the store answers for a record sealed under a KEK that another
// replica destroyed before the record's commit (the rotation fence): seal
// it again under a current KEK.
absl::Status KekDestroyedError(uint32_t version);
bool IsKekDestroyed(const absl::Status& status);

class KeyRegistry {
 public:
  virtual ~KeyRegistry() = default;

  // Registers (as shared) the KEKs a key store held before the registry
  // existed, and `local` as the generation when none is registered; moves
  // the version numbering past `next_version`. Idempotent.
  virtual absl::Status Adopt(const std::vector<StoredKek>& held,
                             KeyGeneration local, uint32_t next_version) = 0;
  virtual absl::StatusOr<std::vector<RegisteredKek>> Keks() = 0;
  virtual absl::StatusOr<KeyGeneration> Generation() = 0;
  // Registers a new, not yet shared KEK; returns its version.
  virtual absl::StatusOr<uint32_t> NewVersion(int64_t period_day,
                                              uint32_t generation) = 0;
  virtual absl::Status MarkShared(uint32_t version) = 0;
  // Starts the next generation; returns it.
  virtual absl::StatusOr<KeyGeneration> Rotate() = 0;

  // The other replicas whose heartbeat is recent.
  virtual absl::StatusOr<std::vector<ReplicaPeer>> LivePeers() = 0;
  // Announces this replica (when it has an address) as alive now.
  virtual absl::Status Heartbeat() = 0;
  // Withdraws this replica (a clean stop): the others stop waiting for it
  // at once instead of after kPeerHeartbeatFresh.
  virtual absl::Status Leave() = 0;
  // Whether this replica makes the access log's signing seed: true for the
  // first to ask on a new vault, false when another replica made it (then
  // it is fetched from the peers).
  virtual absl::StatusOr<bool> ClaimLogSeed() = 0;
};

class KeyPeers {
 public:
  virtual ~KeyPeers() = default;
  // Whether `peer` (as the registry, i.e. the database, announces it) is
  // one of the replicas this one is configured to hand keys to. Those that
  // are not are skipped: a row in the database decides neither who gets a
  // key nor whether a new one may seal.
  virtual bool Configured(const ReplicaPeer& peer) const = 0;
  // OK once `peer` holds every one of `keks` durably.
  virtual absl::Status Push(const ReplicaPeer& peer,
                            const std::vector<StoredKek>& keks) = 0;
  struct Fetched {
    std::vector<StoredKek> keks;   // those of the versions asked it holds
    std::string wrapped_log_seed;  // when asked and held
  };
  virtual absl::StatusOr<Fetched> Fetch(const ReplicaPeer& peer,
                                        const std::vector<uint32_t>& versions,
                                        bool log_seed) = 0;
};

}  // namespace lanevault::vault

#endif  // LANEVAULT_VAULT_KEY_REGISTRY_H_
