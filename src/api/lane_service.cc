#include "api/services.h"

namespace lanevault::api {

grpc::Status LaneService::ListLanes(grpc::ServerContext* ctx,
                                    const v1::ListLanesRequest*,
                                    v1::ListLanesResponse* response) {
  Caller caller;
  if (grpc::Status s = gate_->Admit(*ctx, v1::ACTION_VIEW_LANES, &caller);
      !s.ok()) {
    return s;
  }
  for (v1::LaneStatus& lane : lanes_())
    *response->add_lanes() = std::move(lane);
  return grpc::Status::OK;
}

grpc::Status LaneService::GetLaneStatus(grpc::ServerContext* ctx,
                                        const v1::GetLaneStatusRequest* request,
                                        v1::LaneStatus* response) {
  Caller caller;
  if (grpc::Status s = gate_->Admit(*ctx, v1::ACTION_VIEW_LANES, &caller);
      !s.ok()) {
    return s;
  }
  for (v1::LaneStatus& lane : lanes_()) {
    if (lane.lane_id() == request->lane_id()) {
      *response = std::move(lane);
      return grpc::Status::OK;
    }
  }
  return grpc::Status(grpc::StatusCode::NOT_FOUND,
                      "no lane " + request->lane_id());
}

}  // namespace lanevault::api
