#ifndef LANEVAULT_API_ALERT_FEED_H_
#define LANEVAULT_API_ALERT_FEED_H_

// The alerts raised while the server runs, for WatchAlerts streams: the
// vault hands each one over as it is raised (Oversight::AddAlertListener),
// and each stream reads on from its own position. A stream more than
// kKeep alerts behind is told so and ends; watching again starts from the
// open alerts in the table, so nothing is missed for good. Thread-safe.

#include <cstdint>
#include <deque>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lanevault/v1/compliance.pb.h"
#include "vault/oversight.h"

namespace lanevault::api {

class AlertFeed {
 public:
  static constexpr size_t kKeep = 4096;

  explicit AlertFeed(vault::Oversight& oversight);
  ~AlertFeed();
  AlertFeed(const AlertFeed&) = delete;
  AlertFeed& operator=(const AlertFeed&) = delete;

  // Where a stream starting now reads from.
  uint64_t Position() const;
  // The alerts raised from `*position` on, waiting up to `wait` for one;
  // advances `*position` past them. RESOURCE_EXHAUSTED once some it would
  // have read are no longer kept.
  absl::StatusOr<std::vector<v1::Alert>> Read(uint64_t* position,
                                              absl::Duration wait) const;

 private:
  void Add(const v1::Alert& alert);

  vault::Oversight& oversight_;
  int listener_ = -1;
  mutable absl::Mutex mu_;
  std::deque<v1::Alert> kept_ ABSL_GUARDED_BY(mu_);
  uint64_t first_ ABSL_GUARDED_BY(mu_) = 0;  // position of kept_.front()
};

}  // namespace lanevault::api

#endif  // LANEVAULT_API_ALERT_FEED_H_
