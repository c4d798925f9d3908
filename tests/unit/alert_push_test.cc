// Alerts leave the vault as they are raised: a signed webhook POST (with
// retries), officers' WatchAlerts streams, and auditors' following
// StreamEntries. Everything real: the gRPC server over TLS on loopback, a
// vault file, a canary read by a real inspector's certificate, an HTTP
// receiver on a loopback socket.

#include <sys/stat.h>

#include <fstream>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "alerts/alert_pusher.h"
#include "alerts/webhook_signature.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "lanevault/v1/audit_service.grpc.pb.h"
#include "lanevault/v1/compliance.grpc.pb.h"
#include "testing/api_fixture.h"
#include "wiring/canary.h"

namespace lanevault::api {
namespace {

constexpr char kKey[] =
    "6f1c2a9e0b7d43f58a1e9c3b2d4f6a8e0c1b3d5f7a9e2c4b6d8f0a1c3e5b7d9f";

// Long enough for any step on a slow shared machine; a wait ends as soon as
// what it waits for happens, and nothing asserts on how long it took.
constexpr absl::Duration kPatience = absl::Seconds(60);

// An HTTP receiver on loopback that keeps what was POSTed to /hook and
// answers `status`.
class Receiver {
 public:
  // Port 0: any free port.
  explicit Receiver(int port = 0, int status = 200) : status_(status) {
    server_.Post(
        "/hook", [this](const httplib::Request& req, httplib::Response& res) {
          absl::MutexLock lock(&mu_);
          posts_.push_back(
              {req.body, req.get_header_value(alerts::kSignatureHeader)});
          res.status = status_;
        });
    if (port == 0) {
      port_ = server_.bind_to_any_port("127.0.0.1");
    } else if (server_.bind_to_port("127.0.0.1", port)) {
      port_ = port;
    }
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) absl::SleepFor(absl::Milliseconds(1));
  }
  ~Receiver() {
    server_.stop();
    thread_.join();
  }
  int port() const { return port_; }
  std::string url() const {
    return absl::StrCat("http://127.0.0.1:", port_, "/hook");
  }
  struct Post {
    std::string body, signature;
  };
  // Waits until `n` POSTs have come; false if they do not.
  bool WaitFor(size_t n) {
    auto arrived = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return posts_.size() >= n;
    };
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(absl::Condition(&arrived), kPatience);
  }
  std::vector<Post> posts() {
    absl::MutexLock lock(&mu_);
    return posts_;
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = -1;
  const int status_;
  absl::Mutex mu_;
  std::vector<Post> posts_ ABSL_GUARDED_BY(mu_);
};

class AlertPushTest : public testing::ApiFixture {
 protected:
  void TearDown() override {
    if (listener_ >= 0) vault_->oversight().RemoveAlertListener(listener_);
    pusher_.reset();
    ApiFixture::TearDown();
  }

  // The pusher as lanevaultd wires it: each alert the vault raises is
  // handed over.
  void StartPusher(const std::string& url) {
    const std::string key_file = work_.Join("webhook.key");
    std::ofstream(key_file) << kKey << "\n";
    ASSERT_EQ(chmod(key_file.c_str(), 0600), 0);
    v1::AlertsConfig config;
    config.set_webhook_url(url);
    config.set_webhook_key_file(key_file);
    config.set_webhook_retry_initial_s(0.05f);
    config.set_webhook_max_attempts(1000);
    auto pusher = alerts::AlertPusher::Create(config);
    ASSERT_TRUE(pusher.ok()) << pusher.status();
    pusher_ = std::move(*pusher);
    listener_ = vault_->oversight().AddAlertListener(
        [p = pusher_.get()](const v1::Alert& a) { p->Push(a); });
  }

  // An inspector reads a decoy through the API: refused, locked out, and a
  // critical canary_read alert raised by the server itself.
  void ReadCanary() {
    wiring::CanaryPlanter planter(1);
    planter.NoteReal(wiring::ShapeOf(record_, {}, 0, absl::Now()), absl::Now());
    auto due = planter.Due(absl::Now() + absl::Minutes(1));
    ASSERT_EQ(due.size(), 1u);
    ASSERT_TRUE(vault_->PlantCanary(due[0].record, {}).ok());
    auto stub = v1::EvidenceService::NewStub(Channel("inspector-dev"));
    grpc::ClientContext ctx;
    testing::WithDeadline(ctx);
    v1::GetRecordRequest req;
    req.set_record_id(Handle(due[0].record.record_id(), "vehicle-inspection"));
    req.set_purpose("vehicle-inspection");
    v1::GetRecordResponse resp;
    ASSERT_EQ(stub->GetRecord(&ctx, req, &resp).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }

  // Waits until `pred` holds for the pusher's counts.
  bool WaitForStats(const std::function<bool(const alerts::PushStats&)>& pred) {
    const absl::Time until = absl::Now() + kPatience;
    while (absl::Now() < until) {
      if (pred(pusher_->Stats())) return true;
      absl::SleepFor(absl::Milliseconds(10));
    }
    return false;
  }

  std::unique_ptr<alerts::AlertPusher> pusher_;
  int listener_ = -1;
};

TEST_F(AlertPushTest, WebhookGetsTheCanaryAlertSigned) {
  Receiver receiver;
  ASSERT_GT(receiver.port(), 0);
  StartPusher(receiver.url());
  ReadCanary();
  ASSERT_TRUE(receiver.WaitFor(1));
  const Receiver::Post post = receiver.posts()[0];

  // The receiver's check, as the README gives it.
  EXPECT_TRUE(
      alerts::VerifySignature(kKey, post.signature, post.body, absl::Now())
          .ok())
      << post.signature;
  v1::Alert alert;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(post.body, &alert).ok())
      << post.body;
  EXPECT_EQ(alert.kind(), "canary_read");
  EXPECT_EQ(alert.severity(), "critical");
  // Without webhook_details, neither the reader nor the decoy is named.
  EXPECT_TRUE(alert.principal().empty());
  EXPECT_TRUE(alert.message().empty());
  EXPECT_EQ(post.body.find("inspector-dev"), std::string::npos);
  // It is the alert in the table.
  auto stored = vault_->oversight().Alerts(false);
  ASSERT_TRUE(stored.ok());
  bool found = false;
  for (const auto& a : *stored) found |= a.alert_id == alert.alert_id();
  EXPECT_TRUE(found) << alert.alert_id();

  // A forger without the key, a changed body, an old replay: refused.
  std::string forged = post.body;
  forged.replace(forged.find("critical"), 8, "info    ");
  EXPECT_FALSE(
      alerts::VerifySignature(kKey, post.signature, forged, absl::Now()).ok());
  EXPECT_FALSE(alerts::VerifySignature(std::string(64, 'a'), post.signature,
                                       post.body, absl::Now())
                   .ok());
  EXPECT_FALSE(alerts::VerifySignature(kKey, post.signature, post.body,
                                       absl::Now() + absl::Hours(1))
                   .ok());
}

TEST_F(AlertPushTest, ReceiverDownAtFirstGetsTheAlertOnRetry) {
  int port = 0;
  {
    Receiver placeholder;  // finds a free port, then frees it
    port = placeholder.port();
  }
  StartPusher(absl::StrCat("http://127.0.0.1:", port, "/hook"));
  ReadCanary();
  // Nobody listens: attempts fail and the alert waits in the queue.
  ASSERT_TRUE(WaitForStats([](const alerts::PushStats& s) {
    return s.failed_attempts >= 2 && s.queued == 1;
  }));
  EXPECT_EQ(pusher_->Stats().delivered, 0u);
  // A receiver that answers 503 is no better.
  {
    Receiver failing(port, 503);
    ASSERT_EQ(failing.port(), port);
    ASSERT_TRUE(failing.WaitFor(1));
  }
  EXPECT_EQ(pusher_->Stats().delivered, 0u);
  Receiver receiver(port);
  ASSERT_EQ(receiver.port(), port);
  ASSERT_TRUE(receiver.WaitFor(1));
  ASSERT_TRUE(WaitForStats(
      [](const alerts::PushStats& s) { return s.delivered == 1; }));
  const Receiver::Post post = receiver.posts()[0];
  EXPECT_TRUE(
      alerts::VerifySignature(kKey, post.signature, post.body, absl::Now())
          .ok());
  EXPECT_NE(post.body.find("canary_read"), std::string::npos);
  EXPECT_EQ(pusher_->Stats().dropped, 0u);
  EXPECT_EQ(pusher_->Stats().queued, 0u);
}

TEST_F(AlertPushTest, FullQueueDropsAndCounts) {
  const std::string key_file = work_.Join("webhook.key");
  std::ofstream(key_file) << kKey;
  ASSERT_EQ(chmod(key_file.c_str(), 0600), 0);
  v1::AlertsConfig config;
  config.set_webhook_url("http://127.0.0.1:1/hook");  // nothing answers
  config.set_webhook_key_file(key_file);
  config.set_webhook_queue(2);
  config.set_webhook_retry_initial_s(30);
  auto pusher = alerts::AlertPusher::Create(config);
  ASSERT_TRUE(pusher.ok()) << pusher.status();
  v1::Alert alert;
  alert.set_kind("data_loss");
  for (int i = 0; i < 5; ++i) (*pusher)->Push(alert);
  EXPECT_EQ((*pusher)->Stats().dropped, 3u);

  // A key others may read, or too short, is refused at start.
  ASSERT_EQ(chmod(key_file.c_str(), 0644), 0);
  EXPECT_FALSE(alerts::AlertPusher::Create(config).ok());
  std::ofstream(key_file, std::ios::trunc) << "short";
  ASSERT_EQ(chmod(key_file.c_str(), 0600), 0);
  EXPECT_FALSE(alerts::AlertPusher::Create(config).ok());
  config.set_webhook_url("ftp://127.0.0.1/hook");
  EXPECT_FALSE(alerts::AlertPusher::Create(config).ok());
}

TEST_F(AlertPushTest, WatchAlertsOverTlsGetsANewAlert) {
  vault_->oversight().RaiseAlert("critical", "data_loss", "system",
                                 "an open alert from before the watch");
  auto officer = v1::ComplianceService::NewStub(Channel("compliance-dev"));
  grpc::ClientContext ctx;
  testing::WithDeadline(ctx);
  auto stream = officer->WatchAlerts(&ctx, v1::WatchAlertsRequest());
  v1::Alert alert;
  // The open alert first: once it is read, the watch is listening.
  ASSERT_TRUE(stream->Read(&alert));
  EXPECT_EQ(alert.kind(), "data_loss");
  ReadCanary();
  ASSERT_TRUE(stream->Read(&alert));
  EXPECT_EQ(alert.kind(), "canary_read");
  // Officers see the whole alert.
  EXPECT_EQ(alert.principal(), "inspector-dev");
  ctx.TryCancel();
  while (stream->Read(&alert)) {
  }
  stream->Finish().IgnoreError();

  // Not for an operator.
  auto operator_ = v1::ComplianceService::NewStub(Channel("operator-dev"));
  grpc::ClientContext refused_ctx;
  testing::WithDeadline(refused_ctx);
  auto refused = operator_->WatchAlerts(&refused_ctx, v1::WatchAlertsRequest());
  EXPECT_FALSE(refused->Read(&alert));
  EXPECT_EQ(refused->Finish().error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(AlertPushTest, StreamEntriesFollowsNewEntries) {
  auto auditor = v1::AuditService::NewStub(Channel("auditor-dev"));
  const uint64_t before = vault_->log().Size();
  grpc::ClientContext ctx;
  testing::WithDeadline(ctx);
  v1::QueryEntriesRequest follow;
  follow.set_follow(true);
  auto stream = auditor->StreamEntries(&ctx, follow);
  // Everything there is, up to this call's own entry.
  v1::AuditEntry entry;
  do {
    ASSERT_TRUE(stream->Read(&entry));
  } while (entry.sequence() < before);
  const uint64_t own = entry.sequence();
  EXPECT_EQ(entry.method(), "/lanevault.v1.AuditService/StreamEntries");
  // A call made after it is followed.
  {
    grpc::ClientContext call;
    testing::WithDeadline(call);
    v1::Checkpoint cp;
    ASSERT_TRUE(auditor->GetCheckpoint(&call, {}, &cp).ok());
  }
  ASSERT_TRUE(stream->Read(&entry));
  EXPECT_GT(entry.sequence(), own);
  EXPECT_EQ(entry.method(), "/lanevault.v1.AuditService/GetCheckpoint");
  ctx.TryCancel();
  while (stream->Read(&entry)) {
  }
  stream->Finish().IgnoreError();
}

}  // namespace
}  // namespace lanevault::api

namespace lanevault::alerts {
namespace {

// The plain-http warning is kept for webhooks off this host; a host name
// that merely begins like a loopback address is not loopback.
TEST(WebhookUrl, LoopbackIsTheHostNotAPrefix) {
  EXPECT_TRUE(WebhookUrlIsLoopback("http://127.0.0.1:8080/alerts"));
  EXPECT_TRUE(WebhookUrlIsLoopback("http://127.3.4.5/"));
  EXPECT_TRUE(WebhookUrlIsLoopback("http://localhost/hook"));
  EXPECT_TRUE(WebhookUrlIsLoopback("http://[::1]:9000/"));
  EXPECT_FALSE(WebhookUrlIsLoopback("http://127.0.0.1.evil.example/"));
  EXPECT_FALSE(WebhookUrlIsLoopback("http://127.evil.example/"));
  EXPECT_FALSE(WebhookUrlIsLoopback("http://localhost.evil.example/"));
  EXPECT_FALSE(WebhookUrlIsLoopback("http://[::1].evil.example/"));
  EXPECT_FALSE(WebhookUrlIsLoopback("http://127.0.0.1@evil.example/"));
  EXPECT_FALSE(WebhookUrlIsLoopback("http://10.0.0.1/"));
}

}  // namespace
}  // namespace lanevault::alerts
