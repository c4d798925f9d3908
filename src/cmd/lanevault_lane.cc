// lanevault-lane: the capture node. Runs the lanes of its config on the
// camera host, seals each crossing to the vault's intake key the moment it
// is formed, spools it durably and sends it to the vault over mutual TLS.
// It holds no key that opens what it has sealed.

#include "capture/lane.h"

#include <signal.h>

#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "capture/frame_source.h"
#include "capture/resume_position.h"
#include "common/files.h"
#include "common/logging.h"
#include "common/permissions.h"
#include "common/program.h"
#include "common/service_notify.h"
#include "node/node_config.h"
#include "node/sealing_sink.h"
#include "node/snapshot_responder.h"
#include "node/spool.h"
#include "node/vault_sender.h"
#include "ops/health_monitor.h"
#include "ops/metrics.h"
#include "rpc/grpc_logging.h"
#include "rpc/tls.h"

ABSL_FLAG(std::string, config, LANEVAULT_CONFIG_DIR "/lanevault-lane.textproto",
          "Node config (protobuf text format).");
ABSL_FLAG(std::string, log_level, "info", "trace, debug, info, warn, error.");
ABSL_FLAG(std::string, log_format, "plain",
          "plain, or json: one object a line (ts, level, logger, msg, "
          "fields), gRPC's and FFmpeg's lines too.");
ABSL_FLAG(bool, exit_when_lanes_done, false,
          "Exit once every lane's source has ended and the spool is empty "
          "(for replays and tests). A vault that stays away keeps it waiting; "
          "SIGTERM still stops it, leaving the rest spooled.");
ABSL_FLAG(double, stop_grace_s, 5,
          "On SIGTERM: how long to go on sending spooled records before "
          "exiting (what is left stays spooled for the next start).");
ABSL_FLAG(double, status_every_s, 60,
          "Seconds between one-line status reports in the log (0: none).");

namespace lanevault {
namespace {

absl::StatusOr<node::SenderOptions> SenderOptionsFrom(
    const v1::NodeConfig& config) {
  if (absl::Status s = CheckPrivateFile(config.key()); !s.ok()) return s;
  auto creds =
      rpc::ClientTlsCredentials(config.ca_cert(), config.cert(), config.key());
  if (!creds.ok()) return creds.status();
  node::SenderOptions options;
  options.addresses = {config.vault().begin(), config.vault().end()};
  options.credentials = std::move(*creds);
  options.server_name = config.vault_server_name();
  options.in_flight = config.max_in_flight();
  options.timeout = absl::Seconds(config.submit_timeout_s());
  return options;
}

// A restart after a crash resumes each replay lane past every crossing its
// spool ever held, even when the lane's own position did not get that far
// (the crash fell between spooling a record and keeping the position).
void ResumePastSpooled(node::Spool& spool, const v1::NodeConfig& config) {
  for (const v1::LaneConfig& lane : config.lanes()) {
    absl::StatusOr<capture::SourceSpec> spec =
        capture::ParseSourceSpec(lane.source());
    if (!spec.ok() || lane.loop() ||
        (spec->kind != capture::SourceSpec::Kind::kFile &&
         spec->kind != capture::SourceSpec::Kind::kFolder)) {
      continue;
    }
    absl::StatusOr<std::string> identity = capture::SourceIdentity(*spec);
    if (!identity.ok()) continue;
    const int64_t floor = spool.Floor(lane.lane_id(), *identity);
    if (floor <= 0) continue;
    capture::ResumePosition position(config.state_dir(), lane.lane_id(),
                                     *identity);
    if (position.Load() >= floor) continue;
    if (absl::Status s = position.Save(floor); !s.ok()) {
      Fail(absl::StrCat("lane ", lane.lane_id(),
                        ": cannot keep its resume position: ", s.message()));
    }
    spdlog::info(
        "lane {}: resumes at frame {} at least: the crossings before it are "
        "spooled or sent",
        lane.lane_id(), floor);
  }
}

// Whether the lanes' loops move: a lane that is RUNNING must have read a
// frame within kStuckAfter (a live camera that stops sending frames without
// the reader noticing, a decoder that hangs), and Status() must answer (a
// lane whose lock is held forever blocks this check, and so the beat).
// Reconnecting, finished and failed lanes are states the lane reports, not
// a hung loop: health and alerts cover them.
class LaneProgress {
 public:
  bool Check(const std::vector<std::unique_ptr<capture::Lane>>& lanes) {
    const absl::Time now = absl::Now();
    bool all_moving = true;
    for (size_t i = 0; i < lanes.size(); ++i) {
      const v1::LaneStatus s = lanes[i]->Status();
      if (i >= last_frames_.size()) last_frames_.push_back({-1, now});
      auto& [frames, since] = last_frames_[i];
      const int64_t read = static_cast<int64_t>(s.counters().frames_read());
      if (read != frames || s.state() != v1::LANE_STATE_RUNNING) {
        frames = read;
        since = now;
      } else if (now - since > kStuckAfter) {
        all_moving = false;
      }
    }
    return all_moving;
  }

 private:
  static constexpr absl::Duration kStuckAfter = absl::Seconds(60);
  std::vector<std::pair<int64_t, absl::Time>> last_frames_;
};

void LogStatus(const std::vector<std::unique_ptr<capture::Lane>>& lanes,
               node::Spool& spool, const node::VaultSender& sender) {
  std::vector<std::string> parts;
  for (const auto& lane : lanes) {
    const v1::LaneStatus s = lane->Status();
    parts.push_back(absl::StrCat(
        s.lane_id(), " ", v1::LaneState_Name(s.state()).substr(11), " frames ",
        s.counters().frames_read(), " dropped ", s.counters().frames_dropped(),
        " crossings ", s.counters().crossings()));
  }
  const node::SpoolStats sp = spool.Stats();
  const node::SenderStats se = sender.Stats();
  spdlog::info(
      "status: {}; spool {} waiting ({} bytes{}){}; sent {} (+{} resent), "
      "refused {}, failed attempts {}{}",
      absl::StrJoin(parts, "; "), sp.depth, sp.bytes,
      sp.depth > 0 ? absl::StrCat(", oldest ", absl::FormatDuration(absl::Trunc(
                                                   absl::Now() - sp.oldest,
                                                   absl::Seconds(1))))
                   : "",
      sp.full ? " FULL" : "", se.sent, se.already_stored, se.refused,
      se.failures,
      se.last_error.empty() ? ""
                            : absl::StrCat(" (last: ", se.last_error, ")"));
}

void PrintSummary(const std::vector<std::unique_ptr<capture::Lane>>& lanes,
                  node::Spool& spool, const node::VaultSender& sender) {
  std::printf("\n== lanevault-lane: stopped ==\n");
  for (const auto& lane : lanes) {
    const v1::LaneStatus s = lane->Status();
    const auto& c = s.counters();
    std::printf(
        "lane %-10s %s  frames %llu (analysed %llu, dropped %llu, corrupt "
        "%llu)  crossings %llu  spooled %llu\n",
        s.lane_id().c_str(), v1::LaneState_Name(s.state()).c_str(),
        static_cast<unsigned long long>(c.frames_read()),
        static_cast<unsigned long long>(c.frames_analysed()),
        static_cast<unsigned long long>(c.frames_dropped()),
        static_cast<unsigned long long>(c.frames_corrupt()),
        static_cast<unsigned long long>(c.crossings()),
        static_cast<unsigned long long>(c.records_stored()));
    if (!s.last_error().empty()) std::printf("  %s\n", s.last_error().c_str());
  }
  const node::SpoolStats sp = spool.Stats();
  const node::SenderStats se = sender.Stats();
  std::printf(
      "vault: sent %llu, resent and already stored %llu, refused %llu; "
      "spool: %llu waiting, %llu damaged entries skipped\n",
      static_cast<unsigned long long>(se.sent),
      static_cast<unsigned long long>(se.already_stored),
      static_cast<unsigned long long>(se.refused),
      static_cast<unsigned long long>(sp.depth),
      static_cast<unsigned long long>(sp.damaged));
  std::fflush(stdout);
}

int Main(int argc, char** argv) {
  std::vector<std::string> args = InitProgram(
      argc, argv,
      "The lanevault capture node: runs the lanes of its config, seals each\n"
      "crossing to the vault's intake key, spools it durably and sends it\n"
      "to the vault over mutual TLS. It cannot open what it has sealed.\n\n"
      "  lanevault-lane --config FILE\n\n"
      "Signals: SIGTERM/SIGINT stop the lanes (a replay lane's open crossing\n"
      "is read again at the next start), send what is spooled for up to\n"
      "--stop_grace_s and exit, leaving the rest spooled. SIGHUP re-reads the\n"
      "config's vault addresses and TLS files (lane changes need a restart).");
  if (!args.empty()) Fail("takes no positional arguments (see --help)", 2);
  InitLogging("lanevault-lane", absl::GetFlag(FLAGS_log_level),
              absl::GetFlag(FLAGS_log_format));
  rpc::RouteGrpcLogs();
  RouteFfmpegLogs();
  // Formed records are plaintext until sealed.
  ProtectProcessMemory("crossings");
  // Signals are taken by one thread with sigwait, so every other thread
  // (gRPC's, the lanes') runs with them blocked; blocked from the start, a
  // SIGHUP or SIGTERM during a slow start waits instead of killing.
  sigset_t signals = BlockStopSignals();
  const std::string config_path = absl::GetFlag(FLAGS_config);
  absl::StatusOr<v1::NodeConfig> config = node::LoadNodeConfig(config_path);
  if (!config.ok()) Fail(config.status(), 2);
  absl::StatusOr<std::string> intake_key =
      node::ParseIntakePublicKey(config->intake_public_key());
  if (!intake_key.ok()) {
    Fail(absl::StrCat(config_path, ": ", intake_key.status().message()), 2);
  }
  absl::StatusOr<node::SenderOptions> sender_options =
      SenderOptionsFrom(*config);
  if (!sender_options.ok()) Fail(sender_options.status(), 2);
  for (const auto& [dir, what] :
       {std::pair{config->spool().dir(), "spool.dir"},
        std::pair{config->state_dir(), "state_dir"}}) {
    if (absl::Status s = CheckStateDirectory(dir, what); !s.ok()) Fail(s);
  }

  node::SpoolLimits limits;
  limits.max_records = config->spool().max_records();
  limits.max_bytes = config->spool().max_bytes();
  auto spool = node::Spool::Open(config->spool().dir(), limits);
  if (!spool.ok()) Fail(spool.status());
  if (absl::Status s = MakeDirectories(config->state_dir()); !s.ok()) Fail(s);
  ResumePastSpooled(**spool, *config);

  node::SealingSink sink(*intake_key, spool->get());
  capture::LaneOptions lane_options;
  lane_options.state_dir = config->state_dir();
  if (absl::GetFlag(FLAGS_exit_when_lanes_done)) {
    lane_options.wait_for_missing_source = absl::ZeroDuration();
  }
  std::vector<std::unique_ptr<capture::Lane>> lanes;
  for (const v1::LaneConfig& lc : config->lanes()) {
    auto lane = capture::Lane::Create(lc, &sink, lane_options);
    if (!lane.ok()) Fail(lane.status(), 2);
    lanes.push_back(std::move(*lane));
  }
  // Operators' snapshot requests go over a connection of their own.
  const node::SenderOptions snapshot_options = *sender_options;
  node::VaultSender sender(spool->get(), std::move(*sender_options));
  sender.Start();
  spdlog::info("capture node up: {} lane(s), vault {}, spool {} ({} waiting)",
               lanes.size(), absl::StrJoin(config->vault(), ", "),
               config->spool().dir(), (*spool)->Stats().depth);
  for (auto& lane : lanes) lane->Start();
  // Each lane answers operators' snapshot requests with a frame it masked
  // itself (capture/snapshot_mask.h): no unmasked frame leaves the node.
  std::vector<node::SnapshotLane> snapshot_lanes;
  for (auto& lane : lanes) {
    snapshot_lanes.push_back({lane->id(), lane->Status().checkpoint_id(),
                              [l = lane.get()] { return l->Snapshot(); }});
  }
  node::SnapshotResponder snapshots(snapshot_options,
                                    std::move(snapshot_lanes));
  ServiceNotifier notifier;
  notifier.Ready(absl::StrCat(lanes.size(), " lane(s), vault ",
                              absl::StrJoin(config->vault(), ", ")));

  // Metrics and health (src/ops), read at each scrape: the lanes' counters,
  // the spool and the sender; each lane's health under its own name, the
  // node's ("") down while the spool is full (crossings are then lost).
  std::unique_ptr<ops::Metrics> metrics =
      ops::ServeMetrics(config->metrics_listen(), "127.0.0.1:9465");
  std::unique_ptr<ops::HealthMonitor> health;
  if (metrics != nullptr) {
    auto lane_status = [&lanes] {
      std::vector<v1::LaneStatus> out;
      for (const auto& lane : lanes) out.push_back(lane->Status());
      return out;
    };
    ops::HealthProbes probes;
    auto spool_room = [&spool]() -> absl::Status {
      if (!(*spool)->Stats().full) return absl::OkStatus();
      return absl::ResourceExhaustedError("full: new crossings are not kept");
    };
    probes.conditions = {{"spool", spool_room}};
    probes.lanes = lane_status;
    health = std::make_unique<ops::HealthMonitor>(
        std::move(probes), std::vector<std::string>{},
        [m = metrics.get()](const std::string& name, bool serving) {
          m->SetHealth(name, serving);
        });
    metrics->SetRefresh([&, lane_status] {
      metrics->UpdateLanes(lane_status(), absl::Now());
      const node::SpoolStats sp = (*spool)->Stats();
      const node::SenderStats se = sender.Stats();
      ops::SpoolFacts facts;
      facts.depth = sp.depth;
      facts.bytes = sp.bytes;
      facts.full = sp.full;
      if (sp.depth > 0) facts.oldest_age = absl::Now() - sp.oldest;
      facts.sent = se.sent;
      facts.already_stored = se.already_stored;
      facts.refused = se.refused;
      facts.failed_attempts = se.failures;
      metrics->UpdateSpool(facts);
      health->Check();
    });
  }

  absl::Notification stopping;
  // The watchdog's beat: every lane answers and none is stuck (see
  // LaneProgress); a lane waiting for its camera is not stuck.
  std::thread heartbeat([&] {
    LaneProgress progress;
    while (!stopping.WaitForNotificationWithTimeout(absl::Seconds(1))) {
      if (progress.Check(lanes)) notifier.Beat();
    }
  });
  std::thread reporter([&] {
    const double every = absl::GetFlag(FLAGS_status_every_s);
    if (every <= 0) return;
    while (!stopping.WaitForNotificationWithTimeout(absl::Seconds(every))) {
      LogStatus(lanes, **spool, sender);
    }
  });
  // The only thread that waits for the lanes (a lane is waited for once).
  std::thread finisher([&] {
    for (auto& lane : lanes) lane->Wait();
    if (!absl::GetFlag(FLAGS_exit_when_lanes_done)) return;
    spdlog::info("lanes done; sending what is spooled ({} waiting)",
                 (*spool)->Stats().depth);
    while (!stopping.HasBeenNotified() &&
           !sender.WaitUntilDrained(absl::Seconds(1))) {
    }
    if (!stopping.HasBeenNotified()) kill(getpid(), SIGTERM);
  });

  int signal_number = 0;
  while (sigwait(&signals, &signal_number) == 0 && signal_number == SIGHUP) {
    auto reloaded = node::LoadNodeConfig(config_path);
    auto next = reloaded.ok()
                    ? SenderOptionsFrom(*reloaded)
                    : absl::StatusOr<node::SenderOptions>(reloaded.status());
    if (!next.ok()) {
      spdlog::error("SIGHUP: config not reloaded, the old stays: {}",
                    next.status().message());
      continue;
    }
    sender.Reconfigure(std::move(*next));
    spdlog::info(
        "SIGHUP: vault addresses and TLS files reloaded ({}); lane changes "
        "take effect at the next start",
        absl::StrJoin(reloaded->vault(), ", "));
  }
  spdlog::info("signal {}: stopping lanes, then sending what is spooled",
               signal_number);
  notifier.Stopping("stopping lanes, sending what is spooled");
  snapshots.Stop();
  for (auto& lane : lanes) lane->Stop();
  stopping.Notify();
  heartbeat.join();
  finisher.join();  // the lanes are done: their last crossings are spooled
  sender.Stop(absl::Seconds(absl::GetFlag(FLAGS_stop_grace_s)));
  reporter.join();
  PrintSummary(lanes, **spool, sender);
  const uint64_t left = (*spool)->Stats().depth;
  if (left > 0) {
    spdlog::warn("{} record(s) stay spooled in {} for the next start", left,
                 config->spool().dir());
  }
  spdlog::info("stopped");
  return 0;
}

}  // namespace
}  // namespace lanevault

int main(int argc, char** argv) { return lanevault::Main(argc, argv); }
