#ifndef LANEVAULT_API_SNAPSHOT_BROKER_H_
#define LANEVAULT_API_SNAPSHOT_BROKER_H_

// Where an operator's snapshot request meets the capture node that has the
// lane: the operator's call waits here while the node, long-polling, takes
// the request, masks its frame itself and hands the picture back. Only
// masked pictures pass; nothing is kept once handed over or timed out.
// Thread-safe.

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lanevault/v1/lanes.pb.h"

namespace lanevault::api {

class SnapshotBroker {
 public:
  // A node that polled for a lane this recently counts as connected.
  static constexpr absl::Duration kConnectedWithin = absl::Seconds(90);

  // Waits up to `wait` for the node of `lane_id` to answer. NOT_FOUND when
  // no node polled for the lane within kConnectedWithin; UNAVAILABLE when
  // it did not answer in time, or answered that it has no picture.
  absl::StatusOr<v1::Snapshot> Request(const std::string& lane_id,
                                       absl::Duration wait);
  // A node waits up to `wait` for a request for `lane_id`: its id, or ""
  // when none came or `cancelled` (asked each second) says the call ended.
  std::string Await(const std::string& lane_id, absl::Duration wait,
                    const std::function<bool()>& cancelled = {});
  // The node's answer to request `request_id`, which must be for `lane_id`.
  // NOT_FOUND when the request is gone (timed out) or is another lane's.
  absl::Status Answer(const std::string& request_id, const std::string& lane_id,
                      absl::StatusOr<v1::Snapshot> answer);

 private:
  struct Pending {
    std::string lane_id;
    bool taken = false;
    bool answered = false;
    absl::StatusOr<v1::Snapshot> answer = absl::UnknownError("unanswered");
  };

  absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<Pending>> pending_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, absl::Time> last_poll_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace lanevault::api

#endif  // LANEVAULT_API_SNAPSHOT_BROKER_H_
