// Snapshots for lane operators: a lane's current frame, masked where it was
// read (the daemon's own lanes, or a capture node's, which masks before it
// uploads). Logged as ACTION_VIEW_SNAPSHOT; never stored.

#include <algorithm>
#include <chrono>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/scoped_answers.h"
#include "api/services.h"
#include "common/image_header.h"
#include "common/logging.h"

namespace lanevault::api {
namespace {

// How long an operator's call waits for a node's picture, and a node's
// poll for a request, at most; both end sooner to fit the call's deadline.
constexpr absl::Duration kSnapshotWait = absl::Seconds(15);
constexpr absl::Duration kPollWait = absl::Seconds(50);

// `most`, cut to end a little before the call's deadline.
absl::Duration WithinDeadline(const grpc::ServerContext& ctx,
                              absl::Duration most) {
  const absl::Duration left =
      absl::FromChrono(ctx.deadline() - std::chrono::system_clock::now()) -
      absl::Milliseconds(500);
  return std::clamp(left, absl::ZeroDuration(), most);
}

// A node's reason for having no picture, as the operator sees it: one
// short printable line, whatever a compromised node sends.
std::string NodeErrorForOperator(absl::string_view error) {
  constexpr size_t kMost = 200;
  std::string out;
  for (const char c : error.substr(0, kMost)) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u >= 0x7f ? '?' : c);
  }
  if (error.size() > kMost) out += "...";
  return absl::StrCat("the lane's capture node has no picture: ", out);
}

// Masked on the node, marked here at a scene's answer size: a snapshot is
// an image the API returns, and a leaked one names the operator's call (at
// a size a trace takes). One that cannot be marked (not
// a JPEG, too large by its header, not decodable) is not shown.
grpc::Status MarkSnapshot(const Gate& gate, uint64_t token,
                          v1::Snapshot& snapshot) {
  absl::StatusOr<ImageHeader> header = ReadImageHeader(snapshot.jpeg());
  absl::StatusOr<std::string> marked =
      header.ok() && header->format != ImageHeader::Format::kJpeg
          ? absl::InvalidArgumentError("the lane's snapshot is not a JPEG")
          : MarkAtAnswerSize(gate.vault().watermark_key(), token,
                             snapshot.jpeg(), v1::DATA_CATEGORY_SCENE_IMAGE);
  if (!marked.ok()) {
    spdlog::error("snapshot of lane {} withheld: it cannot be watermarked ({})",
                  snapshot.lane_id(), marked.status().message());
    return grpc::Status(
        grpc::StatusCode::UNAVAILABLE,
        absl::StrCat("the lane's snapshot cannot be watermarked, so it is not "
                     "shown: ",
                     marked.status().message()));
  }
  snapshot.set_jpeg(*std::move(marked));
  return grpc::Status::OK;
}

}  // namespace

grpc::Status LaneService::GetSnapshot(grpc::ServerContext* ctx,
                                      const v1::GetSnapshotRequest* request,
                                      v1::Snapshot* response) {
  CallSpec spec;
  spec.action = v1::ACTION_VIEW_SNAPSHOT;
  spec.detail = absl::StrCat("lane ", request->lane_id());
  return gate_->Run(ctx, *request, spec, [&](Admission& a) {
    if (local_snapshot_) {
      if (std::optional<absl::StatusOr<v1::Snapshot>> local =
              local_snapshot_(request->lane_id());
          local.has_value()) {
        if (!local->ok()) return ToGrpc(local->status());
        *response = std::move(**local);
        return MarkSnapshot(*gate_, a.logged_sequence, *response);
      }
    }
    absl::StatusOr<v1::Snapshot> got = snapshots_.Request(
        request->lane_id(), WithinDeadline(*ctx, kSnapshotWait));
    if (!got.ok()) return ToGrpc(got.status());
    *response = std::move(*got);
    return MarkSnapshot(*gate_, a.logged_sequence, *response);
  });
}

grpc::Status LaneService::AwaitSnapshot(grpc::ServerContext* ctx,
                                        const v1::AwaitSnapshotRequest* request,
                                        v1::AwaitSnapshotResponse* response) {
  // A node speaks for its own lanes only: bound as its crossings are.
  CallSpec spec;
  spec.action = v1::ACTION_INTAKE;
  spec.lane = request->lane_id();
  spec.record_checkpoint = request->checkpoint_id();
  spec.detail = absl::StrCat("snapshot poll, lane ", request->lane_id());
  return gate_->Run(ctx, *request, spec, [&](Admission&) {
    const std::string id =
        snapshots_.Await(request->lane_id(), WithinDeadline(*ctx, kPollWait),
                         [ctx] { return ctx->IsCancelled(); });
    if (!id.empty()) {
      response->set_request_id(id);
      response->set_lane_id(request->lane_id());
    }
    return grpc::Status::OK;
  });
}

grpc::Status LaneService::SubmitSnapshot(
    grpc::ServerContext* ctx, const v1::SubmitSnapshotRequest* request,
    v1::SubmitSnapshotResponse* /*response*/) {
  CallSpec spec;
  spec.action = v1::ACTION_INTAKE;
  spec.lane = request->snapshot().lane_id();
  spec.record_checkpoint = request->checkpoint_id();
  spec.detail = absl::StrCat("snapshot, lane ", request->snapshot().lane_id());
  return gate_->Run(ctx, *request, spec, [&](Admission&) {
    absl::StatusOr<v1::Snapshot> answer =
        request->error().empty()
            ? absl::StatusOr<v1::Snapshot>(request->snapshot())
            : absl::UnavailableError(NodeErrorForOperator(request->error()));
    return ToGrpc(snapshots_.Answer(request->request_id(),
                                    request->snapshot().lane_id(),
                                    std::move(answer)));
  });
}

}  // namespace lanevault::api
