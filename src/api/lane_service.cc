// Lane operators see lane state and counters: never images or plate text.

#include "absl/strings/str_cat.h"
#include "api/services.h"

namespace lanevault::api {
namespace {

CallSpec ViewLanes() {
  CallSpec spec;
  spec.action = v1::ACTION_VIEW_LANES;
  return spec;
}

}  // namespace

grpc::Status LaneService::ListLanes(grpc::ServerContext* ctx,
                                    const v1::ListLanesRequest* request,
                                    v1::ListLanesResponse* response) {
  return gate_->Run(ctx, *request, ViewLanes(), [&](Admission&) {
    for (v1::LaneStatus& lane : lanes_()) {
      *response->add_lanes() = std::move(lane);
    }
    return grpc::Status::OK;
  });
}

grpc::Status LaneService::GetLaneStatus(grpc::ServerContext* ctx,
                                        const v1::GetLaneStatusRequest* request,
                                        v1::LaneStatus* response) {
  return gate_->Run(ctx, *request, ViewLanes(), [&](Admission&) {
    for (v1::LaneStatus& lane : lanes_()) {
      if (lane.lane_id() == request->lane_id()) {
        *response = std::move(lane);
        return grpc::Status::OK;
      }
    }
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        "no lane " + request->lane_id());
  });
}

grpc::Status LaneService::SubmitCrossing(
    grpc::ServerContext* ctx, const v1::SubmitCrossingRequest* request,
    v1::SubmitCrossingResponse* response) {
  v1::Record record;
  CallSpec spec;
  spec.action = v1::ACTION_INTAKE;
  spec.vault_logs = true;
  spec.detail = absl::StrCat("lane ", request->lane_id());
  // The box is opened before the decision so that a record that does not
  // open or parse is refused, and logged, as a bad request.
  spec.check = [&]() -> absl::Status {
    absl::StatusOr<vault::SecureBytes> plain =
        gate_->vault().intake_key().Open(request->sealed_record());
    if (!plain.ok()) return plain.status();
    if (!record.ParseFromArray(plain->data(),
                               static_cast<int>(plain->size()))) {
      return absl::InvalidArgumentError("the sealed record does not parse");
    }
    if (record.lane_id() != request->lane_id()) {
      return absl::InvalidArgumentError(
          "the record's lane is not the lane it was submitted for");
    }
    if (!request->idempotency_key().empty()) {
      record.set_record_id(gate_->vault().IdempotentRecordId(
          request->lane_id(), request->idempotency_key()));
    }
    return absl::OkStatus();
  };
  return gate_->Run(ctx, *request, spec, [&](Admission& a) {
    const std::string id = record.record_id();
    absl::StatusOr<VaultIntake::Kept> kept =
        intake_->Take(std::move(record), std::move(a.entry));
    if (absl::IsAlreadyExists(kept.status())) {
      // A resubmission after an outage: the first one was acknowledged.
      response->set_record_id(id);
      return grpc::Status::OK;
    }
    if (!kept.ok()) return ToGrpc(kept.status());
    response->set_record_id(kept->record_id);
    response->set_items_kept(kept->items_kept);
    response->set_items_dropped(kept->items_dropped);
    return grpc::Status::OK;
  });
}

}  // namespace lanevault::api
