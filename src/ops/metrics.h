#ifndef LANEVAULT_OPS_METRICS_H_
#define LANEVAULT_OPS_METRICS_H_

// Every Prometheus series either daemon exposes, defined in one place, and
// the HTTP endpoint that serves them (prometheus-cpp's exposer).
//
// Nothing below this module counts into Prometheus: lanes, spool, sender and
// vault keep their own counters and this class copies them in when a scrape
// comes (the refresh hook), so no lower module links prometheus-cpp. The
// only event counted as it happens is an RPC's latency (rpc_timer.h).
//
// Labels carry lane ids, gRPC method names, verdicts, action names, rule
// ids, alert kinds and data categories: never plate text, principal names,
// record or item ids. Thread-safe.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lanevault/v1/lanes.pb.h"
#include "prometheus/counter.h"
#include "prometheus/exposer.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace lanevault::ops {

// A capture node's spool and sender, as node/ reports them (copied here so
// that this module need not see node/).
struct SpoolFacts {
  uint64_t depth = 0;
  uint64_t bytes = 0;
  absl::Duration oldest_age = absl::ZeroDuration();  // 0 when empty
  bool full = false;
  uint64_t sent = 0;
  uint64_t already_stored = 0;
  uint64_t refused = 0;
  uint64_t failed_attempts = 0;
};

// What the vault knows about itself (vault_collector.h fills it).
struct VaultFacts {
  uint64_t log_entries = 0;
  std::map<std::string, uint64_t> open_alerts_by_kind;
  uint64_t lockouts_in_force = 0;
  std::map<std::string, uint64_t> overdue_by_category;
  absl::Duration purge_lag = absl::ZeroDuration();
  uint64_t database_bytes = 0;
};

// One access-log decision, as counted (no principal, no record).
struct DecisionFacts {
  std::string action;   // "GET_RECORD", "INTAKE", ...
  std::string verdict;  // "ALLOW", "DENY", ...
  std::vector<std::string> rules;
  std::string reason_code;
};

class Metrics {
 public:
  // The registry alone, with no endpoint (benchmarks' "off" is no Metrics at
  // all; this is for tests that read Text()).
  Metrics();
  // The registry and an HTTP endpoint on `listen` ("127.0.0.1:9464"; port 0
  // picks one, see port()). UNAVAILABLE when it cannot bind.
  static absl::StatusOr<std::unique_ptr<Metrics>> Serve(
      const std::string& listen);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // The port the endpoint listens on; 0 without one.
  int port() const { return port_; }
  // Called at the start of every scrape, before the series are read: the
  // daemon copies its lanes', spool's and vault's counters in here. Set it
  // once, before the first scrape.
  void SetRefresh(std::function<void()> refresh);
  // The exposition text, as a scrape would get it (refresh included).
  std::string Text() const;

  // gRPC methods whose latency gets its own series; any other name is
  // counted as "other", so a caller cannot grow the label set.
  void AllowMethods(const std::vector<std::string>& full_names);
  // Adds every method of these services (full names, "lanevault.v1.X").
  void AllowServices(const std::vector<std::string>& services);
  void ObserveRpc(absl::string_view method, absl::string_view code,
                  double seconds);

  // Copies lane counters in (monotonic counters advance by the difference
  // from the last copy; a lane that restarted counts from 0 again).
  void UpdateLanes(const std::vector<v1::LaneStatus>& lanes, absl::Time now);
  void UpdateSpool(const SpoolFacts& spool);
  void UpdateVault(const VaultFacts& vault);
  void CountDecision(const DecisionFacts& decision);
  // 1 while the service (or lane, or "") answers SERVING.
  void SetHealth(const std::string& name, bool serving);

 private:
  class Refreshing;
  void AdvanceCounter(prometheus::Family<prometheus::Counter>& family,
                      const prometheus::Labels& labels, uint64_t value)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<Refreshing> collectable_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_ = 0;

  mutable absl::Mutex mu_;
  absl::flat_hash_set<std::string> methods_ ABSL_GUARDED_BY(mu_);
  // Last absolute value copied, by series.
  std::map<const prometheus::Counter*, uint64_t> last_ ABSL_GUARDED_BY(mu_);
  // Gauges with a kind label that may drop to nothing: zeroed first.
  absl::flat_hash_set<prometheus::Gauge*> alert_gauges_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<prometheus::Gauge*> overdue_gauges_ ABSL_GUARDED_BY(mu_);

  // Lanes.
  prometheus::Family<prometheus::Counter>& frames_read_;
  prometheus::Family<prometheus::Counter>& frames_analysed_;
  prometheus::Family<prometheus::Counter>& frames_dropped_;
  prometheus::Family<prometheus::Counter>& frames_corrupt_;
  prometheus::Family<prometheus::Counter>& plate_detections_;
  prometheus::Family<prometheus::Counter>& face_detections_;
  prometheus::Family<prometheus::Counter>& crossings_;
  prometheus::Family<prometheus::Counter>& lane_records_stored_;
  prometheus::Family<prometheus::Counter>& lane_records_failed_;
  prometheus::Family<prometheus::Counter>& source_outages_;
  prometheus::Family<prometheus::Gauge>& records_pending_;
  prometheus::Family<prometheus::Gauge>& last_frame_age_;
  prometheus::Family<prometheus::Gauge>& lane_running_;
  // Capture node.
  prometheus::Family<prometheus::Gauge>& spool_depth_;
  prometheus::Family<prometheus::Gauge>& spool_bytes_;
  prometheus::Family<prometheus::Gauge>& spool_oldest_age_;
  prometheus::Family<prometheus::Gauge>& spool_full_;
  prometheus::Family<prometheus::Counter>& sender_;
  // Vault.
  prometheus::Family<prometheus::Counter>& decisions_;
  prometheus::Family<prometheus::Counter>& records_stored_;
  prometheus::Family<prometheus::Counter>& records_refused_;
  prometheus::Family<prometheus::Counter>& quota_refusals_;
  prometheus::Family<prometheus::Counter>& lockouts_;
  prometheus::Family<prometheus::Gauge>& lockouts_in_force_;
  prometheus::Family<prometheus::Gauge>& open_alerts_;
  prometheus::Family<prometheus::Gauge>& items_overdue_;
  prometheus::Family<prometheus::Gauge>& purge_lag_;
  prometheus::Family<prometheus::Gauge>& log_entries_;
  prometheus::Family<prometheus::Gauge>& database_bytes_;
  // Both.
  prometheus::Family<prometheus::Gauge>& health_;
  prometheus::Family<prometheus::Histogram>& rpc_seconds_;
};

// A daemon's endpoint from its config: `configured` empty takes
// `default_listen`, "off" none (null). An address that cannot be bound is
// logged as an error and gives null too: the daemon's work does not stop
// for its monitoring (a scrape that fails is how monitoring notices).
std::unique_ptr<Metrics> ServeMetrics(absl::string_view configured,
                                      absl::string_view default_listen);

}  // namespace lanevault::ops

#endif  // LANEVAULT_OPS_METRICS_H_
