#ifndef LANEVAULT_API_APPROVALS_H_
#define LANEVAULT_API_APPROVALS_H_

// Two-person control for one request (Permit.approval; HashiCorp Vault's
// control groups are the model). A call that needs approval opens a
// request in this book and is refused; `required` distinct principals of
// the permit's approver role, none of them the requester, approve it
// (ApprovalService); the requester's next call for exactly the same thing
// (action, record, purpose, case, categories) then goes ahead, once.
//
// Lifetimes: a pending request expires at created + ttl; an approved one
// must be used within ttl of the approval that completed it; a denied one
// never opens. An approval is used exactly once: when the gate lets the
// matching call on (if the call then fails, say the vault cannot log it,
// the approval is spent all the same and the requester asks again; a
// failure must never let it be used twice).
//
// Kept in memory only: requests do not survive a restart of the daemon.
// That loses nothing that matters: the requester simply asks again, which
// opens a new request, and every step of the old one is in the access log.
// (An approval surviving a restart would be a grant nobody can see in the
// running daemon's book.)
//
// Bounded: at most `max_pending_per_requester` requests waiting per
// requester and `max_open` waiting or approved in all (further calls are
// refused, not queued), and closed ones (denied, used, expired) are kept
// for `keep_closed` for listing, at most `max_kept` in all, oldest dropped
// first. So a requester who keeps calling grows neither the book nor,
// since a call for the same thing reuses its pending request, the set of
// requests the log names.
//
// Thread-safe; the clock is injected (the vault's).

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "lanevault/v1/approvals.pb.h"
#include "lanevault/v1/decision.pb.h"
#include "lanevault/v1/types.pb.h"
#include "policy/policy.h"

namespace lanevault::api {

struct ApprovalLimits {
  size_t max_pending_per_requester = 4;
  size_t max_open = 256;  // pending and approved, all requesters
  size_t max_kept = 1024;
  absl::Duration keep_closed = absl::Hours(24);
};

// What a call that needs approval asks for: the request it would open.
struct ApprovalAsk {
  std::string requester;  // the caller's principal
  v1::Action action = v1::ACTION_UNSPECIFIED;
  std::string record_id;      // the record's real id (the key)
  std::string record_handle;  // as the requester named it (shown)
  std::string item_id;        // an item read: the item's real id (the key)
  std::string item_handle;    // and as named (shown)
  std::string purpose;
  std::string case_id;
  std::vector<v1::DataCategory> categories;  // as decided; order ignored
  policy::ApprovalRule rule;
};

class ApprovalBook {
 public:
  enum class Outcome {
    kUse,      // an approved request matched: now used, the call goes on
    kOpened,   // a new request was opened: the call waits
    kPending,  // the caller's request for the same thing still waits
    kFull,     // no room for another request: refused
  };
  struct Answer {
    Outcome outcome = Outcome::kFull;
    v1::ApprovalRequest request;  // empty for kFull
    std::string why;              // kFull: which bound
  };

  explicit ApprovalBook(const Clock* clock, ApprovalLimits limits = {});

  // For a call `ask` describes: uses the approved request that matches it,
  // or answers the caller's pending one, or opens one.
  Answer Take(const ApprovalAsk& ask);

  // Logs the step about to be taken; if it fails, nothing changes.
  using LogStep = absl::FunctionRef<absl::Status(const v1::ApprovalRequest&)>;

  // One approval of `id` by `approver` (of role `role`), or its denial.
  // Errors: NOT_FOUND for an unknown id; PERMISSION_DENIED for the
  // requester themself, another role than the request's approver role, or
  // a second approval by the same principal; FAILED_PRECONDITION for a
  // request no longer pending. `refusal` gets a short reason code for the
  // log. On success `log` ran (with the book locked) with the request as
  // it is after the step, before the step took effect.
  absl::StatusOr<v1::ApprovalRequest> Approve(
      absl::string_view id, absl::string_view approver, absl::string_view role,
      absl::string_view reason, LogStep log, std::string* refusal);
  absl::StatusOr<v1::ApprovalRequest> Deny(absl::string_view id,
                                           absl::string_view approver,
                                           absl::string_view role,
                                           absl::string_view reason,
                                           LogStep log, std::string* refusal);

  // Requests whose approver role is `role`, and those `principal` asked
  // for itself: waiting first (oldest first), then approved, then (with
  // `include_closed`) the closed ones, newest first.
  std::vector<v1::ApprovalRequest> List(absl::string_view principal,
                                        absl::string_view role,
                                        bool include_closed);

  // The request `id`, if the book still holds it.
  absl::StatusOr<v1::ApprovalRequest> Get(absl::string_view id);

 private:
  struct Entry {
    v1::ApprovalRequest request;
    std::string key;  // the matching key (ApprovalAsk, record_id not handle)
    absl::Duration ttl;
    absl::Time created, expires, closed;
  };
  static std::string KeyOf(const ApprovalAsk& ask);
  static bool Open(const Entry& e);
  // Expires what is due and forgets closed requests past keeping.
  void SweepLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CloseLocked(Entry& e, v1::ApprovalState state, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The checks Approve and Deny share; the entry, or the refusal.
  absl::StatusOr<Entry*> DecidableLocked(absl::string_view id,
                                         absl::string_view approver,
                                         absl::string_view role,
                                         absl::string_view reason,
                                         std::string* refusal)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Clock* const clock_;
  const ApprovalLimits limits_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> requests_ ABSL_GUARDED_BY(mu_);
};

}  // namespace lanevault::api

#endif  // LANEVAULT_API_APPROVALS_H_
