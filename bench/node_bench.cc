// node_bench: a capture node's throughput into the vault, against the
// vault's own intake limit measured in the same run.
//
//   node_bench [--records 2000] [--rounds 3] [--producers 2] [--in_flight 4]
//
// Everything real and in this process, on the same 2 cores: a vault file,
// the API over mutual TLS on loopback (dev PKI), the built-in policy; on
// the node side the sealing sink, the spool (an fsync'd file per record)
// and the sender. Records are a crossing's size: plate text, a 6 KB plate
// crop and a 4 KB face crop. Each round, interleaved:
//   baseline  `producers` threads hand records straight to the vault's
//             intake (policy, envelope encryption, durable commit): the
//             limit an in-process lane meets.
//   node      the same count sealed and spooled by `producers` threads (as
//             lanes do) while the sender drains the spool over mutual TLS:
//             from the first record formed to the last acknowledged.
//   drain     after an outage: `records` already spooled, the sender
//             started; until the spool is empty.
// The ratio node/baseline is the figure that holds across days.

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/server.h"
#include "common/ids.h"
#include "common/logging.h"
#include "common/program.h"
#include "common/time_util.h"
#include "crypto/master_key.h"
#include "node/sealing_sink.h"
#include "node/spool.h"
#include "node/vault_sender.h"
#include "policy/policy.h"
#include "rpc/tls.h"
#include "vault/vault.h"
#include "wiring/vault_intake.h"

ABSL_FLAG(int, records, 2000, "Records per measurement.");
ABSL_FLAG(int, rounds, 3, "Interleaved rounds.");
ABSL_FLAG(int, producers, 2, "Threads forming records (lanes).");
ABSL_FLAG(int, in_flight, 4, "The sender's calls in flight.");
ABSL_FLAG(std::string, dir, "/tmp/lanevault-node-bench", "Scratch (wiped).");

namespace lanevault {
namespace {

v1::Record Crossing(int i, std::mt19937_64& rng) {
  v1::Record r;
  r.set_record_id(NewId("rec_"));
  r.set_lane_id(absl::StrCat("lane-", i % 2 + 1));
  r.set_checkpoint_id("bench");
  *r.mutable_first_seen() = ToProto(absl::Now());
  *r.mutable_last_seen() = ToProto(absl::Now());
  auto add = [&](v1::DataCategory c, std::string content) {
    v1::Item* item = r.add_items();
    item->set_item_id(NewId("itm_"));
    item->set_category(c);
    item->set_content(std::move(content));
  };
  add(v1::DATA_CATEGORY_PLATE_TEXT, absl::StrCat("KXR", 1000 + i % 9000));
  // A 16x16 JPEG's frame and scan headers (intake walks its markers), then
  // random scan data of a crop's size (no 0xFF: that would start a
  // marker): sealed and stored, never decoded here.
  static constexpr char kJpegHeader[] =
      "\xff\xd8\xff\xc0\x00\x11\x08\x00\x10\x00\x10\x03\x01\x11\x00\x02"
      "\x11\x01\x03\x11\x01\xff\xda\x00\x0c\x03\x01\x00\x02\x11\x03\x11"
      "\x00\x3f\x00";
  constexpr size_t kHeaderBytes = sizeof(kJpegHeader) - 1;
  auto jpeg_like = [&](size_t bytes) {
    std::string out(kJpegHeader, kHeaderBytes);
    out.resize(bytes);
    for (size_t k = kHeaderBytes; k < bytes; ++k) {
      out[k] = static_cast<char>(rng() % 255);
    }
    return out;
  };
  std::string crop = jpeg_like(6000), face = jpeg_like(4000);
  add(v1::DATA_CATEGORY_PLATE_IMAGE, std::move(crop));
  add(v1::DATA_CATEGORY_FACE_IMAGE, std::move(face));
  return r;
}

// Runs `producers` threads handing `n` fresh records to `sink`; the time
// it took.
absl::Duration Produce(capture::RecordSink& sink, int n, int producers) {
  std::atomic<int> next{0};
  std::atomic<int> failures{0};
  const absl::Time start = absl::Now();
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      std::mt19937_64 rng(p + 1);
      for (int i; (i = next++) < n;) {
        v1::Record r = Crossing(i, rng);
        while (!sink.Submit(r).ok()) {
          ++failures;
          absl::SleepFor(absl::Milliseconds(5));
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  if (failures > 0)
    std::printf("  (%d submissions retried)\n", failures.load());
  return absl::Now() - start;
}

double PerSecond(int n, absl::Duration d) {
  return n / absl::ToDoubleSeconds(d);
}

int Main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  DropMutexDeadlockGraphInReleaseBuilds();  // as the programs run
  InitLogging("node_bench", "warn");
  const std::string dir = absl::GetFlag(FLAGS_dir);
  const int n = absl::GetFlag(FLAGS_records);
  const int producers = absl::GetFlag(FLAGS_producers);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string pki = dir + "/pki";
  const std::string script = absl::StrCat(
      LANEVAULT_SOURCE_DIR, "/deploy/pki/make-dev-pki.sh ", pki, " >/dev/null");
  if (std::system(script.c_str()) != 0) Fail("cannot make the dev PKI");
  if (absl::Status s = crypto::MasterKey::CreateKeyFile(dir + "/master.key");
      !s.ok()) {
    Fail(s);
  }
  vault::VaultOptions vo;
  vo.database = dir + "/vault.db";
  vo.master_key_file = dir + "/master.key";
  auto vault = vault::Vault::Open(vo);
  if (!vault.ok()) Fail(vault.status());
  auto policy = policy::NewBuiltinPolicy();
  wiring::VaultIntake intake(policy.get(), vault->get(), /*canary_every=*/0);
  api::ServerOptions so;
  so.tls.set_ca_cert(pki + "/ca.pem");
  so.tls.set_server_cert(pki + "/server.pem");
  so.tls.set_server_key(pki + "/server.key");
  so.intake = &intake;
  so.limits.max_calls_per_principal = 256;
  // The bench's callers are its load, not a flood: no call rate.
  so.limits.calls_per_second = 0;
  auto server = api::ApiServer::Start(so, policy.get(), vault->get(), [] {
    return std::vector<v1::LaneStatus>{};
  });
  if (!server.ok()) Fail(server.status());
  auto creds = rpc::ClientTlsCredentials(pki + "/ca.pem", pki + "/lane-dev.pem",
                                         pki + "/lane-dev.key");
  if (!creds.ok()) Fail(creds.status());
  node::SenderOptions sender_options;
  sender_options.addresses = {absl::StrCat("127.0.0.1:", (*server)->port())};
  sender_options.credentials = *creds;
  sender_options.server_name = "localhost";
  sender_options.in_flight = absl::GetFlag(FLAGS_in_flight);
  const std::string key = (*vault)->intake_key().public_key();

  std::printf(
      "node_bench: %d records of ~10 KB per measurement, %d producer "
      "thread(s), %d call(s) in flight\n",
      n, producers, sender_options.in_flight);
  std::printf("%-6s %12s %12s %8s %12s %12s\n", "round", "baseline/s", "node/s",
              "ratio", "spool/s", "drain/s");
  for (int round = 1; round <= absl::GetFlag(FLAGS_rounds); ++round) {
    const double baseline = PerSecond(n, Produce(intake, n, producers));

    const std::string spool_dir = absl::StrCat(dir, "/spool-", round);
    auto spool = node::Spool::Open(spool_dir, {});
    if (!spool.ok()) Fail(spool.status());
    node::SealingSink sink(key, spool->get());
    double node_rate;
    {
      node::VaultSender sender(spool->get(), sender_options);
      sender.Start();
      const absl::Time start = absl::Now();
      Produce(sink, n, producers);
      if (!sender.WaitUntilDrained(absl::Minutes(10))) Fail("did not drain");
      node_rate = PerSecond(n, absl::Now() - start);
      sender.Stop(absl::ZeroDuration());
    }
    // An outage: the spool fills with nobody sending, then drains.
    const double spool_rate = PerSecond(n, Produce(sink, n, producers));
    double drain_rate;
    {
      node::VaultSender sender(spool->get(), sender_options);
      const absl::Time start = absl::Now();
      sender.Start();
      if (!sender.WaitUntilDrained(absl::Minutes(10))) Fail("did not drain");
      drain_rate = PerSecond(n, absl::Now() - start);
      sender.Stop(absl::ZeroDuration());
    }
    std::printf("%-6d %12.0f %12.0f %7.0f%% %12.0f %12.0f\n", round, baseline,
                node_rate, 100 * node_rate / baseline, spool_rate, drain_rate);
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace
}  // namespace lanevault

int main(int argc, char** argv) { return lanevault::Main(argc, argv); }
