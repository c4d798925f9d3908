// Acknowledged means stored, at the API: a capture node's submission is OK
// only when it is in the vault (or was, from the very same submission);
// clashes, clocks far off and full disks get honest codes; lockouts count
// what a caller did, not what happened to the vault. A real server over real
// TLS on loopback and a real vault file.

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "crypto/sealed_box.h"
#include "gtest/gtest.h"
#include "lanevault/v1/lanes.grpc.pb.h"
#include "testing/api_fixture.h"
#include "testing/full_disk_vfs.h"
#include "testing/raw_tls.h"
#include "testing/test_pki.h"
#include "testing/test_util.h"

namespace lanevault::api {
namespace {

using ::lanevault::testing::WithDeadline;

constexpr int kLockoutRefusals = 5;
constexpr int kLockoutMalformed = 12;

class IntakeFaultsTest : public testing::ApiFixture {
 protected:
  static void SetUpTestSuite() {
    ApiFixture::SetUpTestSuite();
    testing::IssueCert(dir_->Join("pki"), "lane-two",
                       testing::ClientCert("lane-two", 6001));
  }
  void Configure(ServerOptions& so) override {
    so.limits.lockout_refusals = kLockoutRefusals;
    so.limits.lockout_malformed_submissions = kLockoutMalformed;
  }

  // A crossing as a capture node forms it, with crops of `bytes` bytes.
  v1::Record Crossing(absl::Time seen, size_t bytes = 64) {
    v1::Record r;
    r.set_record_id(NewId("rec_"));
    r.set_lane_id("lane-1");
    r.set_checkpoint_id("demo-poe");
    *r.mutable_first_seen() = ToProto(seen);
    *r.mutable_last_seen() = ToProto(seen + absl::Seconds(2));
    v1::Item* text = r.add_items();
    text->set_item_id(NewId("itm_"));
    text->set_category(v1::DATA_CATEGORY_PLATE_TEXT);
    text->set_content("KXR4821");
    v1::Item* face = r.add_items();
    face->set_item_id(NewId("itm_"));
    face->set_category(v1::DATA_CATEGORY_FACE_IMAGE);
    face->set_content(testing::JpegHeaderThen(bytes));
    return r;
  }

  grpc::Status Submit(const v1::Record& r, const std::string& key,
                      v1::SubmitCrossingResponse* resp,
                      const std::string& as = "lane-dev") {
    auto sealed = crypto::IntakeKey::Seal(vault_->intake_key().public_key(),
                                          r.SerializeAsString());
    EXPECT_TRUE(sealed.ok());
    return SubmitSealed(*sealed, key, resp, as);
  }

  // Submitted for `lane` at `checkpoint`, which the record itself may not
  // be.
  grpc::Status SubmitSealed(const std::string& sealed, const std::string& key,
                            v1::SubmitCrossingResponse* resp,
                            const std::string& as = "lane-dev",
                            const std::string& lane = "lane-1",
                            const std::string& checkpoint = "demo-poe") {
    v1::SubmitCrossingRequest req;
    req.set_sealed_record(sealed);
    req.set_lane_id(lane);
    req.set_checkpoint_id(checkpoint);
    req.set_idempotency_key(key);
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    return v1::LaneService::NewStub(Channel(as))
        ->SubmitCrossing(&ctx, req, resp);
  }

  bool AlertRaised(const std::string& kind) {
    auto alerts = vault_->oversight().Alerts(false);
    EXPECT_TRUE(alerts.ok());
    for (const auto& a : *alerts) {
      if (a.kind == kind && a.severity == "critical") return true;
    }
    return false;
  }
};

// A record is its content: a resend is acknowledged once more and stores
// nothing, and so is a replay of the same box under another idempotency
// key (a vendor copying a spool entry), each logged; other content is
// another record whatever its key says.
TEST_F(IntakeFaultsTest, AResendOrAReplayOfTheSameRecordStoresNothingNew) {
  const uint64_t before = *vault_->RecordCount();
  const v1::Record r = Crossing(absl::Now());
  auto sealed = crypto::IntakeKey::Seal(vault_->intake_key().public_key(),
                                        r.SerializeAsString());
  ASSERT_TRUE(sealed.ok());
  v1::SubmitCrossingResponse first, resend, replay, other;
  ASSERT_TRUE(SubmitSealed(*sealed, "lane-1/frame-100", &first).ok());
  EXPECT_FALSE(first.already_stored());
  EXPECT_EQ(first.items_kept(), 2);
  EXPECT_TRUE(first.record_id().empty());  // a node learns no record id
  ASSERT_TRUE(SubmitSealed(*sealed, "lane-1/frame-100", &resend).ok());
  EXPECT_TRUE(resend.already_stored());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(
        SubmitSealed(*sealed, absl::StrCat("forged-", i), &replay).ok());
    EXPECT_TRUE(replay.already_stored());
  }
  // Resealed (another box, the same record): still the same record. So is
  // one with other ids, reading candidates or fields this vault does not
  // know: none of them is stored.
  ASSERT_TRUE(Submit(r, "forged-again", &replay).ok());
  EXPECT_TRUE(replay.already_stored());
  v1::Record renamed = r;
  renamed.set_record_id(NewId("rec_"));
  for (v1::Item& item : *renamed.mutable_items()) {
    item.set_item_id(NewId("itm_"));
  }
  renamed.add_plate_candidates()->set_text("KXR4B21");
  renamed.mutable_items(0)->add_padding("filler");
  auto resealed = crypto::IntakeKey::Seal(
      vault_->intake_key().public_key(),
      renamed.SerializeAsString() + std::string("\xba\x06\x01x", 4));
  ASSERT_TRUE(resealed.ok());
  ASSERT_TRUE(SubmitSealed(*resealed, "forged-renamed", &replay).ok());
  EXPECT_TRUE(replay.already_stored());
  EXPECT_EQ(*vault_->RecordCount(), before + 1);
  EXPECT_EQ(Log().back().reason_code(), "resubmission");
  int resubmissions = 0;
  for (const v1::AuditEntry& e : Log()) {
    resubmissions += e.reason_code() == "resubmission";
  }
  EXPECT_EQ(resubmissions, 6);
  // Another crossing under a key already used is another record.
  ASSERT_TRUE(Submit(Crossing(absl::Now()), "lane-1/frame-100", &other).ok());
  EXPECT_FALSE(other.already_stored());
  EXPECT_EQ(*vault_->RecordCount(), before + 2);
}

TEST_F(IntakeFaultsTest, ARecordOfWhichNothingWasKeptIsStillRecognised) {
  v1::Record scene_only = Crossing(absl::Now());
  scene_only.clear_items();
  v1::Item* scene = scene_only.add_items();
  scene->set_item_id(NewId("itm_"));
  scene->set_category(v1::DATA_CATEGORY_SCENE_IMAGE);
  scene->set_content(testing::JpegHeaderThen(64));  // a whole frame
  v1::SubmitCrossingResponse first, again;
  ASSERT_TRUE(Submit(scene_only, "k-unkept", &first).ok());
  EXPECT_EQ(first.items_kept(), 0);  // the policy keeps no scene images
  ASSERT_TRUE(Submit(scene_only, "k-other", &again).ok());
  EXPECT_TRUE(again.already_stored());
}

TEST_F(IntakeFaultsTest, AnotherNodesSameKeyIsAnotherRecord) {
  const uint64_t before = *vault_->RecordCount();
  v1::SubmitCrossingResponse squat, real;
  ASSERT_TRUE(Submit(Crossing(absl::Now()), "k-1", &squat, "lane-two").ok());
  grpc::Status s = Submit(Crossing(absl::Now()), "k-1", &real);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_FALSE(real.already_stored());
  EXPECT_EQ(*vault_->RecordCount(), before + 2);
}

// What a vendor could smuggle in a record: an image as plate text, fields
// the vault does not know, a newline in an id that reaches the logs.
// A face or plate crop is a JPEG whose header declares a crop's size: a GIF
// labelled image/jpeg could never be marked on a read, and a header that
// claims 20000x20000 pixels would cost every read gigabytes to decode.
TEST_F(IntakeFaultsTest, AnImageItemIsAJpegOfACropsSize) {
  v1::SubmitCrossingResponse resp;
  const uint64_t before = *vault_->RecordCount();
  v1::Record gif = Crossing(absl::Now());
  gif.mutable_items(1)->set_content("GIF89a\x10\x00\x10\x00" +
                                    std::string(200, 'g'));
  gif.mutable_items(1)->set_media_type("image/jpeg");
  grpc::Status s = Submit(gif, "k-gif", &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("not a JPEG or PNG"), std::string::npos)
      << s.error_message();
  v1::Record bomb = Crossing(absl::Now());
  // A baseline frame header declaring 20000 rows of 20000 columns.
  bomb.mutable_items(1)->set_content(
      std::string("\xff\xd8\xff\xc0\x00\x11\x08\x4e\x20\x4e\x20\x03", 12) +
      std::string(400, 'b'));
  s = Submit(bomb, "k-bomb", &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("20000x20000"), std::string::npos)
      << s.error_message();
  v1::Record png = Crossing(absl::Now());
  png.mutable_items(1)->set_content(std::string(
      "\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x10\x00\x00\x00\x10",
      24));
  EXPECT_EQ(Submit(png, "k-png", &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(*vault_->RecordCount(), before);
  // A real crop is taken.
  v1::Record real = Crossing(absl::Now());
  real.mutable_items(1)->set_content(testing::TestJpeg(64, 64));
  s = Submit(real, "k-real", &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(*vault_->RecordCount(), before + 1);
}

TEST_F(IntakeFaultsTest, ARecordCarriesOnlyWhatItsCategoriesMean) {
  v1::SubmitCrossingResponse resp;
  v1::Record jpeg_as_text = Crossing(absl::Now());
  jpeg_as_text.mutable_items(0)->set_content(
      std::string("\xff\xd8\xff\xe0", 4) + std::string(5000, 'j'));
  grpc::Status s = Submit(jpeg_as_text, "k-jpeg", &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("plate reading"), std::string::npos)
      << s.error_message();
  for (const char* not_a_plate : {"kxr 4821\n", " ", "-", " KXR4821"}) {
    v1::Record odd = Crossing(absl::Now());
    odd.mutable_items(0)->set_content(not_a_plate);
    EXPECT_EQ(Submit(odd, "k-odd", &resp).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT)
        << "'" << not_a_plate << "'";
  }
  // Metadata carries no pixels: a JPEG as metadata is refused, text is not.
  v1::Record jpeg_as_metadata = Crossing(absl::Now());
  jpeg_as_metadata.mutable_items(1)->set_category(v1::DATA_CATEGORY_METADATA);
  jpeg_as_metadata.mutable_items(1)->set_content(testing::TestJpeg());
  s = Submit(jpeg_as_metadata, "k-meta-jpeg", &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("not metadata"), std::string::npos)
      << s.error_message();
  v1::Record metadata = Crossing(absl::Now());
  metadata.mutable_items(1)->set_category(v1::DATA_CATEGORY_METADATA);
  metadata.mutable_items(1)->set_content("{\"axles\": 2, \"ms\": 840}");
  metadata.mutable_items(1)->set_media_type("application/json");
  s = Submit(metadata, "k-meta", &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  v1::Record negative_nanos = Crossing(absl::Now());
  negative_nanos.mutable_first_seen()->set_nanos(-5);
  EXPECT_EQ(Submit(negative_nanos, "k-nanos", &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::Record html = Crossing(absl::Now());
  html.mutable_items(1)->set_media_type("text/html");
  EXPECT_EQ(Submit(html, "k-html", &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::Record forged_line = Crossing(absl::Now());
  forged_line.set_checkpoint_id("demo-poe\nstored record rec_forged");
  auto sealed = crypto::IntakeKey::Seal(vault_->intake_key().public_key(),
                                        forged_line.SerializeAsString());
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(SubmitSealed(*sealed, "k-line", &resp, "lane-dev", "lane-1",
                         forged_line.checkpoint_id())
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(
      Submit(Crossing(absl::Now()), "key with spaces", &resp).error_code(),
      grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(
      Submit(Crossing(absl::Now()), std::string(129, 'k'), &resp).error_code(),
      grpc::StatusCode::INVALID_ARGUMENT);
  // An unknown field (number 30) on an item is dropped, not kept.
  v1::Record extra = Crossing(absl::Now());
  std::string item_bytes = extra.items(1).SerializeAsString();
  item_bytes += std::string("\xf2\x01\x06", 3) + "secret";  // field 30, bytes
  v1::Record rebuilt = extra;
  rebuilt.clear_items();
  *rebuilt.add_items() = extra.items(0);
  std::string record_bytes = rebuilt.SerializeAsString();
  record_bytes += std::string("\x42", 1);  // field 8 (items), length-delimited
  record_bytes += static_cast<char>(item_bytes.size() & 0x7f) |
                  (item_bytes.size() > 127 ? '\x80' : '\0');
  if (item_bytes.size() > 127) {
    record_bytes += static_cast<char>(item_bytes.size() >> 7);
  }
  record_bytes += item_bytes;
  v1::Record check;
  ASSERT_TRUE(check.ParseFromString(record_bytes));
  ASSERT_EQ(check.items_size(), 2);
  ASSERT_FALSE(  // the field is there to smuggle
      check.items(1).GetReflection()->GetUnknownFields(check.items(1)).empty());
  auto sealed_extra =
      crypto::IntakeKey::Seal(vault_->intake_key().public_key(), record_bytes);
  ASSERT_TRUE(sealed_extra.ok());
  ASSERT_TRUE(SubmitSealed(*sealed_extra, "k-extra", &resp).ok());
  const std::string stored_id = Log().back().record_id();
  v1::AuditEntry audit;
  audit.set_principal("test");
  audit.set_action(v1::ACTION_READ_RECORD);
  audit.set_verdict(v1::VERDICT_ALLOW);
  auto read = vault_->Read(stored_id, {}, audit);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->items_size(), 2);
  for (const v1::Item& item : read->items()) {
    EXPECT_TRUE(item.GetReflection()->GetUnknownFields(item).empty());
    EXPECT_EQ(item.SerializeAsString().find("secret"), std::string::npos);
  }
}

TEST_F(IntakeFaultsTest, ASubmissionThatCannotBeTakenAsItIsIsRefused) {
  v1::SubmitCrossingResponse resp;
  v1::Record twice = Crossing(absl::Now());
  twice.mutable_items(1)->set_item_id(twice.items(0).item_id());
  v1::Record injected = Crossing(absl::Now());
  injected.set_record_id("rec_x\n2026-12-02 critical FAKE LINE");
  v1::Record undated = Crossing(absl::Now());
  undated.clear_first_seen();
  v1::Record unknown = Crossing(absl::Now());
  unknown.mutable_items(0)->set_category(static_cast<v1::DataCategory>(77));
  for (const v1::Record* r : {&twice, &injected, &undated, &unknown}) {
    grpc::Status s = Submit(*r, "", &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << r->DebugString();
  }
}

TEST_F(IntakeFaultsTest, AReadOfARecordPurgedWholeDoesNotCount) {
  v1::Record r = record_;
  r.set_record_id(NewId("rec_"));
  for (v1::Item& item : *r.mutable_items()) {
    item.set_item_id(NewId("itm_"));
    *item.mutable_deadline() = ToProto(absl::Now() - absl::Seconds(1));
  }
  ASSERT_TRUE(vault_->Intake(r, {}).ok());
  ASSERT_TRUE(vault_->SweepExpired().ok());  // the record row is gone too
  auto stub = v1::EvidenceService::NewStub(Channel("inspector-dev"));
  for (int i = 0; i < kLockoutRefusals * 2; ++i) {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    v1::GetRecordRequest req;
    req.set_record_id(Handle(r.record_id(), "vehicle-inspection"));
    req.set_purpose("vehicle-inspection");
    v1::GetRecordResponse resp;
    EXPECT_EQ(stub->GetRecord(&ctx, req, &resp).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  EXPECT_FALSE(vault_->oversight().Lockout("inspector-dev").ok());
}

TEST_F(IntakeFaultsTest, ACaptureTimeAnHourOrAYearAheadIsRefused) {
  const uint64_t before = *vault_->RecordCount();
  for (absl::Duration ahead : {absl::Hours(1), absl::Hours(24 * 365)}) {
    v1::SubmitCrossingResponse resp;
    grpc::Status s =
        Submit(Crossing(absl::Now() + ahead),
               absl::StrCat("k-future-", absl::FormatDuration(ahead)), &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << ahead << ": " << s.error_message();
    EXPECT_NE(s.error_message().find("clock"), std::string::npos);
    EXPECT_EQ(Log().back().reason_code(), "bad_request");
  }
  EXPECT_EQ(*vault_->RecordCount(), before);
}

TEST_F(IntakeFaultsTest, DeadlinesRunFromNoLaterThanTheVaultsNow) {
  // A minute ahead is within the skew: taken, but the deadline runs from the
  // vault's clock (its cell of the coarsest purpose), so the node's clock
  // buys no extra retention.
  const absl::Time claimed = absl::Now() + absl::Minutes(1);
  v1::Record r = Crossing(claimed);
  const v1::IntakeDecision as_claimed = policy_->DecideIntake(r);
  v1::SubmitCrossingResponse resp;
  const absl::Time before = absl::Now();
  ASSERT_TRUE(Submit(r, "k-skew", &resp).ok());
  const absl::Time after = absl::Now();
  // A node learns no record id; the log names it.
  ASSERT_EQ(Log().back().action(), v1::ACTION_INTAKE);
  auto read = vault_->Read(Log().back().record_id(), {}, {});
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->items_size(), 2);
  // The vault names the items it keeps; the decision named the node's, so
  // they are matched by category.
  for (const v1::Item& item : read->items()) {
    const v1::ItemDecision* d = nullptr;
    for (const v1::ItemDecision& each : as_claimed.items()) {
      if (each.category() == item.category()) d = &each;
    }
    ASSERT_NE(d, nullptr);
    const absl::Duration cell = FromProto(d->deadline_cell());
    EXPECT_GT(cell, absl::Minutes(1));
    const absl::Duration retention =
        FromProto(d->deadline()) - FloorTo(claimed, cell);
    const absl::Time stored = FromProto(item.deadline());
    EXPECT_LE(stored, FromProto(d->deadline()));
    EXPECT_TRUE(stored - retention == FloorTo(before, cell) ||
                stored - retention == FloorTo(after, cell))
        << "deadline " << stored << " is not the vault's now's cell + "
        << retention;
  }
}

TEST_F(IntakeFaultsTest, MalformedSubmissionsDoNotLockALaneOutOfEvidence) {
  v1::SubmitCrossingResponse resp;
  // Damaged in transit: more than an inspector's lockout threshold.
  for (int i = 0; i < kLockoutRefusals * 2; ++i) {
    EXPECT_EQ(
        SubmitSealed(std::string(300, 'x'), absl::StrCat("bad-", i), &resp)
            .error_code(),
        grpc::StatusCode::INVALID_ARGUMENT);
  }
  EXPECT_EQ(Log().back().refusal_count(),
            v1::REFUSAL_COUNT_MALFORMED_SUBMISSION);
  grpc::Status good = Submit(Crossing(absl::Now()), "good", &resp);
  EXPECT_TRUE(good.ok()) << good.error_message();
  // Its own, higher threshold still stops a lane that only sends junk.
  for (int i = kLockoutRefusals * 2; i < kLockoutMalformed; ++i) {
    SubmitSealed(std::string(300, 'x'), absl::StrCat("bad-", i), &resp)
        .error_code();
  }
  EXPECT_TRUE(AlertRaised("malformed_submissions"));
  EXPECT_EQ(Submit(Crossing(absl::Now()), "after", &resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(IntakeFaultsTest, APurgedFaceIsNotFoundAndDoesNotCountTowardsALockout) {
  v1::Record r = record_;
  r.set_record_id(NewId("rec_"));
  for (v1::Item& item : *r.mutable_items()) {
    item.set_item_id(NewId("itm_"));
    if (item.category() == v1::DATA_CATEGORY_FACE_IMAGE) {
      *item.mutable_deadline() = ToProto(absl::Now() - absl::Seconds(1));
    }
  }
  ASSERT_TRUE(vault_->Intake(r, {}).ok());
  auto stub = v1::EvidenceService::NewStub(Channel("inspector-dev"));
  for (int i = 0; i < kLockoutRefusals * 2; ++i) {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    v1::GetRecordRequest req;
    req.set_record_id(Handle(r.record_id(), "identity-verification"));
    req.set_purpose("identity-verification");
    req.add_categories(v1::DATA_CATEGORY_FACE_IMAGE);
    v1::GetRecordResponse resp;
    grpc::Status s = stub->GetRecord(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
    EXPECT_FALSE(resp.has_record());
  }
  EXPECT_EQ(Log().back().refusal_count(), v1::REFUSAL_COUNT_NONE);
  // Counted towards nothing, and so not logged one by one past a few a
  // minute: asking again and again does not grow the log.
  int logged = 0;
  for (const v1::AuditEntry& e : Log()) {
    logged +=
        e.principal() == "inspector-dev" && e.reason_code() == "not_found";
  }
  EXPECT_LE(logged, 5);
  v1::GetRecordResponse resp;
  grpc::Status still = GetRecord("inspector-dev", "vehicle-inspection", &resp);
  EXPECT_TRUE(still.ok()) << still.error_message();
}

// Withheld items are named by category only: their ids (or handles) would
// join this answer to one given under another purpose.
TEST_F(IntakeFaultsTest, WithheldItemsAreNamedByCategoryOnly) {
  v1::GetRecordResponse resp;
  ASSERT_TRUE(GetRecord("inspector-dev", "vehicle-inspection", &resp).ok());
  EXPECT_EQ(resp.withheld_item_ids_size(), 0);
  ASSERT_EQ(resp.withheld_categories_size(), 1);
  EXPECT_EQ(resp.withheld_categories(0), v1::DATA_CATEGORY_FACE_IMAGE);
}

TEST_F(IntakeFaultsTest, ASecondServerCannotShareThePort) {
  ServerOptions so;
  so.listen = absl::StrCat("127.0.0.1:", server_->port());
  so.tls.set_ca_cert(dir_->Join("pki/ca.pem"));
  so.tls.set_server_cert(dir_->Join("pki/server.pem"));
  so.tls.set_server_key(dir_->Join("pki/server.key"));
  auto second = ApiServer::Start(so, policy_.get(), vault_.get(),
                                 [] { return std::vector<v1::LaneStatus>{}; });
  EXPECT_FALSE(second.ok());
}

// A stop gives calls in flight the grace period; an idle client, with a
// connection open and no call, is no reason to wait for it.
TEST_F(IntakeFaultsTest, AStopDoesNotWaitOnIdleClients) {
  auto channel = Channel("inspector-dev");
  v1::GetRecordResponse resp;
  auto stub = v1::EvidenceService::NewStub(channel);
  grpc::ClientContext ctx;
  WithDeadline(ctx);
  v1::GetRecordRequest req;
  req.set_record_id(Handle(record_.record_id(), "vehicle-inspection"));
  req.set_purpose("vehicle-inspection");
  ASSERT_TRUE(stub->GetRecord(&ctx, req, &resp).ok());  // connected, idle
  testing::IdleTlsClient stalled(server_->port());
  ASSERT_TRUE(stalled.connected());
  const absl::Time start = absl::Now();
  server_->Shutdown(absl::Seconds(30));
  server_->Wait();
  EXPECT_LT(absl::Now() - start, absl::Seconds(15));
}

// A capture node bound to one lane at one checkpoint ("lane-a": lane-1 at
// cp-1) under the pilot contract, which covers cp-1 and cp-2 and every
// lane: it submits for its own lane and checkpoint and nothing else.
class BoundLaneTest : public IntakeFaultsTest {
 protected:
  static void SetUpTestSuite() {
    IntakeFaultsTest::SetUpTestSuite();
    testing::IssueCert(dir_->Join("pki"), "lane-a",
                       testing::ClientCert("lane-a", 6002));
  }
  std::unique_ptr<policy::Policy> MakePolicy() override {
    return testing::PilotPolicy([](v1::Contract& c) {
      c.add_checkpoints("cp-1");
      c.add_checkpoints("cp-2");
      v1::RoleBinding* lane = c.mutable_bindings(0);
      ASSERT_EQ(lane->role(), "lane");
      lane->clear_principal_patterns();
      lane->add_principal_patterns("lane-a");
      lane->clear_lanes();
      lane->add_lanes("lane-1");
      lane->clear_checkpoints();
      lane->add_checkpoints("cp-1");
    });
  }

  grpc::Status SubmitFor(const std::string& lane, const std::string& checkpoint,
                         const std::string& request_checkpoint,
                         v1::SubmitCrossingResponse* resp) {
    v1::Record r = Crossing(absl::Now());
    r.set_lane_id(lane);
    r.set_checkpoint_id(checkpoint);
    auto sealed = crypto::IntakeKey::Seal(vault_->intake_key().public_key(),
                                          r.SerializeAsString());
    EXPECT_TRUE(sealed.ok());
    return SubmitSealed(*sealed, "", resp, "lane-a", lane, request_checkpoint);
  }

  // The last entry: lane-a's intake refused by the policy for `code`.
  void ExpectDeniedInLog(const std::string& code) {
    const v1::AuditEntry e = Log().back();
    EXPECT_EQ(e.principal(), "lane-a");
    EXPECT_EQ(e.action(), v1::ACTION_INTAKE);
    EXPECT_EQ(e.verdict(), v1::VERDICT_DENY);
    EXPECT_EQ(e.reason_code(), code);
    ASSERT_GT(e.rule_ids_size(), 0);
    EXPECT_EQ(e.rule_ids(0), "bindings[0]");
  }
};

TEST_F(BoundLaneTest, ALaneCertificateSubmitsForItsOwnLaneOnly) {
  const uint64_t before = *vault_->RecordCount();
  v1::SubmitCrossingResponse resp;
  grpc::Status s = SubmitFor("lane-2", "cp-1", "cp-1", &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED)
      << s.error_message();
  EXPECT_NE(s.error_message().find("lane-2"), std::string::npos);
  ExpectDeniedInLog("lane_not_bound");
  EXPECT_EQ(*vault_->RecordCount(), before);
}

TEST_F(BoundLaneTest, ALaneCertificateSubmitsForItsOwnCheckpointOnly) {
  const uint64_t before = *vault_->RecordCount();
  v1::SubmitCrossingResponse resp;
  grpc::Status s = SubmitFor("lane-1", "cp-2", "cp-2", &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED)
      << s.error_message();
  EXPECT_NE(s.error_message().find("cp-2"), std::string::npos);
  ExpectDeniedInLog("checkpoint_not_bound");
  EXPECT_EQ(*vault_->RecordCount(), before);
}

TEST_F(BoundLaneTest, ARequestMustNameTheSealedRecordsCheckpoint) {
  v1::SubmitCrossingResponse resp;
  // A record of cp-2 presented as one of cp-1, its bound checkpoint.
  grpc::Status s = SubmitFor("lane-1", "cp-2", "cp-1", &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << s.error_message();
  EXPECT_NE(s.error_message().find("checkpoint"), std::string::npos);
  EXPECT_EQ(Log().back().reason_code(), "bad_request");
}

TEST_F(BoundLaneTest, ItsOwnLaneAndCheckpointAreStored) {
  const uint64_t before = *vault_->RecordCount();
  v1::SubmitCrossingResponse resp;
  grpc::Status s = SubmitFor("lane-1", "cp-1", "cp-1", &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.items_kept(), 2);
  EXPECT_EQ(*vault_->RecordCount(), before + 1);
  const v1::AuditEntry logged = Log().back();
  EXPECT_EQ(logged.principal(), "lane-a");
  EXPECT_EQ(logged.action(), v1::ACTION_INTAKE);
  EXPECT_EQ(logged.verdict(), v1::VERDICT_ALLOW);
  auto read = vault_->Read(logged.record_id(), {}, {});
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->lane_id(), "lane-1");
  EXPECT_EQ(read->checkpoint_id(), "cp-1");
}

class FullDiskIntakeTest : public IntakeFaultsTest {
 protected:
  void ConfigureVault(vault::VaultOptions& vo) override {
    vo.sqlite.vfs = testing::FullDiskVfsName();
  }
  void TearDown() override {
    testing::SetDiskFull(false);
    IntakeFaultsTest::TearDown();
  }
};

TEST_F(FullDiskIntakeTest, AFullDiskAnswersUnavailableAlertsAndRecovers) {
  testing::SetDiskFull(true);
  v1::SubmitCrossingResponse resp;
  std::vector<std::string> refused_keys;
  for (int i = 0; i < 20; ++i) {
    const std::string key = absl::StrCat("full-", i);
    grpc::Status s = Submit(Crossing(absl::Now(), 200000), key, &resp);
    if (s.ok()) continue;  // it fit in space the files already had
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE)
        << s.error_message();
    EXPECT_NE(s.error_message().find("full"), std::string::npos);
    refused_keys.push_back(key);
  }
  ASSERT_FALSE(refused_keys.empty());
  testing::SetDiskFull(false);
  // Space returns: the node's retries are taken, and the officers see
  // the episode, whether or not the full disk could take the alert.
  const uint64_t before = *vault_->RecordCount();
  ASSERT_TRUE(Submit(Crossing(absl::Now()), "after-full", &resp).ok());
  EXPECT_EQ(*vault_->RecordCount(), before + 1);
  EXPECT_TRUE(AlertRaised("disk_full"));
}

}  // namespace
}  // namespace lanevault::api
