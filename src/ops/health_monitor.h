#ifndef LANEVAULT_OPS_HEALTH_MONITOR_H_
#define LANEVAULT_OPS_HEALTH_MONITOR_H_

// What grpc.health.v1 should answer, worked out from the facts themselves:
// the daemon ("") and each of its services are SERVING only while every
// daemon-level condition holds (the vault is undamaged and its last write
// committed, the disk under it has room, ...); each lane has a name of its
// own, "lanevault.lane/<lane_id>", SERVING only while the lane runs and has
// read a frame within the silence bound.
//
// A lane that is down does not make "" NOT_SERVING: the daemon still
// stores what its other lanes and capture nodes send and still answers
// reads, and a load balancer or systemd that took "" as the daemon's life
// would stop all of that for one camera. The lane's own name says it.
//
// Each change is logged once, with its reason (a warning going down, info
// coming back), and the reasons are kept for Reasons(). Thread-safe.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "lanevault/v1/lanes.pb.h"

namespace lanevault::ops {

// The health name of a lane: "lanevault.lane/<lane_id>".
std::string LaneHealthName(absl::string_view lane_id);
// The full names of the services lanevaultd serves once unsealed
// ("lanevault.v1.EvidenceService", ...).
std::vector<std::string> DaemonServiceNames();

struct HealthProbes {
  // Daemon-level conditions, each OK or why not (e.g. Vault::Health,
  // Vault::WriteHealth), by a short name that prefixes the reason.
  std::vector<std::pair<std::string, std::function<absl::Status()>>> conditions;
  // The file system holding the daemon's data (statvfs); empty: not
  // checked. Below `min_free_bytes` free to an unprivileged writer the
  // daemon is NOT_SERVING: SQLite and the spool fail in odd places on a
  // full disk, better to say so before.
  std::string disk_path;
  uint64_t min_free_bytes = 0;
  // The lanes to watch; unset: none.
  std::function<std::vector<v1::LaneStatus>()> lanes;
  // A running lane that has read no frame for this long is silent.
  absl::Duration lane_silence = absl::Seconds(30);
  Clock* clock = RealClock();
};

class HealthMonitor {
 public:
  // Where each answer goes (ApiServer::SetServing, a metric): called for
  // every name at the first Check and on each change after.
  using SetFn = std::function<void(const std::string& name, bool serving)>;
  HealthMonitor(HealthProbes probes, std::vector<std::string> services,
                SetFn set);
  HealthMonitor(const HealthMonitor&) = delete;
  HealthMonitor& operator=(const HealthMonitor&) = delete;

  // Looks at every condition and lane now and passes on what changed.
  void Check();
  // Every name with why it is NOT_SERVING ("" when SERVING), as of the last
  // Check.
  std::map<std::string, std::string> Reasons() const;
  bool Serving(const std::string& name) const;

 private:
  std::string DaemonReason();
  std::string LaneReason(const v1::LaneStatus& lane, absl::Time now) const;
  void Apply(const std::string& name, const std::string& reason)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const HealthProbes probes_;
  const std::vector<std::string> services_;
  const SetFn set_;
  mutable absl::Mutex mu_;
  std::map<std::string, std::string> reasons_ ABSL_GUARDED_BY(mu_);
};

}  // namespace lanevault::ops

#endif  // LANEVAULT_OPS_HEALTH_MONITOR_H_
