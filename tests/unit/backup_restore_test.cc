// Backup and restore that keep ciphertext ciphertext: an online backup
// taken while intake goes on holds every acknowledged record and a log that
// verifies; a restore checks the file first, keeps the current database
// aside, accepts the older log on purpose and says what was lost; a period
// key destroyed after the backup keeps its items unopenable; the backup
// holds no key. Real SQLite files, a real key store, a real vault.

#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "crypto/master_key.h"
#include "gtest/gtest.h"
#include "testing/test_util.h"
#include "testing/vault_fixture.h"
#include "tlog/log_verifier.h"
#include "vault/vault_restore.h"

namespace lanevault::vault {
namespace {

using testing::FileBytes;

namespace fs = std::filesystem;

class BackupRestoreTest : public testing::VaultFixture {
 protected:
  VaultOptions Options() override {
    VaultOptions o = VaultFixture::Options();
    o.state_dir = dir_.Join("state");
    return o;
  }
  std::string key_store() const { return db_path() + ".keys"; }

  v1::Record Take(absl::Duration keep) {
    v1::Record r = MakeRecord("KXR4821", "a face crop", keep);
    *r.mutable_items(0)->mutable_deadline() = r.items(1).deadline();
    EXPECT_TRUE(
        vault_->Intake(r, Entry(v1::ACTION_INTAKE, r.record_id())).ok());
    return r;
  }
  absl::StatusOr<BackupCopy> BackUp(const std::string& dest) {
    return vault_->Backup(dest, Entry(v1::ACTION_BACKUP, ""));
  }
  absl::StatusOr<v1::Record> ReadAll(const v1::Record& r, Vault& v) {
    return v.Read(r.record_id(), {},
                  Entry(v1::ACTION_READ_RECORD, r.record_id()));
  }
  // Puts the backup in place of the stopped vault's database.
  absl::StatusOr<std::unique_ptr<Vault>> Restore(const std::string& backup,
                                                 RestoreReport* report) {
    vault_.reset();
    return RestoreFromBackup(Options(), backup, report);
  }
  // The auditor's check, on the vault's whole log: every entry recomputed
  // into the newest signed root, consistent with `previous` (a note).
  void VerifyLog(Vault& v, const std::string& previous) {
    auto cp = v.log().SignCheckpoint();
    ASSERT_TRUE(cp.ok()) << cp.status();
    v1::AuditExport exported;
    *exported.mutable_checkpoint() = *cp;
    auto leaves = v.log().LeafData(0, cp->tree_size());
    ASSERT_TRUE(leaves.ok()) << leaves.status();
    for (const std::string& l : *leaves) exported.add_leaf_data(l);
    auto source = tlog::ExportAuditLogSource(exported);
    ASSERT_TRUE(source.ok());
    tlog::VerifyOptions options;
    options.verifier_key = v.log().VerifierKey();
    options.previous_checkpoint = previous;
    options.full = true;
    auto report = tlog::VerifyAuditLog(**source, options);
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_TRUE(report->full);
  }
  std::vector<v1::AuditEntry> EntriesWith(Vault& v, absl::string_view reason) {
    std::vector<v1::AuditEntry> out;
    auto entries = v.log().Entries(0, v.log().Size());
    EXPECT_TRUE(entries.ok());
    if (!entries.ok()) return out;
    for (const v1::AuditEntry& e : *entries) {
      if (e.reason_code() == reason) out.push_back(e);
    }
    return out;
  }
};

TEST_F(BackupRestoreTest, BackupMidIntakeRestoredVerifiesCountsAndPurges) {
  // Intake runs on two threads while the backup is taken. Faces are kept
  // one hour, plates thirty days.
  absl::Mutex mu;
  std::vector<std::string> acknowledged;  // in acknowledgement order
  std::atomic<bool> stop{false};
  std::vector<std::thread> lanes;
  for (int t = 0; t < 2; ++t) {
    lanes.emplace_back([&] {
      while (!stop) {
        v1::Record r = MakeRecord("KXR4821", "a face crop", absl::Hours(1));
        if (vault_->Intake(r, Entry(v1::ACTION_INTAKE, r.record_id())).ok()) {
          absl::MutexLock lock(&mu);
          acknowledged.push_back(r.record_id());
        }
      }
    });
  }
  auto acked = [&] {
    absl::MutexLock lock(&mu);
    return acknowledged;
  };
  while (acked().size() < 200)
    std::this_thread::sleep_for(
        absl::ToChronoMilliseconds(absl::Milliseconds(2)));
  const std::vector<std::string> before = acked();
  const std::string backup = dir_.Join("backup.db");
  auto copy = BackUp(backup);
  ASSERT_TRUE(copy.ok()) << copy.status();
  const std::vector<std::string> after = acked();
  while (acked().size() < after.size() + 100)
    std::this_thread::sleep_for(
        absl::ToChronoMilliseconds(absl::Milliseconds(2)));
  stop = true;
  for (std::thread& t : lanes) t.join();
  const std::vector<std::string> all = acked();

  // What the backup says it holds is what it holds.
  struct stat st;
  ASSERT_EQ(::stat(backup.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(copy->bytes, static_cast<uint64_t>(st.st_size));
  EXPECT_FALSE(fs::exists(backup + "-wal"));  // one self-contained file
  EXPECT_EQ(static_cast<int64_t>(copy->records),
            testing::QueryInt(backup, "SELECT COUNT(*) FROM records"));
  EXPECT_EQ(static_cast<int64_t>(copy->tree_size),
            testing::QueryInt(backup, "SELECT COUNT(*) FROM audit_log"));
  EXPECT_EQ(copy->items, 2 * copy->records);
  // Every record in it has its intake entry, and no intake entry lacks its
  // record: one commit's state.
  EXPECT_EQ(copy->records, copy->intake_entries);
  EXPECT_GE(copy->records, before.size());
  EXPECT_LE(copy->records, after.size() + 2);  // at most a commit in flight
  for (const std::string& id : before) {
    EXPECT_EQ(testing::QueryInt(backup, absl::StrCat("SELECT COUNT(*) FROM "
                                                     "records WHERE "
                                                     "record_id = '",
                                                     id, "'")),
              1)
        << id << " was acknowledged before the backup and is not in it";
  }
  EXPECT_FALSE(copy->checkpoint.empty());
  EXPECT_LE(copy->checkpoint_size, copy->tree_size);
  // The backup itself is logged in the live log, naming file and head.
  auto live = vault_->log().Entries(0, vault_->log().Size());
  ASSERT_TRUE(live.ok());
  std::vector<v1::AuditEntry> backups;
  for (const v1::AuditEntry& e : *live) {
    if (e.action() == v1::ACTION_BACKUP) backups.push_back(e);
  }
  ASSERT_EQ(backups.size(), 1u);
  EXPECT_NE(backups[0].detail().find(backup), std::string::npos);
  EXPECT_NE(
      backups[0].detail().find(absl::StrCat("tree size ", copy->tree_size)),
      std::string::npos)
      << backups[0].detail();
  // Never over an existing file.
  EXPECT_EQ(BackUp(backup).status().code(), absl::StatusCode::kAlreadyExists);

  // A day later the vault is restored from it: the faces' period (today)
  // has ended meanwhile, and nothing was swept.
  const int64_t keks_before =
      testing::QueryInt(key_store(), "SELECT COUNT(*) FROM keks");
  ASSERT_EQ(keks_before, 2);  // the faces' day, the plates' day
  clock_.Advance(absl::Hours(24));
  RestoreReport report;
  auto restored = Restore(backup, &report);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(report.backup_tree_size, copy->tree_size);
  EXPECT_EQ(report.backup_root, copy->root);
  EXPECT_EQ(report.backup_records, copy->records);
  EXPECT_GT(report.anchor_size, copy->tree_size);  // the entries lost
  ASSERT_FALSE(report.set_aside.empty());
  EXPECT_EQ(testing::QueryInt(report.set_aside, "SELECT COUNT(*) FROM records"),
            static_cast<int64_t>(all.size()));  // kept, not deleted
  auto count = (*restored)->RecordCount();
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, copy->records);
  // Logged, naming both heads, and a critical alert.
  std::vector<v1::AuditEntry> entries =
      EntriesWith(**restored, "restored_from_backup");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_NE(entries[0].detail().find(
                absl::StrCat("tree size ", copy->tree_size, " root ",
                             absl::Base64Escape(copy->root))),
            std::string::npos)
      << entries[0].detail();
  EXPECT_NE(
      entries[0].detail().find(absl::StrCat("tree size ", report.anchor_size)),
      std::string::npos);
  EXPECT_EQ(EntriesWith(**restored, "rollback_accepted").size(), 1u);
  auto alerts = (*restored)->oversight().Alerts(true);
  ASSERT_TRUE(alerts.ok());
  bool alerted = false;
  for (const AlertRow& a : *alerts) {
    alerted |= a.kind == "restored_from_backup" && a.severity == "critical";
  }
  EXPECT_TRUE(alerted);
  // The restored log verifies, and extends the backup's signed checkpoint.
  VerifyLog(**restored, copy->checkpoint);

  // At start the maintainer catches up: every face passed its deadline
  // while in the backup and is purged at once; the plates stay.
  (*restored)->StartMaintenance();
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  int64_t faces = -1;
  while (absl::Now() < give_up) {
    faces = testing::QueryInt(
        db_path(),
        absl::StrCat("SELECT COUNT(*) FROM items WHERE category = ",
                     static_cast<int>(v1::DATA_CATEGORY_FACE_IMAGE)));
    if (faces == 0) break;
    std::this_thread::sleep_for(
        absl::ToChronoMilliseconds(absl::Milliseconds(20)));
  }
  EXPECT_EQ(faces, 0);
  // And the faces' period key goes, logged, once nothing uses it.
  while (absl::Now() < give_up &&
         testing::QueryInt(key_store(), "SELECT COUNT(*) FROM keks") != 1) {
    std::this_thread::sleep_for(
        absl::ToChronoMilliseconds(absl::Milliseconds(20)));
  }
  (*restored)->StopMaintenance();
  EXPECT_EQ(testing::QueryInt(key_store(), "SELECT COUNT(*) FROM keks"), 1);
  EXPECT_EQ(EntriesWith(**restored, "key_destroyed").size(), 1u);
  EXPECT_EQ(testing::QueryInt(db_path(), "SELECT COUNT(*) FROM items"),
            static_cast<int64_t>(copy->records));
  auto read = (*restored)->Read(before[0], {},
                                Entry(v1::ACTION_READ_RECORD, before[0]));
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->items_size(), 1);
  EXPECT_EQ(read->items(0).category(), v1::DATA_CATEGORY_PLATE_TEXT);
  EXPECT_EQ(read->items(0).content(), "KXR4821");
  VerifyLog(**restored, copy->checkpoint);

  // And the restored vault starts again as any vault does.
  restored->reset();
  Reopen();
  EXPECT_EQ(*vault_->RecordCount(), copy->records);
}

// The copy goes a step at a time: intake commits while it runs, instead of
// waiting for the whole copy. (No step held the store's lock for 20 ms on
// a 150 MiB vault; the slowest intake meanwhile, ~100 ms, waited on the
// disk the copy was written to.)
TEST_F(BackupRestoreTest, IntakeGoesOnWhileABackupRuns) {
  const std::string face(256 << 10, 'f');  // ~40 steps of 4 MiB in all
  for (int i = 0; i < 600; ++i) {
    v1::Record r = MakeRecord("KXR4821", face, absl::Hours(24));
    ASSERT_TRUE(vault_->Intake(r, Entry(v1::ACTION_INTAKE, "")).ok());
  }
  std::atomic<bool> backing_up{false};
  std::atomic<bool> done{false};
  std::atomic<int> during{0};
  absl::Duration slowest;
  absl::Duration slowest_otherwise;  // before and after
  std::thread lane([&] {
    while (!done) {
      v1::Record r = MakeRecord("KXR4821", "a face crop", absl::Hours(24));
      const absl::Time start = absl::Now();
      ASSERT_TRUE(vault_->Intake(r, Entry(v1::ACTION_INTAKE, "")).ok());
      if (backing_up) {
        ++during;
        slowest = std::max(slowest, absl::Now() - start);
      } else {
        slowest_otherwise = std::max(slowest_otherwise, absl::Now() - start);
      }
    }
  });
  std::this_thread::sleep_for(
      absl::ToChronoMilliseconds(absl::Milliseconds(300)));
  backing_up = true;
  const absl::Time start = absl::Now();
  auto copy = BackUp(dir_.Join("backup.db"));
  const absl::Duration took = absl::Now() - start;
  backing_up = false;
  std::this_thread::sleep_for(
      absl::ToChronoMilliseconds(absl::Milliseconds(300)));
  done = true;
  lane.join();
  ASSERT_TRUE(copy.ok()) << copy.status();
  EXPECT_GT(copy->bytes, 150u << 20);
  EXPECT_GE(during.load(), 2) << "intake waited for the whole copy";
  std::printf(
      "backup of %.0f MiB took %s; %d intakes committed meanwhile, "
      "the slowest in %s (%s before and after)\n",
      static_cast<double>(copy->bytes) / (1 << 20),
      absl::FormatDuration(took).c_str(), during.load(),
      absl::FormatDuration(slowest).c_str(),
      absl::FormatDuration(slowest_otherwise).c_str());
}

TEST_F(BackupRestoreTest, APeriodKeyDestroyedAfterTheBackupKeepsItsItemsShut) {
  std::vector<v1::Record> doomed;
  for (int i = 0; i < 5; ++i) doomed.push_back(Take(absl::Hours(2)));
  v1::Record kept = Take(absl::Hours(24 * 5));
  const std::string backup = dir_.Join("backup.db");
  ASSERT_TRUE(BackUp(backup).ok());

  // The period ends; its items are purged and its key destroyed.
  clock_.Advance(absl::Hours(17));
  auto purged = vault_->SweepExpired();
  ASSERT_TRUE(purged.ok()) << purged.status();
  EXPECT_EQ(purged->items, 10u);
  EXPECT_EQ(testing::QueryInt(key_store(), "SELECT COUNT(*) FROM keks"), 1);

  // Restored, with the clock even put back so that nothing looks expired:
  // the backup holds the items' ciphertext, and nothing opens it.
  clock_.Set(testing::kStart);
  auto restored = Restore(backup, nullptr);
  ASSERT_TRUE(restored.ok()) << restored.status();
  for (const v1::Record& r : doomed) {
    auto read = ReadAll(r, **restored);
    EXPECT_EQ(read.status().code(), absl::StatusCode::kDataLoss)
        << read.status();
  }
  auto live = ReadAll(kept, **restored);
  ASSERT_TRUE(live.ok()) << live.status();
  EXPECT_EQ(live->items_size(), 2);

  // With the clock right, the maintainer purges them at start, and they
  // answer as gone.
  restored->reset();
  clock_.Set(testing::kStart + absl::Hours(17));
  Reopen();
  vault_->StartMaintenance();
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (absl::Now() < give_up &&
         testing::QueryInt(db_path(), "SELECT COUNT(*) FROM items") != 2) {
    std::this_thread::sleep_for(
        absl::ToChronoMilliseconds(absl::Milliseconds(20)));
  }
  vault_->StopMaintenance();
  for (const v1::Record& r : doomed) {
    EXPECT_TRUE(IsGone(vault_->Describe(r.record_id()).status()));
  }
  EXPECT_TRUE(ReadAll(kept, *vault_).ok());
}

TEST_F(BackupRestoreTest, TheBackupHoldsNoKey) {
  for (int i = 0; i < 5; ++i) Take(absl::Hours(2 + 24 * i));
  const std::string backup = dir_.Join("backup.db");
  ASSERT_TRUE(BackUp(backup).ok());
  const std::string bytes = FileBytes(backup);
  ASSERT_FALSE(bytes.empty());
  // Every wrapped KEK in the key store, and the wrapped log seed.
  const int64_t keks =
      testing::QueryInt(key_store(), "SELECT COUNT(*) FROM keks");
  ASSERT_EQ(keks, 5);
  for (int64_t i = 0; i < keks; ++i) {
    const std::string wrapped = testing::QueryBlob(
        key_store(),
        absl::StrCat("SELECT wrapped FROM keks ORDER BY version LIMIT 1 "
                     "OFFSET ",
                     i));
    ASSERT_GE(wrapped.size(), 32u);
    EXPECT_EQ(bytes.find(wrapped), std::string::npos) << "KEK " << i;
    // Not even a piece of one.
    EXPECT_EQ(bytes.find(wrapped.substr(wrapped.size() / 2, 16)),
              std::string::npos);
  }
  const std::string seed = testing::QueryBlob(
      key_store(), "SELECT value FROM key_store_meta WHERE name = 'log_seed'");
  ASSERT_GE(seed.size(), 32u);
  EXPECT_EQ(bytes.find(seed), std::string::npos);
  EXPECT_EQ(bytes.find(seed.substr(seed.size() / 2, 16)), std::string::npos);
  const std::string master = FileBytes(dir_.Join("master.key"));
  ASSERT_EQ(master.size(), 32u);
  EXPECT_EQ(bytes.find(master), std::string::npos);
  // And the database's own key table is empty in it.
  EXPECT_EQ(testing::QueryInt(backup, "SELECT COUNT(*) FROM keks"), 0);
}

class RefusedBackupTest : public BackupRestoreTest {
 protected:
  void SetUp() override {
    BackupRestoreTest::SetUp();
    for (int i = 0; i < 30; ++i) kept_.push_back(Take(absl::Hours(24 * 5)));
    ASSERT_TRUE(BackUp(backup_).ok());
    Take(absl::Hours(24 * 5));  // the live vault moves on
  }
  // Refused, and nothing moved: the live vault opens as before.
  void ExpectRefused(const std::string& why) {
    RestoreReport report;
    auto restored = Restore(backup_, &report);
    EXPECT_EQ(restored.status().code(), absl::StatusCode::kDataLoss)
        << restored.status();
    EXPECT_NE(restored.status().message().find(why), std::string::npos)
        << restored.status();
    EXPECT_TRUE(report.set_aside.empty());
    for (const fs::directory_entry& f : fs::directory_iterator(dir_.Join(""))) {
      EXPECT_EQ(f.path().string().find("before-restore"), std::string::npos);
      EXPECT_EQ(f.path().string().find(".restoring"), std::string::npos);
    }
    Reopen();
    EXPECT_EQ(*vault_->RecordCount(), kept_.size() + 1);
  }
  const std::string backup_ = dir_.Join("backup.db");
  std::vector<v1::Record> kept_;
};

TEST_F(RefusedBackupTest, ADamagedFile) {
  // Garbage over the second page onward: a torn or bit-rotted copy.
  std::fstream f(backup_, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(4096 + 100);
  const std::string junk(8000, '\x5a');
  f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  f.close();
  ExpectRefused("is refused");
}

TEST_F(RefusedBackupTest, NotADatabaseAtAll) {
  std::ofstream(backup_, std::ios::trunc) << "not a database";
  ExpectRefused("is refused");
}

TEST_F(RefusedBackupTest, AnEntryRewrittenUnderItsCheckpoint) {
  // An intake entry rewritten in place; the stored tree left alone.
  testing::QueryInt(
      backup_,
      "UPDATE audit_log SET entry = CAST('rewritten' AS BLOB) WHERE "
      "sequence = (SELECT MIN(sequence) FROM audit_log) + 3 RETURNING 1");
  ExpectRefused("does not match its own newest signed checkpoint");
}

TEST_F(RefusedBackupTest, ATreeRewrittenUnderItsCheckpoint) {
  // The stored tree recomputed to something else than was signed.
  // Every node of index 0 (each kept last in the row of the entry that
  // completed it, sequence 2^level - 1) zeroed.
  testing::QueryInt(backup_,
                    "UPDATE audit_log SET nodes = CAST(substr(nodes, 1, "
                    "length(nodes) - 32) || zeroblob(32) AS BLOB) WHERE "
                    "(sequence & (sequence + 1)) = 0 AND nodes IS NOT NULL "
                    "RETURNING 1");
  ExpectRefused("does not match its own newest signed checkpoint");
}

TEST_F(RefusedBackupTest, ACheckpointNotSignedByTheLogKey) {
  testing::QueryInt(backup_,
                    "UPDATE audit_checkpoints SET note = replace(note, "
                    "'lanevault.dev/audit', 'lanevault.dev/forged') "
                    "RETURNING 1");
  ExpectRefused("does not match its own newest signed checkpoint");
}

TEST_F(BackupRestoreTest, RestoreRefusesWithoutTheKeyStore) {
  Take(absl::Hours(24 * 5));
  const std::string backup = dir_.Join("backup.db");
  ASSERT_TRUE(BackUp(backup).ok());
  vault_.reset();
  fs::rename(key_store(), dir_.Join("elsewhere.keys"));
  auto restored = RestoreFromBackup(Options(), backup);
  EXPECT_EQ(restored.status().code(), absl::StatusCode::kFailedPrecondition)
      << restored.status();
  EXPECT_FALSE(fs::exists(key_store()));  // no new, empty one made
}

TEST_F(BackupRestoreTest, RestoreRefusesWhileTheVaultIsInUse) {
  const std::string backup = dir_.Join("backup.db");
  ASSERT_TRUE(BackUp(backup).ok());
  auto restored = RestoreFromBackup(Options(), backup);
  EXPECT_EQ(restored.status().code(), absl::StatusCode::kFailedPrecondition)
      << restored.status();
}

}  // namespace
}  // namespace lanevault::vault
