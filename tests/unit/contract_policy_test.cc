// The contract engine: validation with field paths, and the semantics
// (default deny, prohibitions beat permits, effective window, linkage
// across calls, quotas), table-driven.

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/time_util.h"
#include "crypto/signing.h"
#include "gtest/gtest.h"
#include "policy/contract.h"
#include "policy/policy.h"
#include "testing/test_util.h"

namespace lanevault::policy {
namespace {

const std::string kContracts =
    std::string(LANEVAULT_SOURCE_DIR) + "/deploy/contracts/";

v1::Contract Pilot() {
  auto text = ReadFileToString(kContracts + "land-border-pilot.textproto");
  EXPECT_TRUE(text.ok()) << text.status();
  auto c = ParseContract(*text);
  EXPECT_TRUE(c.ok()) << c.status();
  return *c;
}

std::unique_ptr<Policy> PilotPolicy() {
  auto p = NewContractPolicy(Pilot());
  EXPECT_TRUE(p.ok()) << p.status();
  return std::move(*p);
}

const absl::Time kInside = absl::FromUnixSeconds(1'790'000'000);

// The deadline `p` gives the face of a crossing first seen at `seen`.
absl::Time FaceDeadline(const Policy& p, absl::Time seen) {
  v1::Record rec;
  rec.set_record_id("rec_1");
  rec.set_lane_id("lane-1");
  rec.set_checkpoint_id("demo-poe");
  *rec.mutable_first_seen() = ToProto(seen);
  v1::Item* face = rec.add_items();
  face->set_item_id("itm_1");
  face->set_category(v1::DATA_CATEGORY_FACE_IMAGE);
  const v1::IntakeDecision d = p.DecideIntake(rec);
  EXPECT_TRUE(d.items(0).keep());
  return FromProto(d.items(0).deadline());
}

class History final : public AccessHistory {
 public:
  uint32_t reads = 0, records = 0;
  std::vector<v1::DataCategory> read_before;
  Reads ReadsSince(absl::string_view, absl::Time) const override {
    return {reads, records};
  }
  std::vector<v1::DataCategory> CategoriesRead(
      absl::string_view, absl::string_view) const override {
    return read_before;
  }
};

AccessRequest Read(std::string purpose, std::vector<v1::DataCategory> cats,
                   const History* h = nullptr) {
  AccessRequest r;
  r.principal = "inspector-7";
  r.role = Role::kInspector;
  r.action = v1::ACTION_READ_RECORD;
  r.purpose = std::move(purpose);
  r.categories = std::move(cats);
  r.available = {v1::DATA_CATEGORY_PLATE_TEXT, v1::DATA_CATEGORY_PLATE_IMAGE,
                 v1::DATA_CATEGORY_FACE_IMAGE};
  r.record_id = "rec_1";
  r.history = h;
  r.now = kInside;
  return r;
}

TEST(ContractPolicy, PilotExampleValidatesWithoutIssues) {
  auto issues = ValidateContract(Pilot());
  for (const auto& i : issues)
    ADD_FAILURE() << i.field_path << ": " << i.message;
}

TEST(ContractPolicy, BindsPrincipalsByPattern) {
  auto p = PilotPolicy();
  EXPECT_EQ(p->RoleOf("inspector-dev"), Role::kInspector);
  EXPECT_EQ(p->RoleOf("contractor-ops"), Role::kContractor);
  EXPECT_EQ(p->RoleOf("visitor"), Role::kUnknown);
  EXPECT_EQ(p->contract_id(), "land-border-pilot");
  EXPECT_EQ(p->contract_version(), 1u);
}

TEST(ContractPolicy, EveryProhibitionBeatsAMatchingPermit) {
  // For each prohibition, a contract that also permits exactly what it
  // forbids must still refuse, naming the prohibition.
  const v1::Contract pilot = Pilot();
  for (const auto& ban : pilot.prohibitions()) {
    v1::Contract c = pilot;
    v1::Permit* permit = c.add_permits();
    permit->set_id("permit-" + ban.id());
    permit->set_role(ban.roles().empty() ? "inspector" : ban.roles(0));
    permit->add_purposes("vehicle-inspection");
    v1::Action action =
        ban.actions().empty() ? v1::ACTION_READ_RECORD : ban.actions(0);
    permit->add_actions(action);
    permit->add_categories(v1::DATA_CATEGORY_PLATE_TEXT);
    auto p = NewContractPolicy(c);
    ASSERT_TRUE(p.ok()) << p.status();
    AccessRequest r =
        Read("vehicle-inspection", {v1::DATA_CATEGORY_PLATE_TEXT});
    r.role = RoleFromName(permit->role());
    r.principal = permit->role() + "-x";
    r.action = action;
    if (ban.outside_checkpoints()) r.checkpoint = "elsewhere";
    AccessDecision d = (*p)->DecideAccess(r);
    EXPECT_FALSE(d.allowed()) << ban.id();
    ASSERT_FALSE(d.decision.rule_ids().empty());
    EXPECT_EQ(d.decision.rule_ids(0), ban.id());
  }
}

TEST(ContractPolicy, LinkageAcrossTwoCallsIsRefused) {
  auto p = PilotPolicy();
  History h;
  // First call: the plate, for vehicle inspection. Allowed.
  ASSERT_TRUE(p->DecideAccess(Read("vehicle-inspection",
                                   {v1::DATA_CATEGORY_PLATE_TEXT}, &h))
                  .allowed());
  h.read_before = {v1::DATA_CATEGORY_PLATE_TEXT};
  // Second call, same record: the face, for identity verification.
  AccessDecision d = p->DecideAccess(
      Read("identity-verification", {v1::DATA_CATEGORY_FACE_IMAGE}, &h));
  EXPECT_FALSE(d.allowed());
  EXPECT_EQ(d.decision.rule_ids(0), "no-linkage");
  // Marked as refused for what was seen: the refusal tells it (the gate
  // alerts on it).
  EXPECT_TRUE(d.linkage_by_history);
  // The reverse order too.
  h.read_before = {v1::DATA_CATEGORY_FACE_IMAGE};
  AccessDecision reverse = p->DecideAccess(
      Read("vehicle-inspection", {v1::DATA_CATEGORY_PLATE_IMAGE}, &h));
  EXPECT_FALSE(reverse.allowed());
  EXPECT_TRUE(reverse.linkage_by_history);
  // Without the prohibition, refused by the default rule, marked the same;
  // asking for both sides in one call is no probe of what was seen.
  v1::Contract open = Pilot();
  open.clear_prohibitions();
  auto without = NewContractPolicy(open);
  ASSERT_TRUE(without.ok()) << without.status();
  AccessDecision by_default = (*without)->DecideAccess(
      Read("vehicle-inspection", {v1::DATA_CATEGORY_PLATE_IMAGE}, &h));
  EXPECT_FALSE(by_default.allowed());
  EXPECT_EQ(by_default.decision.reason_code(), "linkage");
  EXPECT_TRUE(by_default.linkage_by_history);
  History none;
  AccessRequest both = Read(
      "vehicle-inspection",
      {v1::DATA_CATEGORY_PLATE_IMAGE, v1::DATA_CATEGORY_FACE_IMAGE}, &none);
  AccessDecision asked_both = (*without)->DecideAccess(both);
  EXPECT_FALSE(asked_both.allowed());
  EXPECT_FALSE(asked_both.linkage_by_history);
  // Asking for "everything readable" gives only the side already held.
  h.read_before = {v1::DATA_CATEGORY_PLATE_TEXT};
  AccessDecision all = p->DecideAccess(Read("vehicle-inspection", {}, &h));
  ASSERT_TRUE(all.allowed());
  for (auto c : all.categories) EXPECT_NE(c, v1::DATA_CATEGORY_FACE_IMAGE);
}

TEST(ContractPolicy, AReadIsNeverGrantedACategoryTheRecordDoesNotHold) {
  auto p = PilotPolicy();
  AccessRequest r = Read("vehicle-inspection", {v1::DATA_CATEGORY_PLATE_TEXT,
                                                v1::DATA_CATEGORY_PLATE_IMAGE});
  r.available = {v1::DATA_CATEGORY_PLATE_IMAGE};  // its text was purged
  AccessDecision d = p->DecideAccess(r);
  ASSERT_TRUE(d.allowed()) << d.decision.reason();
  EXPECT_EQ(d.categories,
            std::vector<v1::DataCategory>{v1::DATA_CATEGORY_PLATE_IMAGE});
}

TEST(ContractPolicy, LinkageCanBeGrantedExplicitly) {
  v1::Contract c = Pilot();
  c.clear_prohibitions();
  v1::Permit* link = c.add_permits();
  link->set_id("investigation-link");
  link->set_role("inspector");
  link->add_purposes("vehicle-inspection");
  link->add_actions(v1::ACTION_LINK);
  link->set_case_id_required(true);
  auto p = NewContractPolicy(c);
  ASSERT_TRUE(p.ok());
  AccessRequest r = Read("vehicle-inspection", {v1::DATA_CATEGORY_PLATE_TEXT,
                                                v1::DATA_CATEGORY_FACE_IMAGE});
  EXPECT_FALSE((*p)->DecideAccess(r).allowed());  // no case id: no link permit
  r.case_id = "case-42";
  // The link is granted, but faces are still not a vehicle-inspection category.
  EXPECT_EQ((*p)->DecideAccess(r).decision.reason_code(),
            "category_not_permitted");
}

struct WindowCase {
  absl::Time at;
  v1::Action action;
  bool allowed;
};

TEST(ContractPolicy, EffectiveWindowEdges) {
  auto p = PilotPolicy();
  const absl::Time from = absl::FromUnixSeconds(1767225600);
  const absl::Time until = absl::FromUnixSeconds(1830297600);
  const WindowCase cases[] = {
      {from - absl::Seconds(1), v1::ACTION_READ_RECORD, false},
      {from, v1::ACTION_READ_RECORD, true},
      {until - absl::Seconds(1), v1::ACTION_READ_RECORD, true},
      {until, v1::ACTION_READ_RECORD, false},
      {until, v1::ACTION_READ_AUDIT, true},
      // Purging is the retention sweeper's, which asks no policy: no role
      // may purge, in the window or out of it.
      {until, v1::ACTION_PURGE, false},
      {from - absl::Hours(1), v1::ACTION_PURGE, false},
      {until, v1::ACTION_VIEW_LANES, false},
  };
  for (const auto& c : cases) {
    AccessRequest r =
        Read("vehicle-inspection", {v1::DATA_CATEGORY_PLATE_TEXT});
    r.now = c.at;
    r.action = c.action;
    if (c.action != v1::ACTION_READ_RECORD) {
      r.role = Role::kAuditor;
      r.principal = "auditor-1";
    }
    EXPECT_EQ(p->DecideAccess(r).allowed(), c.allowed)
        << absl::FormatTime(c.at) << " " << v1::Action_Name(c.action);
  }
}

TEST(ContractPolicy, QuotasCountReadsAndRecords) {
  auto p = PilotPolicy();
  History h;
  h.reads = 19;
  EXPECT_TRUE(p->DecideAccess(Read("vehicle-inspection",
                                   {v1::DATA_CATEGORY_PLATE_TEXT}, &h))
                  .allowed());
  h.reads = 20;
  AccessDecision d = p->DecideAccess(
      Read("vehicle-inspection", {v1::DATA_CATEGORY_PLATE_TEXT}, &h));
  EXPECT_FALSE(d.allowed());
  EXPECT_EQ(d.decision.reason_code(), "quota");
  h.reads = 0;
  h.records = 12;
  EXPECT_EQ(p->DecideAccess(
                 Read("vehicle-inspection", {v1::DATA_CATEGORY_PLATE_TEXT}, &h))
                .decision.reason_code(),
            "quota");
}

TEST(ContractPolicy, DefaultDeny) {
  auto p = PilotPolicy();
  AccessRequest r = Read("vehicle-inspection", {v1::DATA_CATEGORY_PLATE_TEXT});
  r.role = Role::kUnknown;
  EXPECT_EQ(p->DecideAccess(r).decision.reason_code(), "default_deny");
  r.role = Role::kOperator;
  EXPECT_FALSE(p->DecideAccess(r).allowed());
  EXPECT_FALSE(
      p->DecideAccess(Read("", {v1::DATA_CATEGORY_PLATE_TEXT})).allowed());
}

// A capture node's certificate speaks for the lanes and checkpoints its
// binding names, and no other.
TEST(ContractPolicy, ALaneSubmitsOnlyForItsBoundLanesAndCheckpoints) {
  auto p = PilotPolicy();
  AccessRequest r;
  r.principal = "lane-dev";
  r.role = Role::kLane;
  r.action = v1::ACTION_INTAKE;
  r.lane = "lane-1";
  r.record_checkpoint = "demo-poe";
  r.now = kInside;
  EXPECT_TRUE(p->DecideAccess(r).allowed());
  r.lane = "lane-2";
  AccessDecision d = p->DecideAccess(r);
  EXPECT_EQ(d.decision.reason_code(), "lane_not_bound");
  EXPECT_EQ(d.decision.rule_ids(0), "bindings[0]");
  EXPECT_NE(d.decision.reason().find("lane-2"), std::string::npos);
  EXPECT_NE(d.decision.reason().find("lane-dev"), std::string::npos);
  r.lane = "";  // an intake that names no lane
  EXPECT_EQ(p->DecideAccess(r).decision.reason_code(), "lane_not_bound");
  r.lane = "lane-1";
  r.record_checkpoint = "other-poe";
  d = p->DecideAccess(r);
  EXPECT_EQ(d.decision.reason_code(), "checkpoint_not_bound");
  EXPECT_NE(d.decision.reason().find("other-poe"), std::string::npos);
  EXPECT_NE(d.decision.reason().find("lane-dev"), std::string::npos);
  // A binding that names no lanes or checkpoints bounds nothing.
  v1::Contract open = Pilot();
  open.mutable_bindings(0)->clear_lanes();
  open.mutable_bindings(0)->clear_checkpoints();
  auto q = NewContractPolicy(open);
  ASSERT_TRUE(q.ok()) << q.status();
  r.lane = "lane-2";
  EXPECT_TRUE((*q)->DecideAccess(r).allowed());
}

TEST(ContractPolicy, ExpiryTellsNoMoreOfTheCaptureTimeThanAnAnswer) {
  // Two crossings in one hour expire at one instant: a reader who polls a
  // face near its deadline learns the hour its answers already say, not
  // the second it was taken.
  auto p = PilotPolicy();
  const absl::Time hour = FloorTo(kInside, absl::Hours(1));
  EXPECT_EQ(FaceDeadline(*p, hour + absl::Seconds(1)),
            FaceDeadline(*p, hour + absl::Minutes(59)));
  EXPECT_EQ(FaceDeadline(*p, hour), hour + absl::Hours(12));
  EXPECT_EQ(FaceDeadline(*p, hour + absl::Hours(1)), hour + absl::Hours(13));
}

TEST(ContractPolicy, ARetentionOfNoWholeCellsStillExpiresACellAtOnce) {
  // Faces kept 12 h 30 min where a purpose sees hours: crossings at :03
  // and at :58 of one hour still expire at one instant.
  v1::Contract c = Pilot();
  c.mutable_categories(0)->mutable_retention()->set_seconds(45000);
  auto p = NewContractPolicy(c);
  ASSERT_TRUE(p.ok()) << p.status();
  const absl::Time hour = FloorTo(kInside, absl::Hours(1));
  EXPECT_EQ(FaceDeadline(**p, hour + absl::Minutes(3)),
            FaceDeadline(**p, hour + absl::Minutes(58)));
  EXPECT_EQ(FaceDeadline(**p, hour + absl::Minutes(3)),
            hour + absl::Seconds(45000));
}

TEST(ContractPolicy, TimeGranularitiesThatDoNotNestAreRefused) {
  v1::Contract c = Pilot();
  // Oversight at 90 minutes beside identity's hours: items would expire by
  // 90-minute cells, and an expiry with an answer's hour would place a
  // crossing in half an hour.
  c.mutable_purposes(2)->mutable_time_granularity()->set_seconds(5400);
  const std::vector<ValidationIssue> issues = ValidateContract(c);
  bool named = false;
  for (const ValidationIssue& i : issues) {
    named |=
        !i.warning && absl::StrContains(i.message, "must divide the coarsest");
  }
  EXPECT_TRUE(named);
}

TEST(ContractPolicy, ARetentionShorterThanTwoCellsIsRefused) {
  v1::Contract c = Pilot();
  // Faces kept 90 minutes, where a purpose sees hours: floored to whole
  // hours, a face could be kept half an hour, or less.
  c.mutable_categories(0)->mutable_retention()->set_seconds(5400);
  const std::vector<ValidationIssue> issues = ValidateContract(c);
  ASSERT_TRUE(HasErrors(issues));
  bool named = false;
  for (const ValidationIssue& i : issues) {
    named |= i.field_path == "categories[0].retention" &&
             absl::StrContains(i.message, "time granularity");
  }
  EXPECT_TRUE(named);
  c.mutable_categories(0)->mutable_retention()->set_seconds(7200);
  EXPECT_FALSE(HasErrors(ValidateContract(c)));
}

TEST(ContractPolicy, IntakeKeepsPerCategoryWithDeadlines) {
  auto p = PilotPolicy();
  v1::Record rec;
  rec.set_record_id("rec_1");
  rec.set_lane_id("lane-1");
  rec.set_checkpoint_id("demo-poe");
  *rec.mutable_first_seen() = ToProto(kInside);
  for (auto cat :
       {v1::DATA_CATEGORY_FACE_IMAGE, v1::DATA_CATEGORY_PLATE_TEXT,
        v1::DATA_CATEGORY_PLATE_IMAGE, v1::DATA_CATEGORY_SCENE_IMAGE}) {
    auto* item = rec.add_items();
    item->set_item_id(absl::StrCat("itm_", cat));
    item->set_category(cat);
  }
  v1::IntakeDecision d = p->DecideIntake(rec);
  ASSERT_EQ(d.items_size(), 4);
  // Each category's retention, floored to the coarsest purpose's cell (the
  // pilot's identity purpose sees hours).
  EXPECT_EQ(FromProto(d.items(0).deadline()),
            FloorTo(kInside + absl::Hours(12), absl::Hours(1)));
  EXPECT_EQ(FromProto(d.items(1).deadline()),
            FloorTo(kInside + absl::Hours(24 * 30), absl::Hours(1)));
  EXPECT_EQ(FromProto(d.items(2).deadline()),
            FloorTo(kInside + absl::Hours(24 * 7), absl::Hours(1)));
  EXPECT_LT(FromProto(d.items(0).deadline()), kInside + absl::Hours(12));
  EXPECT_EQ(FromProto(d.items(0).deadline_cell()), absl::Hours(1));
  EXPECT_FALSE(d.items(3).keep());
  EXPECT_EQ(d.contract_version(), 1u);
  // A checkpoint the contract does not cover keeps nothing.
  rec.set_checkpoint_id("another-poe");
  const v1::IntakeDecision elsewhere = p->DecideIntake(rec);
  for (const auto& item : elsewhere.items()) EXPECT_FALSE(item.keep());
  // Nor does a crossing outside the effective window.
  rec.set_checkpoint_id("demo-poe");
  *rec.mutable_first_seen() = ToProto(absl::FromUnixSeconds(1830297600));
  const v1::IntakeDecision late = p->DecideIntake(rec);
  for (const auto& item : late.items()) EXPECT_FALSE(item.keep());
}

// --- Validation: each broken contract names the field and the reason. ---
struct Broken {
  const char* name;
  void (*edit)(v1::Contract&);
  const char* path;
};

const Broken kBroken[] = {
    {"unknown role in a permit",
     [](v1::Contract& c) { c.mutable_permits(1)->set_role("janitor"); },
     "permits[1].role"},
    {"unknown category in a permit",
     [](v1::Contract& c) {
       c.mutable_permits(1)->add_categories(v1::DATA_CATEGORY_SCENE_IMAGE);
     },
     "permits[1].categories[1]"},
    {"category without retention",
     [](v1::Contract& c) { c.mutable_categories(0)->clear_retention(); },
     "categories[0].retention"},
    {"retention beyond the maximum",
     [](v1::Contract& c) {
       c.mutable_categories(0)->mutable_retention()->set_seconds(99999999);
     },
     "categories[0].retention"},
    {"inverted window",
     [](v1::Contract& c) { c.mutable_effective_until()->set_seconds(1); },
     "effective_until"},
    {"empty window",
     [](v1::Contract& c) { *c.mutable_effective_until() = c.effective_from(); },
     "effective_until"},
    {"duplicate rule id",
     [](v1::Contract& c) {
       c.mutable_prohibitions(0)->set_id(c.permits(0).id());
     },
     "prohibitions[0].id"},
    {"duplicate purpose",
     [](v1::Contract& c) { c.mutable_purposes(1)->set_id(c.purposes(0).id()); },
     "purposes[1].id"},
    {"unknown purpose",
     [](v1::Contract& c) { c.mutable_permits(1)->set_purposes(0, "fun"); },
     "permits[1].purposes[0]"},
    {"quota without window",
     [](v1::Contract& c) {
       c.mutable_permits(1)->mutable_quota()->clear_window();
     },
     "permits[1].quota.window"},
    {"no checkpoints", [](v1::Contract& c) { c.clear_checkpoints(); },
     "checkpoints"},
    {"lanes on a binding that is not a lane's",
     [](v1::Contract& c) { c.mutable_bindings(1)->add_lanes("lane-1"); },
     "bindings[1].lanes[0]"},
    {"a binding lane the contract does not cover",
     [](v1::Contract& c) {
       c.add_lanes("lane-1");
       c.mutable_bindings(0)->add_lanes("lane-9");
     },
     "bindings[0].lanes[1]"},
    {"a wildcard binding lane",
     [](v1::Contract& c) { c.mutable_bindings(0)->set_lanes(0, "lane-*"); },
     "bindings[0].lanes[0]"},
    {"an empty binding lane",
     [](v1::Contract& c) { c.mutable_bindings(0)->set_lanes(0, ""); },
     "bindings[0].lanes[0]"},
    {"a wildcard checkpoint on a lane's binding",
     [](v1::Contract& c) { c.mutable_bindings(0)->add_checkpoints("*"); },
     "bindings[0].checkpoints[1]"},
};

TEST(ContractValidation, BrokenContractsNameTheFieldAndReason) {
  for (const Broken& b : kBroken) {
    v1::Contract c = Pilot();
    b.edit(c);
    auto issues = ValidateContract(c);
    ASSERT_TRUE(HasErrors(issues)) << b.name;
    bool found = false;
    for (const auto& i : issues) found |= !i.warning && i.field_path == b.path;
    EXPECT_TRUE(found) << b.name << ": first error was " << FirstError(issues);
    EXPECT_FALSE(NewContractPolicy(c).ok()) << b.name;
  }
}

// The warnings policy validate gives for a pair of purposes, by field path.
std::vector<std::string> JoinWarnings(const v1::Contract& c) {
  std::vector<std::string> out;
  for (const ValidationIssue& i : ValidateContract(c)) {
    if (absl::StrContains(i.message, "join")) out.push_back(i.message);
  }
  return out;
}

TEST(ContractValidation, FlagsPurposesWhoseAnswersWouldStillJoin) {
  // The pilot: identity sees the hour at the checkpoint, about 60
  // crossings a cell at 1,440 a day: no join.
  EXPECT_TRUE(JoinWarnings(Pilot()).empty());
  // Both to the minute at the lane: one crossing a cell.
  v1::Contract fine = Pilot();
  for (v1::Purpose& p : *fine.mutable_purposes()) {
    p.mutable_time_granularity()->set_seconds(60);
    p.set_location(v1::ANSWER_LOCATION_LANE);
  }
  auto warnings = JoinWarnings(fine);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_TRUE(absl::StrContains(warnings[0], "would still join"))
      << warnings[0];
  EXPECT_TRUE(absl::StrContains(warnings[0], "about 1.0 crossings"))
      << warnings[0];
  // A stricter crowd makes the pilot's hour too fine as well.
  v1::Contract strict = Pilot();
  strict.set_min_crossings_per_cell(100);
  EXPECT_EQ(JoinWarnings(strict).size(), 1u);
  // Without the expected traffic, anything finer than an hour is flagged.
  v1::Contract unknown = fine;
  unknown.clear_harvest_limit();
  EXPECT_EQ(JoinWarnings(unknown).size(), 1u);
  // One scope for both: their handles are the same.
  v1::Contract shared = Pilot();
  for (v1::Purpose& p : *shared.mutable_purposes()) p.set_scope("all");
  warnings = JoinWarnings(shared);
  ASSERT_FALSE(warnings.empty());
  EXPECT_TRUE(absl::StrContains(warnings[0], "share scope 'all'"))
      << warnings[0];
  // A granularity that does not tile a day is an error.
  v1::Contract odd = Pilot();
  odd.mutable_purposes(0)->mutable_time_granularity()->set_seconds(7000);
  EXPECT_FALSE(FirstError(ValidateContract(odd)).ok());
}

TEST(ContractValidation, APermitAProhibitionMakesDeadIsAWarning) {
  v1::Contract c = Pilot();
  v1::Permit* dead = c.add_permits();
  dead->set_id("contractor-reads");
  dead->set_role("contractor");
  dead->add_purposes("vehicle-inspection");
  dead->add_actions(v1::ACTION_READ_RECORD);
  dead->add_categories(v1::DATA_CATEGORY_PLATE_TEXT);
  auto issues = ValidateContract(c);
  EXPECT_FALSE(HasErrors(issues));
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_TRUE(issues[0].warning);
  EXPECT_NE(issues[0].message.find("no-contractor-evidence"),
            std::string::npos);
}

TEST(ContractValidation, ParseErrorsGiveLineAndColumn) {
  auto c = ParseContract("id: \"x\"\nversion: \"not a number\"\n");
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find(":2:"), absl::string_view::npos)
      << c.status();
}

TEST(ContractSignatures, RequireEnoughTrustedSignatures) {
  // Real Ed25519 keys of three officers; only alice and bob are trusted.
  testing::TempDir dir;
  auto key = [&](const std::string& name) {
    const std::string path = dir.Join(name + ".key");
    EXPECT_TRUE(crypto::SigningKey::CreateKeyFile(path).ok());
    absl::StatusOr<crypto::SigningKey> k =
        crypto::SigningKey::LoadFromFile(path);
    EXPECT_TRUE(k.ok()) << k.status();
    return *std::move(k);
  };
  const crypto::SigningKey alice = key("alice"), bob = key("bob"),
                           mallory = key("mallory");
  v1::SignedContract s;
  s.set_text("id: \"x\"");
  auto sign = [&](const crypto::SigningKey& k) {
    auto* sig = s.add_signatures();
    sig->set_public_key(k.public_key());
    sig->set_signature(k.Sign(s.text()));
  };
  const std::vector<TrustedKey> trusted = {{"alice", alice.public_key()},
                                           {"bob", bob.public_key()}};
  EXPECT_FALSE(CheckSignatures(s, trusted, 1).ok());
  sign(alice);
  EXPECT_TRUE(CheckSignatures(s, trusted, 1).ok());
  EXPECT_FALSE(CheckSignatures(s, trusted, 2).ok());
  sign(alice);  // the same key twice counts once
  EXPECT_FALSE(CheckSignatures(s, trusted, 2).ok());
  sign(mallory);  // an untrusted key counts for nothing
  EXPECT_FALSE(CheckSignatures(s, trusted, 2).ok());
  auto* forged = s.add_signatures();  // bob's key, a signature he never made
  forged->set_public_key(bob.public_key());
  forged->set_signature(mallory.Sign(s.text()));
  EXPECT_FALSE(CheckSignatures(s, trusted, 2).ok());
  sign(bob);
  EXPECT_TRUE(CheckSignatures(s, trusted, 2).ok());
  s.set_text("id: \"y\"");  // edited after signing
  EXPECT_FALSE(CheckSignatures(s, trusted, 1).ok());
}

}  // namespace
}  // namespace lanevault::policy

namespace lanevault::policy {
namespace {

TEST(ContractPolicy, ValidateSaysHowManyRecordsAQuotaLetsAnInsiderTake) {
  v1::Contract c = Pilot();
  std::vector<HarvestBudget> budgets = HarvestBudgets(c);
  ASSERT_FALSE(budgets.empty());
  bool group_seen = false;
  for (const HarvestBudget& b : budgets) {
    // Six weeks is 1008 one-hour windows.
    EXPECT_EQ(b.records_over_six_weeks % 1008, 0u) << b.permit_id;
    group_seen |= b.group == "inspectors-demo-poe";
  }
  EXPECT_TRUE(group_seen);
  EXPECT_TRUE(ValidateContract(c).empty());  // the pilot is within its limit
  c.mutable_harvest_limit()->set_max_share(0.01f);
  const std::vector<ValidationIssue> issues = ValidateContract(c);
  ASSERT_FALSE(issues.empty());
  EXPECT_TRUE(issues[0].warning);
  EXPECT_NE(issues[0].message.find("records over the contract's life"),
            std::string::npos)
      << issues[0].message;
  EXPECT_FALSE(HasErrors(issues));
}

// Budgets past what a count holds, or of no windows at all, are counts
// still: the largest count for a quota of a nanosecond's window, none for
// a contract that ends before it starts (an error of its dates). The
// products are doubles; converting one outside uint64_t's range was
// undefined behaviour (clang's UBSan: float-cast-overflow), which here
// gave 0 for the first and wrapped for the second (GCC 12, -O2).
TEST(ContractPolicy, HarvestBudgetsSaturateAndNeverWrap) {
  v1::Contract c = Pilot();
  int limited = -1;
  for (int i = 0; i < c.permits_size() && limited < 0; ++i) {
    if (c.permits(i).quota().has_window()) limited = i;
  }
  ASSERT_GE(limited, 0);
  v1::Quota* q = c.mutable_permits(limited)->mutable_quota();
  q->mutable_window()->set_seconds(0);
  q->mutable_window()->set_nanos(1);
  q->set_distinct_records_per_window(4'000'000'000u);
  // The edited permit's budget for one principal.
  const auto own = [&]() -> std::optional<HarvestBudget> {
    for (const HarvestBudget& b : HarvestBudgets(c)) {
      if (b.permit_index == limited && b.group.empty()) return b;
    }
    return std::nullopt;
  };
  std::optional<HarvestBudget> budget = own();
  ASSERT_TRUE(budget.has_value());
  EXPECT_EQ(budget->records_over_six_weeks,
            std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(budget->records_over_life, std::numeric_limits<uint64_t>::max());

  // A window that does not divide six weeks: the last one, begun, counts.
  q->mutable_window()->set_seconds(5 * 3600);
  q->mutable_window()->set_nanos(0);
  q->set_distinct_records_per_window(3);
  budget = own();
  ASSERT_TRUE(budget.has_value());
  EXPECT_EQ(budget->records_over_six_weeks, 3u * 202);  // 1008 h / 5 h = 201.6

  // A limit whose share is not a number, or whose crossings a day times
  // the contract's days pass any count: an error, and a warning with the
  // largest count, not a wrapped or undefined one.
  v1::Contract nan_share = Pilot();
  nan_share.mutable_harvest_limit()->set_max_share(
      std::numeric_limits<float>::quiet_NaN());
  bool refused = false;
  for (const ValidationIssue& i : ValidateContract(nan_share)) {
    refused |= !i.warning && i.field_path == "harvest_limit.max_share";
  }
  EXPECT_TRUE(refused);
  v1::Contract crowded = Pilot();
  crowded.mutable_harvest_limit()->set_expected_crossings_per_day(
      std::numeric_limits<uint64_t>::max());
  crowded.mutable_harvest_limit()->set_max_share(1e-30f);
  bool warned = false;
  for (const ValidationIssue& i : ValidateContract(crowded)) {
    warned |=
        i.warning &&
        absl::StrContains(i.message, "% of the 18446744073709551615 crossings");
  }
  EXPECT_TRUE(warned);

  v1::Contract backwards = Pilot();
  std::swap(*backwards.mutable_effective_from(),
            *backwards.mutable_effective_until());
  ASSERT_FALSE(HarvestBudgets(backwards).empty());
  for (const HarvestBudget& b : HarvestBudgets(backwards)) {
    EXPECT_EQ(b.records_over_life, 0u) << b.permit_id;
    EXPECT_GT(b.records_over_six_weeks, 0u) << b.permit_id;
  }
  const std::vector<ValidationIssue> issues = ValidateContract(backwards);
  EXPECT_TRUE(HasErrors(issues));
  for (const ValidationIssue& i : issues) {
    EXPECT_EQ(i.message.find("records over the contract's life"),
              std::string::npos)
        << i.message;
  }
}

}  // namespace
}  // namespace lanevault::policy
