#ifndef LANEVAULT_VAULT_PERIOD_KEYS_H_
#define LANEVAULT_VAULT_PERIOD_KEYS_H_

// Which key-encryption key wraps an item's data key: one KEK per retention
// period (the UTC day of the item's deadline) and rotation generation.
//
// Destroying a period's KEK, once the period has ended and no item (a held
// one) still uses it, is what makes retention reach every copy: the KEK
// lives only in the key store (see kek_store.h), so a copy of the database
// taken at any time cannot open the period's items afterwards, even with
// the master key.
//
// Rotation starts a generation: new seals use the new generation's KEK for
// their period, the maintainer re-wraps older data keys to it, and the
// older KEKs, once unused, are destroyed like ended periods. Thread-safe.
//
// Replicas on separate machines (a registry, key_registry.h): versions and
// the generation come from the registry; a KEK made here wraps nothing
// until every live peer holds it; KEKs the registry lists that this key
// store lacks are fetched from the peers, and those it marks destroyed are
// destroyed here too (at load and at every Refresh) once this replica's own
// rules agree (see KekLocalChecks).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "crypto/key_ring.h"
#include "vault/kek_store.h"
#include "vault/key_registry.h"

namespace lanevault::vault {

// What this replica checks itself before it destroys a KEK because the
// registry says another replica destroyed it. The registry is a table in
// the database: a writer there alone must never be able to erase a live
// key from every key store.
struct KekLocalChecks {
  // Whose now decides that a period has ended (the wall clock if null).
  const Clock* clock = nullptr;
  // How many stored items a version wraps. Without it every destruction
  // the registry asks for is refused.
  std::function<absl::StatusOr<uint64_t>(uint32_t)> items_under;
  // Says a refused destruction loudly (a critical alert); once per
  // version and process.
  std::function<void(const std::string&)> alert;
};

class PeriodKeys {
 public:
  struct Info {
    int64_t period_day = StoredKek::kNoPeriod;
    uint32_t generation = 0;
  };

  // Loads every KEK in `store` into `ring`: PERMISSION_DENIED when the
  // master key does not open one. `legacy` are KEKs the database held
  // before retention periods; they move into the store on the first open
  // (as one stale generation that the maintainer re-wraps away).
  // With `registry` (may be null), the replicas' KEKs are kept in step
  // through it and `peers` (may be null: nothing can be fetched or shared).
  static absl::StatusOr<std::unique_ptr<PeriodKeys>> Load(
      crypto::KeyRing* ring, KekStore* store,
      const std::vector<crypto::WrappedKek>& legacy, absl::Time now,
      KeyRegistry* registry = nullptr, KeyPeers* peers = nullptr,
      KekLocalChecks checks = {});

  // Whether `store` has held period keys (a vault opened with it before).
  static absl::StatusOr<bool> Initialized(KekStore& store);

  // Takes in what other processes sharing the key store changed since (new
  // KEKs, a rotation, destructions): cheap when nothing changed. With a
  // registry, also what the other replicas did: destroyed KEKs are destroyed
  // here, and shared ones this key store lacks are noted as awaited
  // (AwaitingFetch). Never asks another machine, so a caller holding its
  // own locks (a read, intake, the maintenance) never waits on a peer that
  // hangs. Called by readers that meet an unknown key version and by the
  // maintenance.
  absl::Status Refresh();
  // Refresh, then asks the live peers for the shared KEKs this key store
  // lacks (when due: the same missing versions again only after a minute).
  // Run by the replica heartbeat alone. While another fetch is in flight it
  // does not wait for it: it refreshes and returns.
  absl::Status RefreshAndFetch();

  // KEKs a peer replica hands over: each must open with the master key
  // under its binding (PERMISSION_DENIED otherwise); durable on return.
  // Refused besides: a version this key store destroyed (its tombstone),
  // one the registry does not list as live with this period and
  // generation, and one held here with other bytes (FAILED_PRECONDITION).
  absl::Status Accept(const std::vector<StoredKek>& keks);
  // Those of `versions` this key store holds, as stored.
  absl::StatusOr<std::vector<StoredKek>> Held(
      const std::vector<uint32_t>& versions);

  // The KEK version for an item with this deadline, made on first use and
  // durable in the key store before it is returned.
  absl::StatusOr<uint32_t> For(absl::Time deadline);
  // Starts a new generation; returns it.
  absl::StatusOr<uint32_t> Rotate();
  uint32_t generation() const;
  // Data keys under a version below this one (an older generation, or the
  // master key itself: version 0) are due for re-wrapping.
  uint32_t first_current_version() const;

  struct Candidate {
    uint32_t version = 0;
    Info info;
    bool stale = false;  // of an older generation (else: its period ended)
    // The deadlines its data keys can have: its period's day, or all time
    // for a key from before periods.
    absl::Time from, to;
  };
  // KEKs that are destroyed once no data key uses them: those of an older
  // generation and those whose period has ended at `now`.
  std::vector<Candidate> Candidates(absl::Time now) const;
  // Deletes the KEK from the key store (overwritten there) and the ring.
  absl::Status Destroy(uint32_t version);
  std::optional<Info> Describe(uint32_t version) const;
  // With a registry: whether `version` is registered as shared (every live
  // replica was to hold it) and not destroyed, but this key store lacks it:
  // another replica made it and this one has not fetched it yet. Only for
  // kFetchGrace after it was first found missing: a KEK no replica hands
  // over for that long is treated as lost (its items' reads raise the
  // damage alert) rather than awaited quietly.
  bool AwaitingFetch(uint32_t version) const;
  static constexpr absl::Duration kFetchGrace = absl::Minutes(5);
  // The earliest end of a period, after `now`, of a KEK still kept: when
  // one may next become destroyable. InfiniteFuture when none.
  absl::Time NextPeriodEnd(absl::Time now) const;

  // The UTC day of a time, and when it ends.
  static int64_t DayOf(absl::Time t);
  static absl::Time EndOfDay(int64_t day);
  // "2026-12-03" for a period day.
  static std::string DayName(int64_t day);

 private:
  PeriodKeys(crypto::KeyRing* ring, KekStore* store, KeyRegistry* registry,
             KeyPeers* peers, KekLocalChecks checks)
      : ring_(ring),
        store_(store),
        registry_(registry),
        peers_(peers),
        checks_(std::move(checks)) {}
  // The injected clock's now (the wall clock's without one): what periods
  // and the fetch grace are measured on, so tests can move past them.
  absl::Time Now() const;
  // Whether a KEK may go by this replica's rules alone: of an older
  // generation, or its period ended at `now`.
  bool DestroyableLocked(const Info& info, absl::Time now) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The registry marks `version` destroyed: destroys this copy when
  // DestroyableLocked and no stored item uses it; else keeps it and alerts.
  absl::Status FollowDestructionLocked(uint32_t version)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status SaveCounters() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // (Re)reads every stored KEK into the ring and the maps, and forgets
  // those no longer stored.
  absl::Status LoadRowsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status ReadCountersLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status RefreshLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  using Registered = absl::flat_hash_map<uint32_t, RegisteredKek>;
  // The registry's KEKs by version as it stands now (none without one).
  absl::StatusOr<Registered> ListRegistered();
  // With a registry: the generation, destructions and missing KEKs. The
  // missing ones go to `*to_fetch` (when given and due) to be fetched with
  // FetchAndAccept once mu_ is released.
  absl::Status SyncLocked(std::vector<uint32_t>* to_fetch)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Asks the live peers for `missing` and takes in what they hand over,
  // checked against the registry as it stands when each answer arrives (a
  // version destroyed during the call is not taken in). Never with mu_
  // held: each ask is a call to another machine.
  void FetchAndAccept(std::vector<uint32_t> missing) ABSL_LOCKS_EXCLUDED(mu_);
  // `registered`: the registry's KEKs by version (ignored without one).
  absl::Status AcceptLocked(const StoredKek& kek, const Registered& registered)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The registry's live peers that the key hand-over is configured for
  // (all of them without hand-over); the others are named in a warning.
  absl::StatusOr<std::vector<ReplicaPeer>> ConfiguredLivePeers();
  // Hands a KEK to every live peer; OK once each has acknowledged it. Never
  // with mu_ held (see MakeShared).
  absl::Status PushToLivePeers(uint32_t version) ABSL_LOCKS_EXCLUDED(mu_);
  // The current generation's KEK per period from what is held (and, with
  // a registry, shared).
  void PickCurrentLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ForgetLocked(uint32_t version) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // With a registry: the day's KEK, made here and shared when there is
  // none yet. One thread of this process shares at a time (share_mu_).
  absl::StatusOr<uint32_t> MakeShared(int64_t day) ABSL_LOCKS_EXCLUDED(mu_);
  // A KEK for `day` held here but not shared yet, or a new one.
  absl::StatusOr<uint32_t> UnsharedOrNewLocked(int64_t day)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  crypto::KeyRing* ring_;
  KekStore* store_;
  KeyRegistry* const registry_;
  KeyPeers* const peers_;
  const KekLocalChecks checks_;
  // Registry destructions refused here and already alerted.
  absl::flat_hash_set<uint32_t> refused_destructions_ ABSL_GUARDED_BY(mu_);
  // With a registry: the versions every live replica holds (only those
  // seal).
  absl::flat_hash_set<uint32_t> shared_ ABSL_GUARDED_BY(mu_);
  // The shared versions last found missing here, and when they are next
  // asked for again (see SyncLocked).
  std::vector<uint32_t> last_missing_ ABSL_GUARDED_BY(mu_);
  // When each shared KEK this key store lacks was first found missing.
  absl::flat_hash_map<uint32_t, absl::Time> missing_since_ ABSL_GUARDED_BY(mu_);
  absl::Time next_fetch_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // Held while this process shares a new KEK with the peers, which may
  // take seconds; mu_ is not held meanwhile, so a peer handing its own KEK
  // to this replica at the same moment (Accept) is not kept waiting, nor
  // is the heartbeat's sync.
  absl::Mutex share_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  // Held by RefreshAndFetch from deciding what to fetch until it is
  // fetched; a second one meanwhile skips its fetch rather than wait.
  absl::Mutex fetch_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  mutable absl::Mutex mu_;
  absl::flat_hash_map<uint32_t, Info> keks_ ABSL_GUARDED_BY(mu_);
  // The current generation's KEK per period day.
  absl::flat_hash_map<int64_t, uint32_t> current_ ABSL_GUARDED_BY(mu_);
  uint32_t generation_ ABSL_GUARDED_BY(mu_) = 1;
  uint32_t generation_start_ ABSL_GUARDED_BY(mu_) = 1;
  // Never reused, also after a version is destroyed: a destroyed version's
  // number keeps naming it in the log.
  uint32_t next_version_ ABSL_GUARDED_BY(mu_) = 1;
  // Versions this key store destroyed (its tombstones): never taken again.
  absl::flat_hash_set<uint32_t> destroyed_ ABSL_GUARDED_BY(mu_);
  // The highest version this key store has held or destroyed: a version
  // the registry hands out at or below it is a number reused.
  uint32_t highest_seen_ ABSL_GUARDED_BY(mu_) = 0;
  // The key store's data version when last read (see KekStore).
  int64_t seen_version_ ABSL_GUARDED_BY(mu_) = -1;
};

}  // namespace lanevault::vault

#endif  // LANEVAULT_VAULT_PERIOD_KEYS_H_
