// Replicas on separate machines (issue 32): two Vaults on one real
// PostgreSQL vault, each with its OWN key store file, handing KEKs and the
// access log's signing seed to each other over the real key hand-over
// service (mutual TLS on loopback, certificates by the dev PKI script).
// No key ever goes through the database.

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/time_util.h"
#include "crypto/master_key.h"
#include "gtest/gtest.h"
#include "replica/key_hand_over_client.h"
#include "replica/key_hand_over_server.h"
#include "testing/postgres_server.h"
#include "testing/replica_keys_fixture.h"
#include "testing/test_pki.h"
#include "testing/test_util.h"
#include "vault/vault.h"

namespace lanevault {
namespace {

class ReplicaKeysTest : public testing::ReplicaKeysFixture {};

TEST_F(ReplicaKeysTest, EachOpensWhatTheOtherSealedAndSurvivesItsLoss) {
  const std::string from_a = Take(*a_.vault, "AB12CDE");
  const std::vector<uint32_t> made_on_a = VersionsInUse(*a_.vault);
  ASSERT_FALSE(made_on_a.empty());
  // A handed its new KEK to B before sealing with it: B's own key store
  // holds it, so B seals with it too and reads A's record.
  absl::StatusOr<std::vector<vault::StoredKek>> on_b =
      b_.vault->HeldKeks(made_on_a);
  ASSERT_TRUE(on_b.ok()) << on_b.status();
  EXPECT_EQ(on_b->size(), made_on_a.size());
  const std::string from_b = Take(*b_.vault, "XY98ZZZ");
  EXPECT_EQ(ReadPlate(*b_.vault, from_a).value_or(""), "AB12CDE");
  EXPECT_EQ(ReadPlate(*a_.vault, from_b).value_or(""), "XY98ZZZ");
  EXPECT_EQ(a_.vault->log().VerifierKey(), b_.vault->log().VerifierKey())
      << "B took the log's signing seed from A, not a new one";

  // A's machine is lost, its key store with it.
  const std::string lost = a_.key_store;
  Stop(a_);
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::remove((lost + suffix).c_str());
  }
  EXPECT_EQ(ReadPlate(*b_.vault, from_a).value_or(""), "AB12CDE");
  EXPECT_EQ(ReadPlate(*b_.vault, from_b).value_or(""), "XY98ZZZ");
}

TEST_F(ReplicaKeysTest, AReplicaThatWasDownFetchesWhatItLacksAtStart) {
  Take(*a_.vault, "AA11AAA");
  Stop(b_);  // a clean stop: A does not wait for it
  // A new period's KEK, made while B is down.
  v1::Record later = MakeRecord("LL22LLL");
  *later.mutable_items(0)->mutable_deadline() =
      ToProto(clock_.Now() + absl::Hours(24 * 90));
  ASSERT_TRUE(
      a_.vault->Intake(later, Entry(v1::ACTION_INTAKE, later.record_id()))
          .ok());
  const std::vector<uint32_t> versions = VersionsInUse(*a_.vault);
  ASSERT_EQ(versions.size(), 2u);
  Start(b_, "replica-b");  // its own key store, as it was
  absl::StatusOr<std::vector<vault::StoredKek>> held =
      b_.vault->HeldKeks(versions);
  ASSERT_TRUE(held.ok()) << held.status();
  EXPECT_EQ(held->size(), 2u) << "B fetched the KEK made while it was down";
  // And A's key store is not needed for B to open it.
  Stop(a_);
  EXPECT_EQ(ReadPlate(*b_.vault, later.record_id()).value_or(""), "LL22LLL");
}

TEST_F(ReplicaKeysTest, ADestroyedKeyLeavesEveryReplicasKeyStore) {
  const std::string id = Take(*a_.vault, "QQ55QQQ");
  const std::vector<uint32_t> old_versions = VersionsInUse(*a_.vault);
  ASSERT_EQ(old_versions.size(), 1u);
  absl::StatusOr<std::vector<vault::StoredKek>> old =
      a_.vault->HeldKeks(old_versions);
  ASSERT_TRUE(old.ok() && old->size() == 1) << old.status();
  const std::string wrapped = (*old)[0].wrapped;
  ASSERT_TRUE(KeyStoreHolds(a_, wrapped));
  ASSERT_TRUE(KeyStoreHolds(b_, wrapped));

  // A rotation retires the old generation: the holder re-wraps every data
  // key and destroys the old KEK, logged; the standby's copy goes when it
  // next looks at the registry.
  Replica& holder = Holder();
  Replica& standby = Standby();
  ASSERT_NE(&holder, &standby);
  ASSERT_TRUE(holder.vault->RotateKeys(Entry(v1::ACTION_ROTATE_KEYS, "")).ok());
  RewrapAll(*holder.vault);
  absl::StatusOr<vault::Vault::DestroyedKeysPage> destroyed =
      holder.vault->DestroyedKeys(absl::InfinitePast(), absl::InfiniteFuture(),
                                  0, 100);
  ASSERT_TRUE(destroyed.ok()) << destroyed.status();
  ASSERT_EQ(destroyed->entries.size(), 1u);
  EXPECT_EQ(destroyed->entries[0].record_id(),
            absl::StrCat("kek:", old_versions[0]));
  ASSERT_TRUE(standby.vault->SyncReplicaKeys().ok());

  EXPECT_FALSE(KeyStoreHolds(a_, wrapped)) << "still in " << a_.key_store;
  EXPECT_FALSE(KeyStoreHolds(b_, wrapped)) << "still in " << b_.key_store;
  // The record, re-wrapped under the new generation's KEK, opens on both.
  EXPECT_EQ(ReadPlate(*a_.vault, id).value_or(""), "QQ55QQQ");
  EXPECT_EQ(ReadPlate(*b_.vault, id).value_or(""), "QQ55QQQ");
}

TEST_F(ReplicaKeysTest, OnlyReplicasMayCallTheHandOver) {
  const std::string id = Take(*a_.vault, "KK11KKK");
  const std::vector<uint32_t> versions = VersionsInUse(*a_.vault);
  const uint64_t before = a_.vault->log().Size();
  auto inspector = replica::GrpcKeyPeers::Create(
      dir_.Join("pki/ca.pem"), dir_.Join("pki/inspector-dev.pem"),
      dir_.Join("pki/inspector-dev.key"), {{"replica-a", "localhost"}});
  ASSERT_TRUE(inspector.ok()) << inspector.status();
  const vault::ReplicaPeer a{absl::StrCat("127.0.0.1:", a_.server->port()),
                             "replica-a"};
  absl::StatusOr<vault::KeyPeers::Fetched> got =
      (*inspector)->Fetch(a, versions, /*log_seed=*/true);
  EXPECT_TRUE(absl::IsPermissionDenied(got.status())) << got.status();
  EXPECT_TRUE(
      absl::IsPermissionDenied((*inspector)->Push(a, {vault::StoredKek{}})));
  // Each refusal is in the access log, naming who was refused.
  auto entries = a_.vault->log().Entries(before, a_.vault->log().Size());
  ASSERT_TRUE(entries.ok()) << entries.status();
  int refused = 0;
  for (const v1::AuditEntry& e : *entries) {
    if (e.reason_code() == "not_a_replica") {
      EXPECT_EQ(e.principal(), "inspector-dev");
      EXPECT_EQ(e.verdict(), v1::VERDICT_DENY);
      ++refused;
    }
  }
  EXPECT_EQ(refused, 2);
  // A replica's certificate is served.
  absl::StatusOr<vault::KeyPeers::Fetched> ok =
      b_.peers->Fetch(a, versions, /*log_seed=*/true);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->keks.size(), versions.size());
  EXPECT_FALSE(ok->wrapped_log_seed.empty());
  EXPECT_EQ(ReadPlate(*b_.vault, id).value_or(""), "KK11KKK");
}

// The rotation race, driven deterministically: the standby seals a record
// under the old generation's KEK; before it commits, the holder rotates,
// re-wraps everything stored and destroys that KEK. The commit must then
// be refused by the fence and the record sealed again, never stored under
// the destroyed key.
TEST_F(ReplicaKeysTest, AnIntakeRacingTheDestructionOfItsKeyStillOpens) {
  Replica& holder = Holder();
  Replica& standby = Standby();
  ASSERT_NE(&holder, &standby);
  Take(*standby.vault, "WARM000");  // the standby holds the day's KEK
  const std::vector<uint32_t> old_versions = VersionsInUse(*holder.vault);
  ASSERT_EQ(old_versions.size(), 1u);
  int destroyed_before_commit = 0;
  standby.vault->SetBeforeCommitForTesting([&] {
    ASSERT_TRUE(
        holder.vault->RotateKeys(Entry(v1::ACTION_ROTATE_KEYS, "")).ok());
    RewrapAll(*holder.vault);
    auto destroyed = holder.vault->DestroyedKeys(
        absl::InfinitePast(), absl::InfiniteFuture(), 0, 100);
    ASSERT_TRUE(destroyed.ok()) << destroyed.status();
    destroyed_before_commit = static_cast<int>(destroyed->entries.size());
  });
  const std::string raced = Take(*standby.vault, "RACE123");
  ASSERT_EQ(destroyed_before_commit, 1)
      << "the old KEK was destroyed while the intake was between its "
         "sealing and its commit";
  for (uint32_t v : VersionsInUse(*holder.vault)) {
    EXPECT_NE(v, old_versions[0]) << "an item is stored under a destroyed KEK";
  }
  EXPECT_EQ(ReadPlate(*standby.vault, raced).value_or(""), "RACE123");
  EXPECT_EQ(ReadPlate(*holder.vault, raced).value_or(""), "RACE123");
}

}  // namespace
}  // namespace lanevault
