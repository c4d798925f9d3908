#ifndef LANEVAULT_WIRING_QUOTA_LEDGER_H_
#define LANEVAULT_WIRING_QUOTA_LEDGER_H_

// Makes a quota exact at any concurrency. Quotas are counted from the access
// log, but a call is admitted before its entry is in the log: without this
// ledger, 32 concurrent reads all see the same count and all pass. Every
// decision runs with the ledger locked, and an admitted call holds a
// reservation, counted as if already logged, until its entry is written (or
// it failed). The call's logging step runs with the ledger locked and the
// reservation is released in that same hold (Settle), so a decision sees
// every admitted call exactly once: in the log or pending, never both and
// never neither.
//
// Replicas on one PostgreSQL vault share the log but not this ledger: a
// call admitted on one and not yet logged is invisible to the others. So a
// replica decides and logs quota-counted calls holding the vault's quota
// mutex (vault::Vault::quota_mutex), taken when its first such call is
// admitted and given back when its last is settled: another replica's
// decision waits for those entries to be in the log, and a principal
// spreading calls over replicas gets no more than on one.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"
#include "lanevault/v1/decision.pb.h"
#include "policy/policy.h"
#include "vault/replica_role.h"

namespace lanevault::wiring {

class QuotaLedger {
 public:
  // Calls a quota counts: reads, lookups, searches; others are not held.
  static bool Counted(v1::Action action);

  // Other replicas decide too: quota-counted calls are decided and logged
  // holding `replicas` (not owned; null: none). Set before the first call.
  void SetReplicaMutex(vault::ReplicaMutex* replicas) { replicas_ = replicas; }

  // A call admitted and not yet logged; released on destruction.
  class Reservation {
   public:
    Reservation() = default;
    Reservation(Reservation&& o) noexcept { *this = std::move(o); }
    Reservation& operator=(Reservation&& o) noexcept;
    ~Reservation();

   private:
    friend class QuotaLedger;
    QuotaLedger* ledger_ = nullptr;
    std::string principal_, group_;
    v1::Action action_ = v1::ACTION_UNSPECIFIED;
    bool counted_ = false;
    bool exact_ = false;         // a quota counts it: Settle under the lock
    bool settling_ = false;      // inside Settle: the ledger is already locked
    bool replica_held_ = false;  // one of the ledger's holds of `replicas_`
    // What this call hands over or reveals, as (record, category).
    std::vector<std::pair<std::string, v1::DataCategory>> seen_;
  };

  // Runs `decide` with the ledger locked; when it allows the call, the call
  // is reserved (if a quota counts it), and what it hands over of
  // `record_id` counts as seen by `principal` and `group`, until the
  // returned reservation goes. So two calls racing to read a crossing's
  // plate and its face are decided one after the other, the second seeing
  // the first: linkage is judged as exactly as quotas are.
  Reservation Admit(const std::string& principal, const std::string& group,
                    v1::Action action, const std::string& record_id,
                    absl::FunctionRef<const policy::AccessDecision&()> decide);

  // Runs `log_and_act` (the admitted call's handler, which logs it) with the
  // ledger locked, when a quota counted the call
  // (AccessDecision::quota_counted), and releases `reservation` in the same
  // hold: a count must never see the call both logged and pending. The
  // handler is handed `logged`, to call as soon as its entry is in the log
  // (or could not be written): the reservation is released and the ledger
  // unlocked there, so what the handler does after (decoding and marking
  // images, signing a receipt) runs while others are decided. Otherwise that
  // happens when it returns. Decisions of other calls wait meanwhile. Any
  // other call (intake, a log stream, a read no quota limits) runs unlocked:
  // a slow one must not stall every decision, and "seen" for linkage is a
  // set, which counting twice cannot change. Until it calls `logged`,
  // `log_and_act` may call Reveal but nothing else of the ledger.
  void Settle(
      Reservation& reservation,
      absl::FunctionRef<void(absl::FunctionRef<void()> logged)> log_and_act);

  // For a lookup: with the ledger locked, keeps the first `max` of `ids`
  // that `keep` accepts and counts their `category` as seen under
  // `reservation` until it goes; `more` says whether `keep` accepted more.
  std::vector<std::string> Reveal(
      Reservation& reservation, std::vector<std::string> ids,
      v1::DataCategory category, size_t max, bool* more,
      absl::FunctionRef<bool(const std::string&)> keep);

  // Admitted and not yet released calls of `action`'s kind, by a principal
  // or (`group`) a group. Only from inside `decide` or `keep`.
  uint32_t Pending(absl::string_view who, bool group, v1::Action action) const;
  // Categories of `record_id` handed over or revealed to a principal (or
  // group) by calls not yet released. Only from inside `decide` or `keep`.
  std::vector<v1::DataCategory> PendingSeen(absl::string_view who, bool group,
                                            absl::string_view record_id) const;

 private:
  void Release(Reservation& r);
  void ReleaseLocked(Reservation& r) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Gives back the reservation's hold of `replicas_`, if it has one.
  void ReleaseReplicaLocked(Reservation& r) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::vector<std::string> RevealLocked(
      Reservation& reservation, std::vector<std::string> ids,
      v1::DataCategory category, size_t max, bool* more,
      absl::FunctionRef<bool(const std::string&)> keep)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AddSeen(const Reservation& r, const std::string& record_id,
               v1::DataCategory category, int delta)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static int KindOf(v1::Action action);  // 0 reads, 1 lookups, 2 searches
  void Add(const std::string& principal, const std::string& group,
           v1::Action action, int delta) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  vault::ReplicaMutex* replicas_ = nullptr;
  mutable absl::Mutex mu_;
  // Reservations holding `replicas_` (it is held while this is above 0).
  int replica_holds_ ABSL_GUARDED_BY(mu_) = 0;
  // Key: kind, then 'p' or 'g', then the name.
  absl::flat_hash_map<std::string, uint32_t> pending_ ABSL_GUARDED_BY(mu_);
  // Key: 'p' or 'g', the name, '\n', the record; per category, how many.
  absl::flat_hash_map<std::string, absl::flat_hash_map<int, int>> seen_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace lanevault::wiring

#endif  // LANEVAULT_WIRING_QUOTA_LEDGER_H_
