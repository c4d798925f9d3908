// The insider suite: principals with valid certificates under the pilot
// contract try what the 2019 subcontractor did — link plates to faces and
// take records in bulk — against a real server over real TLS, a real vault,
// and lose. Each path here worked before linkage was judged on what a
// principal learned, before groups, and before quotas were exact.

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "gtest/gtest.h"
#include "lanevault/v1/compliance.grpc.pb.h"
#include "lanevault/v1/evidence.grpc.pb.h"
#include "testing/api_fixture.h"
#include "testing/test_pki.h"

namespace lanevault::api {
namespace {

using ::lanevault::testing::WithDeadline;
using Stub = v1::EvidenceService::Stub;

constexpr char kVehicle[] = "vehicle-inspection";
constexpr char kIdentity[] = "identity-verification";

class InsiderTest : public testing::ApiFixture {
 protected:
  static void SetUpTestSuite() {
    ApiFixture::SetUpTestSuite();
    // A second inspector of the same checkpoint (and so the same group).
    testing::CertSpec two = testing::ClientCert("inspector-two", 5001);
    two.valid_until = absl::Hours(24 * 60);
    testing::IssueCert(dir_->Join("pki"), "inspector-two", two);
  }

  // The pilot contract as written, quotas shrunk so a test reaches them.
  std::unique_ptr<policy::Policy> MakePolicy() override {
    return testing::PilotPolicy([](v1::Contract& contract) {
      for (v1::Permit& p : *contract.mutable_permits()) {
        if (p.role() != "inspector") continue;
        v1::Quota& q = *p.mutable_quota();
        q.set_reads_per_window(8);
        q.set_distinct_records_per_window(6);
        q.set_group_reads_per_window(12);
        q.set_group_distinct_records_per_window(9);
        if (q.lookups_per_window() > 0) q.set_lookups_per_window(5);
        if (q.group_lookups_per_window() > 0) q.set_group_lookups_per_window(7);
      }
    });
  }
  void Configure(ServerOptions& so) override {
    so.limits.lockout_refusals = 5;
    so.limits.max_calls_per_principal = 64;
  }
  void ConfigureVault(vault::VaultOptions& vo) override { vo.clock = &clock_; }

  // A crossing at the pilot's checkpoint: plate text, plate crop, a face.
  v1::Record Take(const std::string& plate) {
    v1::Record r;
    r.set_record_id(NewId("rec_"));
    r.set_lane_id("lane-1");
    r.set_checkpoint_id("demo-poe");
    *r.mutable_first_seen() = ToProto(clock_.Now());
    *r.mutable_last_seen() = ToProto(clock_.Now());
    const std::pair<v1::DataCategory, std::string> items[] = {
        {v1::DATA_CATEGORY_PLATE_TEXT, plate},
        {v1::DATA_CATEGORY_PLATE_IMAGE, "plate-crop-" + plate},
        {v1::DATA_CATEGORY_FACE_IMAGE, "face-crop-" + plate}};
    for (const auto& [category, content] : items) {
      v1::Item* item = r.add_items();
      item->set_item_id(NewId("itm_"));
      item->set_category(category);
      item->set_content(content);
      *item->mutable_deadline() = ToProto(clock_.Now() + absl::Hours(6));
    }
    EXPECT_TRUE(vault_->Intake(r, {}).ok());
    return r;
  }

  std::unique_ptr<Stub> As(const std::string& who) {
    return v1::EvidenceService::NewStub(Channel(who));
  }

  grpc::Status Read(Stub& stub, const std::string& record_id,
                    const std::string& purpose, v1::DataCategory category,
                    v1::GetRecordResponse* resp) {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    v1::GetRecordRequest req;
    req.set_record_id(Handle(record_id, purpose));
    req.set_purpose(purpose);
    req.add_categories(category);
    return stub.GetRecord(&ctx, req, resp);
  }

  static grpc::Status Lookup(Stub& stub, const std::string& plate,
                             v1::LookupPlateResponse* resp) {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    v1::LookupPlateRequest req;
    req.set_plate_text(plate);
    req.set_purpose(kVehicle);
    return stub.LookupPlate(&ctx, req, resp);
  }

  bool AlertRaised(const std::string& kind) {
    auto alerts = vault_->oversight().Alerts(false);
    EXPECT_TRUE(alerts.ok());
    for (const auto& a : *alerts) {
      if (a.kind == kind) return true;
    }
    return false;
  }

  FakeClock clock_{absl::Now()};
};

TEST_F(InsiderTest, APlateLookupRevealsThePlateSoTheFaceIsThenLinkage) {
  const v1::Record r = Take("LKP1234");
  auto inspector = As("inspector-dev");
  v1::LookupPlateResponse found;
  ASSERT_TRUE(Lookup(*inspector, "LKP1234", &found).ok());
  ASSERT_EQ(found.record_ids_size(), 1);
  EXPECT_EQ(found.record_ids(0), Handle(r.record_id(), kVehicle));
  // The lookup's entry names what it revealed (ids only, never the text).
  const v1::AuditEntry lookup = Log().back();
  ASSERT_EQ(lookup.revealed_record_ids_size(), 1);
  EXPECT_EQ(lookup.revealed_record_ids(0), r.record_id());
  EXPECT_FALSE(absl::StrContains(lookup.SerializeAsString(), "LKP1234"));

  v1::GetRecordResponse face;
  grpc::Status s = Read(*inspector, r.record_id(), kIdentity,
                        v1::DATA_CATEGORY_FACE_IMAGE, &face);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED)
      << s.error_message();
  EXPECT_FALSE(face.has_record());
  // Refused as the linkage it is (the pilot's no-linkage prohibition).
  const v1::AuditEntry refusal = Log().back();
  EXPECT_TRUE(refusal.reason_code() == "linkage" ||
              refusal.reason_code() == "prohibited")
      << refusal.DebugString();
}

TEST_F(InsiderTest, TwoInspectorsOfOneGroupCannotLinkBetweenThem) {
  const v1::Record r = Take("MVB7350");
  v1::GetRecordResponse plate, face;
  ASSERT_TRUE(Read(*As("inspector-dev"), r.record_id(), kVehicle,
                   v1::DATA_CATEGORY_PLATE_TEXT, &plate)
                  .ok());
  grpc::Status s = Read(*As("inspector-two"), r.record_id(), kIdentity,
                        v1::DATA_CATEGORY_FACE_IMAGE, &face);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED)
      << s.error_message();
  EXPECT_FALSE(face.has_record());
  EXPECT_EQ(Log().back().group(), "inspectors-demo-poe");
  EXPECT_NE(Log().back().detail().find("what the caller or its group has seen"),
            std::string::npos)
      << Log().back().DebugString();
  // The refusal tells inspector-two that the group has the plate: never
  // silent (one alert a principal an hour, naming the caller).
  auto alerts = vault_->oversight().Alerts(false);
  ASSERT_TRUE(alerts.ok()) << alerts.status();
  int probes = 0;
  for (const auto& a : *alerts) {
    if (a.kind != "linkage_probe") continue;
    ++probes;
    EXPECT_EQ(a.principal, "inspector-two");
    EXPECT_EQ(a.message.find("MVB7350"), std::string::npos) << a.message;
  }
  EXPECT_EQ(probes, 1);
  // A face of another crossing is still theirs to read.
  const v1::Record other = Take("TJD2290");
  EXPECT_TRUE(Read(*As("inspector-two"), other.record_id(), kIdentity,
                   v1::DATA_CATEGORY_FACE_IMAGE, &face)
                  .ok());
}

TEST_F(InsiderTest, RacingPlateAndFaceReadsNeverBothSucceed) {
  std::vector<v1::Record> records;
  for (int i = 0; i < 6; ++i) records.push_back(Take(absl::StrCat("RC", i)));
  auto a = As("inspector-dev");
  auto b = As("inspector-two");
  std::atomic<int> plates{0}, faces{0}, both{0};
  std::vector<std::thread> pool;
  std::vector<std::atomic<int>> got(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    for (int side = 0; side < 2; ++side) {
      pool.emplace_back([&, i, side] {
        v1::GetRecordResponse resp;
        const bool ok = side == 0 ? Read(*a, records[i].record_id(), kVehicle,
                                         v1::DATA_CATEGORY_PLATE_TEXT, &resp)
                                        .ok()
                                  : Read(*b, records[i].record_id(), kIdentity,
                                         v1::DATA_CATEGORY_FACE_IMAGE, &resp)
                                        .ok();
        if (ok) ++(side == 0 ? plates : faces);
        if (ok && ++got[i] == 2) ++both;
      });
    }
  }
  for (std::thread& t : pool) t.join();
  EXPECT_EQ(both.load(), 0);
  EXPECT_EQ(plates.load() + faces.load(), static_cast<int>(records.size()));
}

// A lookup does not name a record whose faces the group has seen. But an
// empty answer for a plate the caller knows crossed says its faces were
// seen, and asked after each of a colleague's face reads it links the plate
// to one face: so a withheld match is never silent. The entry says so, and
// compliance gets a "linkage_probe" alert naming the caller (one a
// principal an hour); a lookup that withholds nothing raises none.
TEST_F(InsiderTest, ALookupDoesNotNameARecordWhoseFacesTheGroupHasSeen) {
  const v1::Record r = Take("FAC4321");
  Take("PLN5678");
  v1::LookupPlateResponse plain;
  ASSERT_TRUE(Lookup(*As("inspector-dev"), "PLN5678", &plain).ok());
  EXPECT_EQ(plain.record_ids_size(), 1);
  EXPECT_FALSE(AlertRaised("linkage_probe"));
  EXPECT_TRUE(Log().back().detail().empty()) << Log().back().detail();

  v1::GetRecordResponse face;
  ASSERT_TRUE(Read(*As("inspector-two"), r.record_id(), kIdentity,
                   v1::DATA_CATEGORY_FACE_IMAGE, &face)
                  .ok());
  for (const char* who : {"inspector-dev", "inspector-two"}) {
    v1::LookupPlateResponse found;
    ASSERT_TRUE(Lookup(*As(who), "FAC4321", &found).ok());
    EXPECT_EQ(found.record_ids_size(), 0) << who;
    const v1::AuditEntry logged = Log().back();
    EXPECT_EQ(logged.revealed_record_ids_size(), 0);
    EXPECT_EQ(logged.detail(),
              "1 match(es) withheld: the caller or its group has seen their "
              "faces");
  }
  auto alerts = vault_->oversight().Alerts(false);
  ASSERT_TRUE(alerts.ok()) << alerts.status();
  std::vector<std::string> probed;
  for (const auto& a : *alerts) {
    if (a.kind != "linkage_probe") continue;
    probed.push_back(a.principal);
    EXPECT_NE(a.message.find("group inspectors-demo-poe"), std::string::npos)
        << a.message;
    EXPECT_EQ(a.message.find("FAC4321"), std::string::npos) << a.message;
    EXPECT_EQ(a.message.find(r.record_id()), std::string::npos) << a.message;
  }
  std::sort(probed.begin(), probed.end());
  EXPECT_EQ(probed,
            (std::vector<std::string>{"inspector-dev", "inspector-two"}));
  // Again within the hour: in the log, not another alert.
  v1::LookupPlateResponse again;
  ASSERT_TRUE(Lookup(*As("inspector-dev"), "FAC4321", &again).ok());
  EXPECT_FALSE(Log().back().detail().empty());
  alerts = vault_->oversight().Alerts(false);
  ASSERT_TRUE(alerts.ok()) << alerts.status();
  EXPECT_EQ(
      std::count_if(alerts->begin(), alerts->end(),
                    [](const auto& a) { return a.kind == "linkage_probe"; }),
      2);
}

TEST_F(InsiderTest, AQuotaIsExactAtAnyConcurrency) {
  std::vector<v1::Record> records;
  for (int i = 0; i < 40; ++i) records.push_back(Take(absl::StrCat("Q", i)));
  auto inspector = As("inspector-dev");
  std::atomic<int> allowed{0}, exhausted{0};
  std::vector<std::thread> pool;
  for (int i = 0; i < 40; ++i) {
    pool.emplace_back([&, i] {
      v1::GetRecordResponse resp;
      grpc::Status s = Read(*inspector, records[i].record_id(), kVehicle,
                            v1::DATA_CATEGORY_PLATE_TEXT, &resp);
      if (s.ok()) ++allowed;
      // Over quota; or, for a call arriving after five of those refusals
      // were logged, locked out (this fixture locks out at 5): refused
      // either way, never an error.
      if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED ||
          s.error_code() == grpc::StatusCode::PERMISSION_DENIED) {
        ++exhausted;
      }
    });
  }
  for (std::thread& t : pool) t.join();
  // Exactly distinct_records_per_window (6): never over, and never refused
  // early by counting a read both in the log and in flight.
  EXPECT_EQ(allowed.load(), 6);
  EXPECT_EQ(allowed.load() + exhausted.load(), 40);
  EXPECT_TRUE(AlertRaised("quota_reached"));
}

TEST_F(InsiderTest, ASecondLookAtARecordAlreadyCountedIsNoNewRecord) {
  std::vector<v1::Record> records;
  for (int i = 0; i < 7; ++i) records.push_back(Take(absl::StrCat("S", i)));
  auto inspector = As("inspector-dev");
  v1::GetRecordResponse resp;
  for (int i = 0; i < 6; ++i) {  // the 6 distinct records of the window
    ASSERT_TRUE(Read(*inspector, records[i].record_id(), kVehicle,
                     v1::DATA_CATEGORY_PLATE_TEXT, &resp)
                    .ok());
  }
  EXPECT_EQ(Read(*inspector, records[6].record_id(), kVehicle,
                 v1::DATA_CATEGORY_PLATE_TEXT, &resp)
                .error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  // Reads are left (8 a window): a second look at one already read is one.
  EXPECT_TRUE(Read(*inspector, records[2].record_id(), kVehicle,
                   v1::DATA_CATEGORY_PLATE_TEXT, &resp)
                  .ok());
}

TEST_F(InsiderTest, TwoCertificatesOfOneGroupShareTheGroupsBudget) {
  std::vector<v1::Record> records;
  for (int i = 0; i < 20; ++i) records.push_back(Take(absl::StrCat("G", i)));
  int allowed = 0;
  for (const char* who : {"inspector-dev", "inspector-two"}) {
    auto stub = As(who);
    // Each takes records the other has not.
    // Each takes records the other has not, and stops at its first
    // refusal (more would lock it out).
    const bool first = std::string(who) == "inspector-dev";
    for (int i = first ? 0 : 10; i < (first ? 10 : 20); ++i) {
      v1::GetRecordResponse resp;
      if (!Read(*stub, records[i].record_id(), kVehicle,
                v1::DATA_CATEGORY_PLATE_TEXT, &resp)
               .ok()) {
        break;
      }
      ++allowed;
    }
  }
  // Each alone may take 6 records an hour; together only the group's 9.
  EXPECT_EQ(allowed, 9);
}

TEST_F(InsiderTest, PlateLookupsAreBudgetedAndNoLongerAnOracle) {
  Take("KXR4821");
  auto inspector = As("inspector-dev");
  int allowed = 0;
  grpc::Status refused;
  for (int i = 0; i < 12 && refused.ok(); ++i) {
    v1::LookupPlateResponse resp;
    refused = Lookup(*inspector, absl::StrCat("GUESS", i), &resp);
    if (refused.ok()) ++allowed;
  }
  EXPECT_EQ(allowed, 5);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << refused.error_message();
  EXPECT_TRUE(AlertRaised("quota_reached"));
  // A colleague of the same group has only what is left of the group's 7.
  auto two = As("inspector-two");
  int colleague = 0;
  for (int i = 0; i < 3; ++i) {
    v1::LookupPlateResponse resp;
    if (Lookup(*two, absl::StrCat("OTHER", i), &resp).ok()) ++colleague;
  }
  EXPECT_EQ(colleague, 2);
}

TEST_F(InsiderTest, ReadingNearTheQuotaHourAfterHourRaisesAnAlert) {
  auto inspector = As("inspector-dev");
  // Five of six records an hour: never refused, and for two hours unremarked.
  for (int hour = 0; hour < 3; ++hour) {
    EXPECT_FALSE(AlertRaised("quota_sustained")) << "hour " << hour;
    for (int i = 0; i < 5; ++i) {
      v1::GetRecordResponse resp;
      ASSERT_TRUE(Read(*inspector,
                       Take(absl::StrCat("H", hour, "R", i)).record_id(),
                       kVehicle, v1::DATA_CATEGORY_PLATE_TEXT, &resp)
                      .ok());
    }
    clock_.Advance(absl::Hours(1) + absl::Seconds(1));
  }
  EXPECT_TRUE(AlertRaised("quota_sustained"));
}

TEST_F(InsiderTest, LiftingALockoutClearsItsWindow) {
  auto inspector = As("inspector-dev");
  v1::GetRecordResponse resp;
  for (int i = 0; i < 5; ++i) {
    Read(*inspector, NewId("rec_"), kVehicle, v1::DATA_CATEGORY_PLATE_TEXT,
         &resp)
        .error_code();
  }
  ASSERT_TRUE(vault_->oversight().Lockout("inspector-dev").ok());
  auto officer = v1::ComplianceService::NewStub(Channel("compliance-dev"));
  v1::LiftLockoutRequest lift;
  lift.set_principal("inspector-dev");
  lift.set_reason("reviewed");
  v1::Empty done;
  grpc::ClientContext ctx;
  WithDeadline(ctx);
  ASSERT_TRUE(officer->LiftLockout(&ctx, lift, &done).ok());
  clock_.Advance(absl::Seconds(1));
  // One more mistake is one mistake, not the sixth of the old window.
  EXPECT_EQ(Read(*inspector, NewId("rec_"), kVehicle,
                 v1::DATA_CATEGORY_PLATE_TEXT, &resp)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_FALSE(vault_->oversight().Lockout("inspector-dev").ok());
}

// Six weeks, the 2019 incident's length, on a fake clock: two certificates
// of one group take everything the pilot contract lets them (its quotas,
// counted per day here so the test stays short: 42 windows). What they
// obtain stays within the group's budget, and no crossing's plate and face
// both reach the group.
class SixWeeksTest : public InsiderTest {
 protected:
  std::unique_ptr<policy::Policy> MakePolicy() override {
    return testing::PilotPolicy([](v1::Contract& contract) {
      for (v1::Permit& p : *contract.mutable_permits()) {
        if (p.has_quota())
          p.mutable_quota()->mutable_window()->set_seconds(24 * 3600);
      }
    });
  }
};

TEST_F(SixWeeksTest, TwoCertificatesOfOneGroupStayWithinItsBudget) {
  auto a = As("inspector-dev");
  auto b = As("inspector-two");
  std::set<std::string> plates_seen, faces_seen, records_obtained;
  int reads = 0, lookups = 0;
  constexpr int kDays = 42;
  for (int day = 0; day < kDays; ++day) {
    std::vector<v1::Record> today;
    for (int i = 0; i < 60; ++i) {
      today.push_back(Take(absl::StrCat("D", day, "X", i)));
    }
    // A looks plates up and reads plates, each until its first refusal (a
    // harvester that pushes on is locked out).
    for (int i = 0; i < 30; ++i) {
      v1::LookupPlateResponse found;
      if (!Lookup(*a, today[i].items(0).content(), &found).ok()) break;
      ++lookups;
      for (const std::string& id : found.record_ids()) plates_seen.insert(id);
    }
    for (int i = 0; i < 30; ++i) {
      v1::GetRecordResponse plate;
      if (!Read(*a, today[i].record_id(), kVehicle,
                v1::DATA_CATEGORY_PLATE_TEXT, &plate)
               .ok()) {
        break;
      }
      ++reads;
      plates_seen.insert(today[i].record_id());
      records_obtained.insert(today[i].record_id());
    }
    // B tries the faces of crossings A has seen (a few: each refusal
    // counts), then takes faces of the others until refused.
    for (int i = 0; i < 3; ++i) {
      v1::GetRecordResponse face;
      EXPECT_FALSE(Read(*b, today[i].record_id(), kIdentity,
                        v1::DATA_CATEGORY_FACE_IMAGE, &face)
                       .ok());
    }
    for (int i = 30; i < 60; ++i) {
      v1::GetRecordResponse face;
      if (!Read(*b, today[i].record_id(), kIdentity,
                v1::DATA_CATEGORY_FACE_IMAGE, &face)
               .ok()) {
        break;
      }
      ++reads;
      faces_seen.insert(today[i].record_id());
      records_obtained.insert(today[i].record_id());
    }
    // The next window: a sliding one includes its first instant.
    clock_.Advance(absl::Hours(24) + absl::Seconds(1));
  }
  for (const std::string& id : faces_seen) {
    EXPECT_FALSE(plates_seen.contains(id)) << "linked: " << id;
  }
  // The group's budget a window: 30 reads and 20 distinct records, 25
  // lookups. They took all of it, and no more.
  EXPECT_EQ(records_obtained.size(), 20u * kDays);
  EXPECT_LE(reads, 30 * kDays);
  EXPECT_EQ(lookups, 15 * kDays);  // A's own lookup quota binds first
  EXPECT_FALSE(vault_->oversight().Lockout("inspector-dev").ok());
  EXPECT_FALSE(vault_->oversight().Lockout("inspector-two").ok());
  RecordProperty("records", static_cast<int>(records_obtained.size()));
}

}  // namespace
}  // namespace lanevault::api
