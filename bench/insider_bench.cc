// insider_bench: what an insider with valid certificates, or none, can take
// or write, against a real server over mutual TLS on loopback with a real
// vault, under the pilot contract (deploy/contracts/land-border-pilot).
//
//   insider_bench [--records 600] [--flood_seconds 61]
//
// 1. Records one inspector, and two inspectors of one group, obtain over six
//    weeks: the contract's bound (policy::HarvestBudgets), and a measured
//    day: both read as fast as they are allowed through 24 one-hour windows
//    on a fake clock; the six-week figure is that day times 42.
// 2. Plate guesses an hour before refusal: lookups of random plates until
//    the first refusal, by one inspector, then by a colleague of its group.
// 3. Access-log bytes one caller without a certificate adds: it calls as
//    fast as it can for --flood_seconds (real clock), and the bytes of the
//    entries it caused are summed.
// 4. Whether one inspector's slow reads hold up a colleague's: the first
//    reads, 10 at once, faces stored as the largest progressive JPEGs intake
//    takes (4 Mpixels: each read decodes one to mark it); meanwhile the
//    colleague reads a plate text. Its time against the same read alone,
//    medians of --slow_rounds rounds, each in an hour of its own (fake
//    clock), within the contract's quotas.

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/server.h"
#include "common/clock.h"
#include "common/files.h"
#include "common/ids.h"
#include "common/logging.h"
#include "common/program.h"
#include "common/time_util.h"
#include "crypto/master_key.h"
#include "grpcpp/create_channel.h"
#include "lanevault/v1/evidence.grpc.pb.h"
#include "opencv2/imgcodecs.hpp"
#include "opencv2/imgproc.hpp"
#include "policy/contract.h"
#include "policy/policy.h"
#include "rpc/tls.h"
#include "vault/vault.h"
#include "watermark/jpeg_codec.h"

ABSL_FLAG(int, records, 600, "Crossings taken in each simulated hour.");
ABSL_FLAG(double, flood_seconds, 61,
          "How long the caller without a "
          "certificate floods.");
ABSL_FLAG(int, slow_rounds, 5, "Rounds of 4.");
ABSL_FLAG(std::string, dir, "/tmp/lanevault-insider-bench", "Scratch (wiped).");

namespace lanevault {
namespace {

using Stub = v1::EvidenceService::Stub;

struct World {
  std::string pki;
  std::unique_ptr<vault::Vault> vault;
  std::unique_ptr<policy::Policy> policy;
  std::unique_ptr<api::ApiServer> server;
};

World Start(const std::string& dir, Clock* clock) {
  World w;
  std::filesystem::create_directories(dir);
  w.pki = dir + "/pki";
  const std::string script = absl::StrCat(
      LANEVAULT_SOURCE_DIR, "/deploy/pki/make-dev-pki.sh ", w.pki,
      " >/dev/null && openssl req -new -newkey ec -pkeyopt "
      "ec_paramgen_curve:prime256v1 -nodes -subj /CN=inspector-two -keyout ",
      w.pki, "/inspector-two.key -out ", w.pki,
      "/two.csr 2>/dev/null && openssl x509 -req -in ", w.pki, "/two.csr -CA ",
      w.pki, "/ca.pem -CAkey ", w.pki,
      "/ca.key -CAcreateserial -days 60 -extfile <(printf "
      "'extendedKeyUsage=clientAuth') -out ",
      w.pki, "/inspector-two.pem 2>/dev/null");
  if (std::system(absl::StrCat("bash -c \"", script, "\"").c_str()) != 0) {
    Fail("cannot make the PKI");
  }
  if (absl::Status s = crypto::MasterKey::CreateKeyFile(dir + "/master.key");
      !s.ok()) {
    Fail(s);
  }
  vault::VaultOptions vo;
  vo.database = dir + "/vault.db";
  vo.master_key_file = dir + "/master.key";
  vo.clock = clock;
  auto v = vault::Vault::Open(vo);
  if (!v.ok()) Fail(v.status());
  w.vault = std::move(*v);
  auto text = ReadFileToString(absl::StrCat(
      LANEVAULT_SOURCE_DIR, "/deploy/contracts/land-border-pilot.textproto"));
  if (!text.ok()) Fail(text.status());
  auto contract = policy::ParseContract(*text);
  if (!contract.ok()) Fail(contract.status());
  auto p = policy::NewContractPolicy(*contract);
  if (!p.ok()) Fail(p.status());
  w.policy = std::move(*p);
  api::ServerOptions so;
  so.tls.set_ca_cert(w.pki + "/ca.pem");
  so.tls.set_server_cert(w.pki + "/server.pem");
  so.tls.set_server_key(w.pki + "/server.key");
  auto server = api::ApiServer::Start(so, w.policy.get(), w.vault.get(), [] {
    return std::vector<v1::LaneStatus>{};
  });
  if (!server.ok()) Fail(server.status());
  w.server = std::move(*server);
  return w;
}

std::unique_ptr<Stub> As(const World& w, const std::string& who) {
  auto creds = rpc::ClientTlsCredentials(
      w.pki + "/ca.pem", who.empty() ? "" : w.pki + "/" + who + ".pem",
      who.empty() ? "" : w.pki + "/" + who + ".key");
  if (!creds.ok()) Fail(creds.status());
  return v1::EvidenceService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", w.server->port()), *creds));
}

// The world the reads go to: answers name records by the handles of each
// purpose's scope, and so must the bench's questions.
const World* world = nullptr;

std::string HandleOf(const std::string& id, const char* purpose) {
  auto view = world->policy->ViewOf(purpose);
  if (!view.ok()) return id;
  auto handle = world->vault->handles().Issue(crypto::HandleKey::Kind::kRecord,
                                              view->scope, id);
  return handle.ok() ? *handle : id;
}

grpc::Status Read(Stub& stub, const std::string& id, const char* purpose,
                  v1::DataCategory category) {
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  v1::GetRecordRequest req;
  req.set_record_id(HandleOf(id, purpose));
  req.set_purpose(purpose);
  req.add_categories(category);
  v1::GetRecordResponse resp;
  return stub.GetRecord(&ctx, req, &resp);
}

grpc::Status Lookup(Stub& stub, const std::string& plate) {
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  v1::LookupPlateRequest req;
  req.set_plate_text(plate);
  req.set_purpose("vehicle-inspection");
  v1::LookupPlateResponse resp;
  return stub.LookupPlate(&ctx, req, &resp);
}

// A face crop a read can mark (3 KB of filler would be withheld).
const std::string& FaceJpeg() {
  static const std::string* jpeg = [] {
    cv::Mat face(96, 96, CV_8UC3, cv::Scalar(120, 140, 170));
    cv::circle(face, {48, 48}, 30, cv::Scalar(60, 80, 110), -1);
    std::vector<uint8_t> bytes;
    if (absl::Status s = watermark::EncodeJpeg(face, 90, bytes); !s.ok()) {
      Fail(s);
    }
    return new std::string(bytes.begin(), bytes.end());
  }();
  return *jpeg;
}

// The largest face crop intake takes (2048x2048, 4 Mpixels), progressive:
// decoding it is the slowest part of a read that marks it.
const std::string& LargestFaceJpeg() {
  static const std::string* jpeg = [] {
    cv::Mat face(2048, 2048, CV_8UC3);
    cv::randu(face, cv::Scalar::all(0), cv::Scalar::all(255));
    cv::circle(face, {1024, 1024}, 700, cv::Scalar(60, 80, 110), -1);
    std::vector<uint8_t> bytes;
    if (!cv::imencode(
            ".jpg", face, bytes,
            {cv::IMWRITE_JPEG_QUALITY, 95, cv::IMWRITE_JPEG_PROGRESSIVE, 1})) {
      Fail("cannot encode the large face");
    }
    return new std::string(bytes.begin(), bytes.end());
  }();
  return *jpeg;
}

std::string TakeCrossing(vault::Vault& vault, absl::Time now, int n,
                         const std::string& face = FaceJpeg()) {
  v1::Record r;
  r.set_record_id(NewId("rec_"));
  r.set_lane_id("lane-1");
  r.set_checkpoint_id("demo-poe");
  *r.mutable_first_seen() = ToProto(now);
  *r.mutable_last_seen() = ToProto(now);
  const std::pair<v1::DataCategory, std::string> items[] = {
      {v1::DATA_CATEGORY_PLATE_TEXT, absl::StrCat("B", n)},
      {v1::DATA_CATEGORY_FACE_IMAGE, face}};
  for (const auto& [category, content] : items) {
    v1::Item* item = r.add_items();
    item->set_item_id(NewId("itm_"));
    item->set_category(category);
    item->set_content(content);
    *item->mutable_deadline() = ToProto(now + absl::Hours(12));
  }
  if (absl::Status s = vault.Intake(r, {}); !s.ok()) Fail(s);
  return r.record_id();
}

// Reads `category` of `ids` until the first refusal; returns how many.
int ReadUntilRefused(Stub& stub, const std::vector<std::string>& ids,
                     const char* purpose, v1::DataCategory category,
                     std::set<std::string>& obtained) {
  int n = 0;
  for (const std::string& id : ids) {
    if (!Read(stub, id, purpose, category).ok()) break;
    obtained.insert(id);
    ++n;
  }
  return n;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// 4: one inspector's burst of slow reads, and a colleague's read meanwhile.
void SlowReadsAndAColleague(const std::string& dir) {
  // Ahead of the real clock: the PKI made a moment ago is valid from now.
  FakeClock clock(absl::Now() + absl::Minutes(2));
  World w = Start(dir, &clock);
  world = &w;
  auto a = As(w, "inspector-dev");
  auto b = As(w, "inspector-two");
  // Within one inspector's 12 distinct records an hour.
  constexpr int kBurst = 10;
  std::vector<double> alone_ms, during_ms, burst_ms;
  for (int round = 0; round < absl::GetFlag(FLAGS_slow_rounds); ++round) {
    std::vector<std::string> faces;
    for (int i = 0; i < kBurst; ++i) {
      faces.push_back(TakeCrossing(*w.vault, clock.Now(), round * 100 + i,
                                   LargestFaceJpeg()));
    }
    const std::string plate_alone = TakeCrossing(*w.vault, clock.Now(), 1);
    const std::string plate = TakeCrossing(*w.vault, clock.Now(), 2);
    auto timed = [&](const std::string& id) {
      const absl::Time t = absl::Now();
      grpc::Status s =
          Read(*b, id, "vehicle-inspection", v1::DATA_CATEGORY_PLATE_TEXT);
      if (!s.ok())
        Fail(absl::StrCat("the colleague's read: ", s.error_message()));
      return absl::ToDoubleMilliseconds(absl::Now() - t);
    };
    alone_ms.push_back(timed(plate_alone));
    std::atomic<int> started{0}, failed{0};
    const absl::Time burst_start = absl::Now();
    std::vector<std::thread> burst;
    for (const std::string& id : faces) {
      burst.emplace_back([&, id] {
        ++started;
        if (!Read(*a, id, "identity-verification", v1::DATA_CATEGORY_FACE_IMAGE)
                 .ok()) {
          ++failed;
        }
      });
    }
    while (started.load() < kBurst) absl::SleepFor(absl::Milliseconds(1));
    absl::SleepFor(absl::Milliseconds(20));  // the burst is in the server
    during_ms.push_back(timed(plate));
    for (auto& t : burst) t.join();
    burst_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - burst_start));
    if (failed.load() > 0) Fail("a read of the burst failed");
    clock.Advance(absl::Hours(1) + absl::Seconds(1));
  }
  std::printf(
      "4. a colleague's plate read while one inspector reads %d faces of "
      "%zu KB (2048x2048, progressive) at once: median %.1f ms against "
      "%.1f ms alone (%.1fx); the burst took %.0f ms (medians of %d "
      "rounds)\n",
      kBurst, LargestFaceJpeg().size() / 1024, Median(during_ms),
      Median(alone_ms), Median(during_ms) / Median(alone_ms), Median(burst_ms),
      absl::GetFlag(FLAGS_slow_rounds));
}

int Main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  DropMutexDeadlockGraphInReleaseBuilds();  // as the programs run
  InitLogging("insider_bench", "error");
  const std::string dir = absl::GetFlag(FLAGS_dir);
  std::filesystem::remove_all(dir);

  auto text = ReadFileToString(absl::StrCat(
      LANEVAULT_SOURCE_DIR, "/deploy/contracts/land-border-pilot.textproto"));
  auto contract = policy::ParseContract(*text);
  std::printf("1. records obtainable over six weeks (the contract's bound)\n");
  for (const policy::HarvestBudget& b : policy::HarvestBudgets(*contract)) {
    std::printf("   %-20s %-28s %8llu\n", b.permit_id.c_str(),
                b.group.empty() ? "one inspector"
                                : absl::StrCat("group ", b.group).c_str(),
                static_cast<unsigned long long>(b.records_over_six_weeks));
  }

  // Ahead of the real clock: the PKI made a moment ago is valid from now.
  FakeClock clock(absl::Now() + absl::Minutes(2));
  World w = Start(dir + "/fake", &clock);
  world = &w;
  auto a = As(w, "inspector-dev");
  auto b = As(w, "inspector-two");
  std::set<std::string> by_a, by_group;
  int guesses_a = 0, guesses_b = 0;
  for (int hour = 0; hour < 24; ++hour) {
    std::vector<std::string> ids;
    for (int i = 0; i < absl::GetFlag(FLAGS_records) / 24 + 40; ++i) {
      ids.push_back(TakeCrossing(*w.vault, clock.Now(), hour * 1000 + i));
    }
    // A takes plates; B, of the same group, faces of other crossings.
    std::vector<std::string> first(ids.begin(), ids.begin() + ids.size() / 2);
    std::vector<std::string> second(ids.begin() + ids.size() / 2, ids.end());
    std::set<std::string> mine;
    ReadUntilRefused(*a, first, "vehicle-inspection",
                     v1::DATA_CATEGORY_PLATE_TEXT, mine);
    by_a.insert(mine.begin(), mine.end());
    by_group.insert(mine.begin(), mine.end());
    ReadUntilRefused(*b, second, "identity-verification",
                     v1::DATA_CATEGORY_FACE_IMAGE, by_group);
    if (hour == 0) {
      while (guesses_a < 100000 &&
             Lookup(*a, absl::StrCat("G", guesses_a)).ok()) {
        ++guesses_a;
      }
      while (guesses_b < 100000) {
        grpc::Status s = Lookup(*b, absl::StrCat("H", guesses_b));
        if (!s.ok()) {
          std::printf("   the colleague's lookup %d: %s\n", guesses_b + 1,
                      s.error_message().c_str());
          break;
        }
        ++guesses_b;
      }
    }
    clock.Advance(absl::Hours(1) + absl::Seconds(1));
  }
  std::printf(
      "   measured over 24 one-hour windows: one inspector %zu records a day "
      "(%zu over six weeks), the group of two %zu a day (%zu over six "
      "weeks)\n",
      by_a.size(), by_a.size() * 42, by_group.size(), by_group.size() * 42);
  std::printf(
      "2. plate guesses before refusal, in one hour: one inspector %d, its "
      "colleague of the same group %d more\n",
      guesses_a, guesses_b);

  World real = Start(dir + "/real", RealClock());
  world = &real;
  const uint64_t before = real.vault->log().Size();
  auto anonymous = As(real, "");
  std::atomic<int> calls{0};
  const absl::Time end =
      absl::Now() + absl::Seconds(absl::GetFlag(FLAGS_flood_seconds));
  std::vector<std::thread> flood;
  for (int t = 0; t < 4; ++t) {
    flood.emplace_back([&] {
      while (absl::Now() < end) {
        (void)Read(*anonymous, std::string(1000, 'x'), "curiosity",
                   v1::DATA_CATEGORY_FACE_IMAGE);
        ++calls;
      }
    });
  }
  for (auto& t : flood) t.join();
  real.server.reset();  // the last summary goes in at shutdown
  const uint64_t after = real.vault->log().Size();
  auto leaves = real.vault->log().LeafData(before, after);
  if (!leaves.ok()) Fail(leaves.status());
  size_t bytes = 0;
  for (const std::string& leaf : *leaves) bytes += leaf.size();
  const double minutes = absl::GetFlag(FLAGS_flood_seconds) / 60.0;
  std::printf(
      "3. one caller without a certificate, %d calls in %.0f s: %zu entries, "
      "%zu bytes in the access log (%.0f bytes a minute)\n",
      calls.load(), absl::GetFlag(FLAGS_flood_seconds), leaves->size(), bytes,
      bytes / minutes);
  SlowReadsAndAColleague(dir + "/slow");
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace lanevault

int main(int argc, char** argv) { return lanevault::Main(argc, argv); }
