// Retention that reaches every copy: an item's data key is wrapped by the
// KEK of its retention period (the UTC day of its deadline), kept in the key
// store apart from the database, and destroyed, logged, once the period has
// passed and no hold keeps it. A copy of the database taken before then
// cannot open the period's items afterwards, even with the master key.

#include <sys/stat.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "crypto/key_ring.h"
#include "crypto/master_key.h"
#include "gtest/gtest.h"
#include "testing/test_util.h"
#include "testing/vault_fixture.h"
#include "vault/kek_store.h"

namespace lanevault::vault {
namespace {

using testing::FileBytes;

namespace fs = std::filesystem;

class PeriodKeysTest : public testing::VaultFixture {
 protected:
  std::string key_store() const { return db_path() + ".keys"; }
  int64_t KeysInStore() {
    return testing::QueryInt(key_store(), "SELECT COUNT(*) FROM keks");
  }
  v1::Record Take(absl::Duration keep) {
    // Both items kept as long: one period.
    v1::Record r = MakeRecord("KXR4821", "a face crop", keep);
    *r.mutable_items(0)->mutable_deadline() = r.items(1).deadline();
    EXPECT_TRUE(
        vault_->Intake(r, Entry(v1::ACTION_INTAKE, r.record_id())).ok());
    return r;
  }
  absl::StatusOr<v1::Record> ReadAll(const v1::Record& r, Vault& v) {
    return v.Read(r.record_id(), {},
                  Entry(v1::ACTION_READ_RECORD, r.record_id()));
  }
  std::vector<v1::AuditEntry> Destructions() {
    AuditQuery q;
    q.limit = 1000;
    std::vector<v1::AuditEntry> out;
    auto entries = vault_->log().Query(q);
    EXPECT_TRUE(entries.ok());
    if (!entries.ok()) return out;
    for (const v1::AuditEntry& e : *entries) {
      if (e.reason_code() == "key_destroyed") out.push_back(e);
    }
    return out;
  }
};

TEST_F(PeriodKeysTest, ADayOfDeadlinesSharesOneKeyAndTheNextDayHasItsOwn) {
  // kStart is 08:00 UTC: +2 h and +10 h fall on the same day, +20 h on the
  // next.
  Take(absl::Hours(2));
  Take(absl::Hours(10));
  Take(absl::Hours(20));
  auto per = vault_->ItemsPerKeyVersion();
  ASSERT_TRUE(per.ok());
  ASSERT_EQ(per->size(), 2u);
  EXPECT_EQ((*per)[0].second, 4u);
  EXPECT_EQ((*per)[1].second, 2u);
  EXPECT_EQ(KeysInStore(), 2);
  // The database holds no key-encryption key; the key store is private.
  EXPECT_EQ(testing::QueryInt(db_path(), "SELECT COUNT(*) FROM keks"), 0);
  struct stat st;
  ASSERT_EQ(::stat(key_store().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 077, 0u);
}

TEST_F(PeriodKeysTest, ACopyTakenBeforeThePurgeCannotOpenItsItemsAfterward) {
  std::vector<v1::Record> doomed;
  for (int i = 0; i < 20; ++i) doomed.push_back(Take(absl::Hours(2)));
  v1::Record kept = Take(absl::Hours(24 * 5));
  const std::string doomed_kek = testing::QueryBlob(
      key_store(), "SELECT wrapped FROM keks ORDER BY version LIMIT 1");
  ASSERT_FALSE(doomed_kek.empty());

  // The copy: a backup, a snapshot, a stolen file, taken while the items
  // are live.
  vault_.reset();
  const std::string copy = dir_.Join("copy-of-vault.db");
  fs::copy_file(db_path(), copy);
  Reopen();

  // The period ends; the sweep purges its items and destroys its key.
  clock_.Advance(absl::Hours(17));  // 01:00 the next day
  auto purged = vault_->SweepExpired();
  ASSERT_TRUE(purged.ok()) << purged.status();
  EXPECT_EQ(purged->items, 40u);
  std::vector<v1::AuditEntry> destroyed = Destructions();
  ASSERT_EQ(destroyed.size(), 1u);
  EXPECT_EQ(destroyed[0].action(), v1::ACTION_PURGE);
  EXPECT_NE(destroyed[0].detail().find("retention period 2027-01-15"),
            std::string::npos)
      << destroyed[0].detail();
  EXPECT_EQ(KeysInStore(), 1);  // the kept record's period
  ASSERT_TRUE(ReadAll(kept, *vault_).ok());
  vault_.reset();
  // Neither the key store file nor its WAL holds the destroyed key.
  EXPECT_EQ(FileBytes(key_store()).find(doomed_kek), std::string::npos);
  EXPECT_EQ(FileBytes(key_store() + "-wal").find(doomed_kek),
            std::string::npos);

  // Now the holder of the copy tries, with the master key and the vault's
  // own code, with the clock put back so that nothing looks expired.
  FakeClock back(testing::kStart);
  VaultOptions o = Options();
  o.database = copy;
  o.key_store = key_store();
  o.clock = &back;
  auto from_copy = Vault::Open(o);
  ASSERT_TRUE(from_copy.ok()) << from_copy.status();
  for (const v1::Record& r : doomed) {
    auto read = ReadAll(r, **from_copy);
    EXPECT_FALSE(read.ok());
    EXPECT_EQ(read.status().code(), absl::StatusCode::kDataLoss)
        << read.status();
  }
  EXPECT_TRUE(ReadAll(kept, **from_copy).ok());  // its key still lives
  from_copy->reset();

  // And below the vault: every key the master key can unwrap (the master
  // key itself, and every KEK in the key store) against every sealed item
  // of the copy. None opens.
  auto master = crypto::MasterKey::LoadFromFile(dir_.Join("master.key"));
  ASSERT_TRUE(master.ok());
  crypto::KeyRing ring(std::move(*master));
  auto store = KekStore::Open(key_store());
  ASSERT_TRUE(store.ok());
  std::vector<uint32_t> versions = {0};
  auto keks = (*store)->Keks();
  ASSERT_TRUE(keks.ok());
  for (const StoredKek& k : *keks) {
    // Bound to its period: the same binding PeriodKeys uses.
    ASSERT_TRUE(ring.AddKek({k.version, k.wrapped},
                            absl::StrCat("period=", k.period_day,
                                         ";generation=", k.generation))
                    .ok());
    versions.push_back(k.version);
  }
  const int64_t sealed_items = testing::QueryInt(
      copy, absl::StrCat("SELECT COUNT(*) FROM items WHERE record_id IN (",
                         "SELECT record_id FROM records WHERE record_id <> '",
                         kept.record_id(), "')"));
  EXPECT_EQ(sealed_items, 40);
  for (const v1::Record& r : doomed) {
    for (const v1::Item& item : r.items()) {
      crypto::SealedItem sealed;
      sealed.wrapped_key = testing::QueryBlob(
          copy, absl::StrCat("SELECT wrapped_key FROM items WHERE item_id = '",
                             item.item_id(), "'"));
      sealed.ciphertext = testing::QueryBlob(
          copy, absl::StrCat("SELECT ciphertext FROM items WHERE item_id = '",
                             item.item_id(), "'"));
      const std::string ad = ItemAssociatedData(
          r.record_id(), item.item_id(), item.category(), r.contract_id(),
          r.contract_version(), FromProto(item.deadline()));
      for (uint32_t v : versions) {
        sealed.key_version = v;
        EXPECT_FALSE(ring.Open(sealed, ad).ok()) << "key version " << v;
      }
    }
  }
}

TEST_F(PeriodKeysTest, AHoldKeepsItsPeriodKeyUntilLifted) {
  v1::Record held = Take(absl::Hours(2));
  v1::Record other = Take(absl::Hours(2));
  auto hold = vault_->oversight().PlaceHold(
      "CASE-7", "court order", {held.record_id()},
      Entry(v1::ACTION_MANAGE_HOLD, held.record_id()));
  ASSERT_TRUE(hold.ok()) << hold.status();
  clock_.Advance(absl::Hours(20));
  auto purged = vault_->SweepExpired();
  ASSERT_TRUE(purged.ok());
  EXPECT_EQ(purged->items, 2u);  // the other record's
  EXPECT_TRUE(Destructions().empty());
  EXPECT_EQ(KeysInStore(), 1);
  auto read = vault_->Read(held.record_id(), {}, [&] {
    v1::AuditEntry e = Entry(v1::ACTION_READ_RECORD, held.record_id());
    e.set_case_id("CASE-7");
    return e;
  }());
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->items_size(), 2);

  ASSERT_TRUE(vault_->oversight()
                  .LiftHold(hold->hold_id, "case closed",
                            Entry(v1::ACTION_MANAGE_HOLD, held.record_id()))
                  .ok());
  purged = vault_->SweepExpired();
  ASSERT_TRUE(purged.ok());
  EXPECT_EQ(purged->items, 2u);
  EXPECT_EQ(Destructions().size(), 1u);
  EXPECT_EQ(KeysInStore(), 0);
}

TEST_F(PeriodKeysTest, TheDestructionReportIsTheVaultsOwnLogEntries) {
  Take(absl::Hours(2));
  // Someone names a KEK as a record id; the entry is theirs, not a
  // destruction.
  v1::AuditEntry forged = Entry(v1::ACTION_READ_RECORD, "kek:1");
  forged.set_reason_code("key_destroyed");
  forged.set_detail(
      "key version 1 destroyed (retention period x, generation 1)");
  ASSERT_TRUE(vault_->log().Append(forged).ok());
  clock_.Advance(absl::Hours(20));
  ASSERT_TRUE(vault_->SweepExpired().ok());
  auto page = vault_->DestroyedKeys(absl::InfinitePast(),
                                    absl::InfiniteFuture(), 0, 100);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->entries.size(), 1u);
  EXPECT_EQ(page->next_sequence, 0u);
  auto parsed = ParseKeyDestruction(page->entries[0]);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->version, 1u);
  EXPECT_EQ(parsed->retention_period, "2027-01-15");
  EXPECT_EQ(parsed->generation, 1u);
  EXPECT_FALSE(parsed->rotated);
  // A window that ends before it finds nothing.
  page = vault_->DestroyedKeys(absl::InfinitePast(), testing::kStart, 0, 100);
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->entries.empty());
}

TEST_F(PeriodKeysTest, AKeyIsNotDestroyedBeforeItsDayEndsNorAfterARestart) {
  v1::Record r = Take(absl::Hours(2));
  clock_.Advance(absl::Hours(3));  // past the deadline, same day
  ASSERT_EQ(vault_->SweepExpired()->items, 2u);
  EXPECT_TRUE(Destructions().empty());  // more of today may still arrive
  v1::Record late = Take(absl::Hours(1));
  EXPECT_EQ(KeysInStore(), 1);
  // The maintainer is told when the day ends.
  auto next = vault_->NextDeadline();
  ASSERT_TRUE(next.ok());
  EXPECT_LE(*next, absl::FromUnixSeconds(1'800'000'000 - 8 * 3600 + 86400));

  Reopen();
  clock_.Advance(absl::Hours(20));
  ASSERT_EQ(vault_->SweepExpired()->items, 2u);
  EXPECT_EQ(Destructions().size(), 1u);
  EXPECT_EQ(KeysInStore(), 0);
  Reopen();  // nothing left to destroy, nothing logged twice
  ASSERT_TRUE(vault_->SweepExpired().ok());
  EXPECT_EQ(Destructions().size(), 1u);
  EXPECT_FALSE(ReadAll(late, *vault_).ok());
}

TEST_F(PeriodKeysTest, AKeyMissingFromTheKeyStoreIsAlertedNotSilent) {
  Take(absl::Hours(2));
  Take(absl::Hours(24 * 3));
  EXPECT_EQ(*vault_->CheckKeysPresent(), 0u);
  vault_.reset();
  // Root deletes a live period's key from the key store.
  testing::ExecSql(key_store(), "DELETE FROM keks WHERE version = 2");
  Reopen();
  EXPECT_EQ(*vault_->CheckKeysPresent(), 1u);
  auto alerts = vault_->oversight().Alerts(false);
  ASSERT_TRUE(alerts.ok());
  ASSERT_FALSE(alerts->empty());
  EXPECT_EQ(alerts->back().kind, "key_missing");
  EXPECT_EQ(alerts->back().severity, "critical");
  EXPECT_NE(alerts->back().message.find("2 stored items"), std::string::npos)
      << alerts->back().message;
}

TEST_F(PeriodKeysTest, AMissingKeyStoreIsRefusedNotReplaced) {
  Take(absl::Hours(2));
  vault_.reset();
  fs::rename(key_store(), dir_.Join("elsewhere.keys"));
  fs::remove(key_store() + "-wal");
  auto refused = Vault::Open(Options());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition)
      << refused.status();
  EXPECT_NE(refused.status().message().find("is missing"), std::string::npos)
      << refused.status();
  EXPECT_FALSE(fs::exists(key_store()));  // no empty one made in its place
  VaultOptions keys_only = Options();
  keys_only.keys_only = true;  // --print_log_key would print a wrong key
  EXPECT_FALSE(Vault::Open(keys_only).ok());
  EXPECT_FALSE(fs::exists(key_store()));
}

TEST_F(PeriodKeysTest, AKeyStoreThatLostTheLogsKeyIsRefused) {
  Take(absl::Hours(2));
  vault_.reset();
  testing::ExecSql(key_store(),
                   "DELETE FROM key_store_meta WHERE name = 'log_seed'");
  auto refused = Vault::Open(Options());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition)
      << refused.status();
  EXPECT_NE(refused.status().message().find("signing key"), std::string::npos)
      << refused.status();
}

}  // namespace
}  // namespace lanevault::vault
