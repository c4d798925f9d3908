#include "vault/vault.h"

#include <sys/stat.h>

#include <filesystem>

#include "common/ids.h"
#include "common/time_util.h"
#include "gtest/gtest.h"
#include "testing/store_engines.h"
#include "testing/test_util.h"
#include "testing/vault_fixture.h"

namespace lanevault::vault {
namespace {

// Every promise here is checked on each store engine (SQLite, PostgreSQL).
class VaultTest : public testing::OnEachEngine<testing::VaultFixture> {};
LANEVAULT_ON_EACH_ENGINE(VaultTest);

TEST_P(VaultTest, IntakeThenReadReturnsTheSameItems) {
  v1::Record r = MakeRecord("KXR4821", "\xff\xd8 face bytes");
  ASSERT_TRUE(vault_->Intake(r, Entry(v1::ACTION_INTAKE, r.record_id())).ok());
  auto read = vault_->Read(r.record_id(), {},
                           Entry(v1::ACTION_READ_RECORD, r.record_id()));
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->items_size(), 2);
  for (const v1::Item& original : r.items()) {
    bool found = false;
    for (const v1::Item& got : read->items()) {
      if (got.item_id() == original.item_id()) {
        EXPECT_EQ(got.content(), original.content());
        EXPECT_EQ(got.category(), original.category());
        found = true;
      }
    }
    EXPECT_TRUE(found) << original.item_id();
  }
  EXPECT_EQ(read->contract_version(), 3u);
}

TEST_P(VaultTest, ReadsOnlyTheCategoriesAsked) {
  v1::Record r = MakeRecord("KXR4821", "face");
  ASSERT_TRUE(vault_->Intake(r, Entry(v1::ACTION_INTAKE, r.record_id())).ok());
  auto read = vault_->Read(r.record_id(), {v1::DATA_CATEGORY_PLATE_TEXT},
                           Entry(v1::ACTION_READ_RECORD, r.record_id()));
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->items_size(), 1);
  EXPECT_EQ(read->items(0).content(), "KXR4821");
}

TEST_P(VaultTest, ExpiredItemIsNeverReturnedEvenBeforeSweep) {
  v1::Record r = MakeRecord("KXR4821", "face", absl::Hours(12));
  ASSERT_TRUE(vault_->Intake(r, Entry(v1::ACTION_INTAKE, r.record_id())).ok());
  clock_.Advance(absl::Hours(12));  // the deadline itself is too late
  auto read = vault_->Read(r.record_id(), {},
                           Entry(v1::ACTION_READ_RECORD, r.record_id()));
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->items_size(), 1);
  EXPECT_EQ(read->items(0).category(), v1::DATA_CATEGORY_PLATE_TEXT);
  auto summary = vault_->Describe(r.record_id());
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(summary->categories_size(), 1);
  clock_.Advance(absl::Hours(24 * 30));
  EXPECT_EQ(vault_->Describe(r.record_id()).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_P(VaultTest, IntakeAndItsAuditEntryCommitTogether) {
  v1::Record r = MakeRecord("KXR4821", "face");
  ASSERT_TRUE(vault_->Intake(r, Entry(v1::ACTION_INTAKE, r.record_id())).ok());
  // A duplicate id fails, and neither record nor audit entry is added.
  EXPECT_FALSE(vault_->Intake(r, Entry(v1::ACTION_INTAKE, r.record_id())).ok());
  auto entries = vault_->log().Entries(0, 100);
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].record_id(), r.record_id());
  EXPECT_EQ(*vault_->RecordCount(), 1u);
}

TEST_P(VaultTest, SurvivesReopen) {
  v1::Record r = MakeRecord("KXR4821", "face");
  ASSERT_TRUE(vault_->Intake(r, Entry(v1::ACTION_INTAKE, r.record_id())).ok());
  Reopen();
  auto read = vault_->Read(r.record_id(), {},
                           Entry(v1::ACTION_READ_RECORD, r.record_id()));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->items_size(), 2);
}

TEST_P(VaultTest, RejectsItemsWithoutDeadline) {
  v1::Record r = MakeRecord("KXR4821", "face");
  r.mutable_items(0)->clear_deadline();
  EXPECT_EQ(vault_->Intake(r, Entry(v1::ACTION_INTAKE, r.record_id())).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_P(VaultTest, EditedDeadlineFailsToDecrypt) {
  v1::Record r = MakeRecord("KXR4821", "face");
  ASSERT_TRUE(vault_->Intake(r, Entry(v1::ACTION_INTAKE, r.record_id())).ok());
  ExecBehind("UPDATE items SET deadline_us = deadline_us + 1000000000");
  auto read = vault_->Read(r.record_id(), {},
                           Entry(v1::ACTION_READ_RECORD, r.record_id()));
  EXPECT_EQ(read.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(read.status().message().find(r.record_id()),
            absl::string_view::npos);
}

TEST_P(VaultTest, CiphertextMovedToAnotherRecordFailsAndOthersStillRead) {
  v1::Record a = MakeRecord("AAA1111", "face a");
  v1::Record b = MakeRecord("BBB2222", "face b");
  v1::Record c = MakeRecord("CCC3333", "face c");
  for (auto* r : {&a, &b, &c}) {
    ASSERT_TRUE(
        vault_->Intake(*r, Entry(v1::ACTION_INTAKE, r->record_id())).ok());
  }
  // Copy a's plate ciphertext and key over b's plate item.
  ExecBehind(
      "UPDATE items SET ciphertext = (SELECT ciphertext FROM items WHERE "
      "item_id = '" +
      a.items(0).item_id() +
      "'), wrapped_key = (SELECT "
      "wrapped_key FROM items WHERE item_id = '" +
      a.items(0).item_id() + "') WHERE item_id = '" + b.items(0).item_id() +
      "'");
  EXPECT_EQ(vault_
                ->Read(b.record_id(), {},
                       Entry(v1::ACTION_READ_RECORD, b.record_id()))
                .status()
                .code(),
            absl::StatusCode::kDataLoss);
  EXPECT_TRUE(vault_
                  ->Read(a.record_id(), {},
                         Entry(v1::ACTION_READ_RECORD, a.record_id()))
                  .ok());
  EXPECT_TRUE(vault_
                  ->Read(c.record_id(), {},
                         Entry(v1::ACTION_READ_RECORD, c.record_id()))
                  .ok());
}

TEST_P(VaultTest, NoPlaintextInTheDatabaseOrItsWal) {
  // Distinctive bytes that would be easy to find if they leaked.
  const std::string plate = "ZQX9047";
  std::string face = "JFIF-face-crop-";
  for (int i = 0; i < 64; ++i) face += static_cast<char>('a' + i % 26);
  for (int i = 0; i < 20; ++i) {
    v1::Record r = MakeRecord(plate, face);
    ASSERT_TRUE(
        vault_->Intake(r, Entry(v1::ACTION_INTAKE, r.record_id())).ok());
  }
  if (!postgres() && std::filesystem::exists(db_path() + "-shm")) {
    EXPECT_FALSE(testing::FileContains(db_path() + "-shm", plate));
  }
  EXPECT_FALSE(StoreFilesContain(plate));
  EXPECT_FALSE(StoreFilesContain(face.substr(0, 24)));
  EXPECT_FALSE(StoreFilesContain(face.substr(30, 24)));
}

TEST_P(VaultTest, ReadFailsClosedWhenTheLogCannotBeWritten) {
  v1::Record r = MakeRecord("KXR4821", "face");
  ASSERT_TRUE(vault_->Intake(r, Entry(v1::ACTION_INTAKE, r.record_id())).ok());
  // A trigger that refuses audit appends stands in for a log that cannot be
  // written; the read must not return anything.
  ExecBehind(postgres()
                 ? "CREATE FUNCTION no_log() RETURNS trigger AS $$ BEGIN "
                   "RAISE EXCEPTION 'log unwritable'; END $$ LANGUAGE "
                   "plpgsql; CREATE TRIGGER no_log BEFORE INSERT ON "
                   "audit_log FOR EACH ROW EXECUTE FUNCTION no_log()"
                 : "CREATE TRIGGER no_log BEFORE INSERT ON audit_log BEGIN "
                   "SELECT RAISE(FAIL, 'log unwritable'); END");
  auto read = vault_->Read(r.record_id(), {},
                           Entry(v1::ACTION_READ_RECORD, r.record_id()));
  EXPECT_EQ(read.status().code(), absl::StatusCode::kUnavailable);
  // And intake is refused without leaving the record behind.
  v1::Record r2 = MakeRecord("KXR4822", "face");
  EXPECT_FALSE(
      vault_->Intake(r2, Entry(v1::ACTION_INTAKE, r2.record_id())).ok());
  EXPECT_EQ(vault_->Describe(r2.record_id()).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_P(VaultTest, FindPagesThroughRecordIds) {
  for (int i = 0; i < 5; ++i) {
    v1::Record r = MakeRecord("KXR4821", "face");
    ASSERT_TRUE(
        vault_->Intake(r, Entry(v1::ACTION_INTAKE, r.record_id())).ok());
  }
  RecordQuery q;
  q.limit = 3;
  auto first = vault_->Find(q);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 3u);
  q.after_record_id = first->back().record_id();
  auto second = vault_->Find(q);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->size(), 2u);
}

}  // namespace
}  // namespace lanevault::vault
