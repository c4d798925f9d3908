// State that must hold across lanevaultd replicas on one PostgreSQL vault
// (issue 32), played against two real API servers over mTLS on one real
// PostgreSQL: a contract activated through one replica governs the other
// without a SIGHUP; a client whose replica dies after it connected sends a
// call again to the other only when doing it twice cannot double an effect;
// both replicas push the log's checkpoints to a witness without a false
// fork alert, and only the role holder signs one at start; a canary one
// replica planted catches a reader on the other; refusals of the locked
// out are summarised per replica, each counted once.

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "crypto/signing.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "lanevault/v1/audit.grpc.pb.h"
#include "lanevault/v1/compliance.grpc.pb.h"
#include "lanevault/v1/lanes.grpc.pb.h"
#include "rpc/replica_channels.h"
#include "testing/replica_api_fixture.h"
#include "testing/signed_contracts.h"
#include "wiring/witness_pusher.h"
#include "witness/http_server.h"
#include "witness/witness.h"

namespace lanevault {
namespace {

// Each replica has its own contract holder, as separate processes do, and
// trusts one compliance key; the pilot contract, signed by it, is v1.
class ReplicaContractTest : public testing::ReplicaApiFixture {
 protected:
  void SetUp() override {
    auto key = crypto::SigningKey::FromSeed(crypto::SigningKey::NewSeed());
    ASSERT_TRUE(key.ok()) << key.status();
    key_ = std::make_unique<crypto::SigningKey>(std::move(*key));
    ReplicaApiFixture::SetUp();
  }

  // The pilot contract as version `version`, signed by the trusted key;
  // `edit` may change it first.
  v1::SignedContract Signed(
      uint64_t version,
      const std::function<void(v1::Contract&)>& edit = nullptr) {
    return testing::SignedPilot(*key_, version, edit);
  }
  std::unique_ptr<policy::PolicyHolder> HolderAtV1() {
    auto p = policy::PolicyFromSigned(Signed(1), Trusted(), 1);
    EXPECT_TRUE(p.ok()) << p.status();
    return std::make_unique<policy::PolicyHolder>(
        std::shared_ptr<const policy::Policy>(std::move(*p)));
  }
  std::vector<policy::TrustedKey> Trusted() const {
    return {{"alice", key_->public_key()}};
  }

  std::unique_ptr<policy::Policy> MakePolicy() override {
    auto holder = HolderAtV1();
    holder0_ = holder.get();
    return holder;
  }
  const policy::Policy* SecondPolicy() override {
    holder1_ = HolderAtV1();
    return holder1_.get();
  }
  void Configure(api::ServerOptions& so) override {
    so.contracts.trusted = Trusted();
    so.contracts.required = 1;
    so.contracts.holder = holder0_;
    so.contract_check_every = absl::ZeroDuration();
  }
  void ConfigureSecond(api::ServerOptions& so) override {
    so.contracts.holder = holder1_.get();
  }

  // Proposes and activates `contract` through replica `which` as
  // compliance-dev.
  void ActivateOn(int which, const v1::SignedContract& contract) {
    auto stub =
        v1::ComplianceService::NewStub(ChannelTo(which, "compliance-dev"));
    {
      grpc::ClientContext ctx;
      testing::WithDeadline(ctx);
      v1::ProposeContractRequest req;
      *req.mutable_contract() = contract;
      v1::ProposeContractResponse resp;
      grpc::Status s = stub->ProposeContract(&ctx, req, &resp);
      ASSERT_TRUE(s.ok()) << s.error_message();
    }
    grpc::ClientContext ctx;
    testing::WithDeadline(ctx);
    v1::ActivateContractRequest req;
    auto parsed = policy::ParseContract(contract.text());
    ASSERT_TRUE(parsed.ok());
    req.set_version(parsed->version());
    v1::ContractVersion resp;
    grpc::Status s = stub->ActivateContract(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  // A crossing sealed to the vault and submitted by lane-dev through
  // replica `which`; returns the id the vault stored it under (its intake
  // entry's).
  std::string SubmitOn(int which) {
    const v1::SubmitCrossingRequest req = SealedCrossing(NewId("lane-1/"));
    auto stub = v1::LaneService::NewStub(ChannelTo(which, "lane-dev"));
    grpc::ClientContext ctx;
    testing::WithDeadline(ctx);
    v1::SubmitCrossingResponse resp;
    grpc::Status s = stub->SubmitCrossing(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::string stored;
    for (const v1::AuditEntry& e : Log()) {
      if (e.action() == v1::ACTION_INTAKE) stored = e.record_id();
    }
    return stored;
  }

  std::unique_ptr<crypto::SigningKey> key_;
  policy::PolicyHolder* holder0_ = nullptr;  // owned by policy_
  std::unique_ptr<policy::PolicyHolder> holder1_;
};

TEST_F(ReplicaContractTest, ActivatedOnOneGovernsReadsAndIntakeOnTheOther) {
  ASSERT_TRUE(ReadOn(1, record_.record_id()).ok());
  // v2 takes plate reads away from inspectors; activated through replica 0.
  ActivateOn(0, Signed(2, [](v1::Contract& c) {
               auto* permits = c.mutable_permits();
               for (int i = permits->size() - 1; i >= 0; --i) {
                 if (permits->Get(i).id() == "inspector-vehicle") {
                   permits->DeleteSubrange(i, 1);
                 }
               }
             }));
  EXPECT_EQ(ReadOn(0, record_.record_id()).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // Replica 1 got no SIGHUP: it must decide by v2 all the same.
  EXPECT_EQ(ReadOn(1, record_.record_id()).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(holder1_->contract_version(), 2u);
  // And its intake stamps v2 on what it stores.
  const std::string id = SubmitOn(1);
  auto stored = vault2_->Describe(id);
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->contract_version(), 2u);
}

TEST_F(ReplicaContractTest, AVersionThisReplicaCannotVerifyStaysOutAndAlerts) {
  // v2 is kept as if activated elsewhere, signed by a key replica 1 does
  // not trust: it must not take effect there, and compliance must hear.
  auto other = crypto::SigningKey::FromSeed(crypto::SigningKey::NewSeed());
  ASSERT_TRUE(other.ok());
  v1::SignedContract v2 = Signed(2);
  v2.mutable_signatures(0)->set_public_key(other->public_key());
  v2.mutable_signatures(0)->set_signature(other->Sign(v2.text()));
  std::string text;
  google::protobuf::TextFormat::PrintToString(v2, &text);
  ASSERT_TRUE(
      vault_->contracts().KeepVersion("land-border-pilot", 2, text).ok());
  EXPECT_TRUE(ReadOn(1, record_.record_id()).ok());
  EXPECT_EQ(holder1_->contract_version(), 1u);
  auto alerts = vault2_->oversight().Alerts(true);
  ASSERT_TRUE(alerts.ok());
  int not_followed = 0;
  for (const auto& a : *alerts)
    not_followed += a.kind == "contract_not_followed";
  EXPECT_EQ(not_followed, 1);
  // Once only, however many calls come.
  EXPECT_TRUE(ReadOn(1, record_.record_id()).ok());
  alerts = vault2_->oversight().Alerts(true);
  ASSERT_TRUE(alerts.ok());
  not_followed = 0;
  for (const auto& a : *alerts)
    not_followed += a.kind == "contract_not_followed";
  EXPECT_EQ(not_followed, 1);
}

class ReplicaFailoverTest : public testing::ReplicaApiFixture {
 protected:
  std::unique_ptr<policy::Policy> MakePolicy() override {
    return testing::PilotPolicy();
  }
  // A client of both replicas, replica 0 first, as `who`.
  std::unique_ptr<rpc::ReplicaChannels> Client(const std::string& who) {
    auto creds = rpc::ClientTlsCredentials(dir_->Join("pki/ca.pem"),
                                           dir_->Join("pki/" + who + ".pem"),
                                           dir_->Join("pki/" + who + ".key"));
    EXPECT_TRUE(creds.ok()) << creds.status();
    return std::make_unique<rpc::ReplicaChannels>(
        std::vector<std::string>{AddressOf(0), AddressOf(1)}, *creds,
        absl::Seconds(3));
  }
  static grpc::Status Checkpoint(rpc::ReplicaChannels& client,
                                 v1::Checkpoint* cp) {
    return client.Call(
        rpc::RetrySafety::kIdempotent,
        [&](const std::shared_ptr<grpc::Channel>& channel) {
          grpc::ClientContext ctx;
          testing::WithDeadline(ctx);
          return v1::AuditService::NewStub(channel)->GetCheckpoint(&ctx, {},
                                                                   cp);
        });
  }
  // Log entries of `principal` doing `action`, as the shared log holds.
  int Logged(const std::string& principal, v1::Action action) {
    int n = 0;
    auto entries = vault2_->log().Entries(0, 100000);
    EXPECT_TRUE(entries.ok());
    for (const v1::AuditEntry& e : *entries) {
      n += e.principal() == principal && e.action() == action;
    }
    return n;
  }
};

TEST_F(ReplicaFailoverTest, AReadOfTheLogGoesToTheOtherReplicaWhenOneDies) {
  const std::string b = AddressOf(1);
  auto client = Client("auditor-dev");
  v1::Checkpoint cp;
  ASSERT_TRUE(Checkpoint(*client, &cp).ok());
  EXPECT_EQ(client->current_address(), AddressOf(0));
  server_.reset();  // replica 0 dies after the client connected
  grpc::Status s = Checkpoint(*client, &cp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(client->current_address(), b);
  EXPECT_GT(cp.tree_size(), 0u);
}

TEST_F(ReplicaFailoverTest, AnEvidenceReadIsNotSentTwice) {
  auto client = Client("inspector-dev");
  v1::GetRecordRequest req;
  req.set_record_id(Handle(record_.record_id(), "vehicle-inspection"));
  req.set_purpose("vehicle-inspection");
  auto read = [&](const std::shared_ptr<grpc::Channel>& channel) {
    grpc::ClientContext ctx;
    testing::WithDeadline(ctx);
    v1::GetRecordResponse resp;
    return v1::EvidenceService::NewStub(channel)->GetRecord(&ctx, req, &resp);
  };
  ASSERT_TRUE(client->Call(rpc::RetrySafety::kOnce, read).ok());
  const int reads = Logged("inspector-dev", v1::ACTION_READ_RECORD);
  EXPECT_EQ(reads, 1);
  server_.reset();
  // Replica 0 is gone: the read is refused to the caller with a reason,
  // not sent to replica 1, where it would be logged and counted again.
  grpc::Status s = client->Call(rpc::RetrySafety::kOnce, read);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(s.error_message().find("not sent to another replica"),
            std::string::npos)
      << s.error_message();
  EXPECT_EQ(Logged("inspector-dev", v1::ACTION_READ_RECORD), reads);
  // Asked again knowingly, it is served by replica 1.
  EXPECT_TRUE(read(ChannelTo(1, "inspector-dev")).ok());
}

// Each replica runs its own witness pusher, as each lanevaultd does, with
// one real witness over HTTP on loopback. Replica 0 holds the role.
class ReplicaWitnessTest : public testing::ReplicaApiFixture {
 protected:
  void SetUp() override {
    ReplicaApiFixture::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_TRUE(vault_->HoldsReplicaRole());
    ASSERT_FALSE(vault2_->HoldsReplicaRole());
    auto key = crypto::SigningKey::FromSeed(crypto::SigningKey::NewSeed());
    ASSERT_TRUE(key.ok());
    witness_key_ = std::make_unique<crypto::SigningKey>(std::move(*key));
    witness::WitnessOptions wo;
    wo.name = "witness.example/w1";
    wo.key = witness_key_.get();
    wo.state_dir = work_.Join("witness");
    wo.logs[vault_->log().origin()] = vault_->log().VerifierKey();
    std::filesystem::create_directories(wo.state_dir);
    auto w = witness::Witness::Create(wo);
    ASSERT_TRUE(w.ok()) << w.status();
    witness_ = std::move(*w);
    auto http = witness::HttpServer::Start(witness_.get(), "127.0.0.1", 0);
    ASSERT_TRUE(http.ok()) << http.status();
    http_ = std::move(*http);
    for (int which = 0; which < 2; ++which) {
      wiring::WitnessPusherOptions po;
      v1::WitnessConfig& c = po.witnesses.emplace_back();
      c.set_url(absl::StrCat("http://127.0.0.1:", http_->port()));
      c.set_verifier_key(witness_->VerifierKey());
      po.state_file = work_.Join(absl::StrCat("witnesses-", which));
      auto pusher = wiring::WitnessPusher::Create(&VaultOf(which), po);
      ASSERT_TRUE(pusher.ok()) << pusher.status();
      pushers_[which] = std::move(*pusher);
    }
  }
  void TearDown() override {
    pushers_[0].reset();
    pushers_[1].reset();
    http_.reset();
    ReplicaApiFixture::TearDown();
  }

  // A few entries appended through replica `which`.
  void Append(int which) {
    for (int i = 0; i < 3; ++i) {
      v1::AuditEntry e;
      *e.mutable_time() = ToProto(absl::Now());
      e.set_principal("system");
      e.set_action(v1::ACTION_READ_AUDIT);
      e.set_verdict(v1::VERDICT_ALLOW);
      ASSERT_TRUE(VaultOf(which).log().Append(e).ok());
    }
  }
  int Alerts(const std::string& kind) {
    auto alerts = vault_->oversight().Alerts(true);
    EXPECT_TRUE(alerts.ok());
    int n = 0;
    for (const auto& a : *alerts) n += a.kind == kind;
    return n;
  }

  std::unique_ptr<crypto::SigningKey> witness_key_;
  std::unique_ptr<witness::Witness> witness_;
  std::unique_ptr<witness::HttpServer> http_;
  std::unique_ptr<wiring::WitnessPusher> pushers_[2];
};

TEST_F(ReplicaWitnessTest, OnlyTheRoleHolderSignsACheckpointAtStart) {
  ASSERT_TRUE(pushers_[0]->CheckAtStart().ok());
  auto signed_at_start = vault_->log().LatestCheckpoint();
  ASSERT_TRUE(signed_at_start.ok());
  Append(1);
  // Replica 1 starts: it checks the witness against the newest checkpoint
  // and signs none of its own.
  ASSERT_TRUE(pushers_[1]->CheckAtStart().ok());
  auto newest = vault2_->log().LatestCheckpoint();
  ASSERT_TRUE(newest.ok());
  EXPECT_EQ(newest->tree_size(), signed_at_start->tree_size());
}

TEST_F(ReplicaWitnessTest, AReplicaThatReadAnOlderCheckpointSeesNoFork) {
  ASSERT_TRUE(pushers_[0]->CheckAtStart().ok());
  ASSERT_TRUE(pushers_[1]->CheckAtStart().ok());
  Append(1);
  auto older = vault_->log().SignCheckpoint();
  ASSERT_TRUE(older.ok());
  Append(0);
  auto newer = vault_->log().SignCheckpoint();
  ASSERT_TRUE(newer.ok());
  ASSERT_GT(newer->tree_size(), older->tree_size());
  // Replica 0 pushes the newer one; replica 1 had read the older one just
  // before, and pushes it now.
  pushers_[0]->PushToAll(*newer);
  pushers_[1]->PushToAll(*older);
  EXPECT_EQ(Alerts("witness_fork"), 0);
  // Replica 1 got the witness's cosignature of the newest checkpoint.
  EXPECT_GT(pushers_[1]->Cosigned(*newer).size(), newer->signed_note().size());
}

class ReplicaCanaryTest : public testing::ReplicaApiFixture {
 protected:
  std::unique_ptr<policy::Policy> MakePolicy() override {
    return testing::PilotPolicy();
  }
};

TEST_F(ReplicaCanaryTest, ACanaryPlantedThroughOneCatchesAReaderOnTheOther) {
  // A decoy as replica 0's intake plants one: marked in the shared store.
  v1::Record decoy = record_;
  decoy.set_record_id(NewId("rec_"));
  v1::AuditEntry entry;
  *entry.mutable_time() = ToProto(absl::Now());
  entry.set_principal("lane:lane-1");
  entry.set_action(v1::ACTION_INTAKE);
  entry.set_verdict(v1::VERDICT_ALLOW);
  entry.set_record_id(decoy.record_id());
  for (v1::Item& item : *decoy.mutable_items()) {
    item.set_item_id(NewId("itm_"));
    entry.add_item_ids(item.item_id());
  }
  ASSERT_TRUE(vault_->PlantCanary(decoy, entry).ok());
  // Read through replica 1: refused, and the reader is locked out on both.
  EXPECT_EQ(ReadOn(1, decoy.record_id()).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReadOn(0, record_.record_id()).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReadOn(1, record_.record_id()).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  auto alerts = vault_->oversight().Alerts(true);
  ASSERT_TRUE(alerts.ok());
  int canary_reads = 0;
  for (const auto& a : *alerts) canary_reads += a.kind == "canary_read";
  EXPECT_EQ(canary_reads, 1);
}

// Refusal summaries stay per replica (they bound log growth by callers
// already refused and decide no access): spread over two replicas, at most
// twice the per-replica count is logged one by one, and every refusal is
// counted exactly once, one by one or in one replica's summary.
class ReplicaRefusalTest : public testing::ReplicaApiFixture {
 protected:
  static constexpr int kLoggedPerWindow = 2;
  std::unique_ptr<policy::Policy> MakePolicy() override {
    return testing::PilotPolicy();
  }
  void Configure(api::ServerOptions& so) override {
    so.limits.refusals.logged_per_window = kLoggedPerWindow;
    so.limits.refusals.window = absl::Minutes(10);
    so.limits.refusals.flush_every = absl::Minutes(10);
  }
};

TEST_F(ReplicaRefusalTest, RefusalsOfTheLockedOutAreCountedOnceAcrossReplicas) {
  v1::AuditEntry why;
  *why.mutable_time() = ToProto(absl::Now());
  why.set_principal("compliance-dev");
  why.set_action(v1::ACTION_MANAGE_ALERTS);
  ASSERT_TRUE(vault_->oversight()
                  .LockOut("inspector-dev", "test", "under review", why)
                  .ok());
  constexpr int kTries = 10;
  for (int i = 0; i < kTries; ++i) {
    EXPECT_EQ(ReadOn(i % 2, record_.record_id()).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  // Each replica logs what it still only counted as it stops.
  server_.reset();
  server2_.reset();
  int one_by_one = 0;
  uint64_t summarised = 0;
  for (const v1::AuditEntry& e : Log()) {
    if (e.principal() != "inspector-dev") continue;
    if (e.reason_code() == "locked_out") ++one_by_one;
    if (e.reason_code() == "refusals_summarised") {
      uint64_t n = 0;
      ASSERT_TRUE(
          absl::SimpleAtoi(e.detail().substr(0, e.detail().find(' ')), &n))
          << e.detail();
      summarised += n;
    }
  }
  EXPECT_EQ(one_by_one, 2 * kLoggedPerWindow);
  EXPECT_EQ(one_by_one + summarised, static_cast<uint64_t>(kTries));
}

}  // namespace
}  // namespace lanevault
