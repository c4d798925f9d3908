// replica_bench: reads/s from one lanevaultd replica against two, on one
// PostgreSQL vault (issue 32).
//
//   replica_bench --postgres "host=SOCKDIR user=lanevault dbname=postgres"
//                 [--concurrency 16] [--seconds 5] [--records 200]
//                 [--rounds 3]
//
// Two vaults (each with its own store connection, role and quota
// connections, as two lanevaultd processes have) and two API servers run in
// this process, on a fresh schema of the given database, with the dev PKI
// and the built-in policy. Single-record reads over mutual TLS with
// `concurrency` callers go either all to replica one, or alternately to
// both; rounds interleave the two, and the ratio two/one is printed per
// round. Both replicas share this machine's cores with the client and the
// database server: the figure shows what the shared database lets through,
// not what a second machine adds. Without --postgres it says so and exits 0.

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
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
#include "grpcpp/create_channel.h"
#include "lanevault/v1/evidence.grpc.pb.h"
#include "policy/policy.h"
#include "read_record.h"
#include "rpc/tls.h"
#include "vault/postgres.h"
#include "vault/vault.h"

ABSL_FLAG(std::string, postgres, "",
          "libpq conninfo of a PostgreSQL database to bench on (a fresh "
          "schema is made in it); empty: skip.");
ABSL_FLAG(int, concurrency, 16, "Concurrent callers.");
ABSL_FLAG(double, seconds, 5, "How long each measurement reads.");
ABSL_FLAG(int, records, 200, "Records in the vault.");
ABSL_FLAG(int, rounds, 3, "Interleaved rounds.");
ABSL_FLAG(std::string, dir, "/tmp/lanevault-replica-bench", "Scratch (wiped).");

namespace lanevault {
namespace {

using Stubs = std::vector<std::unique_ptr<v1::EvidenceService::Stub>>;

int Main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  DropMutexDeadlockGraphInReleaseBuilds();  // as the programs run
  InitLogging("replica_bench", "warn");
  const std::string conninfo = absl::GetFlag(FLAGS_postgres);
  if (conninfo.empty()) {
    std::printf("replica_bench: no --postgres given; skipped\n");
    return 0;
  }
  const std::string dir = absl::GetFlag(FLAGS_dir);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string pki = dir + "/pki";
  const std::string script = absl::StrCat(
      LANEVAULT_SOURCE_DIR, "/deploy/pki/make-dev-pki.sh ", pki, " >/dev/null");
  if (std::system(script.c_str()) != 0) Fail("cannot make the dev PKI");
  const std::string schema = absl::StrCat("replica_bench_", ::getpid());
  {
    auto c = vault::pg::Connection::Open(conninfo);
    if (!c.ok()) Fail(c.status());
    if (absl::Status s = c->Run(absl::StrCat("CREATE SCHEMA ", schema));
        !s.ok()) {
      Fail(s);
    }
  }
  if (absl::Status s = crypto::MasterKey::CreateKeyFile(dir + "/master.key");
      !s.ok()) {
    Fail(s);
  }
  vault::VaultOptions vo;
  vo.master_key_file = dir + "/master.key";
  vo.key_store = dir + "/vault.keys";
  vo.postgres.conninfo =
      absl::StrCat(conninfo, " options='-c search_path=", schema, "'");
  std::vector<std::unique_ptr<vault::Vault>> vaults;
  for (int i = 0; i < 2; ++i) {
    auto v = vault::Vault::Open(vo);
    if (!v.ok()) Fail(v.status());
    vaults.push_back(std::move(*v));
  }
  auto policy = policy::NewBuiltinPolicy();
  const auto view = policy->ViewOf("vehicle-inspection");
  if (!view.ok()) Fail(view.status());
  std::vector<std::string> ids;
  for (int i = 0; i < absl::GetFlag(FLAGS_records); ++i) {
    v1::Record r;
    r.set_record_id(NewId("rec_"));
    r.set_lane_id("lane-1");
    r.set_checkpoint_id("bench");
    *r.mutable_first_seen() = ToProto(absl::Now());
    v1::Item* text = r.add_items();
    text->set_item_id(NewId("itm_"));
    text->set_category(v1::DATA_CATEGORY_PLATE_TEXT);
    text->set_content(absl::StrCat("KXR", 1000 + i));
    *text->mutable_deadline() = ToProto(absl::Now() + absl::Hours(1));
    // Intake spread over both, as two capture nodes would.
    if (absl::Status s = vaults[i % 2]->Intake(r, {}); !s.ok()) Fail(s);
    auto handle = vaults[0]->handles().Issue(crypto::HandleKey::Kind::kRecord,
                                             view->scope, r.record_id());
    if (!handle.ok()) Fail(handle.status());
    ids.push_back(*handle);
  }
  api::ServerOptions so;
  so.tls.set_ca_cert(pki + "/ca.pem");
  so.tls.set_server_cert(pki + "/server.pem");
  so.tls.set_server_key(pki + "/server.key");
  so.limits.lockout_refusals = 0;
  so.limits.max_calls_per_principal = 256;
  // The bench's callers are its load, not a flood: no call rate.
  so.limits.calls_per_second = 0;
  std::vector<std::unique_ptr<api::ApiServer>> servers;
  for (auto& v : vaults) {
    auto server = api::ApiServer::Start(so, policy.get(), v.get(), [] {
      return std::vector<v1::LaneStatus>{};
    });
    if (!server.ok()) Fail(server.status());
    servers.push_back(std::move(*server));
  }
  auto creds = rpc::ClientTlsCredentials(
      pki + "/ca.pem", pki + "/inspector-dev.pem", pki + "/inspector-dev.key");
  if (!creds.ok()) Fail(creds.status());
  // Four channels to each replica.
  auto stubs_to = [&](int replica, int base) {
    Stubs stubs;
    for (int c = 0; c < 4; ++c) {
      grpc::ChannelArguments args;
      args.SetInt("lanevault.bench.channel", base + c);
      stubs.push_back(v1::EvidenceService::NewStub(grpc::CreateCustomChannel(
          absl::StrCat("127.0.0.1:", servers[replica]->port()), *creds, args)));
      if (grpc::Status s = ReadOne(*stubs.back(), ids[0]); !s.ok()) {
        Fail(absl::StrCat("warm-up read failed: ", s.error_message()));
      }
    }
    return stubs;
  };
  Stubs one = stubs_to(0, 0);
  Stubs both = stubs_to(0, 100);
  for (auto& s : stubs_to(1, 200)) both.push_back(std::move(s));
  // Callers take stubs in turn: with `both`, even callers go to replica
  // one and odd ones to replica two.
  auto reorder = [](Stubs in) {
    Stubs out;
    const size_t half = in.size() / 2;
    for (size_t i = 0; i < half; ++i) {
      out.push_back(std::move(in[i]));
      out.push_back(std::move(in[half + i]));
    }
    return out;
  };
  both = reorder(std::move(both));
  const int concurrency = absl::GetFlag(FLAGS_concurrency);
  auto measure = [&](Stubs& stubs, int* failures) {
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> reads{0};
    std::atomic<int> failed{0};
    std::vector<std::thread> callers;
    const absl::Time start = absl::Now();
    for (int t = 0; t < concurrency; ++t) {
      callers.emplace_back([&, t] {
        auto& stub = *stubs[t % stubs.size()];
        uint64_t i = static_cast<uint64_t>(t) * 7919;
        while (!stop.load(std::memory_order_relaxed)) {
          if (ReadOne(stub, ids[i++ % ids.size()]).ok()) {
            ++reads;
          } else {
            ++failed;
          }
        }
      });
    }
    absl::SleepFor(absl::Seconds(absl::GetFlag(FLAGS_seconds)));
    stop = true;
    for (auto& c : callers) c.join();
    *failures += failed.load();
    return reads.load() / absl::ToDoubleSeconds(absl::Now() - start);
  };
  std::printf(
      "reads over mTLS on one PostgreSQL vault, concurrency %d, %d records; "
      "one replica against two (in this process, same cores):\n",
      concurrency, absl::GetFlag(FLAGS_records));
  int failures = 0;
  std::vector<double> ratios;
  for (int round = 1; round <= absl::GetFlag(FLAGS_rounds); ++round) {
    const double single = measure(one, &failures);
    const double pair = measure(both, &failures);
    ratios.push_back(pair / single);
    std::printf(
        "  round %d: one replica %.0f reads/s, two replicas %.0f reads/s, "
        "ratio %.3f\n",
        round, single, pair, ratios.back());
  }
  std::sort(ratios.begin(), ratios.end());
  std::printf("median ratio two/one: %.3f; %d read(s) failed\n",
              ratios[ratios.size() / 2], failures);
  servers.clear();
  vaults.clear();
  if (auto c = vault::pg::Connection::Open(conninfo); c.ok()) {
    c->Run(absl::StrCat("DROP SCHEMA ", schema, " CASCADE")).IgnoreError();
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace lanevault

int main(int argc, char** argv) { return lanevault::Main(argc, argv); }
