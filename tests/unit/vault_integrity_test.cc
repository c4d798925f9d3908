// Acknowledged means stored: one owner per vault, a resubmission told from a
// clash, and a database that was rolled back, truncated or damaged refused at
// start or taken out of service, never served as if whole.

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "crypto/digest.h"
#include "gtest/gtest.h"
#include "testing/test_util.h"
#include "testing/vault_fixture.h"
#include "tlog/checkpoint.h"
#include "tlog/merkle.h"
#include "vault/sqlite.h"

namespace lanevault::vault {
namespace {

namespace fs = std::filesystem;

// Root's edit: entry 2's principal changed, the whole tree recomputed over
// the edited entries.
void RewriteEntryTwoAndItsTree(const std::string& db_path) {
  {
    auto db = Database::Open(db_path);
    ASSERT_TRUE(db.ok()) << db.status();
    auto read =
        db->Prepare("SELECT sequence, entry FROM audit_log ORDER BY sequence");
    ASSERT_TRUE(read.ok());
    std::vector<std::pair<int64_t, std::string>> entries;
    ASSERT_TRUE(read->ForEachRow([&] {
                      entries.emplace_back(read->Int(0), read->Blob(1));
                      return absl::OkStatus();
                    })
                    .ok());
    ASSERT_GE(entries.size(), 3u);
    v1::AuditEntry e;
    ASSERT_TRUE(e.ParseFromString(entries[2].second));
    e.set_principal("someone-else");
    entries[2].second = e.SerializeAsString();
    auto write = db->Prepare(
        "UPDATE audit_log SET entry = ?, principal = ? WHERE sequence = ?");
    ASSERT_TRUE(write.ok());
    write->BindBlob(1, entries[2].second)
        .Bind(2, e.principal())
        .Bind(3, entries[2].first);
    ASSERT_TRUE(write->Run().ok());
    // The nodes each append completed live in its entry's row (schema
    // step 10), its leaf first.
    ASSERT_TRUE(db->Exec("DELETE FROM audit_nodes").ok());
    tlog::CompactRange tree;
    for (const auto& [seq, bytes] : entries) {
      std::string nodes;
      for (const auto& node : tree.Append(tlog::LeafHash(bytes))) {
        nodes += node.hash;
      }
      auto put =
          db->Prepare("UPDATE audit_log SET nodes = ? WHERE sequence = ?");
      ASSERT_TRUE(put.ok());
      put->BindBlob(1, nodes).Bind(2, seq);
      ASSERT_TRUE(put->Run().ok());
    }
  }
}

class VaultIntegrityTest : public testing::VaultFixture {
 protected:
  VaultOptions Options() override {
    VaultOptions o = VaultFixture::Options();
    o.state_dir = dir_.Join("state");
    return o;
  }
  v1::Record Take() {
    v1::Record r = MakeRecord("KXR4821", "face");
    EXPECT_TRUE(
        vault_->Intake(r, Entry(v1::ACTION_INTAKE, r.record_id())).ok());
    return r;
  }
  absl::Status OpenStatus() { return Vault::Open(Options()).status(); }
};

TEST_F(VaultIntegrityTest, ASecondOwnerOfTheSameVaultIsRefused) {
  Take();
  absl::Status second = OpenStatus();
  EXPECT_EQ(second.code(), absl::StatusCode::kFailedPrecondition) << second;
  EXPECT_NE(second.message().find("in use"), std::string::npos) << second;
  EXPECT_NE(second.message().find(absl::StrCat(getpid())), std::string::npos)
      << second;
  // The first owner is untouched, and the vault opens once it lets go.
  Take();
  vault_.reset();
  Reopen();
  EXPECT_EQ(*vault_->RecordCount(), 2u);
}

TEST_F(VaultIntegrityTest, ASecondOwnerIsRefusedThroughAnyLinkToTheFile) {
  Take();
  const std::string hard = dir_.Join("hard-link.db");
  const std::string soft = dir_.Join("soft-link.db");
  fs::create_hard_link(db_path(), hard);
  fs::create_symlink(db_path(), soft);
  for (const std::string& alias : {hard, soft}) {
    VaultOptions o = Options();
    o.database = alias;
    o.state_dir = dir_.Join("other-state");
    absl::Status second = Vault::Open(o).status();
    EXPECT_EQ(second.code(), absl::StatusCode::kFailedPrecondition)
        << alias << ": " << second;
  }
}

TEST_F(VaultIntegrityTest, ASecondOwnerIsRefusedFromAnotherProcessToo) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Fails while the parent holds the vault.
    _exit(Vault::Open(Options()).ok() ? 0 : 3);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_EQ(WEXITSTATUS(status), 3);
}

TEST_F(VaultIntegrityTest, OnlyTheSameSubmissionCountsAsAlreadyStored) {
  v1::Record r = MakeRecord("KXR4821", "face");
  const std::string digest = vault_->SubmissionDigest("the bytes sent");
  ASSERT_TRUE(
      vault_->Intake(r, Entry(v1::ACTION_INTAKE, r.record_id()), digest).ok());
  absl::Status again =
      vault_->Intake(r, Entry(v1::ACTION_INTAKE, r.record_id()), digest);
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists) << again;

  // The same id (same idempotency key) with other content is a clash.
  v1::Record other = MakeRecord("MVB7350", "other face");
  other.set_record_id(r.record_id());
  absl::Status clash =
      vault_->Intake(other, Entry(v1::ACTION_INTAKE, other.record_id()),
                     vault_->SubmissionDigest("other bytes"));
  EXPECT_EQ(clash.code(), absl::StatusCode::kInvalidArgument) << clash;
  // And without a digest (an in-process lane), any reuse is.
  absl::Status reuse =
      vault_->Intake(other, Entry(v1::ACTION_INTAKE, other.record_id()));
  EXPECT_EQ(reuse.code(), absl::StatusCode::kInvalidArgument) << reuse;

  // A record that names one item id twice is refused whole.
  v1::Record dup_item = MakeRecord("MVB7350", "face 2");
  dup_item.mutable_items(1)->set_item_id(dup_item.items(0).item_id());
  absl::Status item_clash =
      vault_->Intake(dup_item, Entry(v1::ACTION_INTAKE, dup_item.record_id()));
  EXPECT_EQ(item_clash.code(), absl::StatusCode::kInvalidArgument)
      << item_clash;
  EXPECT_EQ(*vault_->RecordCount(), 1u);
  // What was stored is the first submission.
  auto read = vault_->Read(r.record_id(), {},
                           Entry(v1::ACTION_READ_RECORD, r.record_id()));
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->items_size(), 2);
  for (const v1::Item& item : read->items()) {
    if (item.category() == v1::DATA_CATEGORY_PLATE_TEXT) {
      EXPECT_EQ(item.content(), "KXR4821");
    }
  }
}

// A sealed plate text tells nothing by its length: every one is padded to
// one size, whatever the plate and whatever else the item carries.
TEST_F(VaultIntegrityTest, EverySealedPlateTextHasOneLength) {
  for (int n = 1; n <= 100; ++n) {  // any plate, and then some
    v1::Record r = MakeRecord(std::string(n, 'A'), "face");
    r.mutable_items(0)->set_confidence(n % 2 ? 0.5f : 0.0f);
    ASSERT_TRUE(
        vault_->Intake(r, Entry(v1::ACTION_INTAKE, r.record_id())).ok());
  }
  vault_.reset();
  EXPECT_EQ(testing::QueryBlob(
                db_path(),
                absl::StrCat("SELECT COUNT(DISTINCT length(ciphertext)) FROM "
                             "items WHERE category = ",
                             static_cast<int>(v1::DATA_CATEGORY_PLATE_TEXT))),
            "1");
  Reopen();
  auto records = vault_->Find({});
  ASSERT_TRUE(records.ok());
  for (const v1::RecordSummary& s : *records) {
    auto read = vault_->Read(s.record_id(), {v1::DATA_CATEGORY_PLATE_TEXT},
                             Entry(v1::ACTION_READ_RECORD, s.record_id()));
    ASSERT_TRUE(read.ok()) << read.status();
    ASSERT_EQ(read->items_size(), 1);
    EXPECT_EQ(read->items(0).padding_size(), 0);  // never returned
  }
}

TEST_F(VaultIntegrityTest, ADatabaseRolledBackToAnOlderCopyIsRefused) {
  for (int i = 0; i < 5; ++i) Take();
  vault_.reset();  // the WAL goes into the file
  const std::string old_copy = dir_.Join("old.db");
  fs::copy_file(db_path(), old_copy);
  Reopen();
  for (int i = 0; i < 5; ++i) Take();
  vault_.reset();
  fs::copy_file(old_copy, db_path(), fs::copy_options::overwrite_existing);

  absl::Status refused = OpenStatus();
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;
  EXPECT_NE(refused.message().find("rolled back"), std::string::npos)
      << refused;
  // Again at the next start: refusing is not a one-off.
  EXPECT_FALSE(OpenStatus().ok());

  // An operator who restored on purpose says so; it is logged and alerted.
  VaultOptions accept = Options();
  accept.accept_rollback = true;
  auto v = Vault::Open(accept);
  ASSERT_TRUE(v.ok()) << v.status();
  auto alerts = (*v)->oversight().Alerts(false);
  ASSERT_TRUE(alerts.ok());
  ASSERT_FALSE(alerts->empty());
  EXPECT_EQ(alerts->back().kind, "vault_rollback");
  EXPECT_EQ(alerts->back().severity, "critical");
  v->reset();
  EXPECT_TRUE(OpenStatus().ok());  // re-anchored
}

TEST_F(VaultIntegrityTest, ARewrittenLogIsRefused) {
  for (int i = 0; i < 6; ++i) Take();
  vault_.reset();
  // Root rewrites an entry and recomputes the tree above it.
  // Node (level 2, index 0) is completed by entry 3 and kept in its row,
  // after the leaf's and level 1's hashes.
  testing::QueryBlob(db_path(),
                     "UPDATE audit_log SET nodes = CAST(substr(nodes, 1, 64) "
                     "|| zeroblob(32) || substr(nodes, 97) AS BLOB) "
                     "WHERE sequence = 3");
  absl::Status refused = OpenStatus();
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;
  EXPECT_NE(refused.message().find("rewritten"), std::string::npos) << refused;
}

// Root, holding the database, rewrites an entry, recomputes the whole tree
// over it and removes the anchor: the log's newest signed checkpoint, which
// root cannot re-sign, still names the old root.
TEST_F(VaultIntegrityTest, ARewriteWithItsTreeRecomputedAndNoAnchorIsRefused) {
  for (int i = 0; i < 6; ++i) Take();
  ASSERT_TRUE(vault_->log().SignCheckpoint().ok());
  for (int i = 0; i < 2; ++i) Take();
  vault_.reset();
  RewriteEntryTwoAndItsTree(db_path());
  fs::remove_all(dir_.Join("state"));

  absl::Status refused = OpenStatus();
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;
  EXPECT_NE(refused.message().find("last signed checkpoint"), std::string::npos)
      << refused;
  EXPECT_NE(refused.message().find("rewritten"), std::string::npos) << refused;
  EXPECT_EQ(testing::QueryInt(
                db_path(),
                "SELECT COUNT(*) FROM alerts WHERE kind = 'log_rewritten' "
                "AND severity = 'critical'"),
            1);
  // Not a one-off, and no flag serves it.
  VaultOptions accept = Options();
  accept.accept_rollback = true;
  EXPECT_FALSE(Vault::Open(accept).ok());
}

// The same, with every stored checkpoint deleted as well: the key store's
// authenticated record of the newest signed head still names the old root.
TEST_F(VaultIntegrityTest, ARewriteIsRefusedEvenWithEveryCheckpointDeleted) {
  for (int i = 0; i < 6; ++i) Take();
  ASSERT_TRUE(vault_->log().SignCheckpoint().ok());
  vault_.reset();
  RewriteEntryTwoAndItsTree(db_path());
  testing::ExecSql(db_path(), "DELETE FROM audit_checkpoints");
  fs::remove_all(dir_.Join("state"));
  absl::Status refused = OpenStatus();
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;
  EXPECT_NE(refused.message().find("newest head it signed"), std::string::npos)
      << refused;
  // Nor may the record itself be edited.
  testing::ExecSql(
      db_path() + ".keys",
      "UPDATE key_store_meta SET value = CAST('lanevault.dev/audit\n"
      "1\n00\n00' AS BLOB) WHERE name = 'log_head'");
  refused = OpenStatus();
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;
  EXPECT_NE(refused.message().find("does not authenticate"), std::string::npos)
      << refused;
}

// Root kills the daemon, cuts the log's tail (entries no checkpoint signed
// yet), recomputes the tree and writes the anchor anew: without the vault's
// key the anchor it writes is not intact, and without an anchor a vault
// that kept one is refused.
TEST_F(VaultIntegrityTest, AForgedOrDeletedAnchorIsRefused) {
  for (int i = 0; i < 4; ++i) Take();
  ASSERT_TRUE(vault_->log().SignCheckpoint().ok());
  Take();  // served, not yet in a signed checkpoint
  vault_.reset();
  testing::ExecSql(db_path(),
                   absl::StrCat("DELETE FROM audit_log WHERE sequence >= 4"));
  // An anchor as the unkeyed format wrote it, over the cut log.
  const std::string anchor = dir_.Join("state/log-anchor");
  {
    std::string slot("LVANCHR2", 8);
    for (uint64_t v : {uint64_t{99}, uint64_t{4}}) {
      for (int i = 0; i < 8; ++i)
        slot.push_back(static_cast<char>(v >> (8 * i)));
    }
    slot += std::string(32, 'r');
    slot += crypto::Sha256(slot).substr(0, 16);
    std::ofstream(anchor, std::ios::binary | std::ios::trunc) << slot << slot;
  }
  absl::Status refused = OpenStatus();
  EXPECT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("forged"), std::string::npos) << refused;
  fs::remove(anchor);
  refused = OpenStatus();
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;
  EXPECT_NE(refused.message().find("anchor is missing"), std::string::npos)
      << refused;
}

TEST_F(VaultIntegrityTest, ACheckpointNotSignedByTheLogsKeyIsRefused) {
  for (int i = 0; i < 3; ++i) Take();
  auto cp = vault_->log().SignCheckpoint();
  ASSERT_TRUE(cp.ok());
  vault_.reset();
  // A note signed by any other key (root's own) in its place.
  crypto::SecureBytes seed = crypto::SigningKey::NewSeed();
  auto other = crypto::SigningKey::FromSeed(seed);
  ASSERT_TRUE(other.ok());
  tlog::TreeHead head;
  head.origin = "lanevault.dev/audit";
  head.size = 3;
  head.root_hash = std::string(32, 'x');
  testing::ExecSql(db_path(), "DELETE FROM audit_checkpoints");
  auto db = Database::Open(db_path());
  ASSERT_TRUE(db.ok());
  auto put = db->Prepare(
      "INSERT INTO audit_checkpoints(tree_size, note) VALUES(3, ?)");
  ASSERT_TRUE(put.ok());
  put->Bind(1, tlog::SignCheckpoint(head, *other));
  ASSERT_TRUE(put->Run().ok());
  absl::Status refused = OpenStatus();
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;
  EXPECT_NE(refused.message().find("not signed by the log's key"),
            std::string::npos)
      << refused;
}

// A process killed mid-intake leaves its WAL; a WAL then cut short loses
// committed transactions. The vault must not start as if nothing happened.
TEST_F(VaultIntegrityTest, AWalCutShortIsRefusedAtStart) {
  vault_.reset();
  constexpr int kRecords = 30;
  int refused = 0, rounds = 0;
  for (double keep : {0.9, 0.6, 0.3}) {
    const std::string db = db_path();
    std::filesystem::remove(db);
    std::filesystem::remove(db + "-wal");
    std::filesystem::remove(db + "-shm");
    for (const char* suffix : {".keys", ".keys-wal", ".keys-shm"}) {
      std::filesystem::remove(db + suffix);  // a new vault each round
    }
    std::filesystem::remove_all(dir_.Join("state"));
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      auto v = Vault::Open(Options());
      if (!v.ok()) _exit(2);
      // Few enough that the WAL stays under SQLite's automatic checkpoint
      // (1000 pages) whatever the layout: a WAL that restarted holds its
      // live frames at its start, where no cut below reaches them.
      for (int i = 0; i < kRecords; ++i) {
        v1::Record r = MakeRecord("KXR4821", std::string(3000, 'f'));
        if (!(*v)->Intake(r, Entry(v1::ACTION_INTAKE, r.record_id())).ok()) {
          _exit(3);
        }
      }
      _exit(0);  // like a kill: no close, the WAL stays
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_EQ(WEXITSTATUS(status), 0);
    const auto wal_size = std::filesystem::file_size(db + "-wal");
    ASSERT_GT(wal_size, 100000u);
    std::filesystem::resize_file(db + "-wal",
                                 static_cast<uintmax_t>(wal_size * keep));
    ++rounds;
    // Either the vault refuses to start, or nothing acknowledged is missing
    // (a cut that only took frames the WAL had already given back).
    auto v = Vault::Open(Options());
    if (!v.ok()) {
      ++refused;
      EXPECT_TRUE(absl::IsFailedPrecondition(v.status()) ||
                  absl::IsDataLoss(v.status()))
          << v.status();
    } else {
      EXPECT_EQ(*(*v)->RecordCount(), static_cast<uint64_t>(kRecords))
          << "keep " << keep;
    }
  }
  EXPECT_GE(refused, 1);
  EXPECT_LE(refused, rounds);
}

TEST_F(VaultIntegrityTest, DamageFoundWhileRunningTakesTheVaultOutOfService) {
  std::vector<v1::Record> records;
  for (int i = 0; i < 40; ++i) {
    v1::Record r = MakeRecord("KXR4821", std::string(3000, 'a' + i % 26));
    ASSERT_TRUE(
        vault_->Intake(r, Entry(v1::ACTION_INTAKE, r.record_id())).ok());
    records.push_back(r);
  }
  vault_.reset();
  // Damage the headers of the pages that hold the items, as a failing disk
  // would; the schema's pages stay readable, so the vault still opens.
  const std::string pages = testing::QueryBlob(
      db_path(),
      "SELECT group_concat(pageno) FROM dbstat WHERE name = 'items' "
      "AND pagetype = 'leaf'");
  ASSERT_FALSE(pages.empty());
  std::fstream f(db_path(), std::ios::in | std::ios::out | std::ios::binary);
  for (absl::string_view page : absl::StrSplit(pages, ',')) {
    int64_t n = 0;
    ASSERT_TRUE(absl::SimpleAtoi(page, &n));
    f.seekp(static_cast<std::streamoff>((n - 1) * 4096));
    f.write("\xde\xad\xbe\xef\xde\xad\xbe\xef", 8);
  }
  f.close();
  // Found at start by the quick check...
  absl::Status at_start = OpenStatus();
  EXPECT_EQ(at_start.code(), absl::StatusCode::kDataLoss) << at_start;
  EXPECT_NE(at_start.message().find(db_path()), std::string::npos) << at_start;
  // ...and, with the check off, on the way: the vault stops serving.
  VaultOptions unchecked = Options();
  unchecked.integrity_check = VaultOptions::IntegrityCheck::kOff;
  unchecked.state_dir.clear();
  auto v = Vault::Open(unchecked);
  ASSERT_TRUE(v.ok()) << v.status();
  for (const v1::Record& r : records) {
    auto read = (*v)->Read(r.record_id(), {},
                           Entry(v1::ACTION_READ_RECORD, r.record_id()));
    if (!(*v)->Health().ok()) break;
  }
  absl::Status health = (*v)->Health();
  ASSERT_EQ(health.code(), absl::StatusCode::kUnavailable) << health;
  EXPECT_NE(health.message().find("damaged"), std::string::npos);
  v1::Record late = MakeRecord("KXR4821", "late");
  absl::Status refused =
      (*v)->Intake(late, Entry(v1::ACTION_INTAKE, late.record_id()));
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable) << refused;
}

}  // namespace
}  // namespace lanevault::vault
