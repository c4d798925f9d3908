// A vault written by the previous build opens with this one: the file is
// put back in the layout the previous schema step left (what that build
// wrote), reopened, migrated forward, and everything it held still reads,
// its access log still verifies against what was signed, and it grows on.

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/time_util.h"
#include "gtest/gtest.h"
#include "testing/test_util.h"
#include "testing/vault_fixture.h"
#include "tlog/merkle.h"
#include "vault/sqlite.h"
#include "vault/sqlite_store_impl.h"

namespace lanevault::vault {
namespace {

// The schema version this build writes.
constexpr int64_t kLatestStep = 19;

class SqliteMigrationTest : public testing::VaultFixture {
 protected:
  v1::Record Take() {
    v1::Record r = MakeRecord("KXR4821", "\xff\xd8 face crop");
    EXPECT_TRUE(
        vault_->Intake(r, Entry(v1::ACTION_INTAKE, r.record_id())).ok());
    return r;
  }
  void ExpectReads(const v1::Record& r) {
    auto read = vault_->Read(r.record_id(), {v1::DATA_CATEGORY_FACE_IMAGE},
                             Entry(v1::ACTION_READ_RECORD, r.record_id()));
    ASSERT_TRUE(read.ok()) << read.status();
    ASSERT_EQ(read->items_size(), 1);
    EXPECT_EQ(read->items(0).content(), r.items(1).content());
  }
  // Every item's ciphertext, in (record, item) order: what a rebuild must
  // keep byte for byte.
  std::string CiphertextsByKey() {
    return testing::QueryBlob(
        db_path(),
        "SELECT group_concat(hex(ciphertext), ',') FROM (SELECT ciphertext "
        "FROM items ORDER BY record_id, item_id)");
  }
  // A record that repeats an item id is refused whole.
  void ExpectARepeatedItemIdIsRefused() {
    v1::Record twice = MakeRecord("KXR4821", "twice");
    twice.mutable_items(1)->set_item_id(twice.items(0).item_id());
    absl::Status refused =
        vault_->Intake(twice, Entry(v1::ACTION_INTAKE, twice.record_id()));
    EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument) << refused;
    EXPECT_EQ(
        testing::QueryInt(db_path(),
                          "SELECT COUNT(*) FROM records WHERE record_id = '" +
                              twice.record_id() + "'"),
        0);
  }
  // Step 14 undone: items keyed by the unique index items_by_record, the
  // records' item ranges gone. The rows are put back in an order other than
  // their records' (item id order), so the migration's rebuild is what makes
  // each record's items a range.
  static constexpr char kUndoStepFourteen[] = R"sql(
CREATE TABLE old_items(
  record_id TEXT NOT NULL REFERENCES records(record_id),
  item_id TEXT NOT NULL,
  category INTEGER NOT NULL,
  deadline_us INTEGER NOT NULL,
  key_version INTEGER NOT NULL,
  plate_blind BLOB,
  wrapped_key BLOB NOT NULL,
  ciphertext BLOB NOT NULL
);
INSERT INTO old_items SELECT record_id, item_id, category, deadline_us,
  key_version, plate_blind, wrapped_key, ciphertext FROM items
  ORDER BY item_id;
DROP TABLE items;
ALTER TABLE old_items RENAME TO items;
CREATE UNIQUE INDEX items_by_record ON items(record_id, item_id);
CREATE INDEX items_by_deadline ON items(deadline_us);
ALTER TABLE records DROP COLUMN items_first;
ALTER TABLE records DROP COLUMN items_last;
)sql";
  static std::string BackToStepThirteen() {
    return absl::StrCat("BEGIN;", kUndoStepFourteen,
                        "PRAGMA user_version=13; COMMIT;");
  }
  // Steps 13 and 12 undone: canary marks back in canary_marks, plate
  // readings back in plate_candidates and the items' copies gone. The
  // readings keep this build's values (of their hour); a build from before
  // step 12 wrote the undated one, which is all a lookup asks that table
  // for, so a test that looks plates up puts those back (as
  // AVaultFromBeforeStepTenOpensItsLogVerifiesAndItsPlatesAreFound does).
  static constexpr char kUndoStepsTwelveAndThirteen[] = R"sql(
INSERT INTO canary_marks(mark)
  SELECT canary_mark FROM records WHERE canary_mark IS NOT NULL;
ALTER TABLE records DROP COLUMN canary_mark;
INSERT INTO plate_candidates(record_id, item_id, rank, blind)
  SELECT record_id, item_id, rank, blind FROM plate_blinds;
DROP TABLE plate_blinds;
UPDATE items SET plate_blind = NULL;
)sql";
  // The items as step 8 left them: clustered by (record_id, item_id).
  void PutItemsBackAsStepEightLeftThem() {
    testing::ExecSql(db_path(), absl::StrCat("BEGIN;", kUndoStepFourteen,
                                             kUndoStepsTwelveAndThirteen, R"sql(
CREATE TABLE old_items(
  record_id TEXT NOT NULL REFERENCES records(record_id),
  item_id TEXT NOT NULL,
  category INTEGER NOT NULL,
  deadline_us INTEGER NOT NULL,
  key_version INTEGER NOT NULL,
  plate_blind BLOB,
  wrapped_key BLOB NOT NULL,
  ciphertext BLOB NOT NULL,
  PRIMARY KEY(record_id, item_id)
) WITHOUT ROWID;
INSERT INTO old_items SELECT record_id, item_id, category, deadline_us,
  key_version, plate_blind, wrapped_key, ciphertext FROM items;
DROP TABLE items;
ALTER TABLE old_items RENAME TO items;
CREATE INDEX items_by_deadline ON items(deadline_us);
PRAGMA user_version=8;
COMMIT;
)sql"));
  }
  // The log's tree nodes as steps 8 and 9 kept them, in audit_nodes keyed
  // by (pos, level), with no nodes column in audit_log (step 10 put them
  // in their entry's row), records with a rowid and a separate id index
  // (step 11 clustered them by id), plate readings in plate_candidates
  // (step 12 keyed them by blind index); version 9.
  static std::string BackToStepNine() {
    return absl::StrCat("BEGIN;", kUndoStepFourteen,
                        kUndoStepsTwelveAndThirteen, R"sql(
WITH RECURSIVE lv(sequence, nodes, level) AS (
  SELECT sequence, nodes, 0 FROM audit_log WHERE nodes IS NOT NULL
  UNION ALL
  SELECT sequence, nodes, level + 1 FROM lv
  WHERE (level + 2) * 32 <= length(nodes))
INSERT INTO audit_nodes(pos, level, idx, hash)
  SELECT sequence + 1, level, ((sequence + 1) >> level) - 1,
         substr(nodes, level * 32 + 1, 32)
  FROM lv;
ALTER TABLE audit_log DROP COLUMN nodes;
CREATE TABLE old_records(
  record_id TEXT PRIMARY KEY,
  lane_id TEXT NOT NULL,
  checkpoint_id TEXT NOT NULL,
  first_seen_us INTEGER NOT NULL,
  last_seen_us INTEGER NOT NULL,
  contract_id TEXT NOT NULL,
  contract_version INTEGER NOT NULL,
  item_count INTEGER NOT NULL DEFAULT -1,
  submission_digest BLOB
);
INSERT INTO old_records SELECT record_id, lane_id, checkpoint_id,
  first_seen_us, last_seen_us, contract_id, contract_version, item_count,
  submission_digest FROM records;
DROP TABLE records;
ALTER TABLE old_records RENAME TO records;
CREATE INDEX records_by_time ON records(first_seen_us, record_id);
PRAGMA user_version=9;
COMMIT;
)sql");
  }
  // The log now extends the one of `size` entries whose root was `root`.
  void ExpectLogExtends(uint64_t size, const std::string& root) {
    auto proof = vault_->log().ConsistencyProof(size, vault_->log().Size());
    ASSERT_TRUE(proof.ok()) << proof.status();
    EXPECT_TRUE(tlog::VerifyConsistency(
                    size, vault_->log().Size(), root,
                    *vault_->log().RootAt(vault_->log().Size()), *proof)
                    .ok());
  }
  // Every entry's inclusion in the current tree, from the stored nodes.
  void ExpectLogVerifies() {
    const uint64_t size = vault_->log().Size();
    absl::StatusOr<std::string> root = vault_->log().RootAt(size);
    ASSERT_TRUE(root.ok()) << root.status();
    absl::StatusOr<std::vector<std::string>> leaves =
        vault_->log().LeafData(0, size);
    ASSERT_TRUE(leaves.ok()) << leaves.status();
    tlog::CompactRange recomputed;
    for (uint64_t i = 0; i < size; ++i) {
      recomputed.Append(tlog::LeafHash((*leaves)[i]));
      auto proof = vault_->log().InclusionProof(i, size);
      ASSERT_TRUE(proof.ok()) << proof.status();
      EXPECT_TRUE(tlog::VerifyInclusion(i, size, tlog::LeafHash((*leaves)[i]),
                                        *proof, *root)
                      .ok())
          << i;
    }
    EXPECT_EQ(recomputed.Root(), *root);
  }
};

// Step 8 re-keyed the log's tree nodes by the size at which each is whole.
TEST_F(SqliteMigrationTest, AVaultFromBeforeStepEightOpensAndItsLogVerifies) {
  std::vector<v1::Record> taken;
  for (int i = 0; i < 11; ++i) taken.push_back(Take());
  ASSERT_TRUE(vault_->log().SignCheckpoint().ok());
  const uint64_t size = vault_->log().Size();
  const std::string root = *vault_->log().RootAt(size);
  vault_.reset();
  {
    // The tree as step 7 left it: keyed by level and index.
    auto db = Database::Open(db_path());
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE(db->Exec(BackToStepNine()).ok());
    ASSERT_TRUE(db->Exec(R"sql(
BEGIN;
CREATE TABLE old_nodes(
  level INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  hash BLOB NOT NULL,
  PRIMARY KEY(level, idx)
) WITHOUT ROWID;
INSERT INTO old_nodes SELECT level, idx, hash FROM audit_nodes;
DROP TABLE audit_nodes;
ALTER TABLE old_nodes RENAME TO audit_nodes;
PRAGMA user_version=7;
COMMIT;
)sql")
                    .ok());
  }
  ASSERT_EQ(testing::QueryInt(db_path(), "PRAGMA user_version"), 7);

  Reopen();  // migrates; the start-up checks the tree against what was signed
  EXPECT_GE(testing::QueryInt(db_path(), "PRAGMA user_version"), 8);
  EXPECT_EQ(testing::QueryInt(
                db_path(),
                "SELECT COUNT(*) FROM audit_nodes WHERE pos != (idx + 1) << "
                "level"),
            0);
  EXPECT_EQ(*vault_->log().RootAt(size), root);
  for (const v1::Record& r : taken) ExpectReads(r);
  for (int i = 0; i < 6; ++i) taken.push_back(Take());
  ExpectLogVerifies();
  ExpectLogExtends(size, root);
  Reopen();
  for (const v1::Record& r : taken) ExpectReads(r);
  ExpectLogVerifies();
}

// Step 9 made items an ordinary table appended in intake order, keyed by
// a unique index instead of clustered by record.
TEST_F(SqliteMigrationTest, AVaultFromBeforeStepNineOpensAndKeepsEveryItem) {
  std::vector<v1::Record> taken;
  for (int i = 0; i < 7; ++i) taken.push_back(Take());
  vault_.reset();
  PutItemsBackAsStepEightLeftThem();
  const int64_t items =
      testing::QueryInt(db_path(), "SELECT COUNT(*) FROM items");
  ASSERT_EQ(items, 7 * taken[0].items_size());
  const std::string before = CiphertextsByKey();

  Reopen();
  EXPECT_GE(testing::QueryInt(db_path(), "PRAGMA user_version"), 9);
  EXPECT_EQ(testing::QueryInt(db_path(),
                              "SELECT COUNT(*) FROM sqlite_master WHERE name "
                              "= 'items' AND sql LIKE '%WITHOUT ROWID%'"),
            0);
  // Step 14 then found each record's items through its row.
  EXPECT_EQ(testing::QueryInt(db_path(),
                              "SELECT COUNT(*) FROM pragma_index_list('items') "
                              "WHERE name = 'items_by_record'"),
            0);
  EXPECT_EQ(testing::QueryInt(db_path(), "SELECT COUNT(*) FROM items"), items);
  EXPECT_EQ(CiphertextsByKey(), before);
  for (const v1::Record& r : taken) ExpectReads(r);
  // The key still holds: the same record twice is refused, and a record
  // that repeats an item id is refused whole.
  v1::Record again = taken[0];
  EXPECT_FALSE(
      vault_->Intake(again, Entry(v1::ACTION_INTAKE, again.record_id())).ok());
  ExpectARepeatedItemIdIsRefused();
  for (int i = 0; i < 3; ++i) taken.push_back(Take());
  Reopen();
  for (const v1::Record& r : taken) ExpectReads(r);
  ExpectLogVerifies();
}

// Two processes starting on an old vault at once: each step runs once,
// because each reads the schema version again once it holds the write lock
// (before, the second ran step 9's rewrite again after the first).
TEST_F(SqliteMigrationTest, TwoStartsOnAnOldVaultRunEachStepOnce) {
  std::vector<v1::Record> taken;
  for (int i = 0; i < 5; ++i) taken.push_back(Take());
  vault_.reset();
  PutItemsBackAsStepEightLeftThem();
  auto holder = Database::Open(db_path());
  ASSERT_TRUE(holder.ok()) << holder.status();
  ASSERT_TRUE(holder->Exec("BEGIN IMMEDIATE").ok());
  // Both starters read version 8, then wait for the write lock.
  auto a = Database::Open(db_path());
  auto b = Database::Open(db_path());
  ASSERT_TRUE(a.ok() && b.ok());
  absl::StatusOr<int64_t> ran_a = 0, ran_b = 0;
  std::thread ta([&] { ran_a = MigrateSchema(*a); });
  std::thread tb([&] { ran_b = MigrateSchema(*b); });
  absl::SleepFor(absl::Milliseconds(300));
  ASSERT_TRUE(holder->Exec("ROLLBACK").ok());
  ta.join();
  tb.join();
  ASSERT_TRUE(ran_a.ok()) << ran_a.status();
  ASSERT_TRUE(ran_b.ok()) << ran_b.status();
  const int64_t latest = testing::QueryInt(db_path(), "PRAGMA user_version");
  EXPECT_EQ(*ran_a + *ran_b, latest - 8);
  Reopen();
  for (const v1::Record& r : taken) ExpectReads(r);
  ExpectLogVerifies();
}

// Step 10 kept each append's tree nodes in its entry's row, step 11
// clustered records by id, step 12 keyed plate readings by blind index: a
// vault from before all three opens, its older nodes and readings are read
// where they were, and its log, records and lookups carry on.
TEST_F(SqliteMigrationTest,
       AVaultFromBeforeStepTenOpensItsLogVerifiesAndItsPlatesAreFound) {
  std::vector<v1::Record> taken;
  for (int i = 0; i < 9; ++i) taken.push_back(Take());
  const v1::Record old_decoy = MakeRecord("ZZZ0000", "decoy");
  ASSERT_TRUE(vault_
                  ->PlantCanary(old_decoy,
                                Entry(v1::ACTION_INTAKE, old_decoy.record_id()))
                  .ok());
  ASSERT_TRUE(vault_->log().SignCheckpoint().ok());
  const uint64_t size = vault_->log().Size();
  const std::string root = *vault_->log().RootAt(size);
  // A build from before step 12 indexed each reading by the plate's undated
  // value (time cells came at step 18): the readings are put back so.
  std::string undated;
  for (const v1::Record* r :
       std::vector<const v1::Record*>{&taken[0], &old_decoy}) {
    const std::string& plate = r->items(0).content();
    absl::StrAppend(
        &undated, "UPDATE plate_candidates SET blind = x'",
        absl::BytesToHexString(vault_->PlateBlindIndex(plate)),
        "' WHERE blind = x'",
        absl::BytesToHexString(vault_->PlateIndexOf(
            plate, FromProto(r->items(0).deadline()), clock_.Now())),
        "';");
  }
  vault_.reset();
  testing::ExecSql(db_path(), BackToStepNine());
  testing::ExecSql(db_path(), undated);
  ASSERT_EQ(testing::QueryInt(db_path(),
                              "SELECT COUNT(DISTINCT blind) FROM "
                              "plate_candidates"),
            2);
  const int64_t old_nodes =
      testing::QueryInt(db_path(), "SELECT COUNT(*) FROM audit_nodes");
  const int64_t old_readings =
      testing::QueryInt(db_path(), "SELECT COUNT(*) FROM plate_candidates");
  // Nine records and a decoy, each with one plate text and its readings.
  ASSERT_EQ(old_readings % 10, 0);
  ASSERT_GT(old_readings, 0);
  ASSERT_GT(old_nodes, static_cast<int64_t>(size));
  ASSERT_EQ(testing::QueryInt(db_path(),
                              "SELECT COUNT(*) FROM sqlite_master WHERE name "
                              "= 'records' AND sql LIKE '%WITHOUT ROWID%'"),
            0);
  {
    // The migration turns foreign keys off for its rebuild and back on.
    auto db = Database::Open(db_path());
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE(db->Exec("PRAGMA foreign_keys=ON").ok());
    absl::StatusOr<int64_t> ran = MigrateSchema(*db);
    ASSERT_TRUE(ran.ok()) << ran.status();
    EXPECT_EQ(*ran, kLatestStep - 9);
    auto fk = db->Prepare("PRAGMA foreign_keys");
    ASSERT_TRUE(fk.ok() && *fk->Step());
    EXPECT_EQ(fk->Int(0), 1);
  }
  EXPECT_EQ(testing::QueryInt(db_path(), "PRAGMA user_version"), kLatestStep);
  EXPECT_EQ(testing::QueryInt(db_path(),
                              "SELECT COUNT(*) FROM sqlite_master WHERE name "
                              "= 'records' AND sql LIKE '%WITHOUT ROWID%'"),
            1);
  EXPECT_EQ(testing::QueryInt(db_path(),
                              "SELECT COUNT(*) FROM audit_log WHERE nodes IS "
                              "NOT NULL"),
            0);
  Reopen();
  EXPECT_EQ(*vault_->log().RootAt(size), root);
  EXPECT_EQ(*vault_->RecordCount(), taken.size() + 1);
  for (const v1::Record& r : taken) ExpectReads(r);
  // Canary marks from before step 13 are checked where they were, new ones
  // in the record's row.
  const int64_t old_marks =
      testing::QueryInt(db_path(), "SELECT COUNT(*) FROM canary_marks");
  EXPECT_EQ(old_marks, static_cast<int64_t>(taken.size()) + 1);
  const v1::Record new_decoy = MakeRecord("ZZZ0001", "decoy");
  ASSERT_TRUE(vault_
                  ->PlantCanary(new_decoy,
                                Entry(v1::ACTION_INTAKE, new_decoy.record_id()))
                  .ok());
  EXPECT_TRUE(*vault_->IsCanary(old_decoy.record_id()));
  EXPECT_TRUE(*vault_->IsCanary(new_decoy.record_id()));
  EXPECT_FALSE(*vault_->IsCanary(taken[0].record_id()));
  for (int i = 0; i < 6; ++i) taken.push_back(Take());
  EXPECT_FALSE(*vault_->IsCanary(taken.back().record_id()));
  EXPECT_EQ(testing::QueryInt(db_path(), "SELECT COUNT(*) FROM canary_marks"),
            old_marks);
  // New entries keep their nodes in their rows; the old table is unchanged.
  EXPECT_EQ(testing::QueryInt(db_path(), "SELECT COUNT(*) FROM audit_nodes"),
            old_nodes);
  EXPECT_EQ(testing::QueryInt(db_path(),
                              "SELECT COUNT(*) FROM audit_log WHERE nodes IS "
                              "NOT NULL"),
            static_cast<int64_t>(vault_->log().Size() - size));
  ExpectLogVerifies();
  ExpectLogExtends(size, root);
  // The record id is still a key, and items still need their record.
  v1::Record again = taken[0];
  EXPECT_FALSE(
      vault_->Intake(again, Entry(v1::ACTION_INTAKE, again.record_id())).ok());
  // Plate readings from before step 12 are found where they were, the new
  // ones in plate_blinds; the sweep takes both.
  EXPECT_EQ(testing::QueryInt(db_path(),
                              "SELECT COUNT(*) FROM "
                              "plate_candidates"),
            old_readings);
  EXPECT_EQ(testing::QueryInt(db_path(), "SELECT COUNT(*) FROM plate_blinds"),
            old_readings / 10 * 7);  // six records and a decoy since
  auto found =
      vault_->LookupPlate("KXR4821", 100, Entry(v1::ACTION_SEARCH_PLATE, ""));
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->size(), taken.size());  // not the decoys' plates
  Reopen();
  for (const v1::Record& r : taken) ExpectReads(r);
  ExpectLogVerifies();
  clock_.Advance(absl::Hours(24 * 31));
  ASSERT_TRUE(vault_->SweepExpired().ok());
  EXPECT_EQ(testing::QueryInt(db_path(), "SELECT COUNT(*) FROM items"), 0);
  EXPECT_EQ(testing::QueryInt(db_path(),
                              "SELECT COUNT(*) FROM "
                              "plate_candidates"),
            0);
  EXPECT_EQ(testing::QueryInt(db_path(), "SELECT COUNT(*) FROM plate_blinds"),
            0);
  ExpectLogVerifies();
}

// Step 14 dropped items_by_record: a record's items are found through the
// row-id range kept in its row. A vault from before it, whose items are not
// in record order, opens with every record's items a range of their own,
// and reads, lookups, rotation's re-wrap and the sweep find them there.
TEST_F(SqliteMigrationTest, AVaultFromBeforeStepFourteenFindsEveryItem) {
  std::vector<v1::Record> taken;
  for (int i = 0; i < 8; ++i) taken.push_back(Take());
  vault_.reset();
  testing::ExecSql(db_path(), BackToStepThirteen());
  const int64_t items =
      testing::QueryInt(db_path(), "SELECT COUNT(*) FROM items");
  ASSERT_EQ(items, 8 * taken[0].items_size());
  // Put back in item id order, most records' items are not neighbours.
  ASSERT_GT(testing::QueryInt(
                db_path(),
                "SELECT COUNT(*) FROM items a JOIN items b ON b.rowid = "
                "a.rowid + 1 WHERE a.record_id != b.record_id"),
            8);
  const std::string before = CiphertextsByKey();

  Reopen();
  EXPECT_EQ(testing::QueryInt(db_path(), "PRAGMA user_version"), kLatestStep);
  EXPECT_EQ(testing::QueryInt(db_path(),
                              "SELECT COUNT(*) FROM sqlite_master WHERE name "
                              "= 'items_by_record'"),
            0);
  // A declared row id: no VACUUM renumbers it under the ranges.
  EXPECT_EQ(testing::QueryInt(db_path(),
                              "SELECT pk FROM pragma_table_info('items') "
                              "WHERE name = 'item_rowid'"),
            1);
  EXPECT_EQ(CiphertextsByKey(), before);
  // Every record's range holds its items and nothing else.
  EXPECT_EQ(testing::QueryInt(
                db_path(),
                "SELECT COUNT(*) FROM records r WHERE items_last - "
                "items_first + 1 != item_count OR item_count != (SELECT "
                "COUNT(*) FROM items i WHERE i.item_rowid BETWEEN "
                "r.items_first AND r.items_last AND i.record_id = "
                "r.record_id)"),
            0);
  for (const v1::Record& r : taken) ExpectReads(r);
  auto found =
      vault_->LookupPlate("KXR4821", 100, Entry(v1::ACTION_SEARCH_PLATE, ""));
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->size(), taken.size());
  // A record repeating an item id is still refused whole.
  ExpectARepeatedItemIdIsRefused();
  // Rotation re-wraps every item, old and new, found through its record.
  for (int i = 0; i < 3; ++i) taken.push_back(Take());
  ASSERT_TRUE(vault_->RotateKeys(Entry(v1::ACTION_ROTATE_KEYS, "")).ok());
  absl::StatusOr<uint64_t> rewrapped = vault_->RewrapStep(1000);
  ASSERT_TRUE(rewrapped.ok()) << rewrapped.status();
  EXPECT_EQ(*rewrapped, static_cast<uint64_t>(11 * taken[0].items_size()));
  EXPECT_EQ(testing::QueryInt(db_path(),
                              absl::StrCat("SELECT COUNT(*) FROM items WHERE "
                                           "key_version < ",
                                           vault_->CurrentKeyVersion())),
            0);
  Reopen();
  for (const v1::Record& r : taken) ExpectReads(r);
  ExpectLogVerifies();
  clock_.Advance(absl::Hours(24 * 31));
  ASSERT_TRUE(vault_->SweepExpired().ok());
  EXPECT_EQ(testing::QueryInt(db_path(), "SELECT COUNT(*) FROM items"), 0);
  EXPECT_EQ(testing::QueryInt(db_path(), "SELECT COUNT(*) FROM records"), 0);
  EXPECT_EQ(testing::QueryInt(db_path(), "SELECT COUNT(*) FROM plate_blinds"),
            0);
}

// A record whose last item was purged first leaves its row ids free, and
// the next record's items take them, inside the older record's range: each
// record still reads, is found and is purged with its own items only.
TEST_F(SqliteMigrationTest, ARowIdFreedByAPurgeServesTheNextRecordOnly) {
  const v1::Record older = Take();
  clock_.Advance(absl::Hours(13));  // past the face crop's 12 hours
  ASSERT_TRUE(vault_->SweepExpired().ok());
  const int64_t highest =
      testing::QueryInt(db_path(), "SELECT MAX(item_rowid) FROM items");
  // Item ids need only be unique within a record: the newer record's plate
  // takes the older one's id, so only the record id tells their rows apart.
  v1::Record newer = MakeRecord("MHV2170", "\xff\xd8 newer face");
  newer.mutable_items(0)->set_item_id(older.items(0).item_id());
  ASSERT_TRUE(
      vault_->Intake(newer, Entry(v1::ACTION_INTAKE, newer.record_id())).ok());
  EXPECT_EQ(testing::QueryInt(db_path(),
                              "SELECT items_first FROM records WHERE "
                              "record_id = '" +
                                  newer.record_id() + "'"),
            highest + 1);
  // The newer record's first item sits inside the older one's range.
  ASSERT_EQ(
      testing::QueryInt(
          db_path(),
          "SELECT COUNT(*) FROM records o, records n WHERE o.record_id "
          "= '" +
              older.record_id() + "' AND n.record_id = '" + newer.record_id() +
              "' AND n.items_first BETWEEN o.items_first AND "
              "o.items_last"),
      1);
  auto old_read =
      vault_->Read(older.record_id(), {v1::DATA_CATEGORY_PLATE_TEXT},
                   Entry(v1::ACTION_READ_RECORD, older.record_id()));
  ASSERT_TRUE(old_read.ok()) << old_read.status();
  ASSERT_EQ(old_read->items_size(), 1);
  EXPECT_EQ(old_read->items(0).content(), "KXR4821");
  auto new_read =
      vault_->Read(newer.record_id(), {v1::DATA_CATEGORY_FACE_IMAGE},
                   Entry(v1::ACTION_READ_RECORD, newer.record_id()));
  ASSERT_TRUE(new_read.ok()) << new_read.status();
  ASSERT_EQ(new_read->items_size(), 1);
  EXPECT_EQ(new_read->items(0).content(), newer.items(1).content());
  auto found =
      vault_->LookupPlate("MHV2170", 10, Entry(v1::ACTION_SEARCH_PLATE, ""));
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(*found, std::vector<std::string>{newer.record_id()});
  // Re-wrapping the older plate's data key touches the older plate's row
  // only: both records still open after a rotation.
  ASSERT_TRUE(vault_->RotateKeys(Entry(v1::ACTION_ROTATE_KEYS, "")).ok());
  absl::StatusOr<uint64_t> rewrapped = vault_->RewrapStep(100);
  ASSERT_TRUE(rewrapped.ok()) << rewrapped.status();
  EXPECT_EQ(*rewrapped, 3u);
  const v1::Record* both[] = {&older, &newer};
  for (const v1::Record* r : both) {
    auto plate = vault_->Read(r->record_id(), {v1::DATA_CATEGORY_PLATE_TEXT},
                              Entry(v1::ACTION_READ_RECORD, r->record_id()));
    ASSERT_TRUE(plate.ok()) << plate.status();
    EXPECT_EQ(plate->items(0).content(), r->items(0).content());
  }
  // The older record's plate expires first: it goes, the newer stays whole.
  clock_.Advance(absl::Hours(24 * 30) - absl::Hours(12));
  ASSERT_TRUE(vault_->SweepExpired().ok());
  EXPECT_EQ(testing::QueryInt(db_path(),
                              "SELECT COUNT(*) FROM records WHERE record_id "
                              "= '" +
                                  older.record_id() + "'"),
            0);
  EXPECT_EQ(testing::QueryInt(db_path(),
                              "SELECT COUNT(*) FROM items WHERE record_id = '" +
                                  newer.record_id() + "'"),
            1);  // its face crop went at 12 hours; the plate stays
  // The older record's canary mark moved out with its last item.
  EXPECT_EQ(testing::QueryInt(db_path(), "SELECT COUNT(*) FROM canary_marks"),
            1);
  auto still = vault_->Read(newer.record_id(), {v1::DATA_CATEGORY_PLATE_TEXT},
                            Entry(v1::ACTION_READ_RECORD, newer.record_id()));
  ASSERT_TRUE(still.ok()) << still.status();
  EXPECT_EQ(still->items(0).content(), "MHV2170");
}

// A record that counts items but has no range (a file edited, or written
// by a build from before step 14 after the version was set back) is never
// taken as empty: the sweep keeps its row, a read says it is damaged, and
// the next start at version 13 gives it its range back.
TEST_F(SqliteMigrationTest, ARecordWithoutARangeIsKeptAndGetsOneBack) {
  const v1::Record a = Take();
  const v1::Record b = Take();
  // A plate that normalises to nothing has no blind index: its purge makes
  // the sweep look for index rows whose item is gone, and a's must stay.
  v1::Record blank = MakeRecord("-", "\xff\xd8 blank face");
  *blank.mutable_items(0)->mutable_deadline() =
      ToProto(clock_.Now() + absl::Hours(1));
  ASSERT_TRUE(
      vault_->Intake(blank, Entry(v1::ACTION_INTAKE, blank.record_id())).ok());
  const std::string a_blinds =
      "SELECT COUNT(*) FROM plate_blinds WHERE record_id = '" + a.record_id() +
      "'";
  const int64_t a_readings = testing::QueryInt(db_path(), a_blinds);
  ASSERT_GT(a_readings, 0);
  vault_.reset();
  const std::string no_range =
      "UPDATE records SET items_first = NULL, "
      "items_last = NULL WHERE record_id = '" +
      a.record_id() + "'";
  testing::ExecSql(db_path(), no_range);
  Reopen();
  clock_.Advance(absl::Hours(13));  // a's and b's face crops are due
  ASSERT_TRUE(vault_->SweepExpired().ok());
  EXPECT_EQ(testing::QueryInt(db_path(),
                              "SELECT COUNT(*) FROM records WHERE record_id "
                              "= '" +
                                  a.record_id() + "'"),
            1);
  EXPECT_EQ(testing::QueryInt(db_path(),
                              "SELECT COUNT(*) FROM items WHERE record_id = '" +
                                  a.record_id() + "'"),
            1);
  EXPECT_EQ(testing::QueryInt(db_path(),
                              "SELECT COUNT(*) FROM records WHERE record_id "
                              "= '" +
                                  blank.record_id() + "'"),
            0);
  EXPECT_EQ(testing::QueryInt(db_path(), a_blinds), a_readings);
  auto damaged = vault_->Read(a.record_id(), {v1::DATA_CATEGORY_PLATE_TEXT},
                              Entry(v1::ACTION_READ_RECORD, a.record_id()));
  EXPECT_EQ(damaged.status().code(), absl::StatusCode::kDataLoss)
      << damaged.status();
  // Its data keys still move to a new generation, so that the old KEKs can
  // go on time.
  ASSERT_TRUE(vault_->RotateKeys(Entry(v1::ACTION_ROTATE_KEYS, "")).ok());
  absl::StatusOr<uint64_t> rewrapped = vault_->RewrapStep(1000);
  ASSERT_TRUE(rewrapped.ok()) << rewrapped.status();
  EXPECT_EQ(testing::QueryInt(db_path(),
                              absl::StrCat("SELECT COUNT(*) FROM items WHERE "
                                           "key_version < ",
                                           vault_->CurrentKeyVersion())),
            0);
  vault_.reset();
  testing::ExecSql(db_path(), "PRAGMA user_version=13");
  Reopen();
  EXPECT_EQ(testing::QueryInt(db_path(), "PRAGMA user_version"), kLatestStep);
  for (const v1::Record* r : {&a, &b}) {
    auto plate = vault_->Read(r->record_id(), {v1::DATA_CATEGORY_PLATE_TEXT},
                              Entry(v1::ACTION_READ_RECORD, r->record_id()));
    ASSERT_TRUE(plate.ok()) << plate.status();
    EXPECT_EQ(plate->items(0).content(), "KXR4821");
  }
}

// An item whose record is gone (a file edited with foreign keys off) stops
// step 11's rebuild: the vault is not opened as if whole.
TEST_F(SqliteMigrationTest, AnItemWithoutItsRecordStopsTheRebuild) {
  Take();
  vault_.reset();
  testing::ExecSql(db_path(), BackToStepNine());
  testing::ExecSql(db_path(),
                   "INSERT INTO items(record_id, item_id, category, "
                   "deadline_us, key_version, wrapped_key, ciphertext) "
                   "VALUES('gone', 'x', 1, 0, 0, x'00', x'00')");
  auto db = Database::Open(db_path());
  ASSERT_TRUE(db.ok()) << db.status();
  absl::StatusOr<int64_t> ran = MigrateSchema(*db);
  EXPECT_EQ(ran.status().code(), absl::StatusCode::kDataLoss) << ran.status();
  EXPECT_EQ(testing::QueryInt(db_path(), "PRAGMA user_version"), 10);
}

// A vault whose schema version was set back to before step 11 (the records
// rebuild) but whose records carry step 13's canary marks: the rebuild would
// drop the marks, so the start refuses and the vault is left as it was.
TEST_F(SqliteMigrationTest, ARebuildThatWouldDropAColumnRefuses) {
  Take();
  vault_.reset();
  const int64_t marks =
      testing::QueryInt(db_path(),
                        "SELECT COUNT(*) FROM records WHERE canary_mark IS "
                        "NOT NULL");
  ASSERT_GT(marks, 0);
  testing::ExecSql(db_path(), "PRAGMA user_version=10");
  auto db = Database::Open(db_path());
  ASSERT_TRUE(db.ok()) << db.status();
  absl::StatusOr<int64_t> ran = MigrateSchema(*db);
  EXPECT_EQ(ran.status().code(), absl::StatusCode::kFailedPrecondition)
      << ran.status();
  EXPECT_NE(ran.status().message().find("set back"), std::string::npos);
  EXPECT_EQ(testing::QueryInt(db_path(), "PRAGMA user_version"), 10);
  EXPECT_EQ(testing::QueryInt(db_path(),
                              "SELECT COUNT(*) FROM records WHERE canary_mark "
                              "IS NOT NULL"),
            marks);
}

// What SQLite plans for `sql` on the vault's file, every step's detail.
std::string QueryPlan(const std::string& db_path, absl::string_view sql) {
  auto db = Database::Open(db_path);
  if (!db.ok()) return db.status().ToString();
  absl::StatusOr<Statement> q =
      db->Prepare(absl::StrCat("EXPLAIN QUERY PLAN ", sql));
  if (!q.ok()) return q.status().ToString();
  absl::StatusOr<std::vector<std::string>> steps = q->AllText(3);
  if (!steps.ok()) return steps.status().ToString();
  return absl::StrJoin(*steps, "; ");
}

// Whether `index` is one of the log's indexes without intake entries
// (steps 15 and 16).
bool LeavesOutIntakes(const std::string& db_path, absl::string_view index) {
  return testing::QueryInt(
             db_path,
             absl::StrCat("SELECT COUNT(*) FROM sqlite_master WHERE "
                          "name = '",
                          index, "' AND sql LIKE '%WHERE action != 1'")) == 1;
}

// Step 15 left intake entries out of audit_by_principal: a vault from
// before it opens with the partial index, the quota counts are planned on
// it (they state its condition) and still count every read, and an intake
// is refused as something to count.
TEST_F(SqliteMigrationTest, AVaultFromBeforeStepFifteenCountsReadsOnItsIndex) {
  // A read the policy allowed (the API sets the verdict it logs).
  auto read = [&](const v1::Record& r) {
    v1::AuditEntry e = Entry(v1::ACTION_READ_RECORD, r.record_id());
    e.set_verdict(v1::VERDICT_ALLOW);
    EXPECT_TRUE(
        vault_->Read(r.record_id(), {v1::DATA_CATEGORY_FACE_IMAGE}, e).ok());
  };
  std::vector<v1::Record> taken;
  for (int i = 0; i < 4; ++i) taken.push_back(Take());
  for (const v1::Record& r : taken) read(r);
  vault_.reset();
  testing::ExecSql(db_path(),
                   "BEGIN; DROP INDEX audit_by_principal; CREATE INDEX "
                   "audit_by_principal ON audit_log(principal, time_us); "
                   "PRAGMA user_version=14; COMMIT;");
  Reopen();
  EXPECT_EQ(testing::QueryInt(db_path(), "PRAGMA user_version"), kLatestStep);
  EXPECT_TRUE(LeavesOutIntakes(db_path(), "audit_by_principal"));
  for (const char* sql : {kCountReadsByPrincipal, kCountCallsByPrincipal}) {
    const std::string plan = QueryPlan(db_path(), sql);
    EXPECT_NE(plan.find("INDEX audit_by_principal"), std::string::npos)
        << sql << " is planned as: " << plan;
  }
  absl::StatusOr<ReadCounts> reads =
      vault_->log().CountReads("test", absl::InfinitePast(), false);
  ASSERT_TRUE(reads.ok()) << reads.status();
  EXPECT_EQ(reads->reads, taken.size());
  EXPECT_EQ(reads->records, taken.size());
  read(taken[0]);
  reads = vault_->log().CountReads("test", absl::InfinitePast(), false);
  ASSERT_TRUE(reads.ok()) << reads.status();
  EXPECT_EQ(reads->reads, taken.size() + 1);
  EXPECT_EQ(reads->records, taken.size());
  EXPECT_EQ(
      vault_->log()
          .CountCalls("test", false, v1::ACTION_INTAKE, absl::InfinitePast())
          .status()
          .code(),
      absl::StatusCode::kInvalidArgument);
  ExpectLogVerifies();
}

// Entries audit_by_record holds (its leaf cells; one small index is one
// page, the root).
int64_t RecordIndexEntries(const std::string& db_path) {
  return testing::QueryInt(db_path,
                           "SELECT SUM(ncell) FROM dbstat WHERE name = "
                           "'audit_by_record' AND pagetype = 'leaf'");
}

// Step 16 left intake entries out of audit_by_record: a vault from before
// it opens with the partial index, which holds no intake (of before or
// after the step), every query of a record's history is planned on it (a
// query without its condition cannot be planned on it at all), and the
// history still answers: a read by a principal and by its group, the
// categories each learned, and a record purged whole.
TEST_F(SqliteMigrationTest, AVaultFromBeforeStepSixteenFindsHistoryOnItsIndex) {
  std::vector<v1::Record> taken;
  for (int i = 0; i < 3; ++i) taken.push_back(Take());
  v1::AuditEntry e = Entry(v1::ACTION_READ_RECORD, taken[0].record_id());
  e.set_verdict(v1::VERDICT_ALLOW);
  e.add_categories(v1::DATA_CATEGORY_FACE_IMAGE);
  ASSERT_TRUE(
      vault_->Read(taken[0].record_id(), {v1::DATA_CATEGORY_FACE_IMAGE}, e)
          .ok());
  vault_.reset();
  testing::ExecSql(db_path(),
                   "BEGIN; DROP INDEX audit_by_record; CREATE INDEX "
                   "audit_by_record ON audit_log(record_id, sequence); "
                   "PRAGMA user_version=15; COMMIT;");
  EXPECT_EQ(RecordIndexEntries(db_path()), 4);  // 3 intakes and the read
  Reopen();
  EXPECT_EQ(testing::QueryInt(db_path(), "PRAGMA user_version"), kLatestStep);
  EXPECT_TRUE(LeavesOutIntakes(db_path(), "audit_by_record"));
  // A read by another principal of the same group, after the step, and
  // one more intake.
  v1::AuditEntry by_group = Entry(v1::ACTION_READ_RECORD, taken[1].record_id());
  by_group.set_principal("test-2");
  by_group.set_group("pair");
  by_group.set_verdict(v1::VERDICT_ALLOW);
  by_group.add_categories(v1::DATA_CATEGORY_PLATE_TEXT);
  ASSERT_TRUE(
      vault_
          ->Read(taken[1].record_id(), {v1::DATA_CATEGORY_PLATE_TEXT}, by_group)
          .ok());
  taken.push_back(Take());
  EXPECT_EQ(testing::QueryInt(
                db_path(), "SELECT COUNT(*) FROM audit_log WHERE action = 1"),
            4);
  EXPECT_EQ(RecordIndexEntries(db_path()),
            testing::QueryInt(
                db_path(), "SELECT COUNT(*) FROM audit_log WHERE action != 1"));
  for (const char* sql :
       {kWasPurged, kReadRecordSinceByGroup, kReadRecordSinceByPrincipal,
        kCategoriesReadByGroup, kCategoriesReadByPrincipal, kKekEntries}) {
    const std::string plan = QueryPlan(db_path(), sql);
    EXPECT_NE(plan.find("INDEX audit_by_record"), std::string::npos)
        << sql << " is planned as: " << plan;
  }
  EXPECT_NE(QueryPlan(db_path(),
                      "SELECT 1 FROM audit_log INDEXED BY audit_by_record "
                      "WHERE record_id = 'x'")
                .find("no query solution"),
            std::string::npos);

  AccessLog& log = vault_->log();
  const auto read_since = [&](absl::string_view who, bool group,
                              const v1::Record& r) {
    absl::StatusOr<bool> read =
        log.ReadRecordSince(who, group, r.record_id(), absl::InfinitePast());
    EXPECT_TRUE(read.ok()) << read.status();
    return read.ok() && *read;
  };
  EXPECT_TRUE(read_since("test", false, taken[0]));
  EXPECT_FALSE(read_since("test", false, taken[1]));
  EXPECT_TRUE(read_since("pair", true, taken[1]));
  EXPECT_FALSE(read_since("pair", true, taken[0]));
  const auto learned = [&](absl::string_view who, bool group,
                           const v1::Record& r) {
    absl::StatusOr<std::vector<v1::DataCategory>> got =
        log.CategoriesRead(who, r.record_id(), group);
    EXPECT_TRUE(got.ok()) << got.status();
    return got.ok() ? *got : std::vector<v1::DataCategory>{};
  };
  EXPECT_EQ(learned("test", false, taken[0]),
            std::vector<v1::DataCategory>{v1::DATA_CATEGORY_FACE_IMAGE});
  EXPECT_EQ(learned("pair", true, taken[1]),
            std::vector<v1::DataCategory>{v1::DATA_CATEGORY_PLATE_TEXT});
  EXPECT_TRUE(learned("test", false, taken[2]).empty());

  // Past the plate's 30 days every record is purged whole: each answers as
  // gone (WasPurged), not as an id never stored.
  clock_.Advance(absl::Hours(24 * 31));
  ASSERT_TRUE(vault_->SweepExpired().ok());
  for (const v1::Record& r : taken) {
    absl::StatusOr<v1::RecordSummary> gone =
        vault_->Describe(r.record_id(), "", "", "test", nullptr);
    EXPECT_TRUE(IsGone(gone.status())) << gone.status();
  }
  absl::StatusOr<v1::RecordSummary> never =
      vault_->Describe("rec_never_stored", "", "", "test", nullptr);
  EXPECT_EQ(never.status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(IsGone(never.status()));
  ExpectLogVerifies();
}

// Step 17 keyed the quota indexes by what the counts ask (verdict and
// action before the time) with the record in them: a vault from before it
// opens with both rebuilt, every count seeks to one verdict and action and
// reads its index alone, and the counts still leave out refusals, other
// calls, other principals and what came before the window.
TEST_F(SqliteMigrationTest,
       AVaultFromBeforeStepSeventeenCountsOnItsIndexAlone) {
  std::vector<v1::Record> taken;
  for (int i = 0; i < 3; ++i) taken.push_back(Take());
  const auto append = [&](v1::Action action, const v1::Record& r,
                          absl::string_view who, v1::Verdict verdict) {
    v1::AuditEntry e = Entry(action, r.record_id());
    e.set_principal(std::string(who));
    e.set_group("pair");
    e.set_verdict(verdict);
    *e.mutable_time() = ToProto(clock_.Now());
    absl::StatusOr<uint64_t> logged = vault_->log().Append(e);
    EXPECT_TRUE(logged.ok()) << logged.status();
  };
  append(v1::ACTION_READ_RECORD, taken[0], "test", v1::VERDICT_ALLOW);
  append(v1::ACTION_READ_ITEM, taken[0], "test", v1::VERDICT_ALLOW);
  append(v1::ACTION_READ_RECORD, taken[1], "test-2", v1::VERDICT_ALLOW);
  append(v1::ACTION_READ_RECORD, taken[2], "test", v1::VERDICT_DENY);
  append(v1::ACTION_SEARCH_PLATE, taken[2], "test", v1::VERDICT_ALLOW);
  clock_.Advance(absl::Minutes(5));
  const absl::Time window = clock_.Now();
  vault_.reset();
  testing::ExecSql(
      db_path(),
      "BEGIN; DROP INDEX audit_by_principal; CREATE INDEX audit_by_principal "
      "ON audit_log(principal, time_us) WHERE action != 1; DROP INDEX "
      "audit_by_group; CREATE INDEX audit_by_group ON audit_log(grp, time_us) "
      "WHERE grp != ''; PRAGMA user_version=16; COMMIT;");
  Reopen();
  EXPECT_EQ(testing::QueryInt(db_path(), "PRAGMA user_version"), kLatestStep);
  EXPECT_TRUE(LeavesOutIntakes(db_path(), "audit_by_principal"));
  const struct {
    const char* sql;
    const char* index;
  } counts[] = {{kCountReadsByPrincipal, "audit_by_principal"},
                {kCountCallsByPrincipal, "audit_by_principal"},
                {kCountReadsByGroup, "audit_by_group"},
                {kCountCallsByGroup, "audit_by_group"}};
  for (const auto& count : counts) {
    const std::string plan = QueryPlan(db_path(), count.sql);
    EXPECT_NE(plan.find(absl::StrCat("COVERING INDEX ", count.index, " (")),
              std::string::npos)
        << count.sql << " is planned as: " << plan;
    EXPECT_NE(plan.find("verdict=? AND action=? AND time_us>?"),
              std::string::npos)
        << count.sql << " is planned as: " << plan;
  }
  append(v1::ACTION_READ_RECORD, taken[2], "test", v1::VERDICT_ALLOW);

  AccessLog& log = vault_->log();
  const auto reads = [&](absl::string_view who, bool group, absl::Time since) {
    absl::StatusOr<ReadCounts> got = log.CountReads(who, since, group);
    EXPECT_TRUE(got.ok()) << got.status();
    return got.ok() ? std::pair(got->reads, got->records) : std::pair(~0u, ~0u);
  };
  EXPECT_EQ(reads("test", false, absl::InfinitePast()), std::pair(3u, 2u));
  EXPECT_EQ(reads("test", false, window), std::pair(1u, 1u));
  EXPECT_EQ(reads("test-2", false, window), std::pair(0u, 0u));
  EXPECT_EQ(reads("pair", true, absl::InfinitePast()), std::pair(4u, 3u));
  EXPECT_EQ(reads("pair", true, window), std::pair(1u, 1u));
  const auto searches = [&](absl::string_view who, bool group,
                            absl::Time since) {
    absl::StatusOr<uint32_t> got =
        log.CountCalls(who, group, v1::ACTION_SEARCH_PLATE, since);
    EXPECT_TRUE(got.ok()) << got.status();
    return got.ok() ? *got : ~0u;
  };
  EXPECT_EQ(searches("test", false, absl::InfinitePast()), 1u);
  EXPECT_EQ(searches("pair", true, absl::InfinitePast()), 1u);
  EXPECT_EQ(searches("test", false, window), 0u);
  ExpectLogVerifies();
}

// Step 19: a vault written before it gets each whole block of the log's
// span of times, the same rows its appends would have written, and an
// auditor's window finds what it did before.
TEST_F(SqliteMigrationTest, AVaultFromBeforeStepNineteenGetsItsLogsBlocks) {
  Take();
  for (int batch = 0; batch < 9; ++batch) {
    std::vector<v1::AuditEntry> entries;
    for (int i = 0; i < 1000; ++i) {
      v1::AuditEntry e = Entry(v1::ACTION_READ_RECORD, "rec");
      *e.mutable_time() = ToProto(clock_.Now());
      entries.push_back(std::move(e));
      clock_.Advance(absl::Seconds(1));
    }
    ASSERT_TRUE(vault_->log().AppendBatch(std::move(entries)).ok());
  }
  const char* const kBlocks =
      "SELECT group_concat(block || ':' || min_time_us || '-' || max_time_us, "
      "',') FROM (SELECT * FROM audit_blocks ORDER BY block)";
  const std::string written = testing::QueryBlob(db_path(), kBlocks);
  EXPECT_EQ(testing::QueryInt(db_path(), "SELECT COUNT(*) FROM audit_blocks"),
            2);
  AuditQuery window;
  window.since = clock_.Now() - absl::Minutes(30);
  window.limit = 5000;
  absl::StatusOr<std::vector<v1::AuditEntry>> before =
      vault_->log().Query(window);
  ASSERT_TRUE(before.ok()) << before.status();
  vault_.reset();
  testing::ExecSql(db_path(),
                   "BEGIN; DROP TABLE audit_blocks; PRAGMA user_version=18; "
                   "COMMIT;");
  Reopen();
  EXPECT_EQ(testing::QueryInt(db_path(), "PRAGMA user_version"), kLatestStep);
  EXPECT_EQ(testing::QueryBlob(db_path(), kBlocks), written);
  absl::StatusOr<std::vector<v1::AuditEntry>> after =
      vault_->log().Query(window);
  ASSERT_TRUE(after.ok()) << after.status();
  ASSERT_EQ(after->size(), before->size());
  ASSERT_FALSE(after->empty());
  EXPECT_EQ(after->front().sequence(), before->front().sequence());
  ExpectLogVerifies();
}

}  // namespace
}  // namespace lanevault::vault
