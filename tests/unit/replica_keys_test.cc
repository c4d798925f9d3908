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
#include "testing/test_pki.h"
#include "testing/test_util.h"
#include "testing/vault_fixture.h"
#include "vault/vault.h"

namespace lanevault {
namespace {

// The vault fixture's master key, clock and records; its own vault_ is not
// opened (each replica opens its own).
class ReplicaKeysTest : public testing::VaultFixture {
 protected:
  struct Replica {
    std::string name;
    std::string key_store;
    std::unique_ptr<replica::GrpcKeyPeers> peers;
    std::unique_ptr<replica::KeyHandOverServer> server;
    std::unique_ptr<vault::Vault> vault;
  };

  void SetUp() override {
    LANEVAULT_REQUIRE_POSTGRES();
    postgres_ = testing::PostgresServer::Shared()->NewSchema();
    ASSERT_FALSE(postgres_.empty());
    ASSERT_TRUE(crypto::MasterKey::CreateKeyFile(dir_.Join("master.key")).ok());
    testing::MakeDevPki(dir_.Join("pki"));
    testing::IssueCert(dir_.Join("pki"), "replica-a",
                       testing::ClientCert("replica-a", 2001));
    testing::IssueCert(dir_.Join("pki"), "replica-b",
                       testing::ClientCert("replica-b", 2002));
    Start(a_, "replica-a");
    Start(b_, "replica-b");
  }
  void TearDown() override {
    Stop(b_);
    Stop(a_);
  }

  void Start(Replica& r, const std::string& name) {
    r.name = name;
    r.key_store = dir_.Join(name + ".keys");  // each on its own disk
    replica::KeyHandOverOptions so;
    so.listen = "127.0.0.1:0";
    so.tls.set_ca_cert(dir_.Join("pki/ca.pem"));
    so.tls.set_server_cert(dir_.Join("pki/server.pem"));
    so.tls.set_server_key(dir_.Join("pki/server.key"));
    so.replica_principals = {"replica-a", "replica-b"};
    auto server = replica::KeyHandOverServer::Start(so, RealClock());
    ASSERT_TRUE(server.ok()) << server.status();
    r.server = std::move(*server);
    auto peers = replica::GrpcKeyPeers::Create(
        dir_.Join("pki/ca.pem"), dir_.Join("pki/" + name + ".pem"),
        dir_.Join("pki/" + name + ".key"),
        {{"replica-a", "localhost"}, {"replica-b", "localhost"}});
    ASSERT_TRUE(peers.ok()) << peers.status();
    r.peers = std::move(*peers);
    vault::VaultOptions o;
    o.master_key_file = dir_.Join("master.key");
    o.clock = &clock_;
    o.postgres.conninfo = postgres_;
    o.key_store = r.key_store;
    o.key_peers = r.peers.get();
    o.replica = {absl::StrCat("127.0.0.1:", r.server->port()), name};
    o.log_seed_wait = absl::Seconds(5);
    auto v = vault::Vault::Open(o);
    ASSERT_TRUE(v.ok()) << v.status();
    r.vault = std::move(*v);
    r.server->Serve(r.vault.get());
  }
  void Stop(Replica& r) {
    if (r.server != nullptr) r.server->Shutdown();
    r.vault.reset();
    r.server.reset();
  }

  // The fixture's record with its plate text only: one KEK per day.
  v1::Record MakeRecord(absl::string_view plate) {
    v1::Record r = VaultFixture::MakeRecord(plate, "");
    r.mutable_items()->RemoveLast();
    return r;
  }
  std::string Take(vault::Vault& v, absl::string_view plate) {
    v1::Record r = MakeRecord(plate);
    absl::Status s = v.Intake(r, Entry(v1::ACTION_INTAKE, r.record_id()));
    EXPECT_TRUE(s.ok()) << s;
    return r.record_id();
  }
  absl::StatusOr<std::string> ReadPlate(vault::Vault& v,
                                        const std::string& id) {
    absl::StatusOr<v1::Record> got = v.Read(id, {v1::DATA_CATEGORY_PLATE_TEXT},
                                            Entry(v1::ACTION_READ_RECORD, id));
    if (!got.ok()) return got.status();
    if (got->items_size() != 1) return absl::InternalError("no plate item");
    return got->items(0).content();
  }
  // The key versions the stored items are wrapped under.
  std::vector<uint32_t> VersionsInUse(vault::Vault& v) {
    std::vector<uint32_t> out;
    auto used = v.ItemsPerKeyVersion();
    EXPECT_TRUE(used.ok()) << used.status();
    if (!used.ok()) return out;
    for (const auto& [version, items] : *used) {
      if (items > 0) out.push_back(version);
    }
    return out;
  }
  // Whether the key store file, or what SQLite keeps beside it, holds the
  // bytes.
  bool KeyStoreHolds(const Replica& r, const std::string& bytes) {
    for (const char* suffix : {"", "-wal", "-shm"}) {
      if (testing::FileContains(r.key_store + suffix, bytes)) return true;
    }
    return false;
  }
  Replica& Holder() { return a_.vault->HoldsReplicaRole() ? a_ : b_; }
  Replica& Standby() { return a_.vault->HoldsReplicaRole() ? b_ : a_; }
  // Re-wraps and destroys until the holder has nothing left to do.
  void RewrapAll(vault::Vault& holder) {
    for (int i = 0; i < 20; ++i) {
      absl::StatusOr<uint64_t> n = holder.RewrapStep(256);
      ASSERT_TRUE(n.ok()) << n.status();
      if (*n == 0) return;
    }
  }

  Replica a_, b_;
};

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
