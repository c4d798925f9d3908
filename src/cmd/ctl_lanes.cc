// lanevaultctl: lane state and counters for operators, never images.

#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "cmd/ctl_commands.h"
#include "cmd/ctl_common.h"
#include "common/program.h"
#include "lanevault/v1/lanes.grpc.pb.h"

ABSL_DECLARE_FLAG(bool, json);

namespace lanevault::ctl {
namespace {

using ctl::Connect;
using ctl::FailRpc;
using ctl::Prepare;
using ctl::PrintJson;

void PrintLane(const v1::LaneStatus& l) {
  const auto& c = l.counters();
  std::printf(
      "%-10s %-12s %-12s %8llu %8llu %9llu %7llu %6llu  %s\n",
      l.lane_id().c_str(), l.checkpoint_id().c_str(),
      absl::AsciiStrToLower(v1::LaneState_Name(l.state()).substr(11)).c_str(),
      static_cast<unsigned long long>(c.frames_read()),
      static_cast<unsigned long long>(c.frames_dropped()),
      static_cast<unsigned long long>(c.crossings()),
      static_cast<unsigned long long>(c.records_stored()),
      static_cast<unsigned long long>(c.records_failed()),
      l.last_error().c_str());
}

int Lanes_(const std::vector<std::string>& args) {
  auto stub = v1::LaneService::NewStub(Connect());
  grpc::ClientContext ctx;
  Prepare(ctx);
  std::vector<v1::LaneStatus> lanes;
  if (args.size() == 2 && args[1] == "list") {
    v1::ListLanesResponse resp;
    if (auto s = stub->ListLanes(&ctx, {}, &resp); !s.ok()) FailRpc(s);
    if (absl::GetFlag(FLAGS_json)) {
      PrintJson(resp);
      std::printf("\n");
      return 0;
    }
    lanes.assign(resp.lanes().begin(), resp.lanes().end());
  } else if (args.size() == 3 && args[1] == "status") {
    v1::GetLaneStatusRequest req;
    req.set_lane_id(args[2]);
    v1::LaneStatus resp;
    if (auto s = stub->GetLaneStatus(&ctx, req, &resp); !s.ok()) FailRpc(s);
    if (absl::GetFlag(FLAGS_json)) {
      PrintJson(resp);
      std::printf("\n");
      return 0;
    }
    lanes.push_back(resp);
  } else {
    Fail("usage: lanevaultctl lanes list | lanes status LANE_ID", 2);
  }
  std::printf("%-10s %-12s %-12s %8s %8s %9s %7s %6s  %s\n", "LANE",
              "CHECKPOINT", "STATE", "FRAMES", "DROPPED", "CROSSINGS", "STORED",
              "FAILED", "LAST ERROR");
  for (const auto& l : lanes) PrintLane(l);
  return 0;
}

}  // namespace

int LanesCommand(const std::vector<std::string>& args) { return Lanes_(args); }

}  // namespace lanevault::ctl
