#ifndef LANEVAULT_TESTS_TESTING_REPLICA_KEYS_FIXTURE_H_
#define LANEVAULT_TESTS_TESTING_REPLICA_KEYS_FIXTURE_H_

// Two Vaults on one real PostgreSQL vault, each with its OWN key store file,
// handing KEKs and the access log's signing seed to each other over the
// real key hand-over service (mutual TLS on loopback, certificates by the
// dev PKI script): the replicas of replica_keys_test and of the attacks
// replica_keys_attack_test plays on them.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "crypto/master_key.h"
#include "gtest/gtest.h"
#include "replica/key_hand_over_client.h"
#include "replica/key_hand_over_server.h"
#include "testing/postgres_server.h"
#include "testing/test_pki.h"
#include "testing/test_util.h"
#include "testing/vault_fixture.h"
#include "vault/postgres.h"
#include "vault/vault.h"

namespace lanevault::testing {

// The real hand-over, with a test's step run before each push (to play
// what happens elsewhere while a replica hands a new KEK over).
class HookedKeyPeers final : public vault::KeyPeers {
 public:
  explicit HookedKeyPeers(vault::KeyPeers* real) : real_(real) {}
  bool Configured(const vault::ReplicaPeer& peer) const override {
    return real_->Configured(peer);
  }
  absl::Status Push(const vault::ReplicaPeer& peer,
                    const std::vector<vault::StoredKek>& keks) override {
    if (before_push) std::exchange(before_push, nullptr)();
    return real_->Push(peer, keks);
  }
  absl::StatusOr<Fetched> Fetch(const vault::ReplicaPeer& peer,
                                const std::vector<uint32_t>& versions,
                                bool log_seed) override {
    for (int left = failing_fetches.load(); left > 0;) {
      if (failing_fetches.compare_exchange_weak(left, left - 1)) {
        return absl::UnavailableError("the test's peer does not answer");
      }
    }
    {
      // A peer that hangs: the call stays open until the test lets go.
      absl::MutexLock lock(&mu_);
      ++fetches_held_;
      mu_.Await(absl::Condition(
          +[](bool* hold) { return !*hold; }, &hold_));
    }
    return real_->Fetch(peer, versions, log_seed);
  }
  // From now on each fetch hangs, until ReleaseFetches.
  void HoldFetches() {
    absl::MutexLock lock(&mu_);
    hold_ = true;
    fetches_held_ = 0;
  }
  void ReleaseFetches() {
    absl::MutexLock lock(&mu_);
    hold_ = false;
  }
  // Fetches that reached the peer since HoldFetches.
  int FetchesHeld() {
    absl::MutexLock lock(&mu_);
    return fetches_held_;
  }
  // Whether a fetch reached the peer and hangs there, within `timeout`.
  bool AwaitFetchHeld(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(
        absl::Condition(
            +[](int* held) { return *held > 0; }, &fetches_held_),
        timeout);
  }
  std::function<void()> before_push;    // run once, before the next push
  std::atomic<int> failing_fetches{0};  // the next fetches fail

 private:
  vault::KeyPeers* const real_;
  absl::Mutex mu_;
  bool hold_ ABSL_GUARDED_BY(mu_) = false;
  int fetches_held_ ABSL_GUARDED_BY(mu_) = 0;
};

// The vault fixture's master key, clock and records; its own vault_ is not
// opened (each replica opens its own).
class ReplicaKeysFixture : public VaultFixture {
 protected:
  struct Replica {
    std::string name;
    std::string key_store;
    std::unique_ptr<replica::GrpcKeyPeers> peers;
    std::unique_ptr<HookedKeyPeers> hooked;
    std::unique_ptr<replica::KeyHandOverServer> server;
    std::unique_ptr<vault::Vault> vault;
  };

  void SetUp() override {
    LANEVAULT_REQUIRE_POSTGRES();
    postgres_ = PostgresServer::Shared()->NewSchema();
    ASSERT_FALSE(postgres_.empty());
    ASSERT_TRUE(crypto::MasterKey::CreateKeyFile(dir_.Join("master.key")).ok());
    MakeDevPki(dir_.Join("pki"));
    IssueCert(dir_.Join("pki"), "replica-a", ClientCert("replica-a", 2001));
    IssueCert(dir_.Join("pki"), "replica-b", ClientCert("replica-b", 2002));
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
    r.hooked = std::make_unique<HookedKeyPeers>(r.peers.get());
    r.hooked->failing_fetches = std::exchange(fetches_fail_at_next_start_, 0);
    o.key_peers = r.hooked.get();
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
      if (FileContains(r.key_store + suffix, bytes)) return true;
    }
    return false;
  }
  // The shared database, as anyone who can write to it sees it.
  vault::pg::Connection Db() {
    auto c = vault::pg::Connection::Open(postgres_);
    EXPECT_TRUE(c.ok()) << c.status();
    return std::move(*c);
  }
  void Sql(const std::string& q) {
    auto db = Db();
    auto r = db.Exec(q);
    ASSERT_TRUE(r.ok()) << q << ": " << r.status();
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
  // Fetches the next Start's replica makes that fail (at its start and
  // after).
  int fetches_fail_at_next_start_ = 0;
};

}  // namespace lanevault::testing

#endif  // LANEVAULT_TESTS_TESTING_REPLICA_KEYS_FIXTURE_H_
