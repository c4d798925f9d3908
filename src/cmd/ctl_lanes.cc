// lanevaultctl: lane state and counters for operators, and a lane's picture
// with every face and plate masked on the lane's side.

#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "cmd/ctl_commands.h"
#include "cmd/ctl_common.h"
#include "common/files.h"
#include "common/program.h"
#include "lanevault/v1/lanes.grpc.pb.h"

ABSL_DECLARE_FLAG(bool, json);
ABSL_DECLARE_FLAG(std::string, out);
ABSL_DECLARE_FLAG(int, watch);

namespace lanevault::ctl {
namespace {

using ctl::Connect;
using ctl::FailRpc;
using ctl::Prepare;
using ctl::PrintJson;
using ctl::When;

// Seconds since the last frame, or "-" before the first.
std::string Age(const v1::LaneStatus& l) {
  if (l.last_frame_age_ms() < 0) return "-";
  return absl::StrFormat("%.1fs", l.last_frame_age_ms() / 1000.0);
}

void PrintLane(const v1::LaneStatus& l) {
  const auto& c = l.counters();
  std::printf(
      "%-10s %-12s %-12s %6.1f %7s %8llu %8llu %9llu %7llu %6llu  %s\n",
      l.lane_id().c_str(), l.checkpoint_id().c_str(),
      absl::AsciiStrToLower(v1::LaneState_Name(l.state()).substr(11)).c_str(),
      l.frame_rate(), Age(l).c_str(),
      static_cast<unsigned long long>(c.frames_read()),
      static_cast<unsigned long long>(c.frames_dropped()),
      static_cast<unsigned long long>(c.crossings()),
      static_cast<unsigned long long>(c.records_stored()),
      static_cast<unsigned long long>(c.records_failed()),
      l.last_error().c_str());
}

void PrintHeader() {
  std::printf("%-10s %-12s %-12s %6s %7s %8s %8s %9s %7s %6s  %s\n", "LANE",
              "CHECKPOINT", "STATE", "FPS", "LAST", "FRAMES", "DROPPED",
              "CROSSINGS", "STORED", "FAILED", "LAST ERROR");
}

// One lane's status; a read, so sent again to another replica if the one in
// use went away.
v1::LaneStatus FetchStatus(const std::string& lane_id) {
  v1::GetLaneStatusRequest req;
  req.set_lane_id(lane_id);
  v1::LaneStatus resp;
  if (auto s =
          Ask<v1::LaneService>(rpc::RetrySafety::kIdempotent,
                               [&](auto& service, grpc::ClientContext& ctx) {
                                 return service.GetLaneStatus(&ctx, req, &resp);
                               });
      !s.ok()) {
    FailRpc(s);
  }
  return resp;
}

// 'lanes status LANE --watch N': the status redrawn every N seconds.
int Watch(const std::string& lane_id, int every) {
  const bool tty = isatty(STDOUT_FILENO) != 0;
  for (;;) {
    const v1::LaneStatus resp = FetchStatus(lane_id);
    if (tty) std::printf("\033[H\033[2J");  // a redraw, not a scroll
    std::printf(
        "%s  (every %d s; Ctrl-C to stop)\n",
        absl::FormatTime("%H:%M:%S", absl::Now(), absl::UTCTimeZone()).c_str(),
        every);
    PrintHeader();
    PrintLane(resp);
    std::fflush(stdout);
    absl::SleepFor(absl::Seconds(every));
  }
}

// 'lanes snapshot LANE --out F.jpg': the masked picture, saved 0600.
int Snapshot(const std::string& lane_id) {
  const std::string out = absl::GetFlag(FLAGS_out);
  if (out.empty()) Fail("lanes snapshot needs --out FILE.jpg", 2);
  auto stub = v1::LaneService::NewStub(Connect());
  grpc::ClientContext ctx;
  Prepare(ctx);
  v1::GetSnapshotRequest req;
  req.set_lane_id(lane_id);
  v1::Snapshot resp;
  if (auto s = stub->GetSnapshot(&ctx, req, &resp); !s.ok()) FailRpc(s);
  if (absl::Status s = WriteFileAtomically(out, resp.jpeg(), 0600); !s.ok())
    Fail(s);
  std::printf(
      "lane %s: frame of %s, %d face(s) and %d plate region(s) masked, "
      "saved to %s (%zu bytes)\n",
      resp.lane_id().c_str(),
      resp.has_taken() ? When(resp.taken()).c_str() : "-", resp.faces_masked(),
      resp.plates_masked(), out.c_str(), resp.jpeg().size());
  return 0;
}

int Lanes_(const std::vector<std::string>& args) {
  if (args.size() == 3 && args[1] == "snapshot") return Snapshot(args[2]);
  if (args.size() == 3 && args[1] == "status" &&
      absl::GetFlag(FLAGS_watch) > 0) {
    return Watch(args[2], absl::GetFlag(FLAGS_watch));
  }
  std::vector<v1::LaneStatus> lanes;
  if (args.size() == 2 && args[1] == "list") {
    v1::ListLanesResponse resp;
    if (auto s =
            Ask<v1::LaneService>(rpc::RetrySafety::kIdempotent,
                                 [&](auto& service, grpc::ClientContext& ctx) {
                                   return service.ListLanes(&ctx, {}, &resp);
                                 });
        !s.ok()) {
      FailRpc(s);
    }
    if (absl::GetFlag(FLAGS_json)) {
      PrintJson(resp);
      std::printf("\n");
      return 0;
    }
    lanes.assign(resp.lanes().begin(), resp.lanes().end());
  } else if (args.size() == 3 && args[1] == "status") {
    const v1::LaneStatus resp = FetchStatus(args[2]);
    if (absl::GetFlag(FLAGS_json)) {
      PrintJson(resp);
      std::printf("\n");
      return 0;
    }
    lanes.push_back(resp);
  } else {
    Fail(
        "usage: lanevaultctl lanes list | lanes status LANE_ID [--watch N] | "
        "lanes snapshot LANE_ID --out FILE.jpg",
        2);
  }
  PrintHeader();
  for (const auto& l : lanes) PrintLane(l);
  return 0;
}

}  // namespace

int LanesCommand(const std::vector<std::string>& args) { return Lanes_(args); }

}  // namespace lanevault::ctl
