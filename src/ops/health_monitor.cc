#include "ops/health_monitor.h"

#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/time_util.h"

namespace lanevault::ops {

std::string LaneHealthName(absl::string_view lane_id) {
  return absl::StrCat("lanevault.lane/", lane_id);
}

std::vector<std::string> DaemonServiceNames() {
  // As grpc names them (package.Service); UnsealService is the sealed
  // server's alone.
  return {"lanevault.v1.EvidenceService", "lanevault.v1.LaneService",
          "lanevault.v1.AuditService", "lanevault.v1.ComplianceService",
          "lanevault.v1.ApprovalService"};
}

HealthMonitor::HealthMonitor(HealthProbes probes,
                             std::vector<std::string> services, SetFn set)
    : probes_(std::move(probes)),
      services_(std::move(services)),
      set_(std::move(set)) {}

std::string HealthMonitor::DaemonReason() {
  for (const auto& [name, probe] : probes_.conditions) {
    if (absl::Status s = probe(); !s.ok()) {
      return absl::StrCat(name, ": ", s.message());
    }
  }
  if (!probes_.disk_path.empty()) {
    struct statvfs fs;
    if (statvfs(probes_.disk_path.c_str(), &fs) != 0) {
      return absl::StrCat("disk: cannot look at ", probes_.disk_path, ": ",
                          std::strerror(errno));
    }
    const uint64_t free_bytes =
        static_cast<uint64_t>(fs.f_bavail) * static_cast<uint64_t>(fs.f_frsize);
    if (free_bytes < probes_.min_free_bytes) {
      // The threshold, not the amount: the reason (and its log line)
      // changes once, not with every write.
      return absl::StrCat("disk: less than ",
                          probes_.min_free_bytes / (1024 * 1024),
                          " MiB free under ", probes_.disk_path);
    }
  }
  return "";
}

std::string HealthMonitor::LaneReason(const v1::LaneStatus& lane,
                                      absl::Time now) const {
  const std::string error =
      lane.last_error().empty() ? "" : absl::StrCat(": ", lane.last_error());
  switch (lane.state()) {
    case v1::LANE_STATE_RUNNING:
      break;
    case v1::LANE_STATE_STARTING:
      return "starting";
    case v1::LANE_STATE_RECONNECTING:
      return absl::StrCat("reconnecting to its source", error);
    case v1::LANE_STATE_FINISHED:
      return absl::StrCat("its source ended", error);
    case v1::LANE_STATE_FAILED:
      return absl::StrCat("failed", error);
    default:
      return "in no known state";
  }
  if (lane.has_last_frame() &&
      now - FromProto(lane.last_frame()) > probes_.lane_silence) {
    // The bound, not the age: the reason changes (and is logged) once.
    return absl::StrCat("silent: no frame for over ",
                        absl::FormatDuration(probes_.lane_silence));
  }
  return "";
}

void HealthMonitor::Check() {
  const std::string daemon = DaemonReason();
  std::vector<v1::LaneStatus> lanes;
  if (probes_.lanes) lanes = probes_.lanes();
  const absl::Time now = probes_.clock->Now();
  absl::MutexLock lock(&mu_);
  Apply("", daemon);
  for (const std::string& service : services_) Apply(service, daemon);
  for (const v1::LaneStatus& lane : lanes) {
    Apply(LaneHealthName(lane.lane_id()), LaneReason(lane, now));
  }
}

void HealthMonitor::Apply(const std::string& name, const std::string& reason) {
  auto it = reasons_.find(name);
  const bool first = it == reasons_.end();
  if (!first && it->second == reason) return;
  const bool was_serving = first || it->second.empty();
  reasons_[name] = reason;
  const std::string shown = name.empty() ? "\"\"" : name;
  if (first || was_serving != reason.empty()) set_(name, reason.empty());
  if (!reason.empty()) {
    spdlog::warn("health: {} NOT_SERVING: {}", shown, reason);
  } else if (!first) {
    spdlog::info("health: {} SERVING again", shown);
  }
}

std::map<std::string, std::string> HealthMonitor::Reasons() const {
  absl::MutexLock lock(&mu_);
  return reasons_;
}

bool HealthMonitor::Serving(const std::string& name) const {
  absl::MutexLock lock(&mu_);
  auto it = reasons_.find(name);
  return it != reasons_.end() && it->second.empty();
}

}  // namespace lanevault::ops
