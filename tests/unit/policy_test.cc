#include "policy/policy.h"

#include <set>

#include "common/time_util.h"
#include "gtest/gtest.h"
#include "policy/contract.h"

namespace lanevault::policy {
namespace {

using v1::DATA_CATEGORY_FACE_IMAGE;
using v1::DATA_CATEGORY_PLATE_IMAGE;
using v1::DATA_CATEGORY_PLATE_TEXT;
using v1::DATA_CATEGORY_SCENE_IMAGE;

const absl::Time kSeen = absl::FromUnixSeconds(1'800'000'000);

v1::Record RecordWith(std::vector<v1::DataCategory> categories) {
  v1::Record r;
  r.set_record_id("rec_1");
  *r.mutable_first_seen() = ToProto(kSeen);
  int n = 0;
  for (auto c : categories) {
    v1::Item* item = r.add_items();
    item->set_item_id("itm_" + std::to_string(n++));
    item->set_category(c);
    item->set_content("x");
  }
  r.add_plate_candidates()->set_text("ABC123");
  return r;
}

TEST(BuiltinPolicy, BindsRolesByCertificateName) {
  auto p = NewBuiltinPolicy();
  EXPECT_EQ(p->RoleOf("inspector-dev"), Role::kInspector);
  EXPECT_EQ(p->RoleOf("lane-dev"), Role::kLane);
  EXPECT_EQ(p->RoleOf("auditor-7"), Role::kAuditor);
  EXPECT_EQ(p->RoleOf("inspectorX"), Role::kUnknown);
  EXPECT_EQ(p->RoleOf(""), Role::kUnknown);
}

TEST(BuiltinPolicy, IntakeKeepsPilotCategoriesWithTheirDeadlines) {
  auto p = NewBuiltinPolicy();
  v1::Record r =
      RecordWith({DATA_CATEGORY_PLATE_TEXT, DATA_CATEGORY_PLATE_IMAGE,
                  DATA_CATEGORY_FACE_IMAGE, DATA_CATEGORY_SCENE_IMAGE});
  v1::IntakeDecision d = p->DecideIntake(r);
  ASSERT_EQ(d.items_size(), 4);
  EXPECT_EQ(FromProto(d.items(0).deadline()), kSeen + absl::Hours(24 * 30));
  EXPECT_EQ(FromProto(d.items(1).deadline()), kSeen + absl::Hours(24 * 7));
  EXPECT_EQ(FromProto(d.items(2).deadline()), kSeen + absl::Hours(12));
  EXPECT_FALSE(d.items(3).keep());  // scene images are not kept

  int dropped = 0;
  v1::Record kept = ApplyIntake(r, d, &dropped);
  EXPECT_EQ(dropped, 1);
  ASSERT_EQ(kept.items_size(), 3);
  EXPECT_EQ(kept.contract_id(), p->contract_id());
  // The crossing's readings go into its plate text item (policy.h).
  EXPECT_TRUE(kept.plate_candidates().empty());
  ASSERT_EQ(kept.items(0).plate_candidates_size(), 1);
  EXPECT_EQ(kept.items(0).plate_candidates(0).text(), "ABC123");
  for (const auto& item : kept.items()) EXPECT_TRUE(item.has_deadline());
}

TEST(ApplyIntake, AnItemWithoutADecisionIsDropped) {
  v1::Record r = RecordWith({DATA_CATEGORY_PLATE_TEXT});
  v1::IntakeDecision empty;
  int dropped = 0;
  EXPECT_EQ(ApplyIntake(r, empty, &dropped).items_size(), 0);
  EXPECT_EQ(dropped, 1);
}

AccessRequest Read(std::string purpose,
                   std::vector<v1::DataCategory> asked = {}) {
  AccessRequest r;
  r.principal = "inspector-dev";
  r.role = Role::kInspector;
  r.action = v1::ACTION_READ_RECORD;
  r.purpose = std::move(purpose);
  r.categories = std::move(asked);
  r.available = {DATA_CATEGORY_PLATE_TEXT, DATA_CATEGORY_PLATE_IMAGE,
                 DATA_CATEGORY_FACE_IMAGE};
  return r;
}

// The categories a reader gets, in no particular order.
std::set<v1::DataCategory> Given(const AccessDecision& d) {
  return {d.categories.begin(), d.categories.end()};
}

TEST(BuiltinPolicy, PurposeDecidesWhichCategoriesAReaderGets) {
  auto p = NewBuiltinPolicy();
  AccessDecision plate = p->DecideAccess(Read("vehicle-inspection"));
  ASSERT_TRUE(plate.allowed());
  // The contract engine lists them in enum order, not the record's.
  EXPECT_EQ(Given(plate),
            (std::set<v1::DataCategory>{DATA_CATEGORY_PLATE_TEXT,
                                        DATA_CATEGORY_PLATE_IMAGE}));
  AccessDecision face = p->DecideAccess(Read("identity-verification"));
  ASSERT_TRUE(face.allowed());
  EXPECT_EQ(face.categories,
            std::vector<v1::DataCategory>{DATA_CATEGORY_FACE_IMAGE});
}

TEST(BuiltinPolicy, DefaultDenyAndProhibitionsWin) {
  auto p = NewBuiltinPolicy();
  EXPECT_FALSE(p->DecideAccess(Read("")).allowed());
  EXPECT_FALSE(p->DecideAccess(Read("curiosity")).allowed());
  // Plate and face together is linkage, whatever the purpose.
  AccessDecision link =
      p->DecideAccess(Read("vehicle-inspection", {DATA_CATEGORY_PLATE_TEXT,
                                                  DATA_CATEGORY_FACE_IMAGE}));
  EXPECT_FALSE(link.allowed());
  EXPECT_EQ(link.decision.reason_code(), "linkage");
  // A category the purpose does not cover is refused, not silently dropped.
  EXPECT_FALSE(
      p->DecideAccess(Read("identity-verification", {DATA_CATEGORY_PLATE_TEXT}))
          .allowed());
  for (v1::Action a : {v1::ACTION_EXPORT, v1::ACTION_TRAIN}) {
    AccessRequest r = Read("vehicle-inspection");
    r.action = a;
    AccessDecision d = p->DecideAccess(r);
    EXPECT_FALSE(d.allowed()) << v1::Action_Name(a);
    EXPECT_EQ(d.decision.reason_code(), "prohibited");
  }
  // Linkage asked for by name is refused by default: a prohibition on it
  // would also make the plate-and-face read above "prohibited".
  AccessRequest r = Read("vehicle-inspection");
  r.action = v1::ACTION_LINK;
  AccessDecision d = p->DecideAccess(r);
  EXPECT_FALSE(d.allowed());
  EXPECT_EQ(d.decision.reason_code(), "default_deny");
}

// As before contracts, linkage is judged within one call only: a face read
// after the plate of one crossing is allowed (the walking skeleton does it).
class ReadBefore final : public AccessHistory {
 public:
  explicit ReadBefore(std::vector<v1::DataCategory> read) : read_(read) {}
  Reads ReadsSince(absl::string_view, absl::Time) const override { return {}; }
  std::vector<v1::DataCategory> CategoriesRead(
      absl::string_view, absl::string_view) const override {
    return read_;
  }

 private:
  std::vector<v1::DataCategory> read_;
};

TEST(BuiltinPolicy, LinkageIsJudgedWithinOneCallOnly) {
  auto p = NewBuiltinPolicy();
  const ReadBefore plate({DATA_CATEGORY_PLATE_TEXT});
  AccessRequest r = Read("identity-verification");
  r.record_id = "rec_1";
  r.history = &plate;
  AccessDecision face = p->DecideAccess(r);
  ASSERT_TRUE(face.allowed()) << face.decision.reason();
  EXPECT_EQ(face.categories,
            std::vector<v1::DataCategory>{DATA_CATEGORY_FACE_IMAGE});
  // The contract alone, given the same past, refuses it.
  auto contract = NewDevelopmentContractPolicy(BuiltinContract());
  ASSERT_TRUE(contract.ok()) << contract.status();
  EXPECT_EQ((*contract)->DecideAccess(r).decision.reason_code(), "linkage");
}

TEST(BuiltinContract, ValidatesWithoutIssues) {
  const std::vector<ValidationIssue> issues =
      ValidateContract(BuiltinContract());
  EXPECT_TRUE(issues.empty()) << FirstError(issues);
}

// A wildcard never widens a signed contract: it does not validate.
TEST(BuiltinContract, AStarInASignedContractIsRefused) {
  v1::Contract c = BuiltinContract();
  c.add_checkpoints("*");
  EXPECT_FALSE(NewContractPolicy(c).ok());
  EXPECT_TRUE(HasErrors(ValidateContract(c)));
}

// Only the development policy covers every checkpoint; a contract covers
// those it names.
TEST(BuiltinContract, EveryCheckpointOnlyForTheDevelopmentPolicy) {
  v1::Record r = RecordWith({DATA_CATEGORY_PLATE_TEXT});
  r.set_checkpoint_id("anywhere");
  auto p = NewBuiltinPolicy();
  EXPECT_TRUE(p->DecideIntake(r).items(0).keep());

  v1::Contract named = BuiltinContract();
  named.clear_checkpoints();
  named.add_checkpoints("demo-poe");
  auto q = NewContractPolicy(named);
  ASSERT_TRUE(q.ok()) << q.status();
  v1::IntakeDecision d = (*q)->DecideIntake(r);
  EXPECT_FALSE(d.items(0).keep());
  EXPECT_EQ(d.items(0).decision().reason_code(), "checkpoint_not_covered");
  r.set_checkpoint_id("demo-poe");
  EXPECT_TRUE((*q)->DecideIntake(r).items(0).keep());
}

TEST(BuiltinPolicy, RolesOutsideTheirLaneAreRefused) {
  auto p = NewBuiltinPolicy();
  for (Role role : {Role::kLane, Role::kOperator, Role::kAuditor,
                    Role::kCompliance, Role::kContractor, Role::kUnknown}) {
    AccessRequest r = Read("vehicle-inspection");
    r.role = role;
    EXPECT_FALSE(p->DecideAccess(r).allowed()) << RoleName(role);
  }
  AccessRequest lanes;
  lanes.role = Role::kOperator;
  lanes.action = v1::ACTION_VIEW_LANES;
  EXPECT_TRUE(p->DecideAccess(lanes).allowed());
  lanes.role = Role::kInspector;
  EXPECT_FALSE(p->DecideAccess(lanes).allowed());
}

TEST(BuiltinPolicy, EveryDecisionNamesItsRuleAndReason) {
  auto p = NewBuiltinPolicy();
  for (const AccessRequest& r :
       {Read("vehicle-inspection"), Read("nope"),
        Read("vehicle-inspection",
             {DATA_CATEGORY_PLATE_TEXT, DATA_CATEGORY_FACE_IMAGE})}) {
    AccessDecision d = p->DecideAccess(r);
    EXPECT_FALSE(d.decision.rule_ids().empty());
    EXPECT_FALSE(d.decision.reason().empty());
    EXPECT_FALSE(d.decision.reason_code().empty());
  }
}

}  // namespace
}  // namespace lanevault::policy
