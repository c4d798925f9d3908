// Witness round trip (issue 27's figure): add-checkpoint over loopback HTTP
// to a real witness (its state fsync'd and renamed before it answers) for a
// log growing one entry per checkpoint, against two baselines in the same
// run: a bare Ed25519 signature (what the witness adds cryptographically)
// and a loopback HTTP round trip to an endpoint that does nothing (what the
// transport costs). Prints p50/p99 of each and the ratios.
//   witness_bench [--checkpoints 1000] [--dir DIR]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "crypto/secure_bytes.h"
#include "crypto/signing.h"
#include "httplib.h"
#include "tlog/checkpoint.h"
#include "tlog/cosignature.h"
#include "tlog/merkle.h"
#include "witness/client.h"
#include "witness/http_server.h"
#include "witness/witness.h"

ABSL_FLAG(int, checkpoints, 1000, "Checkpoints to push (and samples each).");
ABSL_FLAG(std::string, dir, "",
          "Where the keys and the witness state go (default: a fresh folder "
          "under /tmp, removed after). The disk's fsync is part of the "
          "figure.");

namespace lanevault {
namespace {

using Clock = std::chrono::steady_clock;

struct Stats {
  double p50_us, p99_us;
};

Stats Summarise(std::vector<double> us) {
  std::sort(us.begin(), us.end());
  auto at = [&](double q) {
    return us[std::min(us.size() - 1, static_cast<size_t>(q * us.size()))];
  };
  return {at(0.50), at(0.99)};
}

template <typename F>
double TimeUs(F&& f) {
  const auto t0 = Clock::now();
  f();
  return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
}

// The log's side: a tree growing one leaf at a time, its perfect subtrees
// kept, so proofs cost what they cost the vault (O(log n) reads).
class GrowingLog {
 public:
  void Append() {
    for (auto& n : range_.Append(tlog::LeafHash(absl::StrCat("e", size_))))
      nodes_[{n.level, n.index}] = n.hash;
    ++size_;
  }
  uint64_t size() const { return size_; }
  tlog::Hash Root() const { return range_.Root(); }
  std::vector<std::string> Proof(uint64_t from) const {
    return *tlog::ConsistencyProof(from, size_, [this](int l, uint64_t i) {
      return absl::StatusOr<tlog::Hash>(nodes_.at({l, i}));
    });
  }

 private:
  tlog::CompactRange range_;
  std::map<std::pair<int, uint64_t>, tlog::Hash> nodes_;
  uint64_t size_ = 0;
};

int Main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  if (!crypto::InitCrypto().ok()) return 1;
  const int n = std::max(10, absl::GetFlag(FLAGS_checkpoints));
  std::string dir = absl::GetFlag(FLAGS_dir);
  const bool own_dir = dir.empty();
  if (own_dir) {
    dir = absl::StrCat(std::filesystem::temp_directory_path().string(),
                       "/witness-bench-", ::getpid());
  }
  std::filesystem::create_directories(dir + "/state");
  const std::string log_key_file = dir + "/log.key";
  const std::string w_key_file = dir + "/witness.key";
  std::filesystem::remove(log_key_file);
  std::filesystem::remove(w_key_file);
  if (!crypto::SigningKey::CreateKeyFile(log_key_file).ok() ||
      !crypto::SigningKey::CreateKeyFile(w_key_file).ok()) {
    std::fprintf(stderr, "cannot create keys in %s\n", dir.c_str());
    return 1;
  }
  const crypto::SigningKey log_key =
      *crypto::SigningKey::LoadFromFile(log_key_file);
  const crypto::SigningKey w_key =
      *crypto::SigningKey::LoadFromFile(w_key_file);
  const std::string origin = "bench.example/log";

  witness::WitnessOptions opts;
  opts.name = "bench.example/witness";
  opts.key = &w_key;
  opts.state_dir = dir + "/state";
  opts.logs[origin] = tlog::VerifierKey(origin, log_key.public_key());
  auto w = witness::Witness::Create(opts);
  auto server = witness::HttpServer::Start(w->get(), "127.0.0.1", 0);
  if (!server.ok()) return 1;
  auto client = witness::WitnessClient::Create(
      absl::StrCat("http://127.0.0.1:", (*server)->port()), absl::Seconds(10));

  // Baseline server: same library, same loopback, an endpoint doing nothing.
  httplib::Server noop;
  noop.set_tcp_nodelay(true);  // as the witness's
  noop.Post("/noop", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  const int noop_port = noop.bind_to_any_port("127.0.0.1");
  std::thread noop_thread([&] { noop.listen_after_bind(); });
  while (!noop.is_running())
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  httplib::Client noop_client("127.0.0.1", noop_port);
  noop_client.set_keep_alive(true);
  noop_client.set_tcp_nodelay(true);

  GrowingLog log;
  std::vector<double> witness_us, noop_us, sign_us;
  uint64_t acknowledged = 0;
  int failures = 0;
  for (int i = 0; i < n; ++i) {
    log.Append();
    const std::string note =
        tlog::SignCheckpoint({origin, log.size(), log.Root()}, log_key);
    const std::vector<std::string> proof = acknowledged == 0
                                               ? std::vector<std::string>{}
                                               : log.Proof(acknowledged);
    const std::string request =
        witness::AddCheckpointRequest(acknowledged, proof, note);
    witness_us.push_back(TimeUs([&] {
      auto r = (*client)->AddCheckpoint(acknowledged, proof, note);
      if (!r.ok() || r->kind != witness::AddCheckpointResult::Kind::kCosigned) {
        ++failures;
      }
    }));
    acknowledged = log.size();
    // Interleaved, so both baselines see the same machine state.
    noop_us.push_back(TimeUs([&] {
      if (!noop_client.Post("/noop", request, "text/plain")) ++failures;
    }));
    const std::string body = *tlog::NoteBody(note);
    sign_us.push_back(TimeUs(
        [&] { (void)tlog::Cosign(body, 1700000000, opts.name, w_key); }));
  }
  noop.stop();
  noop_thread.join();
  (*server)->Stop();
  if (own_dir) std::filesystem::remove_all(dir);

  const Stats ws = Summarise(witness_us), hs = Summarise(noop_us),
              ss = Summarise(sign_us);
  std::printf(
      "witness round trip, %d checkpoints on loopback (state in %s)%s\n", n,
      own_dir ? "/tmp" : dir.c_str(), failures ? " -- WITH FAILURES" : "");
  std::printf("%-44s %10s %10s\n", "", "p50 us", "p99 us");
  std::printf("%-44s %10.1f %10.1f\n",
              "add-checkpoint (verify, proof, fsync, cosign)", ws.p50_us,
              ws.p99_us);
  std::printf("%-44s %10.1f %10.1f\n",
              "baseline: HTTP POST to a no-op endpoint", hs.p50_us, hs.p99_us);
  std::printf("%-44s %10.1f %10.1f\n", "baseline: bare Ed25519 cosignature",
              ss.p50_us, ss.p99_us);
  std::printf("ratio add-checkpoint / no-op HTTP: p50 %.1fx, p99 %.1fx\n",
              ws.p50_us / hs.p50_us, ws.p99_us / hs.p99_us);
  std::printf("ratio add-checkpoint / Ed25519 sign: p50 %.0fx\n",
              ws.p50_us / ss.p50_us);
  if (failures) std::printf("failures: %d\n", failures);
  return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace lanevault

int main(int argc, char** argv) { return lanevault::Main(argc, argv); }
