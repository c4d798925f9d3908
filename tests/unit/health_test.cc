// grpc.health.v1 tells the truth: each transition is caused for real (a
// lane's reports stop under a fake clock, its source is lost, the vault's
// disk fills, its database is damaged, the file system has too little room,
// the daemon is sealed) and read back over a real server on loopback with
// real TLS, as a load balancer or an operator's probe would.

#include <sys/statvfs.h>

#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "cmd/sealed_server.h"
#include "common/clock.h"
#include "common/ids.h"
#include "crypto/sealed_box.h"
#include "google/protobuf/wrappers.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "lanevault/v1/lanes.grpc.pb.h"
#include "ops/health_monitor.h"
#include "testing/api_fixture.h"
#include "testing/full_disk_vfs.h"
#include "testing/test_util.h"

namespace lanevault::ops {
namespace {

using ::lanevault::testing::WithDeadline;

// grpc.health.v1.HealthCheckRequest is {string service = 1} and its
// response {ServingStatus status = 1}: on the wire, a StringValue and an
// Int32Value. The test speaks the protocol itself, as a probe would.
constexpr int kServing = 1;
constexpr int kNotServing = 2;
constexpr int kNotFound = -1;

int AskHealth(const std::shared_ptr<grpc::Channel>& channel,
              const std::string& service) {
  grpc::TemplatedGenericStub<google::protobuf::StringValue,
                             google::protobuf::Int32Value>
      stub(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  WithDeadline(ctx);
  google::protobuf::StringValue request;
  request.set_value(service);
  auto call =
      stub.PrepareUnaryCall(&ctx, "/grpc.health.v1.Health/Check", request, &cq);
  call->StartCall();
  google::protobuf::Int32Value response;
  grpc::Status status;
  call->Finish(&response, &status, reinterpret_cast<void*>(1));
  void* tag = nullptr;
  bool ok = false;
  EXPECT_TRUE(cq.Next(&tag, &ok));
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  if (status.error_code() == grpc::StatusCode::NOT_FOUND) return kNotFound;
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.value();
}

class HealthTest : public testing::ApiFixture {
 protected:
  void SetUp() override {
    ApiFixture::SetUp();
    lane_.set_lane_id("lane-1");
    lane_.set_state(v1::LANE_STATE_RUNNING);
    *lane_.mutable_last_frame() = ToProto(clock_.Now());
  }
  void TearDown() override {
    monitor_.reset();
    ApiFixture::TearDown();
  }

  // The monitor as lanevaultd builds it, around the fixture's vault and
  // server, the lanes' reports coming from `lane_`.
  void StartMonitor(const std::string& disk_path = "",
                    uint64_t min_free_bytes = 0) {
    HealthProbes probes;
    probes.conditions = {{"vault", [this] { return vault_->Health(); }},
                         {"vault", [this] { return vault_->WriteHealth(); }}};
    probes.disk_path = disk_path;
    probes.min_free_bytes = min_free_bytes;
    probes.lanes = [this] {
      absl::MutexLock lock(&mu_);
      return std::vector<v1::LaneStatus>{lane_};
    };
    probes.lane_silence = absl::Seconds(30);
    probes.clock = &clock_;
    monitor_ = std::make_unique<HealthMonitor>(
        std::move(probes), DaemonServiceNames(),
        [this](const std::string& name, bool serving) {
          server_->SetServing(name, serving);
        });
    monitor_->Check();
  }

  // Health, like reflection, answers only callers with a valid
  // certificate: a monitoring probe holds one (here, the operator's).
  int Ask(const std::string& service) {
    return AskHealth(Channel("operator-dev"), service);
  }

  void ExpectDaemon(int status) {
    EXPECT_EQ(Ask(""), status);
    for (const std::string& name : DaemonServiceNames()) {
      EXPECT_EQ(Ask(name), status) << name;
    }
  }

  std::string Reason(const std::string& name) {
    return monitor_->Reasons()[name];
  }

  grpc::Status SubmitCrossing(const std::string& key, size_t bytes) {
    v1::Record r;
    r.set_record_id(NewId("rec_"));
    r.set_lane_id("lane-1");
    r.set_checkpoint_id("demo-poe");
    *r.mutable_first_seen() = ToProto(absl::Now());
    *r.mutable_last_seen() = ToProto(absl::Now() + absl::Seconds(2));
    v1::Item* face = r.add_items();
    face->set_item_id(NewId("itm_"));
    face->set_category(v1::DATA_CATEGORY_FACE_IMAGE);
    face->set_content(testing::JpegHeaderThen(bytes));
    auto sealed = crypto::IntakeKey::Seal(vault_->intake_key().public_key(),
                                          r.SerializeAsString());
    EXPECT_TRUE(sealed.ok());
    v1::SubmitCrossingRequest req;
    req.set_sealed_record(*sealed);
    req.set_lane_id("lane-1");
    req.set_checkpoint_id("demo-poe");
    req.set_idempotency_key(key);
    v1::SubmitCrossingResponse resp;
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    return v1::LaneService::NewStub(Channel("lane-dev"))
        ->SubmitCrossing(&ctx, req, &resp);
  }

  FakeClock clock_{absl::FromUnixSeconds(1'900'000'000)};
  absl::Mutex mu_;
  v1::LaneStatus lane_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<HealthMonitor> monitor_;
};

TEST_F(HealthTest, EveryNameServesWhileAllIsWellAndUnknownNamesAreNotFound) {
  // Before the monitor has looked, a service name is unknown to grpc.
  EXPECT_EQ(Ask("lanevault.v1.EvidenceService"), kNotFound);
  StartMonitor();
  ExpectDaemon(kServing);
  EXPECT_EQ(Ask(LaneHealthName("lane-1")), kServing);
  EXPECT_EQ(Ask(LaneHealthName("lane-9")), kNotFound);
  EXPECT_EQ(Ask("lanevault.v1.NoSuchService"), kNotFound);
}

TEST_F(HealthTest, ALaneThatStopsReportingIsNotServingAloneAndComesBack) {
  StartMonitor();
  clock_.Advance(absl::Seconds(29));
  monitor_->Check();
  EXPECT_EQ(Ask(LaneHealthName("lane-1")), kServing);
  clock_.Advance(absl::Seconds(2));  // 31 s since its last frame
  monitor_->Check();
  EXPECT_EQ(Ask(LaneHealthName("lane-1")), kNotServing);
  EXPECT_NE(Reason(LaneHealthName("lane-1")).find("silent"), std::string::npos)
      << Reason(LaneHealthName("lane-1"));
  // The daemon itself still stores and serves reads.
  ExpectDaemon(kServing);
  {
    absl::MutexLock lock(&mu_);
    *lane_.mutable_last_frame() = ToProto(clock_.Now());
  }
  monitor_->Check();
  EXPECT_EQ(Ask(LaneHealthName("lane-1")), kServing);
  EXPECT_EQ(Reason(LaneHealthName("lane-1")), "");
}

TEST_F(HealthTest, ALaneReconnectingOrFailedIsNotServingWithItsError) {
  StartMonitor();
  {
    absl::MutexLock lock(&mu_);
    lane_.set_state(v1::LANE_STATE_RECONNECTING);
    lane_.set_last_error("rtsp://cam-1: connection refused");
  }
  monitor_->Check();
  EXPECT_EQ(Ask(LaneHealthName("lane-1")), kNotServing);
  EXPECT_NE(Reason(LaneHealthName("lane-1")).find("connection refused"),
            std::string::npos);
  ExpectDaemon(kServing);
  {
    absl::MutexLock lock(&mu_);
    lane_.set_state(v1::LANE_STATE_FAILED);
    lane_.set_last_error("not a readable video");
  }
  monitor_->Check();
  EXPECT_EQ(Ask(LaneHealthName("lane-1")), kNotServing);
  EXPECT_NE(Reason(LaneHealthName("lane-1")).find("failed"), std::string::npos);
}

TEST_F(HealthTest, TooLittleFreeDiskMakesTheDaemonNotServing) {
  struct statvfs fs;
  ASSERT_EQ(statvfs(work_.path().c_str(), &fs), 0);
  const uint64_t free_bytes =
      static_cast<uint64_t>(fs.f_bavail) * static_cast<uint64_t>(fs.f_frsize);
  // The real file system, with a threshold above what it has free.
  StartMonitor(work_.path(), free_bytes + (uint64_t{1} << 40));
  ExpectDaemon(kNotServing);
  EXPECT_NE(Reason("").find("disk"), std::string::npos) << Reason("");
  EXPECT_EQ(Ask(LaneHealthName("lane-1")), kServing);
}

class FullDiskHealthTest : public HealthTest {
 protected:
  void ConfigureVault(vault::VaultOptions& vo) override {
    vo.sqlite.vfs = testing::FullDiskVfsName();
  }
  void TearDown() override {
    testing::SetDiskFull(false);
    HealthTest::TearDown();
  }
};

TEST_F(FullDiskHealthTest, AVaultThatCannotCommitIsNotServingUntilItCan) {
  StartMonitor();
  ExpectDaemon(kServing);
  testing::SetDiskFull(true);
  bool refused = false;
  for (int i = 0; i < 20 && !refused; ++i) {
    grpc::Status s = SubmitCrossing(absl::StrCat("full-", i), 200000);
    refused = s.error_code() == grpc::StatusCode::UNAVAILABLE;
  }
  ASSERT_TRUE(refused) << "the pretend disk never refused a write";
  monitor_->Check();
  ExpectDaemon(kNotServing);
  EXPECT_NE(Reason("").find("cannot commit"), std::string::npos) << Reason("");
  // The lane is not the vault's trouble.
  EXPECT_EQ(Ask(LaneHealthName("lane-1")), kServing);
  testing::SetDiskFull(false);
  ASSERT_TRUE(SubmitCrossing("after-full", 64).ok());
  monitor_->Check();
  ExpectDaemon(kServing);
}

TEST_F(HealthTest, ADamagedDatabaseIsNotServing) {
  const std::string db = work_.Join("vault.db");
  std::vector<std::string> ids;
  for (int i = 0; i < 40; ++i) {
    v1::Record r = record_;
    r.set_record_id(NewId("rec_"));
    for (v1::Item& item : *r.mutable_items()) {
      item.set_item_id(NewId("itm_"));
      item.set_content(std::string(3000, static_cast<char>('a' + i % 26)));
    }
    ASSERT_TRUE(vault_->Intake(r, {}).ok());
    ids.push_back(r.record_id());
  }
  server_.reset();
  vault_.reset();
  // Damage the headers of the pages holding the items, as a failing disk
  // would; the schema stays readable, so the vault opens unchecked.
  const std::string pages = testing::QueryBlob(
      db,
      "SELECT group_concat(pageno) FROM dbstat WHERE name = 'items' "
      "AND pagetype = 'leaf'");
  ASSERT_FALSE(pages.empty());
  {
    std::fstream f(db, std::ios::in | std::ios::out | std::ios::binary);
    for (absl::string_view page : absl::StrSplit(pages, ',')) {
      int64_t n = 0;
      ASSERT_TRUE(absl::SimpleAtoi(page, &n));
      f.seekp(static_cast<std::streamoff>((n - 1) * 4096));
      f.write("\xde\xad\xbe\xef\xde\xad\xbe\xef", 8);
    }
  }
  vault::VaultOptions vo;
  vo.database = db;
  vo.master_key_file = work_.Join("master.key");
  vo.integrity_check = vault::VaultOptions::IntegrityCheck::kOff;
  auto v = vault::Vault::Open(vo);
  ASSERT_TRUE(v.ok()) << v.status();
  vault_ = std::move(*v);
  StartServer();
  StartMonitor();
  ExpectDaemon(kServing);
  for (const std::string& id : ids) {
    vault_->Read(id, {}, {}).IgnoreError();
    if (!vault_->Health().ok()) break;
  }
  ASSERT_FALSE(vault_->Health().ok());
  monitor_->Check();
  ExpectDaemon(kNotServing);
  EXPECT_NE(Reason("").find("damaged"), std::string::npos) << Reason("");
}

// Sealed, the daemon answers for "" and every service it will serve
// NOT_SERVING (not NOT_FOUND), and for UnsealService SERVING.
TEST_F(HealthTest, ASealedDaemonIsNotServingButItsUnsealServiceIs) {
  auto seal = crypto::SealMasterKey(crypto::NewMasterKeyBytes(), 2, 3);
  ASSERT_TRUE(seal.ok()) << seal.status();
  SealedServerOptions so;
  so.listen = "127.0.0.1:0";
  so.tls.set_ca_cert(dir_->Join("pki/ca.pem"));
  so.tls.set_server_cert(dir_->Join("pki/server.pem"));
  so.tls.set_server_key(dir_->Join("pki/server.key"));
  so.policy = policy_.get();
  auto sealed = SealedServer::Start(so, seal->file);
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  auto creds = rpc::ClientTlsCredentials(dir_->Join("pki/ca.pem"),
                                         dir_->Join("pki/operator-dev.pem"),
                                         dir_->Join("pki/operator-dev.key"));
  ASSERT_TRUE(creds.ok());
  auto channel = grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", (*sealed)->port()), *creds);
  EXPECT_EQ(AskHealth(channel, ""), kNotServing);
  for (const std::string& name : DaemonServiceNames()) {
    EXPECT_EQ(AskHealth(channel, name), kNotServing) << name;
  }
  EXPECT_EQ(AskHealth(channel, "lanevault.v1.UnsealService"), kServing);
  (*sealed)->Shutdown(absl::Seconds(1));
}

}  // namespace
}  // namespace lanevault::ops
