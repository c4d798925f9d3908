// Retention on a fake clock: deadlines, holds, catch-up after downtime,
// expired-but-unswept reads, the report, and the plate blind index.

#include <algorithm>
#include <map>
#include <optional>
#include <thread>

#include "gtest/gtest.h"
#include "testing/store_engines.h"
#include "testing/test_util.h"
#include "testing/vault_fixture.h"

namespace lanevault::vault {
namespace {

// Checked on each store engine (SQLite, PostgreSQL).
class RetentionTest : public testing::OnEachEngine<testing::VaultFixture> {
 protected:
  v1::Record Take(absl::string_view plate, absl::Duration face_keep) {
    v1::Record r = MakeRecord(plate, "\xff\xd8 face", face_keep);
    EXPECT_TRUE(
        vault_->Intake(r, Entry(v1::ACTION_INTAKE, r.record_id())).ok());
    return r;
  }
  // Item purges (a retention period's key destroyed is logged as a purge
  // too, with its own reason; see period_keys_test).
  std::vector<v1::AuditEntry> Purges() {
    AuditQuery q;
    q.action = v1::ACTION_PURGE;
    q.limit = 1000;
    std::vector<v1::AuditEntry> out;
    absl::StatusOr<std::vector<v1::AuditEntry>> all = vault_->log().Query(q);
    EXPECT_TRUE(all.ok()) << all.status();
    if (!all.ok()) return out;
    for (v1::AuditEntry& e : *all) {
      if (e.reason_code() != "key_destroyed") out.push_back(std::move(e));
    }
    return out;
  }
  // Items named by purge entries (a store may name several items of one
  // record in one entry).
  size_t PurgedItems() {
    size_t n = 0;
    for (const v1::AuditEntry& e : Purges()) n += e.item_ids_size();
    return n;
  }
  uint64_t Overdue() {
    absl::StatusOr<std::vector<CategoryRetentionRow>> report =
        vault_->RetentionReport();
    EXPECT_TRUE(report.ok()) << report.status();
    uint64_t n = 0;
    for (const CategoryRetentionRow& row : report.value()) n += row.overdue;
    return n;
  }
};
LANEVAULT_ON_EACH_ENGINE(RetentionTest);

TEST_P(RetentionTest, SweepPurgesOnlyWhatIsDueAndLogsEachItem) {
  v1::Record short_face = Take("AAA111", absl::Hours(1));
  v1::Record long_face = Take("BBB222", absl::Hours(48));
  EXPECT_EQ(*vault_->NextDeadline(), testing::kStart + absl::Hours(1));
  EXPECT_EQ(vault_->SweepExpired()->items, 0u);  // nothing due yet

  clock_.Advance(absl::Hours(1));  // the deadline itself is due
  EXPECT_EQ(Overdue(), 1u);
  PurgeResult purged = *vault_->SweepExpired();
  EXPECT_EQ(purged.items, 1u);
  EXPECT_EQ(purged.records, 0u);  // its plate text is still kept
  EXPECT_EQ(Overdue(), 0u);
  // Next: the end of today (kStart is 08:00 UTC), when today's retention
  // period key may be destroyed; then the next deadline.
  EXPECT_EQ(*vault_->NextDeadline(), testing::kStart + absl::Hours(16));
  clock_.Advance(absl::Hours(15));
  ASSERT_TRUE(vault_->SweepExpired().ok());
  EXPECT_EQ(*vault_->NextDeadline(), testing::kStart + absl::Hours(48));

  std::vector<v1::AuditEntry> purges = Purges();
  ASSERT_EQ(purges.size(), 1u);
  EXPECT_EQ(purges[0].record_id(), short_face.record_id());
  ASSERT_EQ(purges[0].item_ids_size(), 1);
  EXPECT_EQ(purges[0].item_ids(0), short_face.items(1).item_id());
  EXPECT_EQ(purges[0].principal(), "system");
  EXPECT_EQ(purges[0].verdict(), v1::VERDICT_ALLOW);

  // When every item is gone the record goes too.
  clock_.Advance(absl::Hours(24 * 31));
  purged = *vault_->SweepExpired();
  EXPECT_EQ(purged.items, 3u);
  EXPECT_EQ(purged.records, 2u);
  EXPECT_EQ(*vault_->RecordCount(), 0u);
  EXPECT_EQ(*vault_->NextDeadline(), absl::InfiniteFuture());
  // Every purged item is named by exactly one purge entry, its record's (a
  // store may name a record's items of one sweep in one entry).
  std::map<std::string, std::string> owner;
  std::vector<std::string> expected;
  for (const v1::Record* r : {&short_face, &long_face}) {
    for (const v1::Item& item : r->items()) {
      owner[item.item_id()] = r->record_id();
      expected.push_back(item.item_id());
    }
  }
  std::vector<std::string> named;
  for (const v1::AuditEntry& e : Purges()) {
    for (const std::string& id : e.item_ids()) {
      named.push_back(id);
      EXPECT_EQ(owner[id], e.record_id()) << id;
    }
  }
  std::sort(named.begin(), named.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(named, expected);
}

TEST_P(RetentionTest, ExpiredButUnsweptItemsAreRefusedOnRead) {
  v1::Record r = Take("CCC333", absl::Hours(1));
  clock_.Advance(absl::Hours(2));  // due, but no sweep has run
  auto read = vault_->Read(r.record_id(), {v1::DATA_CATEGORY_FACE_IMAGE},
                           Entry(v1::ACTION_READ_RECORD, r.record_id()));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->items_size(), 0);
  EXPECT_EQ(Overdue(), 1u);
}

// The gate's decision fetches the record and Read opens that fetch (one
// fetch a read). A face purged after the decision, and a hold placed for
// the case before the read, must not bring the purged face back out of the
// decision's copy: what a hold keeps is what the store still holds.
TEST_P(RetentionTest, AHoldPlacedAfterThePurgeOpensNothingTheDecisionKept) {
  v1::Record r = Take("FFF666", absl::Hours(1));
  std::optional<StoredRecord> kept;
  ASSERT_TRUE(vault_->Describe(r.record_id(), "", "", "inspector", &kept).ok());
  ASSERT_TRUE(kept.has_value());
  ASSERT_EQ(kept->items.size(), 2u);
  clock_.Advance(absl::Hours(2));
  EXPECT_EQ(vault_->SweepExpired()->items, 1u);  // the face
  v1::AuditEntry place = Entry(v1::ACTION_MANAGE_HOLD, "");
  ASSERT_TRUE(vault_->oversight()
                  .PlaceHold("CASE-5", "court order", {r.record_id()}, place)
                  .ok());
  v1::AuditEntry for_case = Entry(v1::ACTION_READ_RECORD, r.record_id());
  for_case.set_case_id("CASE-5");
  auto read = vault_->Read(r.record_id(), {v1::DATA_CATEGORY_FACE_IMAGE},
                           for_case, "", nullptr, nullptr, std::move(kept));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->items_size(), 0);
}

TEST_P(RetentionTest, HoldPausesPurgingUntilLifted) {
  v1::Record held = Take("DDD444", absl::Hours(1));
  v1::Record free = Take("EEE555", absl::Hours(1));
  v1::AuditEntry place = Entry(v1::ACTION_MANAGE_HOLD, "");
  place.set_principal("officer");
  auto hold = vault_->oversight().PlaceHold("CASE-7", "court order 12/2026",
                                            {held.record_id()}, place);
  ASSERT_TRUE(hold.ok()) << hold.status();
  EXPECT_EQ(hold->placed_by, "officer");

  clock_.Advance(absl::Hours(2));
  EXPECT_EQ(vault_->SweepExpired()->items, 1u);  // only the free face
  absl::StatusOr<std::vector<CategoryRetentionRow>> report =
      vault_->RetentionReport();
  ASSERT_TRUE(report.ok());
  uint64_t on_hold = 0;
  for (const CategoryRetentionRow& row : report.value()) on_hold += row.on_hold;
  EXPECT_EQ(on_hold, 2u);    // both items of the held record
  EXPECT_EQ(Overdue(), 0u);  // held items are not overdue

  // Past its deadline, a held item reads only for the hold's own case.
  v1::AuditEntry for_case = Entry(v1::ACTION_READ_RECORD, held.record_id());
  for_case.set_case_id("CASE-7");
  auto read =
      vault_->Read(held.record_id(), {v1::DATA_CATEGORY_FACE_IMAGE}, for_case);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->items_size(), 1);
  v1::AuditEntry other_case = for_case;
  other_case.set_case_id("CASE-8");
  read = vault_->Read(held.record_id(), {v1::DATA_CATEGORY_FACE_IMAGE},
                      other_case);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->items_size(), 0);

  // Lifted, the overdue item goes at the next sweep.
  EXPECT_EQ(vault_->oversight()
                .LiftHold(hold->hold_id, "", Entry(v1::ACTION_MANAGE_HOLD, ""))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);  // a reason is required
  auto lifted = vault_->oversight().LiftHold(hold->hold_id, "case closed",
                                             Entry(v1::ACTION_MANAGE_HOLD, ""));
  ASSERT_TRUE(lifted.ok()) << lifted.status();
  EXPECT_FALSE(lifted->active());
  EXPECT_EQ(lifted->record_ids, std::vector<std::string>{held.record_id()});
  EXPECT_EQ(
      vault_->oversight()
          .LiftHold(hold->hold_id, "again", Entry(v1::ACTION_MANAGE_HOLD, ""))
          .status()
          .code(),
      absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Overdue(), 1u);
  EXPECT_EQ(vault_->SweepExpired()->items, 1u);
  EXPECT_EQ(Overdue(), 0u);
  EXPECT_TRUE(vault_->oversight().Holds(false)->empty());
  EXPECT_EQ(vault_->oversight().Holds(true)->size(), 1u);

  // Holds are logged, and need a case, a reason and known records.
  AuditQuery q;
  q.action = v1::ACTION_MANAGE_HOLD;
  EXPECT_EQ(vault_->log().Query(q)->size(), 2u);
  EXPECT_EQ(vault_->oversight()
                .PlaceHold("", "why", {held.record_id()}, place)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(vault_->oversight()
                .PlaceHold("CASE-9", "why", {"rec_nope"}, place)
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(vault_->log().Query(q)->size(), 2u);  // refused: nothing logged
  (void)free;
}

TEST_P(RetentionTest, CatchesUpAfterDowntime) {
  for (int i = 0; i < 5; ++i) Take("FFF666", absl::Hours(1));
  vault_.reset();                        // the daemon is down...
  clock_.Advance(absl::Hours(24 * 40));  // ...past every deadline
  Reopen();
  vault_->StartMaintenance();  // first thing it does: catch up
  for (int i = 0; i < 500 && *vault_->RecordCount() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(*vault_->RecordCount(), 0u);
  vault_->StopMaintenance();
  EXPECT_EQ(PurgedItems(), 10u);
  EXPECT_EQ(Overdue(), 0u);
}

TEST_P(RetentionTest, MaintainerWakesAtTheDeadlineNotOnAPoll) {
  // On the real clock: an item due in 300 ms is purged then, not after the
  // maintainer's longest sleep (minutes).
  vault_.reset();
  VaultOptions o = Options();
  o.clock = RealClock();
  auto v = Vault::Open(o);
  ASSERT_TRUE(v.ok());
  vault_ = std::move(*v);
  vault_->StartMaintenance();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // asleep
  v1::Record r = MakeRecord("GGG777", "face", absl::Hours(1));
  *r.mutable_items(1)->mutable_deadline() =
      ToProto(absl::Now() + absl::Milliseconds(300));
  ASSERT_TRUE(vault_->Intake(r, Entry(v1::ACTION_INTAKE, r.record_id())).ok());
  const absl::Time start = absl::Now();
  while (Purges().empty() && absl::Now() - start < absl::Seconds(10)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(Purges().size(), 1u);
  EXPECT_GE(FromProto(Purges()[0].time()),
            FromProto(r.items(1).deadline()));  // never before
}

TEST_P(RetentionTest, ExactPlateLookupByBlindIndexOnly) {
  v1::Record a = Take("KXR4821", absl::Hours(1));
  v1::Record b = Take("KXR-4821", absl::Hours(1));  // same plate, other form
  Take("ZZZ0000", absl::Hours(1));
  auto found =
      vault_->LookupPlate("kxr 4821", 5, Entry(v1::ACTION_SEARCH_PLATE, ""));
  ASSERT_TRUE(found.ok()) << found.status();
  std::vector<std::string> want = {a.record_id(), b.record_id()};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(*found, want);
  // The log holds the blind index, never the text; so does the database.
  AuditQuery q;
  q.action = v1::ACTION_SEARCH_PLATE;
  auto logged = vault_->log().Query(q);
  ASSERT_EQ(logged->size(), 1u);
  EXPECT_EQ((*logged)[0].plate_blind_index(),
            vault_->PlateBlindIndex("KXR4821"));
  vault_.reset();
  EXPECT_FALSE(StoreFilesContain("KXR4821"));
  Reopen();
  EXPECT_EQ(vault_->LookupPlate("", 5, Entry(v1::ACTION_SEARCH_PLATE, ""))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  // Once the plate text is past its deadline, the lookup finds nothing, and
  // after the sweep the index entries are gone.
  clock_.Advance(absl::Hours(24 * 31));
  EXPECT_TRUE(
      vault_->LookupPlate("KXR4821", 5, Entry(v1::ACTION_SEARCH_PLATE, ""))
          ->empty());
  ASSERT_TRUE(vault_->SweepExpired().ok());
  vault_.reset();
  EXPECT_EQ(QueryBehind("SELECT COUNT(*) FROM plate_candidates"), 0);
  if (!postgres()) {
    EXPECT_EQ(QueryBehind("SELECT COUNT(*) FROM plate_blinds"), 0);
  }
}

}  // namespace
}  // namespace lanevault::vault
