#include "ops/metrics.h"

#include <exception>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/time_util.h"
#include "google/protobuf/descriptor.h"
#include "prometheus/text_serializer.h"

namespace lanevault::ops {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

prometheus::Histogram::BucketBoundaries RpcBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
          0.1,    0.25,  0.5,    1.0,   2.5,  5.0,   10.0};
}

constexpr absl::string_view kOther = "other";

}  // namespace

std::unique_ptr<Metrics> ServeMetrics(absl::string_view configured,
                                      absl::string_view default_listen) {
  if (configured == "off") {
    spdlog::info("metrics: off");
    return nullptr;
  }
  const std::string listen =
      std::string(configured.empty() ? default_listen : configured);
  absl::StatusOr<std::unique_ptr<Metrics>> metrics = Metrics::Serve(listen);
  if (!metrics.ok()) {
    spdlog::error("{}; running without metrics", metrics.status().message());
    return nullptr;
  }
  spdlog::info("metrics: http://{}/metrics (port {})", listen,
               (*metrics)->port());
  return std::move(*metrics);
}

// The registry, refreshed first: a scrape sees counters as of its own time
// without a thread copying them in the background.
class Metrics::Refreshing : public prometheus::Collectable {
 public:
  explicit Refreshing(std::shared_ptr<prometheus::Registry> registry)
      : registry_(std::move(registry)) {}
  void Set(std::function<void()> refresh) {
    absl::MutexLock lock(&mu_);
    refresh_ = std::move(refresh);
  }
  std::vector<prometheus::MetricFamily> Collect() const override {
    {
      // One refresh at a time: two scrapes at once would both copy deltas.
      absl::MutexLock lock(&mu_);
      if (refresh_) refresh_();
    }
    return registry_->Collect();
  }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  mutable absl::Mutex mu_;
  std::function<void()> refresh_ ABSL_GUARDED_BY(mu_);
};

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      collectable_(std::make_shared<Refreshing>(registry_)),
      frames_read_(BuildCounter()
                       .Name("lanevault_lane_frames_read_total")
                       .Help("Frames read from the lane's source")
                       .Register(*registry_)),
      frames_analysed_(BuildCounter()
                           .Name("lanevault_lane_frames_analysed_total")
                           .Help("Frames that passed the motion gate and "
                                 "were searched for plates and faces")
                           .Register(*registry_)),
      frames_dropped_(BuildCounter()
                          .Name("lanevault_lane_frames_dropped_total")
                          .Help("Frames dropped before detection (overload)")
                          .Register(*registry_)),
      frames_corrupt_(BuildCounter()
                          .Name("lanevault_lane_frames_corrupt_total")
                          .Help("Unreadable frames, skipped")
                          .Register(*registry_)),
      plate_detections_(BuildCounter()
                            .Name("lanevault_lane_plate_detections_total")
                            .Help("Plates detected")
                            .Register(*registry_)),
      face_detections_(BuildCounter()
                           .Name("lanevault_lane_face_detections_total")
                           .Help("Faces detected")
                           .Register(*registry_)),
      crossings_(BuildCounter()
                     .Name("lanevault_lane_crossings_total")
                     .Help("Crossings formed into records")
                     .Register(*registry_)),
      lane_records_stored_(
          BuildCounter()
              .Name("lanevault_lane_records_stored_total")
              .Help("The lane's records acknowledged (by the vault; on a "
                    "capture node, spooled)")
              .Register(*registry_)),
      lane_records_failed_(BuildCounter()
                               .Name("lanevault_lane_records_failed_total")
                               .Help("The lane's records refused")
                               .Register(*registry_)),
      source_outages_(BuildCounter()
                          .Name("lanevault_lane_source_outages_total")
                          .Help("Times the lane's source was lost")
                          .Register(*registry_)),
      records_pending_(BuildGauge()
                           .Name("lanevault_lane_records_pending")
                           .Help("Records formed, not yet acknowledged")
                           .Register(*registry_)),
      last_frame_age_(BuildGauge()
                          .Name("lanevault_lane_last_frame_age_seconds")
                          .Help("Seconds since the lane's last frame (-1: "
                                "none yet)")
                          .Register(*registry_)),
      lane_running_(BuildGauge()
                        .Name("lanevault_lane_running")
                        .Help("1 while the lane reads its source")
                        .Register(*registry_)),
      spool_depth_(BuildGauge()
                       .Name("lanevault_spool_records")
                       .Help("Sealed records spooled, waiting for the vault")
                       .Register(*registry_)),
      spool_bytes_(BuildGauge()
                       .Name("lanevault_spool_bytes")
                       .Help("Bytes spooled")
                       .Register(*registry_)),
      spool_oldest_age_(BuildGauge()
                            .Name("lanevault_spool_oldest_age_seconds")
                            .Help("Age of the oldest spooled record (0: "
                                  "empty)")
                            .Register(*registry_)),
      spool_full_(BuildGauge()
                      .Name("lanevault_spool_full")
                      .Help("1 while the spool is at its limit")
                      .Register(*registry_)),
      sender_(BuildCounter()
                  .Name("lanevault_sender_submissions_total")
                  .Help("The node's submissions to the vault, by outcome")
                  .Register(*registry_)),
      decisions_(BuildCounter()
                     .Name("lanevault_decisions_total")
                     .Help("Access-log decisions by action, verdict and rule")
                     .Register(*registry_)),
      records_stored_(BuildCounter()
                          .Name("lanevault_records_stored_total")
                          .Help("Records the vault committed (intake allowed)")
                          .Register(*registry_)),
      records_refused_(BuildCounter()
                           .Name("lanevault_records_refused_total")
                           .Help("Submissions the vault refused")
                           .Register(*registry_)),
      quota_refusals_(BuildCounter()
                          .Name("lanevault_quota_refusals_total")
                          .Help("Calls refused for a quota")
                          .Register(*registry_)),
      lockouts_(BuildCounter()
                    .Name("lanevault_lockouts_total")
                    .Help("Principals locked out (and calls refused for a "
                          "lockout)")
                    .Register(*registry_)),
      lockouts_in_force_(BuildGauge()
                             .Name("lanevault_lockouts_in_force")
                             .Help("Principals locked out now")
                             .Register(*registry_)),
      open_alerts_(BuildGauge()
                       .Name("lanevault_alerts_open")
                       .Help("Unacknowledged alerts by kind")
                       .Register(*registry_)),
      items_overdue_(BuildGauge()
                         .Name("lanevault_items_overdue")
                         .Help("Items past their deadline, not on hold, not "
                               "yet purged, by category")
                         .Register(*registry_)),
      purge_lag_(BuildGauge()
                     .Name("lanevault_purge_lag_seconds")
                     .Help("How long the oldest overdue item has waited")
                     .Register(*registry_)),
      log_entries_(BuildGauge()
                       .Name("lanevault_access_log_entries")
                       .Help("Entries in the access log")
                       .Register(*registry_)),
      database_bytes_(BuildGauge()
                          .Name("lanevault_database_bytes")
                          .Help("Size of the vault's database file")
                          .Register(*registry_)),
      health_(BuildGauge()
                  .Name("lanevault_health_serving")
                  .Help("1 while grpc.health.v1 answers SERVING for the "
                        "name (\"\": the daemon)")
                  .Register(*registry_)),
      rpc_seconds_(BuildHistogram()
                       .Name("lanevault_rpc_duration_seconds")
                       .Help("Server-side time of each RPC, by method")
                       .Register(*registry_)) {}

Metrics::~Metrics() {
  // The endpoint stops first: no scrape runs the refresh while the rest of
  // this object (and what the refresh reads) goes away.
  exposer_.reset();
}

absl::StatusOr<std::unique_ptr<Metrics>> Metrics::Serve(
    const std::string& listen) {
  auto metrics = std::make_unique<Metrics>();
  try {
    metrics->exposer_ = std::make_unique<prometheus::Exposer>(listen, 1);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("metrics: cannot listen on ", listen, ": ", e.what()));
  }
  metrics->exposer_->RegisterCollectable(metrics->collectable_);
  const std::vector<int> ports = metrics->exposer_->GetListeningPorts();
  metrics->port_ = ports.empty() ? 0 : ports.front();
  return metrics;
}

void Metrics::SetRefresh(std::function<void()> refresh) {
  collectable_->Set(std::move(refresh));
}

std::string Metrics::Text() const {
  return prometheus::TextSerializer().Serialize(collectable_->Collect());
}

void Metrics::AllowMethods(const std::vector<std::string>& full_names) {
  absl::MutexLock lock(&mu_);
  for (const std::string& name : full_names) methods_.insert(name);
}

void Metrics::AllowServices(const std::vector<std::string>& services) {
  std::vector<std::string> methods;
  for (const std::string& name : services) {
    const google::protobuf::ServiceDescriptor* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
            name);
    if (service == nullptr) continue;
    for (int i = 0; i < service->method_count(); ++i) {
      methods.push_back(
          absl::StrCat("/", name, "/", service->method(i)->name()));
    }
  }
  AllowMethods(methods);
}

void Metrics::ObserveRpc(absl::string_view method, absl::string_view code,
                         double seconds) {
  std::string name;
  {
    absl::MutexLock lock(&mu_);
    name =
        methods_.contains(method) ? std::string(method) : std::string(kOther);
  }
  rpc_seconds_
      .Add({{"method", std::move(name)}, {"code", std::string(code)}},
           RpcBuckets())
      .Observe(seconds);
}

void Metrics::AdvanceCounter(prometheus::Family<prometheus::Counter>& family,
                             const prometheus::Labels& labels, uint64_t value) {
  prometheus::Counter& counter = family.Add(labels);
  uint64_t& last = last_[&counter];
  // A smaller value: the source started again from 0 (a lane restarted).
  const uint64_t delta = value >= last ? value - last : value;
  last = value;
  if (delta > 0) counter.Increment(static_cast<double>(delta));
}

void Metrics::UpdateLanes(const std::vector<v1::LaneStatus>& lanes,
                          absl::Time now) {
  absl::MutexLock lock(&mu_);
  for (const v1::LaneStatus& lane : lanes) {
    const prometheus::Labels labels = {{"lane", lane.lane_id()}};
    const v1::LaneCounters& c = lane.counters();
    AdvanceCounter(frames_read_, labels, c.frames_read());
    AdvanceCounter(frames_analysed_, labels, c.frames_analysed());
    AdvanceCounter(frames_dropped_, labels, c.frames_dropped());
    AdvanceCounter(frames_corrupt_, labels, c.frames_corrupt());
    AdvanceCounter(plate_detections_, labels, c.plate_detections());
    AdvanceCounter(face_detections_, labels, c.face_detections());
    AdvanceCounter(crossings_, labels, c.crossings());
    AdvanceCounter(lane_records_stored_, labels, c.records_stored());
    AdvanceCounter(lane_records_failed_, labels, c.records_failed());
    AdvanceCounter(source_outages_, labels, c.source_outages());
    records_pending_.Add(labels).Set(static_cast<double>(c.records_pending()));
    last_frame_age_.Add(labels).Set(
        lane.has_last_frame()
            ? absl::ToDoubleSeconds(now - FromProto(lane.last_frame()))
            : -1.0);
    lane_running_.Add(labels).Set(lane.state() == v1::LANE_STATE_RUNNING ? 1.0
                                                                         : 0.0);
  }
}

void Metrics::UpdateSpool(const SpoolFacts& spool) {
  absl::MutexLock lock(&mu_);
  spool_depth_.Add({}).Set(static_cast<double>(spool.depth));
  spool_bytes_.Add({}).Set(static_cast<double>(spool.bytes));
  spool_oldest_age_.Add({}).Set(absl::ToDoubleSeconds(spool.oldest_age));
  spool_full_.Add({}).Set(spool.full ? 1.0 : 0.0);
  AdvanceCounter(sender_, {{"outcome", "sent"}}, spool.sent);
  AdvanceCounter(sender_, {{"outcome", "already_stored"}},
                 spool.already_stored);
  AdvanceCounter(sender_, {{"outcome", "refused"}}, spool.refused);
  AdvanceCounter(sender_, {{"outcome", "failed_attempt"}},
                 spool.failed_attempts);
}

void Metrics::UpdateVault(const VaultFacts& vault) {
  absl::MutexLock lock(&mu_);
  log_entries_.Add({}).Set(static_cast<double>(vault.log_entries));
  database_bytes_.Add({}).Set(static_cast<double>(vault.database_bytes));
  lockouts_in_force_.Add({}).Set(static_cast<double>(vault.lockouts_in_force));
  purge_lag_.Add({}).Set(absl::ToDoubleSeconds(vault.purge_lag));
  // A kind no alert is open for any more reads 0, not its last count.
  for (prometheus::Gauge* g : alert_gauges_) g->Set(0);
  for (const auto& [kind, n] : vault.open_alerts_by_kind) {
    prometheus::Gauge& g = open_alerts_.Add({{"kind", kind}});
    g.Set(static_cast<double>(n));
    alert_gauges_.insert(&g);
  }
  for (prometheus::Gauge* g : overdue_gauges_) g->Set(0);
  for (const auto& [category, n] : vault.overdue_by_category) {
    prometheus::Gauge& g = items_overdue_.Add({{"category", category}});
    g.Set(static_cast<double>(n));
    overdue_gauges_.insert(&g);
  }
}

void Metrics::CountDecision(const DecisionFacts& d) {
  if (d.rules.empty()) {
    decisions_.Add({{"action", d.action}, {"verdict", d.verdict}, {"rule", ""}})
        .Increment();
  }
  for (const std::string& rule : d.rules) {
    decisions_
        .Add({{"action", d.action}, {"verdict", d.verdict}, {"rule", rule}})
        .Increment();
  }
  if (d.action == "INTAKE") {
    (d.verdict == "ALLOW" ? records_stored_ : records_refused_)
        .Add({})
        .Increment();
  }
  if (d.reason_code == "quota") quota_refusals_.Add({}).Increment();
  if (d.reason_code == "locked_out") lockouts_.Add({}).Increment();
}

void Metrics::SetHealth(const std::string& name, bool serving) {
  health_.Add({{"service", name}}).Set(serving ? 1.0 : 0.0);
}

}  // namespace lanevault::ops
