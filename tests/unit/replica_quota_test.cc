// Quotas and lockouts hold across lanevaultd replicas on one PostgreSQL
// vault (issue 32): two vaults and two API servers on one database, as two
// replicas are, and a principal spreading its calls over both gets no more
// than from one.

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "testing/api_fixture.h"
#include "testing/postgres_server.h"

namespace lanevault {
namespace {

constexpr int kReads = 3;
constexpr int kLockoutRefusals = 8;

class ReplicaQuotaTest : public testing::ApiFixture {
 protected:
  void SetUp() override {
    LANEVAULT_REQUIRE_POSTGRES();
    postgres_ = testing::PostgresServer::Shared()->NewSchema();
    ASSERT_FALSE(postgres_.empty());
    ApiFixture::SetUp();  // replica one: vault_, server_
    vault::VaultOptions vo = options_;
    auto v = vault::Vault::Open(vo);
    ASSERT_TRUE(v.ok()) << v.status();
    vault2_ = std::move(*v);
    api::ServerOptions so;
    so.listen = "127.0.0.1:0";
    so.tls.set_ca_cert(dir_->Join("pki/ca.pem"));
    so.tls.set_server_cert(dir_->Join("pki/server.pem"));
    so.tls.set_server_key(dir_->Join("pki/server.key"));
    Configure(so);
    auto server = api::ApiServer::Start(so, policy_.get(), vault2_.get(), [] {
      return std::vector<v1::LaneStatus>{};
    });
    ASSERT_TRUE(server.ok()) << server.status();
    server2_ = std::move(*server);
  }
  void TearDown() override {
    server2_.reset();
    vault2_.reset();
    ApiFixture::TearDown();
  }

  void ConfigureVault(vault::VaultOptions& vo) override {
    vo.postgres.conninfo = postgres_;
    vo.key_store = work_.Join("vault.keys");
    options_ = vo;
  }
  std::unique_ptr<policy::Policy> MakePolicy() override {
    return testing::PilotPolicy([](v1::Contract& contract) {
      for (v1::Permit& p : *contract.mutable_permits()) {
        if (p.role() == "inspector") {
          p.mutable_quota()->set_reads_per_window(kReads);
        }
      }
    });
  }
  void Configure(api::ServerOptions& so) override {
    so.limits.lockout_refusals = kLockoutRefusals;
  }

  // A read by inspector-dev through replica `which` (0 or 1).
  grpc::Status ReadOn(int which, const std::string& record_id) {
    auto creds = rpc::ClientTlsCredentials(dir_->Join("pki/ca.pem"),
                                           dir_->Join("pki/inspector-dev.pem"),
                                           dir_->Join("pki/inspector-dev.key"));
    EXPECT_TRUE(creds.ok());
    const int port = which == 0 ? server_->port() : server2_->port();
    auto stub = v1::EvidenceService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), *creds));
    grpc::ClientContext ctx;
    testing::WithDeadline(ctx);
    v1::GetRecordRequest req;
    req.set_record_id(Handle(record_id, "vehicle-inspection"));
    req.set_purpose("vehicle-inspection");
    v1::GetRecordResponse resp;
    return stub->GetRecord(&ctx, req, &resp);
  }

  std::string postgres_;
  vault::VaultOptions options_;
  std::unique_ptr<vault::Vault> vault2_;
  std::unique_ptr<api::ApiServer> server2_;
};

TEST_F(ReplicaQuotaTest, ReadsRacingOverBothReplicasGetTheQuotaOnce) {
  // Many reads at once, half through each replica: without a hold across
  // replicas each would admit its own kReads while the other's were still
  // in flight.
  constexpr int kTries = 8;
  std::atomic<int> ok{0}, quota{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kTries; ++i) {
    threads.emplace_back([&, i] {
      grpc::Status s = ReadOn(i % 2, record_.record_id());
      if (s.ok()) {
        ++ok;
      } else if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
        ++quota;
      } else {
        ++other;
        ADD_FAILURE() << s.error_message();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), kReads);
  EXPECT_EQ(quota.load(), kTries - kReads);
  EXPECT_EQ(other.load(), 0);
  // And one more on either is refused too (7 refusals: short of a
  // lockout).
  EXPECT_EQ(ReadOn(0, record_.record_id()).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(ReadOn(1, record_.record_id()).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST_F(ReplicaQuotaTest, RefusalsSpreadOverReplicasLockOutOnBoth) {
  // Walking record ids, alternating replicas: the refusals count together.
  for (int i = 0; i < kLockoutRefusals; ++i) {
    EXPECT_EQ(ReadOn(i % 2, NewId("rec_")).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  // Locked out on both, whichever one locked it out.
  EXPECT_EQ(ReadOn(0, record_.record_id()).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReadOn(1, record_.record_id()).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // Lifted through one replica, served again by the other.
  v1::AuditEntry lift;
  lift.set_principal("compliance-dev");
  lift.set_action(v1::ACTION_MANAGE_ALERTS);
  ASSERT_TRUE(vault_->oversight().LiftLockout("inspector-dev", lift).ok());
  EXPECT_TRUE(ReadOn(1, record_.record_id()).ok());
}

}  // namespace
}  // namespace lanevault
