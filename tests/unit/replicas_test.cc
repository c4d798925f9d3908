// Several vault processes on one PostgreSQL database (issue 32): here two
// Vault instances in one test process, each with its own connections, as
// two lanevaultd replicas have. They share the key store file and the
// master key, as replicas on one host do.

#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "testing/postgres_server.h"
#include "testing/vault_fixture.h"
#include "tlog/merkle.h"
#include "vault/vault.h"

namespace lanevault {
namespace {

using testing::VaultFixture;

class ReplicasTest : public VaultFixture {
 protected:
  void SetUp() override {
    LANEVAULT_REQUIRE_POSTGRES();
    postgres_ = testing::PostgresServer::Shared()->NewSchema();
    ASSERT_FALSE(postgres_.empty());
    VaultFixture::SetUp();  // replica one: vault_
    auto two = vault::Vault::Open(Options());
    ASSERT_TRUE(two.ok()) << two.status();
    other_ = std::move(*two);
  }
  void TearDown() override {
    other_.reset();
    vault_.reset();
  }

  // Intake of a new record through `v`; returns its id.
  std::string Take(vault::Vault& v, absl::string_view plate) {
    v1::Record r = MakeRecord(plate, "face-bytes");
    absl::Status s = v.Intake(r, Entry(v1::ACTION_INTAKE, r.record_id()));
    EXPECT_TRUE(s.ok()) << s;
    return r.record_id();
  }
  std::string ReadPlate(vault::Vault& v, const std::string& id) {
    absl::StatusOr<v1::Record> got = v.Read(id, {v1::DATA_CATEGORY_PLATE_TEXT},
                                            Entry(v1::ACTION_READ_RECORD, id));
    EXPECT_TRUE(got.ok()) << got.status();
    if (!got.ok() || got->items_size() != 1) return "";
    return got->items(0).content();
  }

  std::unique_ptr<vault::Vault> other_;
};

TEST_F(ReplicasTest, BothServeOneLogAndReadWhatTheOtherSealed) {
  const std::string a = Take(*vault_, "AB12CDE");
  const std::string b = Take(*other_, "XY98ZZZ");
  EXPECT_EQ(ReadPlate(*other_, a), "AB12CDE");
  EXPECT_EQ(ReadPlate(*vault_, b), "XY98ZZZ");
  // One log: each sees the other's appends.
  EXPECT_EQ(vault_->log().Size(), other_->log().Size());
  EXPECT_EQ(*vault_->log().RootAt(vault_->log().Size()),
            *other_->log().RootAt(other_->log().Size()));
}

// A plate reading is indexed under the day of its deadline; a lookup asks
// for every day up to the last deadline in the shared database, not only
// the days this replica holds a period key for, so what the other replica
// took in under a day's key made there a moment ago is found here at once.
TEST_F(ReplicasTest, ALookupFindsWhatTheOtherTookInUnderADayKeyMadeThere) {
  clock_.Advance(absl::Hours(24 * 3));  // a deadline day with no key yet
  const std::string id = Take(*other_, "LK34XYZ");
  absl::StatusOr<std::vector<std::string>> found =
      vault_->LookupPlate("LK34XYZ", 5, Entry(v1::ACTION_SEARCH_PLATE, ""));
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(*found, std::vector<std::string>{id});
}

TEST_F(ReplicasTest, OneHoldsTheRoleAndASuccessorContinuesTheTree) {
  const bool first = vault_->HoldsReplicaRole();
  const bool second = other_->HoldsReplicaRole();
  ASSERT_NE(first, second) << "exactly one replica holds the role";
  std::unique_ptr<vault::Vault>& holder = first ? vault_ : other_;
  std::unique_ptr<vault::Vault>& standby = first ? other_ : vault_;
  EXPECT_TRUE(holder->HoldsReplicaRole()) << "kept while its session lives";
  EXPECT_FALSE(standby->HoldsReplicaRole());

  Take(*standby, "AA11AAA");
  Take(*holder, "BB22BBB");
  absl::StatusOr<v1::Checkpoint> before = holder->log().SignCheckpoint();
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_EQ(before->tree_size(), standby->log().Size())
      << "the holder signs the database's tree, the standby's entries too";

  holder.reset();  // its sessions end: the server frees the role
  // The server ends the closed session's backend asynchronously.
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (!standby->HoldsReplicaRole() && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_TRUE(standby->HoldsReplicaRole());
  Take(*standby, "CC33CCC");
  absl::StatusOr<v1::Checkpoint> after = standby->log().SignCheckpoint();
  ASSERT_TRUE(after.ok()) << after.status();
  ASSERT_GT(after->tree_size(), before->tree_size());
  absl::StatusOr<std::vector<std::string>> proof =
      standby->log().ConsistencyProof(before->tree_size(), after->tree_size());
  ASSERT_TRUE(proof.ok()) << proof.status();
  EXPECT_TRUE(tlog::VerifyConsistency(before->tree_size(), after->tree_size(),
                                      before->root_hash(), after->root_hash(),
                                      *proof)
                  .ok())
      << "the successor's checkpoint extends the first holder's";
}

TEST_F(ReplicasTest, AKeyRotationOnOneIsFollowedByTheOther) {
  const std::string a = Take(*vault_, "AB12CDE");
  v1::AuditEntry rotate = Entry(v1::ACTION_ROTATE_KEYS, "");
  absl::StatusOr<uint32_t> generation = other_->RotateKeys(rotate);
  ASSERT_TRUE(generation.ok()) << generation.status();
  // The first replica seals under the new generation from now on, and both
  // still open the older record.
  const std::string b = Take(*vault_, "QQ55QQQ");
  EXPECT_EQ(vault_->CurrentKeyVersion(), *generation);
  EXPECT_EQ(ReadPlate(*other_, b), "QQ55QQQ");
  EXPECT_EQ(ReadPlate(*other_, a), "AB12CDE");
}

}  // namespace
}  // namespace lanevault
