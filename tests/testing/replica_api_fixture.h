#ifndef LANEVAULT_TESTING_REPLICA_API_FIXTURE_H_
#define LANEVAULT_TESTING_REPLICA_API_FIXTURE_H_

// Two lanevaultd replicas on one real PostgreSQL vault (issue 32): two
// vaults and two API servers in one test process, each with its own
// database connections, as two replica processes have, over real mTLS on
// loopback. They share the key store file and the master key, as replicas
// on one host do. Replica 0 is ApiFixture's vault_ and server_.

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "testing/api_fixture.h"
#include "testing/postgres_server.h"

namespace lanevault::testing {

class ReplicaApiFixture : public ApiFixture {
 protected:
  void SetUp() override {
    LANEVAULT_REQUIRE_POSTGRES();
    postgres_ = PostgresServer::Shared()->NewSchema();
    ASSERT_FALSE(postgres_.empty());
    ApiFixture::SetUp();  // replica 0: vault_, server_
    auto v = vault::Vault::Open(options_);
    ASSERT_TRUE(v.ok()) << v.status();
    vault2_ = std::move(*v);
    StartSecondServer();
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
  // Replica 1's policy (replica 0 has policy_): the same one unless a test
  // gives each replica its own, as separate processes have.
  virtual const policy::Policy* SecondPolicy() { return policy_.get(); }
  // Replica 1's server options, after Configure.
  virtual void ConfigureSecond(api::ServerOptions&) {}

  void StartSecondServer() {
    server2_.reset();
    api::ServerOptions so = LoopbackServerOptions();
    const policy::Policy* policy = SecondPolicy();  // before its options
    Configure(so);
    ConfigureSecond(so);
    auto server = api::ApiServer::Start(so, policy, vault2_.get(), [] {
      return std::vector<v1::LaneStatus>{};
    });
    ASSERT_TRUE(server.ok()) << server.status();
    server2_ = std::move(*server);
  }

  vault::Vault& VaultOf(int which) { return which == 0 ? *vault_ : *vault2_; }
  std::string AddressOf(int which) const {
    return absl::StrCat("127.0.0.1:",
                        which == 0 ? server_->port() : server2_->port());
  }
  // A channel to replica `which` (0 or 1) presenting `who`'s certificate.
  std::shared_ptr<grpc::Channel> ChannelTo(int which, const std::string& who) {
    auto creds = rpc::ClientTlsCredentials(dir_->Join("pki/ca.pem"),
                                           dir_->Join("pki/" + who + ".pem"),
                                           dir_->Join("pki/" + who + ".key"));
    EXPECT_TRUE(creds.ok()) << creds.status();
    return grpc::CreateChannel(AddressOf(which), *creds);
  }

  // A read of `record_id`'s plate by inspector-dev through replica `which`.
  grpc::Status ReadOn(int which, const std::string& record_id) {
    auto stub = v1::EvidenceService::NewStub(ChannelTo(which, "inspector-dev"));
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    // Each read opens a fresh mTLS channel, eight at once in the racing
    // test, on a machine running other tests: a connection that fails under
    // that load is tried again by gRPC's reconnect until the deadline,
    // instead of failing the call before the server ever sees it. A call
    // the server received is never resent, so the quota counts are the
    // test's own. (A server that refused every handshake would now show as
    // a deadline exceeded, not as the TLS error.)
    ctx.set_wait_for_ready(true);
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

}  // namespace lanevault::testing

#endif  // LANEVAULT_TESTING_REPLICA_API_FIXTURE_H_
