// Lane operators see lane state and counters: never images or plate text.

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
                                    const v1::ListLanesRequest*,
                                    v1::ListLanesResponse* response) {
  return gate_->Run(ctx, ViewLanes(), [&](Admission&) {
    for (v1::LaneStatus& lane : lanes_()) {
      *response->add_lanes() = std::move(lane);
    }
    return grpc::Status::OK;
  });
}

grpc::Status LaneService::GetLaneStatus(grpc::ServerContext* ctx,
                                        const v1::GetLaneStatusRequest* request,
                                        v1::LaneStatus* response) {
  return gate_->Run(ctx, ViewLanes(), [&](Admission&) {
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

}  // namespace lanevault::api
