// Policy figures: access and intake decisions per second on one core, with
// a contract of 200 permits and 20 prohibitions (target: >= 500,000 access
// decisions/s, i.e. under 2 µs each).
//
//   build/bench/policy_bench

#include <random>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "common/time_util.h"
#include "policy/contract.h"
#include "policy/policy.h"

namespace lanevault::policy {
namespace {

const char* const kRoles[] = {"lane",    "operator",   "inspector",
                              "auditor", "compliance", "contractor"};
const v1::Action kActions[] = {
    v1::ACTION_READ_RECORD,     v1::ACTION_READ_ITEM,  v1::ACTION_SEARCH_PLATE,
    v1::ACTION_SEARCH_METADATA, v1::ACTION_VIEW_LANES, v1::ACTION_READ_AUDIT};
const v1::DataCategory kCategories[] = {v1::DATA_CATEGORY_PLATE_TEXT,
                                        v1::DATA_CATEGORY_PLATE_IMAGE,
                                        v1::DATA_CATEGORY_FACE_IMAGE};

// 200 permits over 6 roles and 40 purposes, 20 prohibitions: a contract far
// larger than a real one, so the figure is a floor.
v1::Contract BigContract() {
  v1::Contract c;
  c.set_id("bench");
  c.set_version(1);
  c.mutable_effective_from()->set_seconds(0);
  c.mutable_effective_until()->set_seconds(4'000'000'000);
  c.add_checkpoints("cp");
  for (auto cat : kCategories) {
    auto* rule = c.add_categories();
    rule->set_category(cat);
    rule->mutable_retention()->set_seconds(86400);
  }
  for (int i = 0; i < 40; ++i)
    c.add_purposes()->set_id(absl::StrCat("purpose-", i));
  for (const char* role : kRoles) {
    auto* b = c.add_bindings();
    b->set_role(role);
    b->add_principal_patterns(absl::StrCat(role, "-*"));
    b->add_checkpoints("cp");
  }
  std::mt19937 rng(7);
  for (int i = 0; i < 200; ++i) {
    auto* p = c.add_permits();
    p->set_id(absl::StrCat("permit-", i));
    p->set_role(kRoles[rng() % 6]);
    p->add_purposes(absl::StrCat("purpose-", rng() % 40));
    p->add_purposes(absl::StrCat("purpose-", rng() % 40));
    p->add_actions(kActions[rng() % 6]);
    p->add_actions(kActions[rng() % 6]);
    p->add_categories(kCategories[rng() % 3]);
    p->set_case_id_required(rng() % 4 == 0);
  }
  for (int i = 0; i < 20; ++i) {
    auto* p = c.add_prohibitions();
    p->set_id(absl::StrCat("ban-", i));
    p->add_roles(kRoles[rng() % 6]);
    p->add_purposes(absl::StrCat("purpose-", rng() % 40));
    p->add_actions(kActions[rng() % 6]);
  }
  return c;
}

class NoHistory final : public AccessHistory {
 public:
  Reads ReadsSince(absl::string_view, absl::Time) const override {
    return {3, 2};
  }
  std::vector<v1::DataCategory> CategoriesRead(
      absl::string_view, absl::string_view) const override {
    return {};
  }
};

void BM_AccessDecision(benchmark::State& state) {
  auto policy = NewContractPolicy(BigContract());
  if (!policy.ok()) {
    state.SkipWithError("contract invalid");
    return;
  }
  NoHistory history;
  std::vector<AccessRequest> requests(1024);
  std::mt19937 rng(11);
  for (auto& r : requests) {
    const int role = static_cast<int>(rng() % 6);
    r.principal = absl::StrCat(kRoles[role], "-", rng() % 50);
    r.role = RoleFromName(kRoles[role]);
    r.action = kActions[rng() % 6];
    r.purpose = absl::StrCat("purpose-", rng() % 40);
    r.case_id = rng() % 2 ? "case-1" : "";
    r.categories = {kCategories[rng() % 3]};
    r.available = {v1::DATA_CATEGORY_PLATE_TEXT, v1::DATA_CATEGORY_FACE_IMAGE};
    r.record_id = "rec_1";
    r.history = &history;
    r.now = absl::FromUnixSeconds(1'800'000'000);
  }
  size_t i = 0, allowed = 0;
  for (auto _ : state) {
    AccessDecision d = (*policy)->DecideAccess(requests[i++ & 1023]);
    allowed += d.allowed();
    benchmark::DoNotOptimize(d);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["allowed_share"] =
      static_cast<double>(allowed) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_AccessDecision);

void BM_IntakeDecision(benchmark::State& state) {
  auto policy = NewContractPolicy(BigContract());
  if (!policy.ok()) {
    state.SkipWithError("contract invalid");
    return;
  }
  v1::Record record;
  record.set_record_id("rec_1");
  record.set_lane_id("lane-1");
  record.set_checkpoint_id("cp");
  *record.mutable_first_seen() = ToProto(absl::FromUnixSeconds(1'800'000'000));
  for (auto cat :
       {v1::DATA_CATEGORY_PLATE_TEXT, v1::DATA_CATEGORY_PLATE_IMAGE,
        v1::DATA_CATEGORY_FACE_IMAGE, v1::DATA_CATEGORY_FACE_IMAGE}) {
    auto* item = record.add_items();
    item->set_item_id(absl::StrCat("itm_", record.items_size()));
    item->set_category(cat);
  }
  for (auto _ : state) {
    v1::IntakeDecision d = (*policy)->DecideIntake(record);
    benchmark::DoNotOptimize(d);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_IntakeDecision);

}  // namespace
}  // namespace lanevault::policy

BENCHMARK_MAIN();
