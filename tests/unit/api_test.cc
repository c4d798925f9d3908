// The API on a real gRPC server, over real mutual TLS on loopback, with
// certificates made by the project's own dev PKI script.

#include <algorithm>
#include <atomic>
#include <functional>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/server.h"
#include "common/files.h"
#include "common/ids.h"
#include "common/time_util.h"
#include "crypto/sealed_box.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/health_check_service_interface.h"
#include "gtest/gtest.h"
#include "lanevault/v1/audit_service.grpc.pb.h"
#include "lanevault/v1/compliance.grpc.pb.h"
#include "lanevault/v1/evidence.grpc.pb.h"
#include "lanevault/v1/lanes.grpc.pb.h"
#include "policy/contract.h"
#include "policy/policy.h"
#include "rpc/audit_log_source.h"
#include "rpc/tls.h"
#include "testing/api_fixture.h"
#include "testing/test_util.h"
#include "tlog/log_verifier.h"
#include "vault/vault.h"

namespace lanevault::api {
namespace {

using ::lanevault::testing::WithDeadline;

class ApiTest : public testing::ApiFixture {};

TEST_F(ApiTest, InspectorReadsThePlateForVehicleInspection) {
  v1::GetRecordResponse resp;
  grpc::Status s = GetRecord("inspector-dev", "vehicle-inspection", &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(resp.record().items_size(), 1);
  EXPECT_EQ(resp.record().items(0).content(), "KXR4821");
  const auto log = Log();
  ASSERT_FALSE(log.empty());
  const v1::AuditEntry& last = log.back();
  EXPECT_EQ(last.principal(), "inspector-dev");  // from the certificate
  EXPECT_EQ(last.role(), "inspector");
  EXPECT_EQ(last.action(), v1::ACTION_READ_RECORD);
  EXPECT_EQ(last.verdict(), v1::VERDICT_ALLOW);
  EXPECT_EQ(last.record_id(), record_.record_id());
  // The log holds no personal data.
  EXPECT_EQ(last.SerializeAsString().find("KXR4821"), std::string::npos);
}

// A call no quota counts (here an auditor's log stream whose reader has
// stopped reading, stuck on flow control) must not hold the quota ledger:
// every other call's decision would wait behind it.
TEST_F(ApiTest, AStalledLogStreamDoesNotHoldOtherCallsDecisions) {
  std::vector<v1::AuditEntry> filler(500);
  for (v1::AuditEntry& e : filler) {
    e.set_principal("filler");
    e.set_detail(std::string(3000, 'x'));
  }
  for (int batch = 0; batch < 32; ++batch) {  // ~48 MB: past any window
    ASSERT_TRUE(vault_->log().AppendBatch(filler).ok());
  }
  auto auditor = v1::AuditService::NewStub(Channel("auditor-dev"));
  grpc::ClientContext stream_ctx;
  stream_ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
  auto reader = auditor->StreamEntries(&stream_ctx, v1::QueryEntriesRequest());
  v1::AuditEntry first;
  ASSERT_TRUE(reader->Read(&first));  // the handler runs; then nobody reads
  absl::SleepFor(absl::Milliseconds(300));

  // Within the read's own 10 s deadline, though the stream holds on for 60.
  v1::GetRecordResponse resp;
  grpc::Status s = GetRecord("inspector-dev", "vehicle-inspection", &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  stream_ctx.TryCancel();
}

TEST_F(ApiTest, WrongRoleIsRefusedAndTheRefusalIsLogged) {
  for (const char* who : {"lane-dev", "operator-dev", "auditor-dev"}) {
    v1::GetRecordResponse resp;
    grpc::Status s = GetRecord(who, "vehicle-inspection", &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << who;
    EXPECT_FALSE(resp.has_record());
    const v1::AuditEntry last = Log().back();
    EXPECT_EQ(last.principal(), who);
    EXPECT_EQ(last.verdict(), v1::VERDICT_DENY);
  }
}

TEST_F(ApiTest, ReadWithoutPurposeIsRefusedAndLogged) {
  v1::GetRecordResponse resp;
  grpc::Status s = GetRecord("inspector-dev", "", &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Log().back().reason_code(), "no_purpose");
}

TEST_F(ApiTest, PlateAndFaceTogetherIsRefusedAsLinkage) {
  auto stub = v1::EvidenceService::NewStub(Channel("inspector-dev"));
  grpc::ClientContext ctx;
  WithDeadline(ctx);
  v1::GetRecordRequest req;
  req.set_record_id(Handle(record_.record_id(), "vehicle-inspection"));
  req.set_purpose("vehicle-inspection");
  req.add_categories(v1::DATA_CATEGORY_PLATE_TEXT);
  req.add_categories(v1::DATA_CATEGORY_FACE_IMAGE);
  v1::GetRecordResponse resp;
  EXPECT_EQ(stub->GetRecord(&ctx, req, &resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Log().back().reason_code(), "linkage");
}

TEST_F(ApiTest, UnknownRecordIsNotFound) {
  auto stub = v1::EvidenceService::NewStub(Channel("inspector-dev"));
  grpc::ClientContext ctx;
  WithDeadline(ctx);
  v1::GetRecordRequest req;
  req.set_record_id(Handle(NewId("rec_"), "vehicle-inspection"));
  req.set_purpose("vehicle-inspection");
  v1::GetRecordResponse resp;
  EXPECT_EQ(stub->GetRecord(&ctx, req, &resp).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(ApiTest, SearchReturnsIdsOnlyAndIsCapped) {
  auto stub = v1::EvidenceService::NewStub(Channel("inspector-dev"));
  grpc::ClientContext ctx;
  WithDeadline(ctx);
  v1::SearchRecordsRequest req;
  req.set_purpose("vehicle-inspection");
  v1::SearchRecordsResponse resp;
  ASSERT_TRUE(stub->SearchRecords(&ctx, req, &resp).ok());
  ASSERT_EQ(resp.records_size(), 1);
  EXPECT_EQ(resp.records(0).record_id(),
            Handle(record_.record_id(), "vehicle-inspection"));
  EXPECT_EQ(resp.SerializeAsString().find("KXR4821"), std::string::npos);
  EXPECT_NE(Log().back().detail().find("limit=50"), std::string::npos);
}

TEST_F(ApiTest, OperatorSeesLanesButNotEvidence) {
  auto stub = v1::LaneService::NewStub(Channel("operator-dev"));
  grpc::ClientContext ctx;
  WithDeadline(ctx);
  v1::ListLanesResponse resp;
  ASSERT_TRUE(stub->ListLanes(&ctx, {}, &resp).ok());
  ASSERT_EQ(resp.lanes_size(), 1);
  auto inspector = v1::LaneService::NewStub(Channel("inspector-dev"));
  grpc::ClientContext ctx2;
  WithDeadline(ctx2);
  EXPECT_EQ(inspector->ListLanes(&ctx2, {}, &resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

// A valid certificate calling in a loop: every call it makes is an
// access-log entry, so past its rate its calls are refused and summarised,
// and an officer is told once.
class RateLimitedApiTest : public ApiTest {
 protected:
  void Configure(api::ServerOptions& so) override {
    so.limits.calls_per_second = 0.1;
    so.limits.call_burst = 3;
  }
};

TEST_F(RateLimitedApiTest, ACertificateCallingInALoopIsHeldToItsRate) {
  auto stub = v1::LaneService::NewStub(Channel("operator-dev"));
  const uint64_t before = vault_->log().Size();
  int ok = 0, limited = 0;
  for (int i = 0; i < 60; ++i) {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    v1::ListLanesResponse resp;
    const grpc::Status s = stub->ListLanes(&ctx, {}, &resp);
    ok += s.ok();
    if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
      ++limited;
      EXPECT_NE(s.error_message().find("slow down"), std::string::npos)
          << s.error_message();
    }
  }
  EXPECT_GE(ok, 3);
  EXPECT_LE(ok, 4);  // the burst, and what a call in 10 s refilled
  EXPECT_EQ(ok + limited, 60);
  // The calls served, and a few refusals one by one: not sixty entries.
  const uint64_t added = vault_->log().Size() - before;
  EXPECT_LE(added,
            static_cast<uint64_t>(ok + api::RefusalLimits().logged_per_window));
  int alerts = 0;
  const absl::StatusOr<std::vector<vault::AlertRow>> raised =
      vault_->oversight().Alerts(true);
  ASSERT_TRUE(raised.ok()) << raised.status();
  for (const vault::AlertRow& a : *raised) {
    alerts += a.kind == "quota_reached" && a.principal == "operator-dev";
  }
  EXPECT_EQ(alerts, 1);
  // Refusals for the rate count towards no lockout: the operator is not
  // locked out, only slowed.
  EXPECT_FALSE(vault_->oversight().Lockout("operator-dev").ok());
}

// --- Compliance officers: holds, retention, keys, alerts. ---

TEST_F(ApiTest, OfficerPlacesAndLiftsAHoldAndReadsTheRetentionReport) {
  auto officer = v1::ComplianceService::NewStub(Channel("compliance-dev"));
  v1::PlaceHoldRequest place;
  place.set_case_id("CASE-1");
  place.set_reason("court order");
  place.add_record_ids(record_.record_id());
  v1::LegalHold hold;
  {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    grpc::Status s = officer->PlaceHold(&ctx, place, &hold);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  EXPECT_EQ(hold.placed_by(), "compliance-dev");
  EXPECT_EQ(hold.record_ids(0), record_.record_id());
  // Only officers place holds; the refusal is logged too.
  {
    auto inspector = v1::ComplianceService::NewStub(Channel("inspector-dev"));
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    v1::LegalHold ignored;
    EXPECT_EQ(inspector->PlaceHold(&ctx, place, &ignored).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  v1::RetentionReport report;
  {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    ASSERT_TRUE(officer->GetRetentionReport(&ctx, {}, &report).ok());
  }
  EXPECT_EQ(report.items_on_hold(), 2u);
  EXPECT_EQ(report.items_overdue(), 0u);
  ASSERT_EQ(report.categories_size(), 2);
  {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    v1::LiftHoldRequest lift;
    lift.set_hold_id(hold.hold_id());
    lift.set_reason("case closed");
    v1::LegalHold lifted;
    ASSERT_TRUE(officer->LiftHold(&ctx, lift, &lifted).ok());
    EXPECT_TRUE(lifted.has_lifted());
  }
  int hold_entries = 0, refused = 0;
  for (const v1::AuditEntry& e : Log()) {
    if (e.action() != v1::ACTION_MANAGE_HOLD) continue;
    ++hold_entries;
    refused += e.verdict() == v1::VERDICT_DENY;
  }
  EXPECT_EQ(hold_entries, 3);
  EXPECT_EQ(refused, 1);
}

TEST_F(ApiTest, HeldItemPastItsDeadlineReadsOnlyForTheHoldsCase) {
  v1::Record held = record_;
  held.set_record_id(NewId("rec_"));
  for (v1::Item& item : *held.mutable_items()) {
    item.set_item_id(NewId("itm_"));
    *item.mutable_deadline() = ToProto(absl::Now() + absl::Milliseconds(300));
  }
  ASSERT_TRUE(vault_->Intake(held, {}).ok());
  v1::AuditEntry place;
  place.set_principal("compliance-dev");
  ASSERT_TRUE(vault_->oversight()
                  .PlaceHold("CASE-9", "court order", {held.record_id()}, place)
                  .ok());
  absl::SleepFor(absl::Milliseconds(400));  // past the deadline, not swept
  auto stub = v1::EvidenceService::NewStub(Channel("inspector-dev"));
  v1::GetRecordRequest req;
  req.set_record_id(Handle(held.record_id(), "vehicle-inspection"));
  req.set_purpose("vehicle-inspection");
  v1::GetRecordResponse resp;
  {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    EXPECT_EQ(stub->GetRecord(&ctx, req, &resp).error_code(),
              grpc::StatusCode::NOT_FOUND);  // expired for everyone else
  }
  req.set_case_id("CASE-9");
  grpc::ClientContext ctx;
  WithDeadline(ctx);
  grpc::Status s = stub->GetRecord(&ctx, req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(resp.record().items_size(), 1);
  EXPECT_EQ(resp.record().items(0).content(), "KXR4821");
}

TEST_F(ApiTest, OfficerRotatesKeysAndRecordsStillRead) {
  auto officer = v1::ComplianceService::NewStub(Channel("compliance-dev"));
  grpc::ClientContext ctx;
  WithDeadline(ctx);
  v1::RotateKeysResponse rotated;
  ASSERT_TRUE(officer->RotateKeys(&ctx, {}, &rotated).ok());
  EXPECT_EQ(rotated.new_key_version(), 2u);
  while (*vault_->RewrapStep(100) > 0) {
  }
  v1::GetRecordResponse resp;
  ASSERT_TRUE(GetRecord("inspector-dev", "vehicle-inspection", &resp).ok());
  EXPECT_EQ(resp.record().items(0).content(), "KXR4821");
}

// The destruction report: after a rotation the old generation's key is
// destroyed; an officer sees it with its log entry, an inspector cannot ask.
TEST_F(ApiTest, OfficerListsDestroyedKeysWithTheirLogEntries) {
  auto officer = v1::ComplianceService::NewStub(Channel("compliance-dev"));
  {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    v1::RotateKeysResponse rotated;
    ASSERT_TRUE(officer->RotateKeys(&ctx, {}, &rotated).ok());
  }
  while (*vault_->RewrapStep(100) > 0) {
  }
  ASSERT_TRUE(vault_->RewrapStep(100).ok());
  v1::ListDestroyedKeysResponse report;
  {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    grpc::Status s = officer->ListDestroyedKeys(&ctx, {}, &report);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  ASSERT_GE(report.keys_size(), 1);
  const v1::DestroyedKey& k = report.keys(0);
  EXPECT_EQ(k.why(), "rotated");
  EXPECT_EQ(k.generation(), 1u);
  EXPECT_EQ(k.retention_period().size(), 10u) << k.retention_period();
  auto logged = vault_->log().Entries(k.log_sequence(), k.log_sequence() + 1);
  ASSERT_TRUE(logged.ok());
  ASSERT_EQ(logged->size(), 1u);
  EXPECT_EQ((*logged)[0].reason_code(), "key_destroyed");
  EXPECT_EQ((*logged)[0].record_id(), absl::StrCat("kek:", k.key_version()));

  auto inspector = v1::ComplianceService::NewStub(Channel("inspector-dev"));
  grpc::ClientContext ctx;
  WithDeadline(ctx);
  v1::ListDestroyedKeysResponse none;
  EXPECT_EQ(inspector->ListDestroyedKeys(&ctx, {}, &none).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(ApiTest, PlateLookupReturnsIdsAndLogsOnlyTheBlindIndex) {
  auto stub = v1::EvidenceService::NewStub(Channel("inspector-dev"));
  v1::LookupPlateRequest req;
  req.set_plate_text("kxr-4821");
  req.set_purpose("vehicle-inspection");
  v1::LookupPlateResponse resp;
  {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    grpc::Status s = stub->LookupPlate(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  ASSERT_EQ(resp.record_ids_size(), 1);
  EXPECT_EQ(resp.record_ids(0),
            Handle(record_.record_id(), "vehicle-inspection"));
  const v1::AuditEntry last = Log().back();
  EXPECT_EQ(last.action(), v1::ACTION_SEARCH_PLATE);
  EXPECT_EQ(last.plate_blind_index(), vault_->PlateBlindIndex("KXR4821"));
  EXPECT_EQ(last.SerializeAsString().find("KXR"), std::string::npos);
  // A lane certificate may not look plates up.
  auto lane = v1::EvidenceService::NewStub(Channel("lane-dev"));
  grpc::ClientContext ctx;
  WithDeadline(ctx);
  EXPECT_EQ(lane->LookupPlate(&ctx, req, &resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(ApiTest, DataLossRaisesAnAlertOfficersSeeAndAcknowledge) {
  vault_->oversight().RaiseAlert("critical", "data_loss", "system",
                                 "record x: damaged");
  auto officer = v1::ComplianceService::NewStub(Channel("compliance-dev"));
  v1::ListAlertsResponse alerts;
  {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    ASSERT_TRUE(officer->ListAlerts(&ctx, {}, &alerts).ok());
  }
  ASSERT_EQ(alerts.alerts_size(), 1);
  EXPECT_EQ(alerts.alerts(0).kind(), "data_loss");
  {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    v1::AcknowledgeAlertRequest ack;
    ack.set_alert_id(alerts.alerts(0).alert_id());
    v1::Alert acked;
    ASSERT_TRUE(officer->AcknowledgeAlert(&ctx, ack, &acked).ok());
    EXPECT_TRUE(acked.acknowledged());
  }
  grpc::ClientContext ctx;
  WithDeadline(ctx);
  ASSERT_TRUE(officer->ListAlerts(&ctx, {}, &alerts).ok());
  EXPECT_EQ(alerts.alerts_size(), 0);  // acknowledged: off the open list
}

// --- The access log over gRPC, verified as an auditor would. ---

TEST_F(ApiTest, AuditorVerifiesTheLogInFull) {
  v1::GetRecordResponse resp;
  ASSERT_TRUE(GetRecord("inspector-dev", "vehicle-inspection", &resp).ok());
  ASSERT_FALSE(GetRecord("operator-dev", "vehicle-inspection", &resp).ok());
  tlog::VerifyOptions options;
  options.verifier_key = vault_->log().VerifierKey();
  options.full = true;
  options.entries = {0, 1, 2};
  auto source =
      rpc::RpcAuditLogSource(Channel("auditor-dev"), absl::Seconds(10));
  auto report = tlog::VerifyAuditLog(*source, options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_GE(report->tree_size, 3u);
  EXPECT_EQ(report->entries_proved, 3u);
  // Next time, from the checkpoint kept: consistent.
  options.previous_checkpoint = report->checkpoint;
  options.full = false;
  EXPECT_TRUE(tlog::VerifyAuditLog(*source, options).ok());
}

TEST_F(ApiTest, OnlyAuditorsAndComplianceReadTheLog) {
  for (const char* who : {"inspector-dev", "operator-dev", "lane-dev"}) {
    auto stub = v1::AuditService::NewStub(Channel(who));
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    v1::Checkpoint cp;
    EXPECT_EQ(stub->GetCheckpoint(&ctx, {}, &cp).error_code(),
              grpc::StatusCode::PERMISSION_DENIED)
        << who;
    EXPECT_EQ(Log().back().action(), v1::ACTION_READ_AUDIT);
    EXPECT_EQ(Log().back().verdict(), v1::VERDICT_DENY);
  }
  auto stub = v1::AuditService::NewStub(Channel("compliance-dev"));
  grpc::ClientContext ctx;
  WithDeadline(ctx);
  v1::Checkpoint cp;
  EXPECT_TRUE(stub->GetCheckpoint(&ctx, {}, &cp).ok());
}

TEST_F(ApiTest, AuditorsQueryAndStreamTheLog) {
  for (int i = 0; i < 7; ++i) {
    v1::GetRecordResponse resp;
    GetRecord("operator-dev", "vehicle-inspection", &resp).IgnoreError();
  }
  auto stub = v1::AuditService::NewStub(Channel("auditor-dev"));
  v1::QueryEntriesRequest req;
  req.set_principal("operator-dev");
  req.set_verdict(v1::VERDICT_DENY);
  req.set_page_size(5);
  v1::QueryEntriesResponse page;
  {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    ASSERT_TRUE(stub->QueryEntries(&ctx, req, &page).ok());
  }
  ASSERT_EQ(page.entries_size(), 5);
  ASSERT_FALSE(page.next_page_token().empty());
  req.set_page_token(page.next_page_token());
  {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    ASSERT_TRUE(stub->QueryEntries(&ctx, req, &page).ok());
  }
  EXPECT_EQ(page.entries_size(), 2);
  for (const auto& e : page.entries()) EXPECT_EQ(e.principal(), "operator-dev");
  // The log's end: no token, so a client asks no more.
  EXPECT_TRUE(page.next_page_token().empty());
  // A token past the end: an empty page, and no token.
  req.set_page_token("9000000000000000000");
  {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    ASSERT_TRUE(stub->QueryEntries(&ctx, req, &page).ok());
  }
  EXPECT_EQ(page.entries_size(), 0);
  EXPECT_TRUE(page.next_page_token().empty());
  // Tokens this server never gives: not a number, or past what a sequence
  // can be (it would wrap to a negative start).
  for (const char* token : {"not-a-token", "9223372036854775808"}) {
    req.set_page_token(token);
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    EXPECT_EQ(stub->QueryEntries(&ctx, req, &page).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT)
        << token;
  }
  req.clear_page_token();
  grpc::ClientContext ctx;
  WithDeadline(ctx);
  auto reader = stub->StreamEntries(&ctx, req);
  v1::AuditEntry e;
  int streamed = 0;
  while (reader->Read(&e)) ++streamed;
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_EQ(streamed, 7);
}

// An auditor whose queries match nothing walks the whole log, call after
// call. Every intake and read appends to that log: an append made while a
// walk runs must not wait for it (it waited for all of it while queries
// ran on the writer's connection under its lock).
TEST_F(ApiTest, AnAuditorWalkingTheLogDoesNotHoldUpItsAppends) {
  std::vector<v1::AuditEntry> filler(1000);
  for (v1::AuditEntry& e : filler) e.set_principal("filler");
  for (int batch = 0; batch < 300; ++batch) {
    ASSERT_TRUE(vault_->log().AppendBatch(filler).ok());
  }
  auto auditor = v1::AuditService::NewStub(Channel("auditor-dev"));
  std::atomic<bool> done{false};
  std::vector<double> call_ms;
  std::thread walker([&] {
    for (int i = 0; i < 6; ++i) {
      v1::QueryEntriesRequest req;
      req.set_principal("nobody");
      grpc::ClientContext ctx;
      WithDeadline(ctx);
      v1::QueryEntriesResponse resp;
      const absl::Time t0 = absl::Now();
      EXPECT_TRUE(auditor->QueryEntries(&ctx, req, &resp).ok());
      call_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
      EXPECT_EQ(resp.entries_size(), 0);
    }
    done = true;
  });
  std::vector<double> append_ms;
  v1::AuditEntry e;
  e.set_principal("lane-1");
  while (!done) {
    const absl::Time t0 = absl::Now();
    ASSERT_TRUE(vault_->log().Append(e).ok());
    append_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
  }
  walker.join();
  ASSERT_GE(append_ms.size(), 3u);
  std::sort(call_ms.begin(), call_ms.end());
  std::sort(append_ms.begin(), append_ms.end(), std::greater<>());
  const double call = call_ms[call_ms.size() / 2];
  // Appends follow one another without pause, so with walks holding them
  // up one would start as each walk does and wait nearly all of it: the
  // third longest would be most of a call.
  const double third_longest = append_ms[2];
  EXPECT_LT(third_longest, call / 2)
      << append_ms.size() << " appends, the longest " << append_ms[0]
      << " ms, the third " << third_longest << " ms; median call " << call
      << " ms";
}

// Every call is logged, so an auditor paging through their own entries
// would find their last page's call on each next page without end: a
// query sees the log as it was before its first page.
TEST_F(ApiTest, AnAuditorsQueryOfTheirOwnEntriesComesToAnEnd) {
  auto stub = v1::AuditService::NewStub(Channel("auditor-dev"));
  for (int i = 0; i < 2; ++i) {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    v1::Checkpoint cp;
    ASSERT_TRUE(
        stub->GetCheckpoint(&ctx, v1::GetCheckpointRequest(), &cp).ok());
  }
  v1::QueryEntriesRequest req;
  req.set_principal("auditor-dev");
  req.set_page_size(1);
  int pages = 0, found = 0;
  for (; pages < 20; ++pages) {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    v1::QueryEntriesResponse page;
    ASSERT_TRUE(stub->QueryEntries(&ctx, req, &page).ok());
    found += page.entries_size();
    if (page.next_page_token().empty()) break;
    req.set_page_token(page.next_page_token());
  }
  EXPECT_LT(pages, 20) << "the pages did not come to an end";
  EXPECT_EQ(found, 2);  // the two checkpoints, none of the query's calls
  // A new query sees those calls.
  req.clear_page_token();
  req.set_page_size(100);
  grpc::ClientContext ctx;
  WithDeadline(ctx);
  v1::QueryEntriesResponse all;
  ASSERT_TRUE(stub->QueryEntries(&ctx, req, &all).ok());
  EXPECT_EQ(all.entries_size(), 2 + pages + 1);
  EXPECT_TRUE(all.next_page_token().empty());
  // A query's token, given to a following stream, does not hold it at
  // where that query's log ended.
  v1::QueryEntriesRequest follow;
  follow.set_principal("auditor-dev");
  follow.set_page_token("0.1");
  follow.set_follow(true);
  grpc::ClientContext stream_ctx;
  stream_ctx.set_deadline(std::chrono::system_clock::now() +
                          std::chrono::seconds(5));
  auto reader = stub->StreamEntries(&stream_ctx, follow);
  v1::AuditEntry e;
  int streamed = 0;
  while (streamed < 3 && reader->Read(&e)) ++streamed;
  EXPECT_EQ(streamed, 3);
  stream_ctx.TryCancel();
  reader->Finish().IgnoreError();
}

// A capture node seals a crossing to the vault's intake key; sending it
// again with the same idempotency key stores nothing new.
TEST_F(ApiTest, LaneSubmitsASealedCrossingOnceEvenIfSentTwice) {
  v1::SubmitCrossingRequest req = SealedCrossing("lane-1/frame-812");
  auto stub = v1::LaneService::NewStub(Channel("lane-dev"));
  const auto before = vault_->RecordCount();
  ASSERT_TRUE(before.ok());
  for (int attempt = 0; attempt < 2; ++attempt) {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    v1::SubmitCrossingResponse resp;
    grpc::Status s = stub->SubmitCrossing(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(resp.already_stored(), attempt == 1);
  }
  EXPECT_EQ(*vault_->RecordCount(), *before + 1);
  // A box sealed to another key does not open.
  req.set_sealed_record(std::string(200, 'x'));
  grpc::ClientContext ctx;
  WithDeadline(ctx);
  v1::SubmitCrossingResponse resp;
  EXPECT_EQ(stub->SubmitCrossing(&ctx, req, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Log().back().reason_code(), "bad_request");
}

// An image the vault cannot mark (kept before intake read image headers,
// or damaged since) is withheld: an image returned without a mark could
// leak without naming its read.
TEST_F(ApiTest, AnImageThatCannotBeMarkedIsWithheldNotReturnedAsStored) {
  record_.set_record_id(NewId("rec_"));
  for (v1::Item& item : *record_.mutable_items()) {
    item.set_item_id(NewId("itm_"));
  }
  // The vault's own intake does not read headers: as an older vault holds.
  record_.mutable_items(1)->set_content("GIF89a, not a JPEG");
  ASSERT_TRUE(vault_->Intake(record_, {}).ok());
  v1::GetRecordResponse resp;
  grpc::Status s = GetRecord("inspector-dev", "identity-verification", &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  int faces = 0;
  for (const v1::Item& item : resp.record().items()) {
    if (item.category() != v1::DATA_CATEGORY_FACE_IMAGE) continue;
    ++faces;
    EXPECT_TRUE(item.content().empty());
    EXPECT_TRUE(item.media_type().empty());
  }
  EXPECT_EQ(faces, 1);
}

// A trace decodes and searches every pixel: a picture larger than a leaked
// answer could be is refused from its header, before it is decoded.
TEST_F(ApiTest, ATraceOfAPictureFarLargerThanAnAnswerIsRefusedUndecoded) {
  auto audit = v1::AuditService::NewStub(Channel("auditor-dev"));
  grpc::ClientContext ctx;
  WithDeadline(ctx);
  v1::TraceImageRequest req;
  // A PNG header declaring 20000x20000 (its data would decode to 1.2 GB).
  req.set_image(std::string(
      "\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x4e\x20\x00\x00\x4e\x20"
      "\x08\x02\x00\x00\x00",
      29));
  v1::TraceImageResponse resp;
  grpc::Status s = audit->TraceImage(&ctx, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("20000x20000"), std::string::npos)
      << s.error_message();
}

// Under the pilot contract, with history from the access log.
class ContractApiTest : public ApiTest {
 protected:
  std::unique_ptr<policy::Policy> MakePolicy() override {
    return testing::PilotPolicy();
  }
};

TEST_F(ContractApiTest, PlateThenFaceAcrossTwoCallsIsLinkage) {
  v1::GetRecordResponse resp;
  grpc::Status s = GetRecord("inspector-dev", "vehicle-inspection", &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(resp.record().items_size(), 1);  // plate text only
  // The same inspector now asks for the face of the same crossing.
  v1::GetRecordResponse second;
  s = GetRecord("inspector-dev", "identity-verification", &second);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED)
      << s.error_message();
  EXPECT_FALSE(second.has_record());
  EXPECT_EQ(Log().back().rule_ids(0), "no-linkage");
  // A restart forgets nothing: the history is the access log.
  StartServer();
  s = GetRecord("inspector-dev", "identity-verification", &second);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  // The side already held stays readable.
  EXPECT_TRUE(GetRecord("inspector-dev", "vehicle-inspection", &resp).ok());
}

class TamperTest : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    // Forty decisions to tamper with, signed into a checkpoint.
    for (int i = 0; i < 40; ++i) {
      v1::GetRecordResponse resp;
      GetRecord(i % 2 ? "inspector-dev" : "operator-dev", "vehicle-inspection",
                &resp)
          .IgnoreError();
    }
    ASSERT_TRUE(vault_->log().SignCheckpoint().ok());
  }
  absl::Status VerifyFull() {
    tlog::VerifyOptions options;
    options.verifier_key = vault_->log().VerifierKey();
    options.full = true;
    auto source =
        rpc::RpcAuditLogSource(Channel("auditor-dev"), absl::Seconds(10));
    return tlog::VerifyAuditLog(*source, options).status();
  }
};

TEST_F(TamperTest, UntouchedLogVerifies) { EXPECT_TRUE(VerifyFull().ok()); }

TEST_F(TamperTest, RewrittenEntryIsNamed) {
  // Entry 17's bytes replaced by entry 16's with its sequence patched: it
  // parses, sits in the right place, and is still a lie.
  auto leaves = vault_->log().LeafData(16, 17);
  ASSERT_TRUE(leaves.ok());
  v1::AuditEntry forged;
  ASSERT_TRUE(forged.ParseFromString((*leaves)[0]));
  forged.set_sequence(17);
  forged.set_principal("nobody");
  std::string hex = absl::BytesToHexString(forged.SerializeAsString());
  testing::ExecSql(work_.Join("vault.db"), "UPDATE audit_log SET entry = x'" +
                                               hex + "' WHERE sequence = 17");
  absl::Status s = VerifyFull();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("entry 17:"), absl::string_view::npos) << s;
}

TEST_F(TamperTest, DeletedEntryIsNamed) {
  testing::ExecSql(work_.Join("vault.db"),
                   "DELETE FROM audit_log WHERE sequence = 23");
  absl::Status s = VerifyFull();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("entry 23:"), absl::string_view::npos) << s;
}

TEST_F(TamperTest, ReorderedEntriesAreNamed) {
  testing::ExecSql(work_.Join("vault.db"),
                   "UPDATE audit_log SET sequence = -1 WHERE sequence = 9;"
                   "UPDATE audit_log SET sequence = 9 WHERE sequence = 10;"
                   "UPDATE audit_log SET sequence = 10 WHERE sequence = -1;");
  absl::Status s = VerifyFull();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("entry 9:"), absl::string_view::npos) << s;
}

TEST_F(ApiTest, WhenTheLogCannotBeWrittenNothingIsReturned) {
  // A trigger refusing appends stands in for an unwritable log.
  testing::ExecSql(work_.Join("vault.db"),
                   "CREATE TRIGGER no_log BEFORE INSERT ON audit_log BEGIN "
                   "SELECT RAISE(FAIL, 'log unwritable'); END");
  v1::GetRecordResponse resp;
  grpc::Status s = GetRecord("inspector-dev", "vehicle-inspection", &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_FALSE(resp.has_record());
  // Refusals cannot be logged either, so they fail closed too.
  EXPECT_EQ(GetRecord("operator-dev", "vehicle-inspection", &resp).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  // Intake is not acknowledged, and the record is not stored.
  v1::Record r = record_;
  r.set_record_id(NewId("rec_"));
  EXPECT_FALSE(vault_->Intake(r, {}).ok());
  EXPECT_EQ(vault_->Describe(r.record_id()).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace lanevault::api
