// Contracts changed over the API obey the rules a config file does on
// SIGHUP: a vault follows one contract id, only a version newer than the
// one in force takes effect, and a version the vault keeps is that text
// for good. Played by a compliance officer against a real server over mTLS
// on a real SQLite vault.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "api/contract_follower.h"
#include "crypto/signing.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "lanevault/v1/compliance.grpc.pb.h"
#include "testing/api_fixture.h"
#include "testing/signed_contracts.h"

namespace lanevault {
namespace {

class ContractOverApiTest : public testing::ApiFixture {
 protected:
  void SetUp() override {
    auto key = crypto::SigningKey::FromSeed(crypto::SigningKey::NewSeed());
    ASSERT_TRUE(key.ok()) << key.status();
    key_ = std::make_unique<crypto::SigningKey>(std::move(*key));
    ApiFixture::SetUp();
  }

  // The pilot contract as `version`, signed by `key` (the trusted one when
  // null); `edit` may change it first.
  v1::SignedContract Signed(
      uint64_t version,
      const std::function<void(v1::Contract&)>& edit = nullptr,
      const crypto::SigningKey* key = nullptr) {
    return testing::SignedPilot(key != nullptr ? *key : *key_, version, edit);
  }

  std::unique_ptr<policy::Policy> MakePolicy() override {
    auto p = policy::PolicyFromSigned(Signed(1), Trusted(), 1);
    EXPECT_TRUE(p.ok()) << p.status();
    auto holder = std::make_unique<policy::PolicyHolder>(
        std::shared_ptr<const policy::Policy>(std::move(*p)));
    holder_ = holder.get();
    return holder;
  }
  void Configure(api::ServerOptions& so) override {
    so.contracts.trusted = Trusted();
    so.contracts.required = 1;
    so.contracts.holder = holder_;
  }
  std::vector<policy::TrustedKey> Trusted() const {
    return {{"alice", key_->public_key()}};
  }

  grpc::Status Propose(const v1::SignedContract& contract) {
    auto stub = v1::ComplianceService::NewStub(Channel("compliance-dev"));
    grpc::ClientContext ctx;
    testing::WithDeadline(ctx);
    v1::ProposeContractRequest req;
    *req.mutable_contract() = contract;
    v1::ProposeContractResponse resp;
    return stub->ProposeContract(&ctx, req, &resp);
  }
  grpc::Status Activate(uint64_t version) {
    auto stub = v1::ComplianceService::NewStub(Channel("compliance-dev"));
    grpc::ClientContext ctx;
    testing::WithDeadline(ctx);
    v1::ActivateContractRequest req;
    req.set_version(version);
    v1::ContractVersion resp;
    return stub->ActivateContract(&ctx, req, &resp);
  }

  // The versions the vault keeps, in the order kept.
  std::vector<uint64_t> KeptVersions() {
    std::vector<uint64_t> out;
    auto kept = vault_->contracts().Versions();
    EXPECT_TRUE(kept.ok()) << kept.status();
    if (kept.ok()) {
      for (const auto& row : *kept) out.push_back(row.version);
    }
    return out;
  }

  std::unique_ptr<crypto::SigningKey> key_;
  policy::PolicyHolder* holder_ = nullptr;  // owned by policy_
};

TEST_F(ContractOverApiTest, AnotherContractIdIsRefusedAtProposal) {
  // A look-alike id (a zero-width space) signed by the trusted key.
  grpc::Status s = Propose(
      Signed(2, [](v1::Contract& c) { c.set_id("land-border-pilot\u200b"); }));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("follows one contract id"),
            std::string::npos)
      << s.error_message();
  EXPECT_EQ(holder_->contract_id(), "land-border-pilot");
  // The refusal is in the log.
  EXPECT_EQ(Log().back().action(), v1::ACTION_MANAGE_CONTRACT);
  EXPECT_EQ(Log().back().verdict(), v1::VERDICT_DENY);
}

TEST_F(ContractOverApiTest, AnOvertakenProposalNeverTakesEffect) {
  ASSERT_TRUE(Propose(Signed(2)).ok());
  ASSERT_TRUE(Propose(Signed(3)).ok());
  grpc::Status s = Activate(3);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(holder_->contract_version(), 3u);
  // v2, proposed before v3 took effect, would take over from it.
  s = Activate(2);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("not newer than version 3"),
            std::string::npos)
      << s.error_message();
  EXPECT_EQ(holder_->contract_version(), 3u);
  EXPECT_EQ(KeptVersions(), std::vector<uint64_t>{3});
  // Nor can it be proposed again now.
  EXPECT_EQ(Propose(Signed(2)).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(ContractOverApiTest, AKeptVersionIsNeverReplacedByAnotherText) {
  // v2 is kept as another replica put it in force, signed by a key this
  // server does not trust, so it does not load here and v1 stays in force.
  auto other = crypto::SigningKey::FromSeed(crypto::SigningKey::NewSeed());
  ASSERT_TRUE(other.ok());
  std::string kept_text;
  google::protobuf::TextFormat::PrintToString(Signed(2, nullptr, &*other),
                                              &kept_text);
  ASSERT_TRUE(
      vault_->contracts().KeepVersion("land-border-pilot", 2, kept_text).ok());
  // Another text as v2, signed by the trusted key: refused, not replacing
  // the kept text.
  const v1::SignedContract edited =
      Signed(2, [](v1::Contract& c) { c.add_checkpoints("poe-2"); });
  grpc::Status s = Propose(edited);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("signs another text"), std::string::npos)
      << s.error_message();
  auto kept = vault_->contracts().Versions();
  ASSERT_TRUE(kept.ok());
  ASSERT_EQ(kept->size(), 1u);
  EXPECT_EQ(kept->front().signed_text, kept_text);
  // The same text as the kept v2, signed by the trusted key, is v2 itself:
  // it may take effect here.
  v1::SignedContract same = Signed(2, nullptr, &*other);
  same.mutable_signatures(0)->set_public_key(key_->public_key());
  same.mutable_signatures(0)->set_signature(key_->Sign(same.text()));
  ASSERT_TRUE(Propose(same).ok());
  s = Activate(2);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(holder_->contract_version(), 2u);
}

TEST_F(ContractOverApiTest, AVersionFarAboveTheOneInForceIsRefused) {
  // Activated, it would leave no room for any version after it: the
  // contract could never be replaced.
  grpc::Status s = Propose(Signed(18446744073709551615ull));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("1000 or more above"), std::string::npos)
      << s.error_message();
  EXPECT_EQ(Propose(Signed(1001)).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(Propose(Signed(1000)).ok());
}

TEST_F(ContractOverApiTest, AnOversizedProposalIsRefused) {
  // Kept, it would be listed with every version: a few megabytes of text
  // or thousands of signatures would make the list too large to send.
  v1::SignedContract big = Signed(2, [](v1::Contract& c) {
    c.mutable_parties()->Add()->set_name(std::string(70 * 1024, 'x'));
  });
  grpc::Status s = Propose(big);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("at most 65536"), std::string::npos)
      << s.error_message();
  v1::SignedContract signed_often = Signed(2);
  for (int i = 0; i < 20; ++i) {
    *signed_often.add_signatures() = signed_often.signatures(0);
  }
  s = Propose(signed_often);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("signatures; at most 16"), std::string::npos)
      << s.error_message();
  // Nor can signatures be piled on at activation.
  ASSERT_TRUE(Propose(Signed(2)).ok());
  auto stub = v1::ComplianceService::NewStub(Channel("compliance-dev"));
  grpc::ClientContext ctx;
  testing::WithDeadline(ctx);
  v1::ActivateContractRequest req;
  req.set_version(2);
  for (int i = 0; i < 20; ++i) {
    v1::ContractSignature* sig = req.add_signatures();
    sig->set_key_name("junk");
    sig->set_public_key(std::string(32, static_cast<char>(i)));
    sig->set_signature(std::string(64, 'j'));
  }
  v1::ContractVersion resp;
  EXPECT_EQ(stub->ActivateContract(&ctx, req, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(holder_->contract_version(), 1u);
}

TEST_F(ContractOverApiTest, NoOneOfficerHoldsEveryNumberAhead) {
  // An officer proposes without signatures; each proposal holds its
  // number. At most 16 are open at once.
  for (uint64_t v = 2; v < 18; ++v) {
    ASSERT_TRUE(Propose(Signed(v)).ok()) << v;
  }
  grpc::Status s = Propose(Signed(18));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("16 proposals above version 1 are open"),
            std::string::npos)
      << s.error_message();
  // And a proposal short of its signatures locks its number's text for no
  // config file; one carrying them does.
  auto junk = crypto::SigningKey::FromSeed(crypto::SigningKey::NewSeed());
  ASSERT_TRUE(junk.ok());
  const std::string other_text =
      Signed(40, [](v1::Contract& c) { c.add_checkpoints("poe-2"); }).text();
  ASSERT_TRUE(Activate(17).ok());  // closes 2..16
  ASSERT_TRUE(Propose(Signed(40, nullptr, &*junk)).ok());
  EXPECT_TRUE(api::CheckAgainstKeptContracts(*vault_, "land-border-pilot", 40,
                                             holder_->contract_version(),
                                             other_text, Trusted(), 1, "file")
                  .ok());
  ASSERT_TRUE(Propose(Signed(41)).ok());
  const std::string other41 =
      Signed(41, [](v1::Contract& c) { c.add_checkpoints("poe-2"); }).text();
  EXPECT_EQ(api::CheckAgainstKeptContracts(*vault_, "land-border-pilot", 41,
                                           holder_->contract_version(), other41,
                                           Trusted(), 1, "file")
                .code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(ContractOverApiTest, AnOlderVersionNeverReplacesANewerInForce) {
  // A SIGHUP or a follower that put v3 in force while an activation of v2
  // was judged: the activation's replace must not take v3 away.
  auto v3 = policy::PolicyFromSigned(Signed(3), Trusted(), 1);
  auto v2 = policy::PolicyFromSigned(Signed(2), Trusted(), 1);
  ASSERT_TRUE(v3.ok() && v2.ok());
  EXPECT_TRUE(
      holder_->Replace(std::shared_ptr<const policy::Policy>(std::move(*v3))));
  EXPECT_FALSE(
      holder_->Replace(std::shared_ptr<const policy::Policy>(std::move(*v2))));
  EXPECT_EQ(holder_->contract_version(), 3u);
}

}  // namespace
}  // namespace lanevault
