#ifndef LANEVAULT_TESTING_API_FIXTURE_H_
#define LANEVAULT_TESTING_API_FIXTURE_H_

// The API on a real gRPC server over real TLS on loopback, a real vault
// file, and certificates made by the project's own dev PKI script; one
// record (plate text and a face) taken in.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/server.h"
#include "common/files.h"
#include "common/ids.h"
#include "common/time_util.h"
#include "crypto/master_key.h"
#include "crypto/sealed_box.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "lanevault/v1/evidence.grpc.pb.h"
#include "lanevault/v1/lanes.pb.h"
#include "policy/contract.h"
#include "policy/policy.h"
#include "rpc/tls.h"
#include "testing/test_util.h"
#include "vault/vault.h"

namespace lanevault::testing {

// Every call carries a deadline; the server refuses calls without one.
inline void WithDeadline(grpc::ClientContext& ctx) {
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
}

// The pilot contract from deploy/contracts, as a policy; `edit` may
// change it first (smaller quotas, stricter permits).
inline std::unique_ptr<policy::Policy> PilotPolicy(
    const std::function<void(v1::Contract&)>& edit = nullptr) {
  auto text = ReadFileToString(std::string(LANEVAULT_SOURCE_DIR) +
                               "/deploy/contracts/land-border-pilot.textproto");
  EXPECT_TRUE(text.ok());
  auto contract = policy::ParseContract(*text);
  EXPECT_TRUE(contract.ok());
  if (edit) edit(*contract);
  auto p = policy::NewContractPolicy(*contract);
  EXPECT_TRUE(p.ok()) << p.status();
  return std::move(*p);
}

class ApiFixture : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    MakeDevPki(dir_->Join("pki"));
    MakeDevPki(dir_->Join("other-pki"));  // a CA the server does not trust
  }
  static void TearDownTestSuite() { delete dir_; }

  // The server and the vault go first: a derived fixture's members (a fake
  // clock the vault reads) are gone before this base's destructor runs.
  void TearDown() override {
    server_.reset();
    vault_.reset();
  }

  void SetUp() override {
    const std::string key = work_.Join("master.key");
    ASSERT_TRUE(crypto::MasterKey::CreateKeyFile(key).ok());
    vault::VaultOptions vo;
    vo.database = work_.Join("vault.db");
    vo.master_key_file = key;
    ConfigureVault(vo);
    auto v = vault::Vault::Open(vo);
    ASSERT_TRUE(v.ok()) << v.status();
    vault_ = std::move(*v);
    policy_ = MakePolicy();
    StartServer();

    record_.set_record_id(NewId("rec_"));
    record_.set_lane_id("lane-1");
    record_.set_checkpoint_id("demo-poe");
    *record_.mutable_first_seen() = ToProto(absl::Now());
    auto* text = record_.add_items();
    text->set_item_id(NewId("itm_"));
    text->set_category(v1::DATA_CATEGORY_PLATE_TEXT);
    text->set_content("KXR4821");
    *text->mutable_deadline() = ToProto(absl::Now() + absl::Hours(1));
    auto* face = record_.add_items();
    face->set_item_id(NewId("itm_"));
    face->set_category(v1::DATA_CATEGORY_FACE_IMAGE);
    face->set_content(testing::TestJpeg());
    *face->mutable_deadline() = ToProto(absl::Now() + absl::Hours(1));
    ASSERT_TRUE(vault_->Intake(record_, {}).ok());
  }

  virtual std::unique_ptr<policy::Policy> MakePolicy() {
    return policy::NewBuiltinPolicy();
  }

  // Subclasses adjust the server (limits, CRL, deny-list) here.
  virtual void Configure(api::ServerOptions&) {}
  // And the vault (a full-disk VFS, a state directory) here.
  virtual void ConfigureVault(vault::VaultOptions&) {}

  // A free loopback port, the dev PKI's server certificate and CA.
  static api::ServerOptions LoopbackServerOptions() {
    api::ServerOptions so;
    so.listen = "127.0.0.1:0";
    so.tls.set_ca_cert(dir_->Join("pki/ca.pem"));
    so.tls.set_server_cert(dir_->Join("pki/server.pem"));
    so.tls.set_server_key(dir_->Join("pki/server.key"));
    return so;
  }

  void StartServer() {
    server_.reset();
    api::ServerOptions so = LoopbackServerOptions();
    Configure(so);
    auto server = api::ApiServer::Start(so, policy_.get(), vault_.get(), [] {
      v1::LaneStatus s;
      s.set_lane_id("lane-1");
      return std::vector<v1::LaneStatus>{s};
    });
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }

  // A channel presenting `who`'s certificate from `pki` ("" for none).
  std::shared_ptr<grpc::Channel> Channel(const std::string& who,
                                         const std::string& pki = "pki") {
    auto creds = rpc::ClientTlsCredentials(
        dir_->Join("pki/ca.pem"),
        who.empty() ? "" : dir_->Join(absl::StrCat(pki, "/", who, ".pem")),
        who.empty() ? "" : dir_->Join(absl::StrCat(pki, "/", who, ".key")));
    EXPECT_TRUE(creds.ok()) << creds.status();
    return grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                               *creds);
  }

  grpc::Status GetRecord(const std::string& who, const std::string& purpose,
                         v1::GetRecordResponse* resp,
                         const std::string& pki = "pki") {
    auto stub = v1::EvidenceService::NewStub(Channel(who, pki));
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    v1::GetRecordRequest req;
    req.set_record_id(Handle(record_.record_id(), purpose));
    req.set_purpose(purpose);
    return stub->GetRecord(&ctx, req, resp);
  }

  // What an answer under `purpose` names record `id` (or, with `item`,
  // item `id`) by: the handle of the purpose's scope. For a purpose the
  // contract does not declare, the purpose's own name stands as the scope.
  std::string Handle(const std::string& id, const std::string& purpose,
                     bool item = false) const {
    auto view = policy_->ViewOf(purpose);
    auto handle =
        vault_->handles().Issue(item ? crypto::HandleKey::Kind::kItem
                                     : crypto::HandleKey::Kind::kRecord,
                                view.ok() ? view->scope : purpose, id);
    return handle.ok() ? *handle : id;
  }

  // A crossing like record_ with fresh ids, sealed to the vault's intake
  // key as a capture node sends it.
  v1::SubmitCrossingRequest SealedCrossing(const std::string& idempotency_key) {
    v1::Record crossing = record_;
    crossing.set_record_id(NewId("rec_"));
    for (v1::Item& item : *crossing.mutable_items()) {
      item.set_item_id(NewId("itm_"));
    }
    auto sealed = crypto::IntakeKey::Seal(vault_->intake_key().public_key(),
                                          crossing.SerializeAsString());
    EXPECT_TRUE(sealed.ok()) << sealed.status();
    v1::SubmitCrossingRequest req;
    req.set_sealed_record(sealed.ok() ? *sealed : "");
    req.set_lane_id(crossing.lane_id());
    req.set_checkpoint_id(crossing.checkpoint_id());
    req.set_idempotency_key(idempotency_key);
    return req;
  }

  std::vector<v1::AuditEntry> Log() {
    auto entries = vault_->log().Entries(0, 1000);
    EXPECT_TRUE(entries.ok());
    return *entries;
  }

  static inline TempDir* dir_ = nullptr;
  TempDir work_;
  std::unique_ptr<vault::Vault> vault_;
  std::unique_ptr<policy::Policy> policy_;
  std::unique_ptr<api::ApiServer> server_;
  v1::Record record_;
};

}  // namespace lanevault::testing

#endif  // LANEVAULT_TESTING_API_FIXTURE_H_
