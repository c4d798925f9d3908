// The Prometheus endpoint during a real run: a real server on loopback with
// real TLS, a real vault file, and scrapes over a real socket (plain HTTP
// GET, as Prometheus does). Counters move with what happens, and nothing
// that names a person, a plate or a record reaches a label.

#include "ops/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/ids.h"
#include "crypto/sealed_box.h"
#include "gtest/gtest.h"
#include "lanevault/v1/lanes.grpc.pb.h"
#include "ops/health_monitor.h"
#include "ops/rpc_timer.h"
#include "ops/vault_collector.h"
#include "testing/api_fixture.h"

namespace lanevault::ops {
namespace {

using ::lanevault::testing::WithDeadline;

// GET /metrics on 127.0.0.1:port; the body, or "" on any failure.
std::string Scrape(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string request =
        "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (write(fd, request.data(), request.size()) ==
        static_cast<ssize_t>(request.size())) {
      char buf[8192];
      ssize_t n;
      while ((n = read(fd, buf, sizeof(buf))) > 0) response.append(buf, n);
    }
  }
  close(fd);
  const size_t body = response.find("\r\n\r\n");
  if (response.rfind("HTTP/1.1 200", 0) != 0 || body == std::string::npos) {
    return "";
  }
  return response.substr(body + 4);
}

// The value of the series whose line starts with `series` (name and
// labels as exposed, e.g. `lanevault_records_stored_total`); -1 if absent.
double Value(const std::string& text, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::StartsWith(line, series)) continue;
    absl::string_view rest = line.substr(series.size());
    if (rest.empty() || (rest[0] != ' ' && rest[0] != '{')) continue;
    if (rest[0] == '{' && series.back() != '}') continue;
    double v = 0;
    if (absl::SimpleAtod(rest.substr(rest.rfind(' ') + 1), &v)) return v;
  }
  return -1;
}

// The count of one method's latency histogram, whatever its code label.
double RpcCount(const std::string& text, const std::string& method) {
  double total = 0;
  const std::string want = absl::StrCat("method=\"", method, "\"");
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::StartsWith(line, "lanevault_rpc_duration_seconds_count{") ||
        !absl::StrContains(line, want)) {
      continue;
    }
    double v = 0;
    if (absl::SimpleAtod(line.substr(line.rfind(' ') + 1), &v)) total += v;
  }
  return total;
}

class MetricsTest : public testing::ApiFixture {
 protected:
  void Configure(api::ServerOptions& so) override {
    if (metrics_ == nullptr) {
      auto served = Metrics::Serve("127.0.0.1:0");
      ASSERT_TRUE(served.ok()) << served.status();
      metrics_ = std::move(*served);
      metrics_->AllowServices(DaemonServiceNames());
    }
    so.rpc_observer = [m = metrics_.get()] { return NewRpcTimerFactory(m); };
  }
  void SetUp() override {
    ApiFixture::SetUp();
    collector_ = std::make_unique<VaultCollector>(vault_.get(), metrics_.get(),
                                                  work_.Join("vault.db"));
    metrics_->SetRefresh([this] {
      v1::LaneStatus lane;
      lane.set_lane_id("lane-1");
      lane.set_state(v1::LANE_STATE_RUNNING);
      lane.mutable_counters()->set_frames_read(frames_read_);
      *lane.mutable_last_frame() = ToProto(absl::Now() - absl::Seconds(2));
      metrics_->UpdateLanes({lane}, absl::Now());
      collector_->Collect();
    });
  }
  void TearDown() override {
    metrics_.reset();  // the endpoint first: its refresh reads the vault
    collector_.reset();
    ApiFixture::TearDown();
  }

  grpc::Status SubmitCrossing(const std::string& key) {
    v1::Record r;
    r.set_record_id(NewId("rec_"));
    r.set_lane_id("lane-1");
    r.set_checkpoint_id("demo-poe");
    *r.mutable_first_seen() = ToProto(absl::Now());
    *r.mutable_last_seen() = ToProto(absl::Now() + absl::Seconds(2));
    v1::Item* text = r.add_items();
    text->set_item_id(NewId("itm_"));
    text->set_category(v1::DATA_CATEGORY_PLATE_TEXT);
    text->set_content("KXR4821");
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

  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<VaultCollector> collector_;
  uint64_t frames_read_ = 0;
};

TEST_F(MetricsTest, CountersMoveWithARealRun) {
  ASSERT_GT(metrics_->port(), 0);
  const std::string before = Scrape(metrics_->port());
  ASSERT_FALSE(before.empty());
  const double stored_before =
      std::max(0.0, Value(before, "lanevault_records_stored_total"));
  const std::string submit = "/lanevault.v1.LaneService/SubmitCrossing";
  const double calls_before = RpcCount(before, submit);

  ASSERT_TRUE(SubmitCrossing("m-1").ok());
  ASSERT_TRUE(SubmitCrossing("m-2").ok());
  frames_read_ = 250;
  const std::string after = Scrape(metrics_->port());
  ASSERT_FALSE(after.empty());
  EXPECT_EQ(Value(after, "lanevault_records_stored_total"), stored_before + 2);
  EXPECT_EQ(RpcCount(after, submit), calls_before + 2);
  EXPECT_EQ(Value(after, "lanevault_lane_frames_read_total{lane=\"lane-1\"}"),
            250);
  EXPECT_GE(Value(after,
                  "lanevault_lane_last_frame_age_seconds{lane=\"lane-"
                  "1\"}"),
            2);
  EXPECT_GT(Value(after, "lanevault_access_log_entries"), 0);
  EXPECT_GT(Value(after, "lanevault_database_bytes"), 0);
  EXPECT_NE(after.find("lanevault_decisions_total{action=\"INTAKE\""),
            std::string::npos);

  // A lane's counter copied again at the same value does not move.
  const std::string again = Scrape(metrics_->port());
  EXPECT_EQ(Value(again, "lanevault_lane_frames_read_total{lane=\"lane-1\"}"),
            250);

  // Nothing personal: no plate text, no principal, no record id.
  for (const std::string& text : {after, again}) {
    EXPECT_EQ(text.find("KXR4821"), std::string::npos);
    EXPECT_EQ(text.find("lane-dev"), std::string::npos);
    EXPECT_EQ(text.find("rec_"), std::string::npos);
  }
}

TEST_F(MetricsTest, ARefusalIsCountedByVerdictWithoutItsCaller) {
  // An inspector may not submit crossings: a refused intake.
  v1::SubmitCrossingRequest req;
  req.set_lane_id("lane-1");
  req.set_checkpoint_id("demo-poe");
  req.set_idempotency_key("refused-1");
  req.set_sealed_record("x");
  v1::SubmitCrossingResponse resp;
  grpc::ClientContext ctx;
  WithDeadline(ctx);
  grpc::Status s = v1::LaneService::NewStub(Channel("inspector-dev"))
                       ->SubmitCrossing(&ctx, req, &resp);
  ASSERT_FALSE(s.ok());
  const std::string text = Scrape(metrics_->port());
  EXPECT_NE(text.find("verdict=\"DENY\""), std::string::npos);
  EXPECT_GE(RpcCount(text, "/lanevault.v1.LaneService/SubmitCrossing"), 1);
  EXPECT_EQ(text.find("inspector-dev"), std::string::npos);
}

TEST_F(MetricsTest, OffMeansNoEndpoint) {
  EXPECT_EQ(ServeMetrics("off", "127.0.0.1:0"), nullptr);
  auto on = ServeMetrics("", "127.0.0.1:0");
  ASSERT_NE(on, nullptr);
  EXPECT_FALSE(Scrape(on->port()).empty());
}

}  // namespace
}  // namespace lanevault::ops
