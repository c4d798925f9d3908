#ifndef LANEVAULT_API_REFUSAL_LIMITER_H_
#define LANEVAULT_API_REFUSAL_LIMITER_H_

// Which refusals of nobody (no valid certificate) and of the locked out go
// into the access log one by one, and which are only counted. Such callers
// can repeat a refused call as fast as the network carries it, and nothing
// in the lockout stops them (they already are refused, or are nobody), so
// each one logged would let anyone grow the log without bound. The first
// few a window per key (a peer address, a principal) are logged as they
// come; the rest are counted, and the count becomes one summary entry per
// key and window. The call is refused every time either way.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "lanevault/v1/audit.pb.h"

namespace lanevault::api {

struct RefusalLimits {
  // Each key's window starts with its first refusal.
  absl::Duration window = absl::Minutes(1);
  // Refusals a key may have logged one by one in a window.
  int logged_per_window = 5;
  // And all keys of one kind together, in a window of their own: a caller
  // who varies its address (a host holds a whole /8 of loopback, an IPv6
  // network a /64) gets no more logged one by one than this.
  int logged_per_window_all_keys = 30;
  // Keys tracked at once, each kind its own; refusals of further keys of a
  // kind share one overflow key,
  // so a caller who varies its address grows neither this table nor the
  // log past about logged_per_window_all_keys + max_keys + 1 entries (the
  // ones logged, then a summary a key) a kind and window.
  size_t max_keys = 64;
  // How often windows that ended are looked for, so a burst that stops is
  // still summarised soon after its window closes.
  absl::Duration flush_every = absl::Seconds(5);
};

class RefusalLimiter {
 public:
  // Refusals counted, not logged, in one key's window.
  struct Summary {
    std::string kind;  // e.g. "unauthenticated", "locked_out"
    std::string key;   // the peer address or the principal
    uint64_t suppressed = 0;
    absl::Time from;        // the window's start
    absl::Time until;       // its end (or now, for a window cut short)
    v1::AuditEntry sample;  // the first refusal suppressed
  };

  RefusalLimiter(const Clock* clock, RefusalLimits limits);

  // Whether the refusal `entry` (already bounded) of `kind` by `key` is
  // logged on its own; false: it is counted towards its window's summary.
  // Summaries of this key's window, if it has ended, are added to `due`.
  bool Admit(absl::string_view kind, absl::string_view key,
             const v1::AuditEntry& entry, std::vector<Summary>* due);

  // Summaries of every window that has ended, and with `everything` (at
  // shutdown) of those still open; forgets the keys they leave idle.
  std::vector<Summary> TakeDue(bool everything);

  const RefusalLimits& limits() const { return limits_; }

 private:
  struct Window {
    std::string kind;
    std::string key;
    absl::Time start;
    int logged = 0;
    uint64_t suppressed = 0;
    v1::AuditEntry sample;
  };
  Summary Close(Window& w, absl::Time until) const;

  // What one kind logged one by one across its keys, in its window.
  struct KindWindow {
    absl::Time start = absl::InfinitePast();  // none yet: the first starts it
    int logged = 0;
    size_t keys = 0;  // its windows_ entries (max_keys at most, + overflow)
  };

  const Clock* const clock_;
  const RefusalLimits limits_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Window> windows_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, KindWindow> kinds_ ABSL_GUARDED_BY(mu_);
};

// The address part of a gRPC peer string ("ipv4:10.0.0.7:53122" gives
// "ipv4:10.0.0.7"): a client's port changes with every connection, so
// keying on it would make every connection a new key.
std::string PeerAddress(absl::string_view peer);

}  // namespace lanevault::api

#endif  // LANEVAULT_API_REFUSAL_LIMITER_H_
