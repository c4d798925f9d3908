// The rendezvous of an operator's snapshot request and a capture node.

#include "api/snapshot_broker.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace lanevault::api {

absl::StatusOr<v1::Snapshot> SnapshotBroker::Request(const std::string& lane_id,
                                                     absl::Duration wait) {
  auto pending = std::make_shared<Pending>();
  pending->lane_id = lane_id;
  std::string id;
  absl::MutexLock lock(&mu_);
  auto polled = last_poll_.find(lane_id);
  if (polled == last_poll_.end() ||
      absl::Now() - polled->second > kConnectedWithin) {
    return absl::NotFoundError(
        absl::StrCat("lane ", lane_id,
                     " is neither this daemon's nor a connected capture "
                     "node's (a node asks for snapshot requests while it "
                     "runs the lane)"));
  }
  id = absl::StrCat("snp_", next_id_++);
  pending_[id] = pending;
  const bool answered = mu_.AwaitWithTimeout(
      absl::Condition(
          +[](Pending* p) { return p->answered; }, pending.get()),
      wait);
  pending_.erase(id);
  if (!answered) {
    return absl::UnavailableError(absl::StrCat(
        "the capture node of lane ", lane_id, " did not answer within ",
        absl::FormatDuration(wait), "; is it running and connected?"));
  }
  return std::move(pending->answer);
}

std::string SnapshotBroker::Await(const std::string& lane_id,
                                  absl::Duration wait,
                                  const std::function<bool()>& cancelled) {
  const absl::Time until = absl::Now() + wait;
  absl::MutexLock lock(&mu_);
  last_poll_[lane_id] = absl::Now();
  std::string found;
  auto untaken = [&] {
    for (auto& [id, p] : pending_) {
      if (p->lane_id == lane_id && !p->taken) {
        found = id;
        return true;
      }
    }
    return false;
  };
  // In slices, so that a call the node gave up on (or a server shutting
  // down) does not hold its handler for the whole wait.
  while (
      !mu_.AwaitWithTimeout(absl::Condition(&untaken),
                            std::min(absl::Seconds(1), until - absl::Now()))) {
    if (absl::Now() >= until || (cancelled && cancelled())) break;
  }
  // Still polling, so still connected, even when nobody asked.
  last_poll_[lane_id] = absl::Now();
  if (found.empty()) return "";
  pending_[found]->taken = true;
  return found;
}

absl::Status SnapshotBroker::Answer(const std::string& request_id,
                                    const std::string& lane_id,
                                    absl::StatusOr<v1::Snapshot> answer) {
  absl::MutexLock lock(&mu_);
  auto it = pending_.find(request_id);
  if (it == pending_.end() || it->second->lane_id != lane_id) {
    return absl::NotFoundError(
        "no snapshot request of that id waits for this lane (timed out?)");
  }
  it->second->answer = std::move(answer);
  it->second->answered = true;
  return absl::OkStatus();
}

}  // namespace lanevault::api
