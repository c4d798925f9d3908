// Access-log figures: durable appends per second (batched), proof times at
// 1 M and 10 M entries, and a full offline recomputation of a 1 M log.
//
//   build/bench/audit_log_bench [--benchmark_filter=...]
//
// Logs of 1 M and 10 M entries are built once into $LANEVAULT_BENCH_DIR
// (default /tmp/lanevault-bench) and reused by later runs; building 10 M
// takes a few minutes on the 2-core machine.

#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "benchmark/benchmark.h"
#include "common/time_util.h"
#include "crypto/master_key.h"
#include "rpc/audit_log_source.h"
#include "tlog/log_verifier.h"
#include "vault/vault.h"

namespace lanevault {
namespace {

namespace fs = std::filesystem;

std::string BenchDir() {
  const char* dir = std::getenv("LANEVAULT_BENCH_DIR");
  std::string path = dir ? dir : "/tmp/lanevault-bench";
  fs::create_directories(path);
  return path;
}

std::unique_ptr<vault::Vault> OpenVault(const std::string& db) {
  const std::string key = BenchDir() + "/master.key";
  if (!fs::exists(key)) {
    if (!crypto::MasterKey::CreateKeyFile(key).ok()) std::abort();
  }
  vault::VaultOptions o;
  o.database = db;
  o.master_key_file = key;
  auto v = vault::Vault::Open(o);
  if (!v.ok()) {
    std::fprintf(stderr, "%s\n", std::string(v.status().message()).c_str());
    std::abort();
  }
  return std::move(*v);
}

// A realistic decision: an inspector's allowed read.
v1::AuditEntry Entry(uint64_t i) {
  v1::AuditEntry e;
  *e.mutable_time() = ToProto(absl::Now());
  e.set_principal(absl::StrCat("inspector-", i % 17));
  e.set_role("inspector");
  e.set_action(v1::ACTION_READ_RECORD);
  e.set_purpose("vehicle-inspection");
  e.set_case_id(absl::StrCat("case-", i % 101));
  e.set_record_id(absl::StrCat("rec_", 1000000000000 + i));
  e.set_verdict(v1::VERDICT_ALLOW);
  e.add_rule_ids("builtin.permit.vehicle-inspection");
  e.set_reason_code("allowed");
  return e;
}

void Fill(vault::Vault& v, uint64_t target) {
  constexpr uint64_t kBatch = 20000;
  const absl::Time start = absl::Now();
  while (v.log().Size() < target) {
    std::vector<v1::AuditEntry> batch;
    const uint64_t from = v.log().Size();
    for (uint64_t i = from; i < std::min(target, from + kBatch); ++i) {
      batch.push_back(Entry(i));
    }
    if (!v.log().AppendBatch(std::move(batch)).ok()) std::abort();
    if (v.log().Size() % 1000000 == 0) {
      std::fprintf(stderr, "  built %llu entries (%.0f s)\n",
                   static_cast<unsigned long long>(v.log().Size()),
                   absl::ToDoubleSeconds(absl::Now() - start));
    }
  }
}

// One vault per size, built once and shared by the benchmarks.
vault::Vault& LogOfSize(uint64_t n) {
  static auto* logs = new std::map<uint64_t, std::unique_ptr<vault::Vault>>();
  auto& slot = (*logs)[n];
  if (!slot) {
    slot = OpenVault(absl::StrCat(BenchDir(), "/log-", n, ".db"));
    if (slot->log().Size() < n) {
      std::fprintf(stderr, "building a log of %llu entries in %s\n",
                   static_cast<unsigned long long>(n), BenchDir().c_str());
      Fill(*slot, n);
    }
  }
  return *slot;
}

void BM_DurableAppend(benchmark::State& state) {
  const std::string db = BenchDir() + "/append.db";
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(db + suffix);
  auto v = OpenVault(db);
  const int batch = static_cast<int>(state.range(0));
  uint64_t i = 0;
  for (auto _ : state) {
    std::vector<v1::AuditEntry> entries;
    for (int k = 0; k < batch; ++k) entries.push_back(Entry(i++));
    if (!v->log().AppendBatch(std::move(entries)).ok())
      state.SkipWithError("append");
  }
  state.SetItemsProcessed(static_cast<int64_t>(i));
  state.counters["entries"] = static_cast<double>(v->log().Size());
}
BENCHMARK(BM_DurableAppend)
    ->Arg(1)
    ->Arg(100)
    ->Arg(1000)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_InclusionProof(benchmark::State& state) {
  vault::Vault& v = LogOfSize(static_cast<uint64_t>(state.range(0)));
  const uint64_t n = v.log().Size();
  std::mt19937_64 rng(1);
  for (auto _ : state) {
    auto proof = v.log().InclusionProof(rng() % n, n);
    if (!proof.ok()) state.SkipWithError("proof");
    benchmark::DoNotOptimize(proof);
  }
}
BENCHMARK(BM_InclusionProof)
    ->Arg(1'000'000)
    ->Arg(10'000'000)
    ->Unit(benchmark::kMicrosecond);

void BM_ConsistencyProof(benchmark::State& state) {
  vault::Vault& v = LogOfSize(static_cast<uint64_t>(state.range(0)));
  const uint64_t n = v.log().Size();
  std::mt19937_64 rng(2);
  for (auto _ : state) {
    auto proof = v.log().ConsistencyProof(1 + rng() % (n - 1), n);
    if (!proof.ok()) state.SkipWithError("proof");
    benchmark::DoNotOptimize(proof);
  }
}
BENCHMARK(BM_ConsistencyProof)
    ->Arg(1'000'000)
    ->Arg(10'000'000)
    ->Unit(benchmark::kMicrosecond);

// The auditor's full check of a 1 M log from an export: parse every entry,
// hash every leaf, rebuild the tree, compare with the signed root.
void BM_FullVerifyOffline(benchmark::State& state) {
  vault::Vault& v = LogOfSize(static_cast<uint64_t>(state.range(0)));
  v1::AuditExport exported;
  *exported.mutable_checkpoint() = *v.log().SignCheckpoint();
  const uint64_t n = exported.checkpoint().tree_size();
  for (uint64_t start = 0; start < n; start += 100000) {
    auto leaves = v.log().LeafData(start, std::min(n, start + 100000));
    for (auto& l : leaves.value()) exported.add_leaf_data(std::move(l));
  }
  tlog::VerifyOptions options;
  options.verifier_key = v.log().VerifierKey();
  options.full = true;
  for (auto _ : state) {
    auto source = tlog::ExportAuditLogSource(exported);
    auto report = tlog::VerifyAuditLog(**source, options);
    if (!report.ok()) state.SkipWithError("verify failed");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
}
BENCHMARK(BM_FullVerifyOffline)
    ->Arg(1'000'000)
    ->Unit(benchmark::kSecond)
    ->Iterations(1);

}  // namespace
}  // namespace lanevault

BENCHMARK_MAIN();
