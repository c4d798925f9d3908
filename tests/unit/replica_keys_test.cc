// Replicas on separate machines (issue 32): two Vaults on one real
// PostgreSQL vault, each with its OWN key store file, handing KEKs and the
// access log's signing seed to each other over the real key hand-over
// service (mutual TLS on loopback, certificates by the dev PKI script).
// No key ever goes through the database.

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
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
#include "vault/period_keys.h"
#include "vault/vault.h"

namespace lanevault {
namespace {

class ReplicaKeysTest : public testing::ReplicaKeysFixture {
 protected:
  // A record whose plate text is due in another retention period than the
  // fixture's records, taken by `v`: a new KEK, made by `v`.
  v1::Record TakeInANewPeriod(vault::Vault& v, absl::string_view plate) {
    v1::Record r = MakeRecord(plate);
    *r.mutable_items(0)->mutable_deadline() =
        ToProto(clock_.Now() + absl::Hours(24 * 90));
    absl::Status s = v.Intake(r, Entry(v1::ACTION_INTAKE, r.record_id()));
    EXPECT_TRUE(s.ok()) << s;
    return r;
  }

  // B seals `plate` under a new period's KEK while A is down; A starts
  // again with every fetch failing (the peer does not answer), so A lacks
  // that KEK. Returns the record and A's first read of it.
  std::pair<v1::Record, absl::StatusOr<std::string>> SealedUnderAKekALacks(
      absl::string_view plate) {
    Take(*a_.vault, "SEEN000");
    Stop(a_);  // a clean stop: B does not wait for it
    v1::Record later = TakeInANewPeriod(*b_.vault, plate);
    fetches_fail_at_next_start_ = 1000;
    Start(a_, "replica-a");
    absl::StatusOr<std::string> read = ReadPlate(*a_.vault, later.record_id());
    return {std::move(later), std::move(read)};
  }

  // Reads `id` on `r` until it opens (a fetch elsewhere may still be
  // bringing its KEK), for up to 20 s; the last answer.
  absl::StatusOr<std::string> ReadPlateOnceFetched(Replica& r,
                                                   const std::string& id) {
    absl::StatusOr<std::string> read = ReadPlate(*r.vault, id);
    for (int i = 0; i < 200 && absl::IsUnavailable(read.status()); ++i) {
      absl::SleepFor(absl::Milliseconds(100));
      read = ReadPlate(*r.vault, id);
    }
    return read;
  }

  // A sync on `fetching` asks the peer again for what A lacks, and the
  // fetch hangs there until ReleaseFetches.
  void StartAHeldFetch(std::thread& fetching) {
    a_.hooked->HoldFetches();
    a_.hooked->failing_fetches = 0;
    // The same missing version is asked for again after a minute.
    clock_.Advance(absl::Minutes(2));
    fetching = std::thread([this] { (void)a_.vault->SyncReplicaKeys(); });
  }
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
  const v1::Record later = TakeInANewPeriod(*a_.vault, "LL22LLL");
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

// Both replicas meet a new day at once, each taking a record due then: each
// makes the day's KEK and hands it to the other before sealing. Neither
// may hold its own key state while waiting for the other to take its key,
// or each hand-over waits for the other until both time out (and a
// replica whose heartbeat waits too can age out of the live set, so a key
// is shared without it). Both intakes are stored, and each replica's own
// key store holds every KEK an item is wrapped under.
TEST_F(ReplicaKeysTest, BothMakingADaysKeyAtOnceBothStoreAndBothHoldIt) {
  for (int day = 1; day <= 3; ++day) {
    v1::Record on_a = MakeRecord(absl::StrCat("DAY", day, "AAA"));
    v1::Record on_b = MakeRecord(absl::StrCat("DAY", day, "BBB"));
    for (v1::Record* r : {&on_a, &on_b}) {
      *r->mutable_items(0)->mutable_deadline() =
          ToProto(clock_.Now() + absl::Hours(24 * (40 + day)));
    }
    absl::Notification go;
    absl::Status status_a, status_b;
    std::thread ta([&] {
      go.WaitForNotification();
      status_a =
          a_.vault->Intake(on_a, Entry(v1::ACTION_INTAKE, on_a.record_id()));
    });
    std::thread tb([&] {
      go.WaitForNotification();
      status_b =
          b_.vault->Intake(on_b, Entry(v1::ACTION_INTAKE, on_b.record_id()));
    });
    go.Notify();
    ta.join();
    tb.join();
    EXPECT_TRUE(status_a.ok()) << "day " << day << ": " << status_a;
    EXPECT_TRUE(status_b.ok()) << "day " << day << ": " << status_b;
  }
  const std::vector<uint32_t> in_use = VersionsInUse(*a_.vault);
  ASSERT_FALSE(in_use.empty());
  for (Replica* r : {&a_, &b_}) {
    absl::StatusOr<std::vector<vault::StoredKek>> held =
        r->vault->HeldKeks(in_use);
    ASSERT_TRUE(held.ok()) << held.status();
    EXPECT_EQ(held->size(), in_use.size())
        << r->name << " lacks a KEK a stored item is wrapped under";
  }
}

// Another replica rotates the keys while this one hands a new day's KEK
// over (the push waits on the peer; the rotation reaches this replica by
// its heartbeat's sync meanwhile). The KEK of the old generation must not
// become the day's key when the hand-over returns: the intake is answered
// UNAVAILABLE (try again), and the retry seals under the new generation.
TEST_F(ReplicaKeysTest, ARotationDuringAHandOverIsNotUndone) {
  v1::Record r = MakeRecord("ROT1234");
  *r.mutable_items(0)->mutable_deadline() =
      ToProto(clock_.Now() + absl::Hours(24 * 60));
  uint32_t rotated_to = 0;
  a_.hooked->before_push = [&] {
    auto g = b_.vault->RotateKeys(Entry(v1::ACTION_ROTATE_KEYS, ""));
    ASSERT_TRUE(g.ok()) << g.status();
    rotated_to = *g;
    ASSERT_TRUE(a_.vault->SyncReplicaKeys().ok());
  };
  absl::Status first =
      a_.vault->Intake(r, Entry(v1::ACTION_INTAKE, r.record_id()));
  ASSERT_GT(rotated_to, 0u) << "no hand-over happened";
  EXPECT_TRUE(absl::IsUnavailable(first)) << first;
  absl::Status retry =
      a_.vault->Intake(r, Entry(v1::ACTION_INTAKE, r.record_id()));
  ASSERT_TRUE(retry.ok()) << retry;
  const std::vector<uint32_t> in_use = VersionsInUse(*a_.vault);
  absl::StatusOr<std::vector<vault::StoredKek>> keks =
      a_.vault->HeldKeks(in_use);
  ASSERT_TRUE(keks.ok()) << keks.status();
  ASSERT_FALSE(keks->empty());
  for (const vault::StoredKek& k : *keks) {
    EXPECT_EQ(k.generation, rotated_to)
        << "an item is sealed under key version " << k.version
        << " of a generation rotated away";
  }
}

// A replica that was down starts while the peer that made a KEK does not
// answer its fetch: an item under that KEK reads as UNAVAILABLE (try
// again), not as data loss, and raises no damage alert; it opens once the
// KEK arrives.
TEST_F(ReplicaKeysTest, AKekNotFetchedYetIsUnavailableNotDamage) {
  auto [later, read] = SealedUnderAKekALacks("WAIT123");
  EXPECT_TRUE(absl::IsUnavailable(read.status())) << read.status();
  auto alerts = a_.vault->oversight().Alerts(true);
  ASSERT_TRUE(alerts.ok()) << alerts.status();
  for (const vault::AlertRow& alert : *alerts) {
    EXPECT_NE(alert.kind, "data_loss") << alert.message;
  }
  // The peer answers again: the next start fetches the KEK.
  Stop(a_);
  Start(a_, "replica-a");
  EXPECT_EQ(ReadPlate(*a_.vault, later.record_id()).value_or(""), "WAIT123");
}

// A peer that hangs holds up nothing but the fetch: while a fetch of the
// KEK a read needs is open, the read answers UNAVAILABLE at once (it is
// not the reader's to wait on another machine: a quota-limited read runs
// inside the quota ledger's lock), and another sync (the heartbeat, which
// the other replicas wait for) neither waits nor fetches twice.
TEST_F(ReplicaKeysTest, APeerThatHangsHoldsUpNoReadAndNoHeartbeat) {
  auto [later, read] = SealedUnderAKekALacks("HANG123");
  ASSERT_TRUE(absl::IsUnavailable(read.status())) << read.status();
  std::thread fetching, reader, beat;
  // Whatever fails below, the peer answers and every thread ends.
  absl::Cleanup let_go = [&] {
    a_.hooked->ReleaseFetches();
    for (std::thread* t : {&fetching, &reader, &beat}) {
      if (t->joinable()) t->join();
    }
  };
  StartAHeldFetch(fetching);
  ASSERT_TRUE(a_.hooked->AwaitFetchHeld(absl::Seconds(30)))
      << "no fetch reached the peer";

  absl::Notification answered, synced;
  absl::StatusOr<std::string> during = absl::UnknownError("not read");
  absl::Status sync = absl::UnknownError("not synced");
  reader = std::thread([&] {
    during = ReadPlate(*a_.vault, later.record_id());
    answered.Notify();
  });
  beat = std::thread([&] {
    sync = a_.vault->SyncReplicaKeys();
    synced.Notify();
  });
  const bool read_returned =
      answered.WaitForNotificationWithTimeout(absl::Seconds(20));
  const bool sync_returned =
      synced.WaitForNotificationWithTimeout(absl::Seconds(20));
  EXPECT_EQ(a_.hooked->FetchesHeld(), 1) << "a second fetch was started";
  std::move(let_go).Invoke();
  EXPECT_TRUE(read_returned) << "a read waited for a peer that hangs";
  EXPECT_TRUE(sync_returned) << "a heartbeat waited for another's fetch";
  EXPECT_TRUE(absl::IsUnavailable(during.status())) << during.status();
  EXPECT_TRUE(sync.ok()) << sync;
  // The peer answered in the end: the KEK is here and the record opens.
  EXPECT_EQ(ReadPlateOnceFetched(a_, later.record_id()).value_or(""),
            "HANG123");
}

// A KEK destroyed while a fetch of it is on its way (the role holder
// rotated it out, or someone wrote the registry) is not written to the key
// store when it arrives: what the peer hands over is checked against the
// registry as it stands then, not as it stood before the call.
TEST_F(ReplicaKeysTest, AKekDestroyedDuringItsFetchIsNotTakenIn) {
  auto [later, read] = SealedUnderAKekALacks("GONE123");
  ASSERT_TRUE(absl::IsUnavailable(read.status())) << read.status();
  const std::vector<uint32_t> on_b = VersionsInUse(*b_.vault);
  absl::StatusOr<std::vector<vault::StoredKek>> b_holds =
      b_.vault->HeldKeks(on_b);
  ASSERT_TRUE(b_holds.ok()) << b_holds.status();
  absl::StatusOr<std::vector<vault::StoredKek>> a_holds =
      a_.vault->HeldKeks(on_b);
  ASSERT_TRUE(a_holds.ok()) << a_holds.status();
  ASSERT_EQ(b_holds->size(), a_holds->size() + 1) << "A lacks one KEK";
  std::string wrapped;
  uint32_t version = 0;
  for (const vault::StoredKek& k : *b_holds) {
    if (!KeyStoreHolds(a_, k.wrapped)) wrapped = k.wrapped, version = k.version;
  }
  ASSERT_FALSE(wrapped.empty());

  // A's own heartbeat stops, so the one fetch is the test's and has taken
  // in what it will once it returns.
  a_.server->Shutdown();
  std::thread fetching;
  absl::Cleanup let_go = [&] {
    a_.hooked->ReleaseFetches();
    if (fetching.joinable()) fetching.join();
  };
  StartAHeldFetch(fetching);
  ASSERT_TRUE(a_.hooked->AwaitFetchHeld(absl::Seconds(30)));
  Sql(absl::StrCat("UPDATE kek_registry SET destroyed_us = 1 WHERE version = ",
                   version));
  std::move(let_go).Invoke();
  EXPECT_FALSE(KeyStoreHolds(a_, wrapped))
      << "a KEK destroyed during its fetch was written to A's key store";
}

// Awaited only for a while: a KEK no peer hands over for longer than the
// grace is lost, and its items' reads are damage (DATA_LOSS, the alert).
TEST_F(ReplicaKeysTest, AKekMissingPastTheGraceIsDamage) {
  auto [later, read] = SealedUnderAKekALacks("LOST123");
  EXPECT_TRUE(absl::IsUnavailable(read.status())) << read.status();
  // Just past the grace, and within the same UTC day, so no period ends
  // and nothing but the grace decides the read.
  const int64_t day = vault::PeriodKeys::DayOf(clock_.Now());
  clock_.Advance(vault::PeriodKeys::kFetchGrace + absl::Minutes(1));
  ASSERT_EQ(vault::PeriodKeys::DayOf(clock_.Now()), day);
  ASSERT_GT(a_.hooked->failing_fetches, 0)
      << "the failing fetches ran out: the peer would answer";
  EXPECT_TRUE(a_.vault->SyncReplicaKeys().ok());
  read = ReadPlate(*a_.vault, later.record_id());
  EXPECT_TRUE(absl::IsDataLoss(read.status())) << read.status();
  auto alerts = a_.vault->oversight().Alerts(true);
  ASSERT_TRUE(alerts.ok()) << alerts.status();
  bool damage = false;
  for (const vault::AlertRow& alert : *alerts) {
    if (alert.kind == "data_loss") damage = true;
  }
  EXPECT_TRUE(damage) << "the lost KEK's read raised no data_loss alert";
}

}  // namespace
}  // namespace lanevault
