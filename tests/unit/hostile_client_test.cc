// The hostile-client suite: a real server over real TLS on loopback, a real
// vault, the pilot contract with a small quota. Each hostile call must be
// refused with the right code, return nothing, and leave its entry in the
// access log.

#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "api/peer_verifier.h"
#include "common/files.h"
#include "gtest/gtest.h"
#include "lanevault/v1/compliance.grpc.pb.h"
#include "lanevault/v1/evidence.grpc.pb.h"
#include "policy/contract.h"
#include "testing/api_fixture.h"
#include "testing/raw_tls.h"
#include "testing/test_pki.h"
#include "wiring/canary.h"

namespace lanevault::api {
namespace {

using ::lanevault::testing::WithDeadline;

constexpr int kLockoutRefusals = 5;
constexpr long kRevokedSerial = 4002;

class HostileTest : public testing::ApiFixture {
 protected:
  static void SetUpTestSuite() {
    ApiFixture::SetUpTestSuite();
    const std::string pki = dir_->Join("pki");
    testing::CertSpec expired = testing::ClientCert("inspector-old", 4001);
    expired.valid_from = -absl::Hours(48);
    expired.valid_until = -absl::Hours(24);
    testing::IssueCert(pki, "expired", expired);
    testing::IssueCert(pki, "revoked",
                       testing::ClientCert("inspector-gone", kRevokedSerial));
    testing::IssueCert(pki, "denied",
                       testing::ClientCert("inspector-denied", 4003));
    testing::CertSpec server_only = testing::ClientCert("inspector-srv", 4004);
    server_only.client_auth = false;
    testing::IssueCert(pki, "server-only", server_only);
    testing::WriteCrl(pki, {kRevokedSerial}, dir_->Join("pki/crl.pem"));
  }

  std::unique_ptr<policy::Policy> MakePolicy() override {
    return testing::PilotPolicy([](v1::Contract& contract) {
      for (v1::Permit& p : *contract.mutable_permits()) {
        if (p.role() != "inspector") continue;
        p.mutable_quota()->set_reads_per_window(3);
        if (p.id() == "inspector-identity") p.set_case_id_required(true);
      }
    });
  }

  void Configure(ServerOptions& so) override {
    so.tls.set_crl_file(dir_->Join("pki/crl.pem"));
    deny_list_ = work_.Join("deny-list");
    if (!std::ifstream(deny_list_).good()) std::ofstream(deny_list_) << "";
    so.tls.set_deny_list_file(deny_list_);
    so.limits.lockout_refusals = kLockoutRefusals;
    so.limits.max_request_bytes = 64 << 10;
  }

  grpc::Status Read(const std::string& who, const std::string& record_id,
                    const std::string& purpose, v1::GetRecordResponse* resp,
                    const std::string& case_id = "") {
    auto stub = v1::EvidenceService::NewStub(Channel(who));
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    v1::GetRecordRequest req;
    req.set_record_id(Handle(record_id, purpose));
    req.set_purpose(purpose);
    req.set_case_id(case_id);
    return stub->GetRecord(&ctx, req, resp);
  }

  // The refusal's code, no record, and a DENY entry for GetRecord with
  // `reason` as the last thing logged.
  void ExpectRefusedRead(const grpc::Status& s, grpc::StatusCode code,
                         const v1::GetRecordResponse& resp,
                         const std::string& reason) {
    EXPECT_EQ(s.error_code(), code) << s.error_message();
    EXPECT_FALSE(resp.has_record());
    const v1::AuditEntry last = Log().back();
    EXPECT_EQ(last.verdict(), v1::VERDICT_DENY);
    EXPECT_EQ(last.reason_code(), reason) << last.DebugString();
    EXPECT_EQ(last.method(), "/lanevault.v1.EvidenceService/GetRecord");
  }

  std::unique_ptr<v1::ComplianceService::Stub> Officer() {
    return v1::ComplianceService::NewStub(Channel("compliance-dev"));
  }

  bool AlertRaised(const std::string& kind, const std::string& principal) {
    auto alerts = vault_->oversight().Alerts(false);
    EXPECT_TRUE(alerts.ok());
    for (const auto& a : *alerts) {
      if (a.kind == kind && a.principal == principal &&
          a.severity == "critical") {
        return true;
      }
    }
    return false;
  }

  std::string deny_list_;
};

TEST_F(HostileTest, NoClientCertificate) {
  v1::GetRecordResponse resp;
  ExpectRefusedRead(Read("", record_.record_id(), "vehicle-inspection", &resp),
                    grpc::StatusCode::UNAUTHENTICATED, resp, "unauthenticated");
  EXPECT_NE(Log().back().detail().find("no client certificate"),
            std::string::npos);
}

TEST_F(HostileTest, CertificateFromAnotherCa) {
  v1::GetRecordResponse resp;
  auto stub =
      v1::EvidenceService::NewStub(Channel("inspector-dev", "other-pki"));
  grpc::ClientContext ctx;
  WithDeadline(ctx);
  v1::GetRecordRequest req;
  req.set_record_id(Handle(record_.record_id(), "vehicle-inspection"));
  req.set_purpose("vehicle-inspection");
  ExpectRefusedRead(stub->GetRecord(&ctx, req, &resp),
                    grpc::StatusCode::UNAUTHENTICATED, resp, "unauthenticated");
  EXPECT_NE(Log().back().detail().find("not issued by this server's CA"),
            std::string::npos);
}

TEST_F(HostileTest, ExpiredCertificate) {
  v1::GetRecordResponse resp;
  grpc::Status s =
      Read("expired", record_.record_id(), "vehicle-inspection", &resp);
  ExpectRefusedRead(s, grpc::StatusCode::UNAUTHENTICATED, resp,
                    "unauthenticated");
  EXPECT_NE(s.error_message().find("expired"), std::string::npos);
}

TEST_F(HostileTest, RevokedCertificate) {
  v1::GetRecordResponse resp;
  grpc::Status s =
      Read("revoked", record_.record_id(), "vehicle-inspection", &resp);
  ExpectRefusedRead(s, grpc::StatusCode::UNAUTHENTICATED, resp,
                    "unauthenticated");
  EXPECT_NE(s.error_message().find("revoked"), std::string::npos);
}

TEST_F(HostileTest, ServerCertificateUsedAsAClient) {
  v1::GetRecordResponse resp;
  grpc::Status s =
      Read("server-only", record_.record_id(), "vehicle-inspection", &resp);
  ExpectRefusedRead(s, grpc::StatusCode::UNAUTHENTICATED, resp,
                    "unauthenticated");
}

TEST_F(HostileTest, DenyListReloadedWithoutRestart) {
  v1::GetRecordResponse resp;
  ASSERT_TRUE(
      Read("denied", record_.record_id(), "vehicle-inspection", &resp).ok());
  std::ofstream(deny_list_) << "# incident 42\nprincipal: inspector-denied\n";
  ASSERT_TRUE(server_->ReloadTrust().ok());
  v1::GetRecordResponse again;
  grpc::Status s =
      Read("denied", record_.record_id(), "vehicle-inspection", &again);
  ExpectRefusedRead(s, grpc::StatusCode::UNAUTHENTICATED, again,
                    "unauthenticated");
  EXPECT_NE(s.error_message().find("deny-list"), std::string::npos);
  // A broken deny-list is refused and the one in force stays.
  std::ofstream(deny_list_) << "nonsense\n";
  EXPECT_FALSE(server_->ReloadTrust().ok());
  EXPECT_EQ(Read("denied", record_.record_id(), "vehicle-inspection", &again)
                .error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(HostileTest, LaneCertificateCallingEvidence) {
  v1::GetRecordResponse resp;
  ExpectRefusedRead(
      Read("lane-dev", record_.record_id(), "vehicle-inspection", &resp),
      grpc::StatusCode::PERMISSION_DENIED, resp, "default_deny");
  EXPECT_EQ(Log().back().principal(), "lane-dev");
}

TEST_F(HostileTest, InspectorWithoutPurposeOrCase) {
  v1::GetRecordResponse resp;
  ExpectRefusedRead(Read("inspector-dev", record_.record_id(), "", &resp),
                    grpc::StatusCode::INVALID_ARGUMENT, resp, "no_purpose");
  // Identity verification needs a case id under this contract.
  grpc::Status s = Read("inspector-dev", record_.record_id(),
                        "identity-verification", &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED)
      << s.error_message();
  EXPECT_FALSE(resp.has_record());
  EXPECT_EQ(Log().back().verdict(), v1::VERDICT_DENY);
  EXPECT_EQ(Log().back().purpose(), "identity-verification");
}

TEST_F(HostileTest, OneReadPastQuotaAlsoAfterARestart) {
  v1::GetRecordResponse resp;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(
        Read("inspector-dev", record_.record_id(), "vehicle-inspection", &resp)
            .ok());
  }
  v1::GetRecordResponse past;
  ExpectRefusedRead(
      Read("inspector-dev", record_.record_id(), "vehicle-inspection", &past),
      grpc::StatusCode::RESOURCE_EXHAUSTED, past, "quota");
  StartServer();  // the quota is counted from the access log
  ExpectRefusedRead(
      Read("inspector-dev", record_.record_id(), "vehicle-inspection", &past),
      grpc::StatusCode::RESOURCE_EXHAUSTED, past, "quota");
}

TEST_F(HostileTest, WalkingRecordIdsLocksOutUntilAnOfficerLifts) {
  v1::GetRecordResponse resp;
  for (int i = 0; i < kLockoutRefusals - 1; ++i) {
    ExpectRefusedRead(
        Read("inspector-dev", NewId("rec_"), "vehicle-inspection", &resp),
        grpc::StatusCode::NOT_FOUND, resp, "not_found");
  }
  // The last straw is logged, then the lockout.
  EXPECT_EQ(Read("inspector-dev", NewId("rec_"), "vehicle-inspection", &resp)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  const std::vector<v1::AuditEntry> log = Log();
  EXPECT_EQ(log[log.size() - 2].reason_code(), "not_found");
  EXPECT_EQ(log.back().reason_code(), "locked_out");
  EXPECT_TRUE(AlertRaised("refusals", "inspector-dev"));
  // Now even a legitimate read is refused, and says why.
  grpc::Status s =
      Read("inspector-dev", record_.record_id(), "vehicle-inspection", &resp);
  ExpectRefusedRead(s, grpc::StatusCode::PERMISSION_DENIED, resp, "locked_out");
  EXPECT_NE(s.error_message().find("compliance officer"), std::string::npos);
  StartServer();  // a lockout survives a restart
  EXPECT_EQ(
      Read("inspector-dev", record_.record_id(), "vehicle-inspection", &resp)
          .error_code(),
      grpc::StatusCode::PERMISSION_DENIED);

  auto officer = Officer();
  v1::ListLockoutsResponse lockouts;
  {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    ASSERT_TRUE(officer->ListLockouts(&ctx, {}, &lockouts).ok());
  }
  ASSERT_EQ(lockouts.lockouts_size(), 1);
  EXPECT_EQ(lockouts.lockouts(0).principal(), "inspector-dev");
  v1::LiftLockoutRequest lift;
  lift.set_principal("inspector-dev");
  lift.set_reason("reviewed: a typo in a script");
  v1::Empty done;
  {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    grpc::Status lifted = officer->LiftLockout(&ctx, lift, &done);
    ASSERT_TRUE(lifted.ok()) << lifted.error_message();
  }
  EXPECT_EQ(Log().back().principal(), "compliance-dev");
  EXPECT_TRUE(
      Read("inspector-dev", record_.record_id(), "vehicle-inspection", &resp)
          .ok());
  grpc::ClientContext ctx;
  WithDeadline(ctx);
  EXPECT_EQ(officer->LiftLockout(&ctx, lift, &done).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(HostileTest, CanaryReadAlertsAndLocksOut) {
  wiring::CanaryPlanter planter(1);  // a decoy after every real record
  planter.NoteReal(wiring::ShapeOf(record_, {}, 0, absl::Now()), absl::Now());
  std::vector<wiring::CanaryPlanter::Decoy> due =
      planter.Due(absl::Now() + absl::Minutes(1));
  ASSERT_EQ(due.size(), 1u);
  const v1::Record decoy = due[0].record;
  ASSERT_TRUE(vault_->PlantCanary(decoy, {}).ok());
  // To a search it is one more record.
  auto stub = v1::EvidenceService::NewStub(Channel("inspector-dev"));
  v1::SearchRecordsRequest search;
  search.set_purpose("vehicle-inspection");
  v1::SearchRecordsResponse found;
  {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    ASSERT_TRUE(stub->SearchRecords(&ctx, search, &found).ok());
  }
  EXPECT_EQ(found.records_size(), 2);
  v1::GetRecordResponse resp;
  ExpectRefusedRead(
      Read("inspector-dev", decoy.record_id(), "vehicle-inspection", &resp),
      grpc::StatusCode::PERMISSION_DENIED, resp, "locked_out");
  EXPECT_TRUE(AlertRaised("canary_read", "inspector-dev"));
  auto lockout = vault_->oversight().Lockout("inspector-dev");
  ASSERT_TRUE(lockout.ok());
  EXPECT_NE(lockout->reason.find("canary"), std::string::npos);
  EXPECT_EQ(
      Read("inspector-dev", record_.record_id(), "vehicle-inspection", &resp)
          .error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(HostileTest, OversizedMessage) {
  v1::GetRecordResponse resp;
  grpc::Status s = Read("inspector-dev", record_.record_id(),
                        std::string(100 << 10, 'x'), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << s.error_message();
  EXPECT_FALSE(resp.has_record());
  const v1::AuditEntry last = Log().back();
  EXPECT_EQ(last.verdict(), v1::VERDICT_DENY);
  EXPECT_EQ(last.reason_code(), "too_large");
  EXPECT_EQ(last.principal(), "inspector-dev");
}

TEST_F(HostileTest, CallWithoutDeadline) {
  auto stub = v1::EvidenceService::NewStub(Channel("inspector-dev"));
  grpc::ClientContext ctx;  // no deadline
  v1::GetRecordRequest req;
  req.set_record_id(Handle(record_.record_id(), "vehicle-inspection"));
  req.set_purpose("vehicle-inspection");
  v1::GetRecordResponse resp;
  ExpectRefusedRead(stub->GetRecord(&ctx, req, &resp),
                    grpc::StatusCode::INVALID_ARGUMENT, resp, "no_deadline");
}

TEST_F(HostileTest, SearchAskingForTenThousand) {
  auto stub = v1::EvidenceService::NewStub(Channel("inspector-dev"));
  grpc::ClientContext ctx;
  WithDeadline(ctx);
  v1::SearchRecordsRequest req;
  req.set_purpose("vehicle-inspection");
  req.set_page_size(10000);
  v1::SearchRecordsResponse resp;
  grpc::Status s = stub->SearchRecords(&ctx, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(resp.records_size(), 0);
  EXPECT_EQ(Log().back().reason_code(), "bad_request");
  EXPECT_EQ(Log().back().method(),
            "/lanevault.v1.EvidenceService/SearchRecords");
}

// TLS below 1.2, or a cipher without forward secrecy or AEAD, never
// completes a handshake.
TEST_F(HostileTest, OnlyTls12And13WithStrongCiphers) {
  const int port = server_->port();
  EXPECT_TRUE(testing::RawTlsHandshake(port, TLS1_3_VERSION, nullptr));
  EXPECT_TRUE(testing::RawTlsHandshake(port, TLS1_2_VERSION,
                                       "ECDHE-ECDSA-AES128-GCM-SHA256"));
  EXPECT_FALSE(testing::RawTlsHandshake(port, TLS1_1_VERSION, nullptr));
  EXPECT_FALSE(testing::RawTlsHandshake(port, TLS1_VERSION, nullptr));
  EXPECT_FALSE(
      testing::RawTlsHandshake(port, TLS1_2_VERSION, "ECDHE-ECDSA-AES128-SHA"));
  EXPECT_FALSE(
      testing::RawTlsHandshake(port, TLS1_2_VERSION, "AES128-GCM-SHA256"));
}

TEST_F(HostileTest, PrincipalFromTheUriName) {
  const std::string pki = dir_->Join("pki");
  testing::CertSpec spec = testing::ClientCert("ignored-cn", 4010);
  spec.uri = "spiffe://border.example/inspector/7";
  testing::IssueCert(pki, "uri-holder", spec);
  PeerTrust trust;
  trust.ca_file = dir_->Join("pki/ca.pem");
  trust.principal_from_uri = true;
  auto verifier = PeerVerifier::Create(trust, RealClock());
  ASSERT_TRUE(verifier.ok()) << verifier.status();
  auto leaf = ReadFileToString(dir_->Join("pki/uri-holder.pem"));
  ASSERT_TRUE(leaf.ok());
  auto id = (*verifier)->Verify(*leaf, "");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->principal, "spiffe://border.example/inspector/7");
  EXPECT_EQ(id->serial_hex, "faa");  // 4010
  // A certificate without a URI name names nobody in this mode.
  auto plain = ReadFileToString(dir_->Join("pki/denied.pem"));
  ASSERT_TRUE(plain.ok());
  EXPECT_TRUE(
      absl::IsUnauthenticated((*verifier)->Verify(*plain, "").status()));
}

}  // namespace
}  // namespace lanevault::api
