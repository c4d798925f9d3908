// Every RPC in the proto goes through the one decision path: enumerated
// from the services' descriptors, each is called by an unbound certificate
// and must be refused by the gate, answer nothing, and leave its own entry
// in the access log. And a handler that skips the gate leaks nothing.

#include "absl/strings/str_cat.h"
#include "api/gate.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "lanevault/v1/approvals.grpc.pb.h"
#include "lanevault/v1/audit_service.grpc.pb.h"
#include "lanevault/v1/compliance.grpc.pb.h"
#include "lanevault/v1/evidence.grpc.pb.h"
#include "lanevault/v1/lanes.grpc.pb.h"
#include "testing/api_fixture.h"
#include "testing/test_pki.h"

namespace lanevault::api {
namespace {

using ::lanevault::testing::WithDeadline;

constexpr const char* kServices[] = {
    "lanevault.v1.EvidenceService", "lanevault.v1.LaneService",
    "lanevault.v1.AuditService", "lanevault.v1.ComplianceService",
    "lanevault.v1.ApprovalService"};

class DecisionPathTest : public testing::ApiFixture {
 protected:
  static void SetUpTestSuite() {
    ApiFixture::SetUpTestSuite();
    // A valid certificate from the right CA that no role binds.
    testing::IssueCert(dir_->Join("pki"), "stranger",
                       testing::ClientCert("stranger-1", 3001));
  }
  void Configure(ServerOptions& so) override {
    so.limits.lockout_refusals = 0;  // every refusal here is the gate's own
  }

  // Calls `method` with an empty request; the status and whether any
  // message came back.
  grpc::Status CallEmpty(const google::protobuf::MethodDescriptor& m,
                         bool* answered) {
    const std::string name =
        absl::StrCat("/", m.service()->full_name(), "/", m.name());
    auto channel = Channel("stranger");
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    // An empty message: every field at its default.
    grpc::Slice empty("");
    grpc::ByteBuffer request(&empty, 1);
    if (m.server_streaming()) {
      grpc::internal::RpcMethod rpc(
          name.c_str(), grpc::internal::RpcMethod::SERVER_STREAMING, channel);
      std::unique_ptr<grpc::ClientReader<grpc::ByteBuffer>> reader(
          grpc::internal::ClientReaderFactory<grpc::ByteBuffer>::Create(
              channel.get(), rpc, &ctx, request));
      grpc::ByteBuffer got;
      *answered = reader->Read(&got);
      return reader->Finish();
    }
    grpc::GenericStub stub(channel);
    grpc::CompletionQueue cq;
    grpc::ByteBuffer response;
    grpc::Status status;
    auto call = stub.PrepareUnaryCall(&ctx, name, request, &cq);
    call->StartCall();
    call->Finish(&response, &status, reinterpret_cast<void*>(1));
    void* tag = nullptr;
    bool ok = false;
    EXPECT_TRUE(cq.Next(&tag, &ok));
    *answered = response.Length() > 0;
    return status;
  }
};

TEST_F(DecisionPathTest, EveryRpcInTheProtoIsRefusedByTheGateAndLogged) {
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  int methods = 0;
  for (const char* service_name : kServices) {
    const auto* service = pool->FindServiceByName(service_name);
    ASSERT_NE(service, nullptr) << service_name;
    for (int i = 0; i < service->method_count(); ++i) {
      const auto& m = *service->method(i);
      const std::string name =
          absl::StrCat("/", service->full_name(), "/", m.name());
      const uint64_t before = vault_->log().Size();
      bool answered = true;
      grpc::Status s = CallEmpty(m, &answered);
      // Refused by the gate (not UNIMPLEMENTED, not an unlogged error).
      EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED)
          << name << ": " << s.error_message();
      EXPECT_FALSE(answered) << name;
      auto entries = vault_->log().Entries(before, vault_->log().Size());
      ASSERT_TRUE(entries.ok());
      ASSERT_EQ(entries->size(), 1u) << name;
      EXPECT_EQ(entries->front().method(), name);
      EXPECT_EQ(entries->front().principal(), "stranger-1");
      EXPECT_EQ(entries->front().verdict(), v1::VERDICT_DENY);
      ++methods;
    }
  }
  // The proto declares 4 + 3 + 7 + 15 methods; a new one is covered too.
  EXPECT_GE(methods, 29);
}

// A service whose handler forgets the gate.
class Careless final : public v1::LaneService::Service {
 public:
  grpc::Status ListLanes(grpc::ServerContext*, const v1::ListLanesRequest*,
                         v1::ListLanesResponse* response) override {
    response->add_lanes()->set_lane_id("leaked");
    return grpc::Status::OK;
  }
};

TEST_F(DecisionPathTest, AHandlerThatSkipsTheGateAnswersNothing) {
  Gate gate(policy_.get(), vault_.get(), nullptr);
  Careless careless;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port);
  builder.RegisterService(&careless);
  std::vector<
      std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  interceptors.push_back(std::make_unique<GateInterceptorFactory>(&gate));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  auto server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  auto stub = v1::LaneService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  WithDeadline(ctx);
  ctx.AddMetadata("lanevault-dev-principal", "operator-dev");
  v1::ListLanesResponse resp;
  grpc::Status s = stub->ListLanes(&ctx, {}, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INTERNAL) << s.error_message();
  EXPECT_EQ(resp.lanes_size(), 0);
  EXPECT_EQ(Log().back().reason_code(), "transport");
  EXPECT_EQ(Log().back().method(), "/lanevault.v1.LaneService/ListLanes");
  server->Shutdown();
}

}  // namespace
}  // namespace lanevault::api
