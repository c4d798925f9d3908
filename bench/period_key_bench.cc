// What destroying one retention period's key costs when the period held
// `--items` items, beside two baselines in the same run: purging those
// items (the work retention did anyway), and one acknowledged intake (one
// durable commit). `--other_items` live in a later period, to show the
// destruction does not scan them.
//
//   build/bench/period_key_bench --items 100000 --other_items 100000

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/time_util.h"
#include "crypto/master_key.h"
#include "vault/vault.h"

ABSL_FLAG(int, items, 100000, "Items in the period whose key is destroyed.");
ABSL_FLAG(int, other_items, 100000, "Items in a later period, kept.");
ABSL_FLAG(int, writers, 16, "Concurrent intake threads while filling.");
ABSL_FLAG(std::string, dir, "/var/tmp/lanevault-period-key-bench",
          "Scratch directory (emptied first).");

namespace lanevault {
namespace {

// 2027-01-15 08:00 UTC: the doomed period is that day.
const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);

// A crossing of two items (plate text and a 4 KiB crop) kept `keep`.
v1::Record MakeRecord(absl::Time now, absl::Duration keep) {
  v1::Record r;
  r.set_record_id(NewId("rec_"));
  r.set_lane_id("lane-1");
  r.set_checkpoint_id("bench");
  r.set_contract_id("bench");
  r.set_contract_version(1);
  *r.mutable_first_seen() = ToProto(now);
  *r.mutable_last_seen() = ToProto(now);
  v1::Item* text = r.add_items();
  text->set_item_id(NewId("itm_"));
  text->set_category(v1::DATA_CATEGORY_PLATE_TEXT);
  text->set_content("KXR4821");
  *text->mutable_deadline() = ToProto(now + keep);
  v1::Item* crop = r.add_items();
  crop->set_item_id(NewId("itm_"));
  crop->set_category(v1::DATA_CATEGORY_PLATE_IMAGE);
  crop->set_media_type("image/jpeg");
  crop->set_content(std::string(4096, 'p'));
  *crop->mutable_deadline() = ToProto(now + keep);
  return r;
}

v1::AuditEntry IntakeEntry(const v1::Record& r) {
  v1::AuditEntry e;
  e.set_principal("lane-1");
  e.set_action(v1::ACTION_INTAKE);
  e.set_verdict(v1::VERDICT_ALLOW);
  e.set_record_id(r.record_id());
  return e;
}

void Fill(vault::Vault& v, FakeClock& clock, int items, absl::Duration keep) {
  const int records = items / 2;
  std::atomic<int> next{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < absl::GetFlag(FLAGS_writers); ++t) {
    pool.emplace_back([&] {
      for (int i; (i = next.fetch_add(1)) < records;) {
        v1::Record r = MakeRecord(clock.Now(), keep);
        if (absl::Status s = v.Intake(r, IntakeEntry(r)); !s.ok()) {
          std::fprintf(stderr, "intake: %s\n", s.ToString().c_str());
          std::abort();
        }
      }
    });
  }
  for (std::thread& t : pool) t.join();
}

template <typename F>
double Seconds(F f) {
  const absl::Time start = absl::Now();
  f();
  return absl::ToDoubleSeconds(absl::Now() - start);
}

int Run() {
  const std::string dir = absl::GetFlag(FLAGS_dir);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  if (!crypto::MasterKey::CreateKeyFile(dir + "/master.key").ok()) return 1;
  FakeClock clock(kStart);
  vault::VaultOptions o;
  o.database = dir + "/vault.db";
  o.master_key_file = dir + "/master.key";
  o.clock = &clock;
  auto v = vault::Vault::Open(o);
  if (!v.ok()) {
    std::fprintf(stderr, "%s\n", v.status().ToString().c_str());
    return 1;
  }
  vault::Vault& vault = **v;
  const int items = absl::GetFlag(FLAGS_items);
  const int others = absl::GetFlag(FLAGS_other_items);
  std::fprintf(stderr, "filling: %d items in the doomed period, %d later\n",
               items, others);
  const double fill = Seconds([&] {
    Fill(vault, clock, items, absl::Hours(2));
    Fill(vault, clock, others, absl::Hours(24 * 30));
  });
  std::fprintf(stderr, "filled in %.1f s\n", fill);

  // Baseline 1: one acknowledged intake (one durable commit), median of 21.
  std::vector<double> commits;
  for (int i = 0; i < 21; ++i) {
    v1::Record r = MakeRecord(clock.Now(), absl::Hours(24 * 30));
    commits.push_back(Seconds([&] {
      if (!vault.Intake(r, IntakeEntry(r)).ok()) std::abort();
    }));
  }
  std::sort(commits.begin(), commits.end());
  const double commit = commits[commits.size() / 2];

  // Baseline 2: the purge of the period's items, once their deadline has
  // passed but their day has not (so the key cannot go yet).
  clock.Advance(absl::Hours(3));
  uint64_t purged = 0;
  const double purge = Seconds([&] {
    auto p = vault.SweepExpired();
    if (!p.ok()) std::abort();
    purged = p->items;
  });
  // The destruction itself, once the day has ended.
  clock.Advance(absl::Hours(14));
  uint64_t destroyed = 0;
  const double destroy = Seconds([&] {
    auto d = vault.DestroyUnusedKeys();
    if (!d.ok()) std::abort();
    destroyed = *d;
  });
  std::printf(
      "period key destruction, %d items in the period, %d kept elsewhere\n"
      "  purge of the period's items:  %llu items in %.3f s\n"
      "  destroying its key:           %llu key in %.4f s\n"
      "  one acknowledged intake:      %.4f s (median of 21)\n"
      "  destruction / one intake:     %.2f\n"
      "  destruction / purge:          %.4f\n",
      items, others, static_cast<unsigned long long>(purged), purge,
      static_cast<unsigned long long>(destroyed), destroy, commit,
      destroy / commit, destroy / purge);
  std::filesystem::remove_all(dir);
  return destroyed == 1 && purged == static_cast<uint64_t>(items) ? 0 : 1;
}

}  // namespace
}  // namespace lanevault

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Times the destruction of one retention period's key beside the "
      "purge of its items and one acknowledged intake.");
  absl::ParseCommandLine(argc, argv);
  return lanevault::Run();
}
