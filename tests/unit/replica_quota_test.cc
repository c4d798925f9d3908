// Quotas and lockouts hold across lanevaultd replicas on one PostgreSQL
// vault (issue 32): two vaults and two API servers on one database, as two
// replicas are, and a principal spreading its calls over both gets no more
// than from one.

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "testing/replica_api_fixture.h"

namespace lanevault {
namespace {

constexpr int kReads = 3;
constexpr int kLockoutRefusals = 8;

class ReplicaQuotaTest : public testing::ReplicaApiFixture {
 protected:
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
