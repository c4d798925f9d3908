// The node's side of operators' snapshots: poll, mask here, upload.

#include "node/snapshot_responder.h"

#include <algorithm>
#include <utility>

#include "absl/time/clock.h"
#include "common/logging.h"
#include "grpcpp/create_channel.h"
#include "lanevault/v1/lanes.grpc.pb.h"

namespace lanevault::node {
namespace {

// A poll waits this long at most (the daemon answers sooner, empty).
constexpr absl::Duration kPollDeadline = absl::Seconds(60);

}  // namespace

SnapshotResponder::SnapshotResponder(const SenderOptions& options,
                                     std::vector<SnapshotLane> lanes)
    : options_(options), lanes_(std::move(lanes)) {
  for (const SnapshotLane& lane : lanes_) {
    threads_.emplace_back([this, &lane] { Poll(lane); });
  }
}

SnapshotResponder::~SnapshotResponder() { Stop(); }

void SnapshotResponder::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  {
    absl::MutexLock lock(&mu_);
    for (grpc::ClientContext* ctx : active_) ctx->TryCancel();
  }
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
}

void SnapshotResponder::Poll(const SnapshotLane& lane) {
  if (options_.addresses.empty()) return;
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  if (!options_.server_name.empty()) {
    args.SetSslTargetNameOverride(options_.server_name);
  }
  size_t which = 0;
  auto stub = v1::LaneService::NewStub(grpc::CreateCustomChannel(
      options_.addresses[which], options_.credentials, args));
  absl::Duration backoff = absl::Seconds(1);
  // A call the responder can cancel at Stop().
  auto call = [&](auto&& rpc, absl::Duration deadline) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    {
      absl::MutexLock lock(&mu_);
      if (stop_.HasBeenNotified()) {
        return grpc::Status(grpc::StatusCode::CANCELLED, "stopping");
      }
      active_.push_back(&ctx);
    }
    grpc::Status s = rpc(&ctx);
    absl::MutexLock lock(&mu_);
    active_.erase(std::find(active_.begin(), active_.end(), &ctx));
    return s;
  };
  while (!stop_.HasBeenNotified()) {
    v1::AwaitSnapshotRequest req;
    req.set_lane_id(lane.lane_id);
    req.set_checkpoint_id(lane.checkpoint_id);
    v1::AwaitSnapshotResponse asked;
    grpc::Status s = call(
        [&](grpc::ClientContext* ctx) {
          return stub->AwaitSnapshot(ctx, req, &asked);
        },
        kPollDeadline);
    if (!s.ok()) {
      if (stop_.HasBeenNotified()) break;
      spdlog::debug("lane {}: snapshot poll: {}", lane.lane_id,
                    s.error_message());
      // The next address, after a pause that grows while the polls fail.
      which = (which + 1) % options_.addresses.size();
      stub = v1::LaneService::NewStub(grpc::CreateCustomChannel(
          options_.addresses[which], options_.credentials, args));
      stop_.WaitForNotificationWithTimeout(backoff);
      backoff = std::min(backoff * 2, absl::Seconds(30));
      continue;
    }
    backoff = absl::Seconds(1);
    if (asked.request_id().empty()) continue;
    v1::SubmitSnapshotRequest answer;
    answer.set_request_id(asked.request_id());
    answer.set_checkpoint_id(lane.checkpoint_id);
    absl::StatusOr<v1::Snapshot> snapshot = lane.snapshot();
    if (snapshot.ok()) {
      *answer.mutable_snapshot() = std::move(*snapshot);
    } else {
      answer.mutable_snapshot()->set_lane_id(lane.lane_id);
      answer.set_error(std::string(snapshot.status().message()));
    }
    v1::SubmitSnapshotResponse done;
    s = call(
        [&](grpc::ClientContext* ctx) {
          return stub->SubmitSnapshot(ctx, answer, &done);
        },
        options_.timeout);
    if (!s.ok() && !stop_.HasBeenNotified()) {
      spdlog::warn("lane {}: snapshot not delivered: {}", lane.lane_id,
                   s.error_message());
    }
  }
}

}  // namespace lanevault::node
