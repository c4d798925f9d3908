#ifndef LANEVAULT_NODE_SNAPSHOT_RESPONDER_H_
#define LANEVAULT_NODE_SNAPSHOT_RESPONDER_H_

// Answers operators' snapshot requests for the node's lanes: one thread per
// lane long-polls lanevaultd (LaneService.AwaitSnapshot) and, when asked,
// takes the lane's masked snapshot (capture::Lane::Snapshot masks on this
// node) and uploads it (SubmitSnapshot). An unmasked frame never leaves.

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "grpcpp/client_context.h"
#include "lanevault/v1/lanes.pb.h"
#include "node/vault_sender.h"

namespace lanevault::node {

struct SnapshotLane {
  std::string lane_id;
  std::string checkpoint_id;
  std::function<absl::StatusOr<v1::Snapshot>()> snapshot;  // masked
};

class SnapshotResponder {
 public:
  // Uses `options`' addresses (the first that answers), credentials and
  // server name; starts polling at once.
  SnapshotResponder(const SenderOptions& options,
                    std::vector<SnapshotLane> lanes);
  ~SnapshotResponder();  // Stop()
  SnapshotResponder(const SnapshotResponder&) = delete;
  SnapshotResponder& operator=(const SnapshotResponder&) = delete;

  // Cancels the polls and joins the threads.
  void Stop();

 private:
  void Poll(const SnapshotLane& lane);

  SenderOptions options_;
  std::vector<SnapshotLane> lanes_;
  absl::Notification stop_;
  absl::Mutex mu_;
  std::vector<grpc::ClientContext*> active_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_;
};

}  // namespace lanevault::node

#endif  // LANEVAULT_NODE_SNAPSHOT_RESPONDER_H_
