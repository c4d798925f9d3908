// api_bench: single-record reads over mutual TLS on loopback, as an
// inspector makes them, and the cost of a new connection.
//
//   api_bench [--concurrency 16] [--seconds 10] [--records 500] [--rounds 3]
//             [--phases raw,lanevault,unmarked]
//
// The server runs in this process on the same 2 cores as the client: a
// real vault file, the dev PKI (deploy/pki/make-dev-pki.sh), the built-in
// policy, every read passing the gate and logged (a durable commit each).
// Each record holds its plate text and a rendered 250x50 JPEG plate crop.
// 1. Reads/s and p50/p99 latency with `concurrency` callers (4 channels),
//    `rounds` times interleaved, ratio to the baseline first:
//      baseline   a minimal gRPC server on the same TLS settings and
//                 certificates that appends one access-log-sized row per
//                 read to SQLite with the vault's group commit and returns
//                 the bytes of a real read (bench/raw_read_server.h);
//      lanevault  the real server as deployed (gate, policy, decryption,
//                 the access log, every returned crop watermarked);
//      unmarked   the real server on the same vault without the watermark,
//                 so lanevault/unmarked is what marking every image costs.
//    Each round also gives the process's CPU time and context switches per
//    read of each (callers included, the same for all three): with both
//    cores busy, reads/s follows CPU per read.
// 2. A new connection: the first call on a fresh channel (TCP + TLS 1.3
//    handshake with client certificate + HTTP/2 + the call) against a call
//    on a warm channel, medians over `--connections` tries.
// 3. With --metrics (the default; --nometrics skips it): what the daemons'
//    metrics cost, `rounds` times interleaved: the same reads against a
//    third server that times every call into a Prometheus registry served
//    on loopback, read (refresh from the vault and serialise) once a second,
//    against the baseline server of 1 without them (both unmarked: the
//    cheapest read shows the cost most).

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/marshalling.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "api/scoped_answers.h"
#include "api/server.h"
#include "codec_floor.h"
#include "common/files.h"
#include "common/ids.h"
#include "common/logging.h"
#include "common/program.h"
#include "common/time_util.h"
#include "crypto/master_key.h"
#include "grpcpp/create_channel.h"
#include "lanevault/v1/evidence.grpc.pb.h"
#include "master_key_source.h"
#include "opencv2/imgcodecs.hpp"
#include "opencv2/imgproc.hpp"
#include "ops/health_monitor.h"
#include "ops/metrics.h"
#include "ops/rpc_timer.h"
#include "ops/vault_collector.h"
#include "policy/contract.h"
#include "policy/policy.h"
#include "raw_read_server.h"
#include "read_record.h"
#include "rpc/tls.h"
#include "vault/vault.h"

ABSL_FLAG(int, concurrency, 16, "Concurrent callers.");
ABSL_FLAG(int, channels, 4, "Channels (connections) the callers share.");
ABSL_FLAG(double, seconds, 10, "How long to read.");
ABSL_FLAG(int, records, 500, "Records in the vault.");
ABSL_FLAG(int, rounds, 3, "Interleaved rounds of each measurement.");
ABSL_FLAG(int, connections, 200, "New connections to time.");
ABSL_FLAG(bool, metrics, true,
          "Also measure reads with metrics on against off (section 3).");
ABSL_FLAG(std::string, dir, "/tmp/lanevault-api-bench", "Scratch (wiped).");
ABSL_FLAG(std::vector<std::string>, phases,
          std::vector<std::string>({"raw", "lanevault", "unmarked"}),
          "Which of section 1's servers to read from (a profiler attached "
          "to one phase sees that server alone); ratios need raw.");
ABSL_FLAG(std::string, contract, "",
          "A contract (textproto) to decide reads by, its quotas raised out "
          "of reach but still counted, so every read is decided and logged "
          "holding the quota ledger as deployed; records at its first "
          "checkpoint. Empty: the built-in policy, which has no quotas.");
ABSL_FLAG(std::string, master_key_source, "file",
          "The vault's master key: 'file' (development key file) or 'unseal' "
          "(a 3-of-5 seal file opened by 3 shares, as lanevaultd).");

namespace lanevault {
namespace {

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
}

std::shared_ptr<grpc::Channel> NewChannel(const std::string& pki, int port,
                                          int unique) {
  auto creds = rpc::ClientTlsCredentials(
      pki + "/ca.pem", pki + "/inspector-dev.pem", pki + "/inspector-dev.key");
  if (!creds.ok()) Fail(creds.status());
  grpc::ChannelArguments args;
  // A distinct argument keeps gRPC from sharing one connection.
  args.SetInt("lanevault.bench.channel", unique);
  return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port), *creds,
                                   args);
}

// A plate crop as the lane stores it: 250x50, dark text on a light plate,
// a little sensor noise, JPEG.
std::string PlateCrop(int i, std::mt19937_64& rng) {
  cv::Mat plate(50, 250, CV_8UC3, cv::Scalar(215, 220, 225));
  cv::rectangle(plate, {2, 2}, {247, 47}, cv::Scalar(40, 40, 40), 2);
  cv::putText(plate, absl::StrCat("KXR ", 1000 + i), {22, 38},
              cv::FONT_HERSHEY_DUPLEX, 1.1, cv::Scalar(20, 20, 20), 2);
  cv::Mat noise(plate.size(), plate.type());
  cv::randn(noise, 0, 4 + static_cast<double>(rng() % 3));
  plate += noise;
  std::vector<uchar> jpeg;
  cv::imencode(".jpg", plate, jpeg, {cv::IMWRITE_JPEG_QUALITY, 90});
  return std::string(jpeg.begin(), jpeg.end());
}

struct Figures {
  double reads_per_s = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  size_t reads = 0;
  int failures = 0;
  // The whole process's (callers and server) CPU time and context switches
  // per read: on a machine whose cores the reads fill, reads/s is bound by
  // CPU per read, and a flat profile is told apart from a busy step by
  // these.
  double cpu_us_per_read = 0;
  double switches_per_read = 0;
};

struct Usage {
  double cpu_us = 0;
  double switches = 0;
};

// The built-in policy, or --contract's with every quota raised out of reach
// (still set, so each read is counted and decided as under the contract).
std::unique_ptr<policy::Policy> BenchPolicy(std::string* checkpoint) {
  const std::string path = absl::GetFlag(FLAGS_contract);
  *checkpoint = "bench";
  if (path.empty()) return policy::NewBuiltinPolicy();
  absl::StatusOr<std::string> text = ReadFileToString(path);
  if (!text.ok()) Fail(text.status());
  absl::StatusOr<v1::Contract> contract = policy::ParseContract(*text);
  if (!contract.ok()) Fail(contract.status());
  if (contract->checkpoints().empty()) Fail("the contract names no checkpoint");
  *checkpoint = contract->checkpoints(0);
  constexpr uint32_t kOutOfReach = 1000000000;
  for (v1::Permit& permit : *contract->mutable_permits()) {
    if (!permit.has_quota()) continue;
    v1::Quota& q = *permit.mutable_quota();
    q.set_reads_per_window(kOutOfReach);
    q.set_distinct_records_per_window(kOutOfReach);
    q.set_lookups_per_window(kOutOfReach);
    q.set_searches_per_window(kOutOfReach);
    q.set_group_reads_per_window(kOutOfReach);
    q.set_group_distinct_records_per_window(kOutOfReach);
    q.set_group_lookups_per_window(kOutOfReach);
    q.set_group_searches_per_window(kOutOfReach);
  }
  contract->clear_harvest_limit();
  absl::StatusOr<std::unique_ptr<policy::Policy>> p =
      policy::NewContractPolicy(*contract);
  if (!p.ok()) Fail(p.status());
  return std::move(*p);
}

Usage ProcessUsage() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto us = [](const timeval& t) { return t.tv_sec * 1e6 + t.tv_usec; };
  return {us(u.ru_utime) + us(u.ru_stime),
          static_cast<double>(u.ru_nvcsw + u.ru_nivcsw)};
}

int Main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  // The process set up as lanevaultd sets itself up, for both servers.
  DropMutexDeadlockGraphInReleaseBuilds();
  InitLogging("api_bench", "warn");
  const std::string dir = absl::GetFlag(FLAGS_dir);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string pki = dir + "/pki";
  const std::string script = absl::StrCat(
      LANEVAULT_SOURCE_DIR, "/deploy/pki/make-dev-pki.sh ", pki, " >/dev/null");
  if (std::system(script.c_str()) != 0) Fail("cannot make the dev PKI");

  vault::VaultOptions vo;
  crypto::SecureBytes held;  // the vault keeps its own copy
  if (absl::Status s = bench::UseMasterKeySource(
          absl::GetFlag(FLAGS_master_key_source), dir, vo, held);
      !s.ok()) {
    Fail(s);
  }
  vo.database = dir + "/vault.db";
  auto vault = vault::Vault::Open(vo);
  held = crypto::SecureBytes();
  if (!vault.ok()) Fail(vault.status());
  std::string checkpoint;
  const std::unique_ptr<policy::Policy> policy = BenchPolicy(&checkpoint);
  std::vector<std::string> ids, stored_crops;
  std::mt19937_64 rng(7);
  for (int i = 0; i < absl::GetFlag(FLAGS_records); ++i) {
    v1::Record r;
    r.set_record_id(NewId("rec_"));
    r.set_lane_id("lane-1");
    r.set_checkpoint_id(checkpoint);
    *r.mutable_first_seen() = ToProto(absl::Now());
    v1::Item* text = r.add_items();
    text->set_item_id(NewId("itm_"));
    text->set_category(v1::DATA_CATEGORY_PLATE_TEXT);
    text->set_content(absl::StrCat("KXR", 1000 + i));
    *text->mutable_deadline() = ToProto(absl::Now() + absl::Hours(1));
    v1::Item* crop = r.add_items();
    crop->set_item_id(NewId("itm_"));
    crop->set_category(v1::DATA_CATEGORY_PLATE_IMAGE);
    crop->set_content(PlateCrop(i, rng));
    stored_crops.push_back(crop->content());
    crop->set_media_type("image/jpeg");
    *crop->mutable_deadline() = ToProto(absl::Now() + absl::Hours(1));
    if (absl::Status s = (*vault)->Intake(r, {}); !s.ok()) Fail(s);
    ids.push_back(r.record_id());
  }
  // Questions name records as answers do: by the purpose's handles.
  const auto view = policy->ViewOf("vehicle-inspection");
  if (!view.ok()) Fail(view.status());
  for (std::string& id : ids) {
    auto handle = (*vault)->handles().Issue(crypto::HandleKey::Kind::kRecord,
                                            view->scope, id);
    if (!handle.ok()) Fail(handle.status());
    id = *handle;
  }
  api::ServerOptions so;
  so.tls.set_ca_cert(pki + "/ca.pem");
  so.tls.set_server_cert(pki + "/server.pem");
  so.tls.set_server_key(pki + "/server.key");
  so.limits.lockout_refusals = 0;
  so.limits.max_calls_per_principal = 256;
  // The bench's callers are its load, not a flood: no call rate.
  so.limits.calls_per_second = 0;
  auto server = api::ApiServer::Start(so, policy.get(), vault->get(), [] {
    return std::vector<v1::LaneStatus>{};
  });
  if (!server.ok()) Fail(server.status());
  const int port = (*server)->port();
  so.bench_unmarked_images = true;
  auto baseline = api::ApiServer::Start(so, policy.get(), vault->get(), [] {
    return std::vector<v1::LaneStatus>{};
  });
  if (!baseline.ok()) Fail(baseline.status());
  // 3's server: as `server`, timed into a registry served on loopback.
  std::unique_ptr<ops::VaultCollector> collector;
  std::unique_ptr<ops::Metrics> metrics;
  absl::StatusOr<std::unique_ptr<api::ApiServer>> metered =
      absl::UnavailableError("--nometrics");
  if (absl::GetFlag(FLAGS_metrics)) {
    auto served = ops::Metrics::Serve("127.0.0.1:0");
    if (!served.ok()) Fail(served.status());
    metrics = std::move(*served);
    collector = std::make_unique<ops::VaultCollector>(
        vault->get(), metrics.get(), vo.database);
    metrics->AllowServices(ops::DaemonServiceNames());
    metrics->SetRefresh([&] { collector->Collect(); });
    // Unmarked, as the baseline: the cheapest read shows the timer's cost
    // most.
    so.bench_unmarked_images = true;
    so.rpc_observer = [m = metrics.get()] {
      return ops::NewRpcTimerFactory(m);
    };
    metered = api::ApiServer::Start(so, policy.get(), vault->get(), [] {
      return std::vector<v1::LaneStatus>{};
    });
    if (!metered.ok()) Fail(metered.status());
  }

  // 1. Steady reads at the given concurrency, marked and baseline in turn.
  const int concurrency = absl::GetFlag(FLAGS_concurrency);
  auto stubs_for = [&](int on_port, int base) {
    std::vector<std::unique_ptr<v1::EvidenceService::Stub>> stubs;
    for (int c = 0; c < absl::GetFlag(FLAGS_channels); ++c) {
      stubs.push_back(
          v1::EvidenceService::NewStub(NewChannel(pki, on_port, base + c)));
      if (const grpc::Status s = ReadOne(*stubs.back(), ids[0]); !s.ok()) {
        Fail(absl::StrCat("warm-up read failed: ", s.error_message()));
      }
    }
    return stubs;
  };
  auto marked_stubs = stubs_for(port, 0);
  auto baseline_stubs = stubs_for((*baseline)->port(), 100);
  // The raw server answers each record with the bytes a real read of it
  // gave, and logs a row the size of the entry that read appended.
  bench::RawReadOptions ro;
  ro.tls = so.tls;
  ro.database = dir + "/raw.db";
  ro.max_streams_per_connection = so.max_streams_per_connection;
  for (const std::string& id : ids) {
    v1::GetRecordResponse resp;
    if (const grpc::Status s = ReadOne(*marked_stubs[0], id, &resp); !s.ok()) {
      Fail(absl::StrCat("capturing a read failed: ", s.error_message()));
    }
    ro.responses[id] = std::move(resp);
  }
  {
    // How hard marking works here: an answer under the PSNR budget is the
    // weakest mark, kept whatever it costs after the strongest broke the
    // budget (the middle strength is skipped when the strongest's error
    // predicts it breaks the budget too: two encode-decode rounds, not
    // three).
    std::vector<double> psnr;
    for (size_t i = 0; i < ids.size(); ++i) {
      const v1::Record& answer = ro.responses[ids[i]].record();
      for (const v1::Item& item : answer.items()) {
        if (item.category() != v1::DATA_CATEGORY_PLATE_IMAGE) continue;
        const std::string& stored = stored_crops[i];
        cv::Mat original = cv::imdecode(
            std::vector<uchar>(stored.begin(), stored.end()), cv::IMREAD_COLOR);
        cv::Mat marked = cv::imdecode(
            std::vector<uchar>(item.content().begin(), item.content().end()),
            cv::IMREAD_COLOR);
        cv::resize(original, original, marked.size(), 0, 0, cv::INTER_CUBIC);
        psnr.push_back(cv::PSNR(original, marked));
      }
    }
    const auto under = std::count_if(psnr.begin(), psnr.end(),
                                     [](double p) { return p < 38.2; });
    std::printf(
        "marked plate crops: PSNR median %.2f dB (min %.2f); %zd of %zu under "
        "the 38.2 dB budget, each of those at the weakest mark\n",
        Percentile(psnr, 0.5), Percentile(psnr, 0), under, psnr.size());
  }
  {
    const uint64_t size = (*vault)->log().Size();
    auto last = (*vault)->log().LeafData(size - 1, size);
    if (!last.ok() || last->size() != 1) Fail("cannot read the last entry");
    ro.log_row_bytes = (*last)[0].size();
  }
  const size_t row_bytes = ro.log_row_bytes;
  auto raw = bench::RawReadServer::Start(std::move(ro));
  if (!raw.ok()) Fail(raw.status());
  auto raw_stubs = stubs_for((*raw)->port(), 300);
  auto measure =
      [&](std::vector<std::unique_ptr<v1::EvidenceService::Stub>>& stubs) {
        std::atomic<bool> stop{false};
        std::atomic<int> failures{0};
        absl::Mutex mu;
        std::vector<double> latencies_ms;
        std::vector<std::thread> callers;
        const Usage before = ProcessUsage();
        const absl::Time start = absl::Now();
        for (int t = 0; t < concurrency; ++t) {
          callers.emplace_back([&, t] {
            std::mt19937_64 pick(t);
            std::vector<double> mine;
            auto& stub = *stubs[t % stubs.size()];
            while (!stop.load(std::memory_order_relaxed)) {
              const absl::Time t0 = absl::Now();
              if (!ReadOne(stub, ids[pick() % ids.size()]).ok()) ++failures;
              mine.push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
            }
            absl::MutexLock lock(&mu);
            latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
          });
        }
        absl::SleepFor(absl::Seconds(absl::GetFlag(FLAGS_seconds)));
        stop = true;
        for (auto& c : callers) c.join();
        const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
        const Usage after = ProcessUsage();
        Figures f;
        f.reads = latencies_ms.size();
        if (f.reads > 0) {
          f.cpu_us_per_read = (after.cpu_us - before.cpu_us) / f.reads;
          f.switches_per_read = (after.switches - before.switches) / f.reads;
        }
        f.reads_per_s = f.reads / elapsed;
        f.p50_ms = Percentile(latencies_ms, 0.50);
        f.p99_ms = Percentile(latencies_ms, 0.99);
        f.failures = failures.load();
        return f;
      };
  int failures = 0;
  std::printf(
      "reads over mTLS, concurrency %d (%d channels), %d records with a "
      "250x50 JPEG plate crop each; baseline: raw gRPC + one %zu-byte "
      "SQLite row per read, group commit:\n",
      concurrency, absl::GetFlag(FLAGS_channels), absl::GetFlag(FLAGS_records),
      row_bytes);
  std::vector<double> ratios, unmarked_ratios, tails, base_cpu, base_rate;
  const std::vector<std::string> phases = absl::GetFlag(FLAGS_phases);
  auto measure_if = [&](absl::string_view phase, auto& stubs) {
    return std::find(phases.begin(), phases.end(), phase) != phases.end()
               ? measure(stubs)
               : Figures{};
  };
  for (int round = 1; round <= absl::GetFlag(FLAGS_rounds); ++round) {
    const Figures base = measure_if("raw", raw_stubs);
    const Figures marked = measure_if("lanevault", marked_stubs);
    const Figures unmarked = measure_if("unmarked", baseline_stubs);
    failures += base.failures + marked.failures + unmarked.failures;
    ratios.push_back(marked.reads_per_s / base.reads_per_s);
    unmarked_ratios.push_back(unmarked.reads_per_s / base.reads_per_s);
    tails.push_back(marked.p99_ms / marked.p50_ms);
    base_cpu.push_back(base.cpu_us_per_read);
    base_rate.push_back(base.reads_per_s);
    std::printf(
        "  round %d: ratio %.3f  lanevault %.0f reads/s (p50 %.2f ms, p99 "
        "%.2f ms)  baseline %.0f reads/s (p50 %.2f ms, p99 %.2f ms)  "
        "unmarked %.0f reads/s = %.3f of baseline (p50 %.2f ms, p99 %.2f "
        "ms); %d failed\n",
        round, ratios.back(), marked.reads_per_s, marked.p50_ms, marked.p99_ms,
        base.reads_per_s, base.p50_ms, base.p99_ms, unmarked.reads_per_s,
        unmarked_ratios.back(), unmarked.p50_ms, unmarked.p99_ms,
        base.failures + marked.failures + unmarked.failures);
    std::printf(
        "           per read, whole process: baseline %.0f us CPU, %.1f "
        "context switches; lanevault %.0f us, %.1f; unmarked %.0f us, %.1f\n",
        base.cpu_us_per_read, base.switches_per_read, marked.cpu_us_per_read,
        marked.switches_per_read, unmarked.cpu_us_per_read,
        unmarked.switches_per_read);
  }
  std::printf(
      "  median of %zu rounds: lanevault/baseline %.3f, unmarked/baseline "
      "%.3f, lanevault p99/p50 %.2f\n",
      ratios.size(), Percentile(ratios, 0.5), Percentile(unmarked_ratios, 0.5),
      Percentile(tails, 0.5));
  if (!base_cpu.empty() && base_cpu.front() > 0) {
    // A marked answer is made in pixels: whatever the mark, the read pays
    // at least one decode, the resize and one encode of its crop. With the
    // machine's cores all busy at that CPU a read plus the raw read's own,
    // a marked read is bounded even if everything else the vault does were
    // free; set against the raw server's reads/s (which may leave cores
    // idle, so the bound is the raw server's share of them too).
    std::vector<double> floor_us;
    const cv::Size answer = api::AnswerSize(v1::DATA_CATEGORY_PLATE_IMAGE);
    for (const std::string& crop : stored_crops) {
      floor_us.push_back(bench::CodecFloorMicros(crop, answer));
    }
    const double floor = Percentile(floor_us, 0.5);
    const double raw_cpu = Percentile(base_cpu, 0.5);
    const double raw_rate = Percentile(base_rate, 0.5);
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    const double busy = raw_cpu * raw_rate / 1e6 / cores;
    const double most = cores * 1e6 / (raw_cpu + floor);
    std::printf(
        "  a mark in pixels costs a read at least %.0f us CPU (one decode, "
        "the resize to %dx%d, one encode; median of %zu crops) beside the "
        "baseline's %.0f us a read at %.0f reads/s (%.0f%% of %u cores): "
        "with every core busy a marked read reaches at most %.0f reads/s, "
        "%.2f of the baseline, were all else free\n",
        floor, answer.width, answer.height, floor_us.size(), raw_cpu, raw_rate,
        100 * busy, cores, most, most / raw_rate);
    // A mark on the coefficients of a crop stored at its answer's size
    // would decode and encode no pixels: its least is the entropy coding.
    std::vector<double> coef_us;
    for (const std::string& crop : stored_crops) {
      coef_us.push_back(
          bench::CoefficientFloorMicros(bench::AtAnswerSize(crop, answer)));
    }
    const double coef = Percentile(coef_us, 0.5);
    const double most_coef = cores * 1e6 / (raw_cpu + coef);
    std::printf(
        "  a mark on the coefficients of a crop stored at %dx%d would cost "
        "at least %.0f us CPU (entropy decoding and coding): at most %.0f "
        "reads/s, %.2f of the baseline, were all else free\n",
        answer.width, answer.height, coef, most_coef, most_coef / raw_rate);
  }
  raw->reset();

  // 2. New connections: first call on a fresh channel vs a warm call.
  std::vector<double> cold_ms, warm_ms;
  for (int i = 0; i < absl::GetFlag(FLAGS_connections); ++i) {
    auto stub = v1::EvidenceService::NewStub(NewChannel(pki, port, 1000 + i));
    absl::Time t0 = absl::Now();
    if (!ReadOne(*stub, ids[i % ids.size()]).ok()) ++failures;
    cold_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
    t0 = absl::Now();
    if (!ReadOne(*stub, ids[i % ids.size()]).ok()) ++failures;
    warm_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
  }
  const double cold = Percentile(cold_ms, 0.5), warm = Percentile(warm_ms, 0.5);
  std::printf(
      "new connection (TCP + TLS 1.3 with client certificate + HTTP/2), "
      "%d tries: first call p50 %.2f ms (p90 %.2f), warm call p50 %.2f ms: "
      "handshake cost ~%.2f ms\n",
      absl::GetFlag(FLAGS_connections), cold, Percentile(cold_ms, 0.9), warm,
      cold - warm);

  // 3. Metrics on against off, in turn, a scrape a second during "on".
  if (metrics != nullptr) {
    auto metered_stubs = stubs_for((*metered)->port(), 200);
    std::printf(
        "metrics (every call timed, a scrape a second), concurrency %d:\n",
        concurrency);
    for (int round = 1; round <= absl::GetFlag(FLAGS_rounds); ++round) {
      const Figures off = measure(baseline_stubs);
      absl::Notification done;
      std::thread scraper([&] {
        while (!done.WaitForNotificationWithTimeout(absl::Seconds(1))) {
          metrics->Text();
        }
      });
      const Figures on = measure(metered_stubs);
      done.Notify();
      scraper.join();
      failures += off.failures + on.failures;
      std::printf(
          "  round %d: metrics on %.0f reads/s (p50 %.2f ms, p99 %.2f ms) = "
          "%.3f of off %.0f reads/s (p50 %.2f ms, p99 %.2f ms); %d failed\n",
          round, on.reads_per_s, on.p50_ms, on.p99_ms,
          on.reads_per_s / off.reads_per_s, off.reads_per_s, off.p50_ms,
          off.p99_ms, off.failures + on.failures);
    }
    (*metered)->Shutdown(absl::Seconds(2));
  }
  (*server)->Shutdown(absl::Seconds(2));
  (*baseline)->Shutdown(absl::Seconds(2));
  metrics.reset();
  return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace lanevault

int main(int argc, char** argv) { return lanevault::Main(argc, argv); }
