// Lookups that survive a misread (issue 30 part 4): intake keeps a few of a
// crossing's plate readings sealed in its plate text item, each with a blind
// index of its own and its rank, and an exact-plate lookup finds a vehicle
// whose true plate is any of them, best-read first. Checked on the policy's
// intake, on a real vault on each store engine, and over real gRPC/mTLS.

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "api/scoped_answers.h"
#include "common/time_util.h"
#include "crypto/sealed_box.h"
#include "gtest/gtest.h"
#include "lanevault/v1/evidence.grpc.pb.h"
#include "lanevault/v1/lanes.grpc.pb.h"
#include "policy/policy.h"
#include "testing/api_fixture.h"
#include "testing/store_engines.h"
#include "testing/test_util.h"
#include "testing/vault_fixture.h"
#include "vault/sqlite_store_impl.h"

namespace lanevault {
namespace {

v1::PlateCandidate Reading(absl::string_view text, float confidence = 0.5f,
                           int votes = 1) {
  v1::PlateCandidate c;
  c.set_text(std::string(text));
  c.set_confidence(confidence);
  c.set_votes(votes);
  return c;
}

std::vector<std::string> Texts(const v1::Item& item) {
  std::vector<std::string> out;
  for (const v1::PlateCandidate& c : item.plate_candidates()) {
    out.push_back(c.text());
  }
  return out;
}

// --- The policy's intake: which readings are kept. ---

class ApplyIntakeReadings : public ::testing::Test {
 protected:
  void SetUp() override {
    record_.set_record_id("rec_1");
    v1::Item* text = record_.add_items();
    text->set_item_id("itm_text");
    text->set_category(v1::DATA_CATEGORY_PLATE_TEXT);
    text->set_content("KXR 4821");
    v1::Item* face = record_.add_items();
    face->set_item_id("itm_face");
    face->set_category(v1::DATA_CATEGORY_FACE_IMAGE);
    face->set_content(testing::JpegHeaderThen(64));
  }
  v1::IntakeDecision Keep(bool text, bool face) {
    v1::IntakeDecision d;
    for (auto [id, keep] : {std::pair{"itm_text", text}, {"itm_face", face}}) {
      v1::ItemDecision* item = d.add_items();
      item->set_item_id(id);
      item->set_keep(keep);
      *item->mutable_deadline() = ToProto(absl::FromUnixSeconds(2'000'000'000));
    }
    return d;
  }
  v1::Record record_;
};

TEST_F(ApplyIntakeReadings, KeepsTheTopReadingsInThePlateTextItemOnly) {
  // The tracker's list starts with the plate text's own reading.
  for (const char* t : {"KXR4821", "KXR4B21", "KXR482", "KXR4821", "KXB4821",
                        "KXR4E21", "KXR4321", "KXR4S21"}) {
    *record_.add_plate_candidates() = Reading(t);
  }
  int dropped = -1;
  v1::Record kept = policy::ApplyIntake(record_, Keep(true, true), &dropped);
  EXPECT_EQ(dropped, 0);
  EXPECT_EQ(kept.plate_candidates_size(), 0);
  ASSERT_EQ(kept.items_size(), 2);
  // The plate text itself and a repeat are not readings of their own; four
  // others make kMaxPlateReadings with it.
  static_assert(policy::kMaxPlateReadings == 5);
  EXPECT_EQ(
      Texts(kept.items(0)),
      (std::vector<std::string>{"KXR4B21", "KXR482", "KXB4821", "KXR4E21"}));
  EXPECT_EQ(kept.items(1).plate_candidates_size(), 0);
}

TEST_F(ApplyIntakeReadings, AnUnkeptPlateTextKeepsNoReading) {
  *record_.add_plate_candidates() = Reading("KXR4B21");
  v1::Record kept = policy::ApplyIntake(record_, Keep(false, true), nullptr);
  ASSERT_EQ(kept.items_size(), 1);
  EXPECT_EQ(kept.items(0).category(), v1::DATA_CATEGORY_FACE_IMAGE);
  EXPECT_EQ(kept.items(0).plate_candidates_size(), 0);
  EXPECT_EQ(kept.plate_candidates_size(), 0);
}

TEST_F(ApplyIntakeReadings, HostileReadingsArePassedOverAndBounded) {
  // Lowercase, spaces, punctuation, too long, empty: not the capture
  // node's form, so not kept. Readings an item brings along are not the
  // crossing's and go too. Odd numbers are clamped.
  for (const char* t :
       {"kxr4b21", "KXR 4B21", "KXR-4B21", "", "AAAAAAAAAAAAAAAAA",
        "KXR\xc3\x98"
        "4821"}) {
    *record_.add_plate_candidates() = Reading(t);
  }
  *record_.add_plate_candidates() = Reading("AAAAAAAAAAAAAAAA", -3.0f, -7);
  *record_.add_plate_candidates() = Reading("KXR4B21", std::nanf(""), 1 << 30);
  for (int i = 0; i < 1000; ++i) {
    *record_.add_plate_candidates() = Reading(absl::StrCat("Q", i));
  }
  *record_.mutable_items(1)->add_plate_candidates() = Reading("FACE1");
  v1::Record kept = policy::ApplyIntake(record_, Keep(true, true), nullptr);
  ASSERT_EQ(kept.items_size(), 2);
  EXPECT_EQ(
      Texts(kept.items(0)),
      (std::vector<std::string>{"AAAAAAAAAAAAAAAA", "KXR4B21", "Q0", "Q1"}));
  EXPECT_EQ(kept.items(0).plate_candidates(0).confidence(), 0.0f);
  EXPECT_EQ(kept.items(0).plate_candidates(0).votes(), 0);
  EXPECT_EQ(kept.items(0).plate_candidates(1).confidence(), 0.0f);
  EXPECT_EQ(kept.items(0).plate_candidates(1).votes(), 1 << 20);
  EXPECT_EQ(kept.items(1).plate_candidates_size(), 0);
}

// --- A real vault, on each store engine. ---

class PlateReadingsTest : public testing::OnEachEngine<testing::VaultFixture> {
 protected:
  // A crossing whose plate text reads `plate` and whose other readings are
  // `others`, best first, as intake keeps them.
  v1::Record Take(absl::string_view plate, std::vector<std::string> others,
                  absl::string_view id = "") {
    v1::Record r = MakeRecord(plate, "\xff\xd8 face");
    if (!id.empty()) r.set_record_id(std::string(id));
    for (const std::string& o : others) {
      *r.mutable_items(0)->add_plate_candidates() = Reading(o);
    }
    absl::Status s = vault_->Intake(r, Entry(v1::ACTION_INTAKE, r.record_id()));
    EXPECT_TRUE(s.ok()) << s;
    return r;
  }
  std::vector<std::string> Lookup(absl::string_view plate, int limit = 5) {
    auto found =
        vault_->LookupPlate(plate, limit, Entry(v1::ACTION_SEARCH_PLATE, ""));
    EXPECT_TRUE(found.ok()) << found.status();
    return found.ok() ? *found : std::vector<std::string>{};
  }
  // The readings' index rows. SQLite keeps those stored since its schema
  // step 12 in plate_blinds (keyed by blind index), older ones where they
  // were, in plate_candidates.
  std::string Candidates() const {
    return postgres() ? "plate_candidates"
                      : "(SELECT record_id, item_id, rank, blind FROM "
                        "plate_blinds UNION ALL SELECT record_id, item_id, "
                        "rank, blind FROM plate_candidates)";
  }
  int64_t CandidateRows(absl::string_view record_id) {
    return QueryBehind(absl::StrCat("SELECT COUNT(*) FROM ", Candidates(),
                                    " WHERE record_id = '", record_id, "'"));
  }
  // The plate text's deadline (its index rows' cell).
  static absl::Time Deadline(const v1::Record& r) {
    return FromProto(r.items(0).deadline());
  }
  // `bytes` as a literal of the engine's blob type.
  std::string Blob(const std::string& bytes) const {
    const std::string hex = absl::BytesToHexString(bytes);
    return postgres() ? absl::StrCat("decode('", hex, "', 'hex')")
                      : absl::StrCat("X'", hex, "'");
  }
  // The distinct index values the rows of these records hold.
  int64_t DistinctValues(absl::string_view a, absl::string_view b) {
    return QueryBehind(absl::StrCat("SELECT COUNT(DISTINCT blind) FROM ",
                                    Candidates(), " c WHERE record_id IN ('", a,
                                    "', '", b, "')"));
  }
};
LANEVAULT_ON_EACH_ENGINE(PlateReadingsTest);

TEST_P(PlateReadingsTest, ALookupForTheSecondCandidateOfACrossingFindsIt) {
  v1::Record misread = Take("KXR4B21", {"KXR4821", "KXR482"});
  Take("ZZZ0000", {});
  EXPECT_EQ(Lookup("kxr-4821"), std::vector<std::string>{misread.record_id()});
  EXPECT_EQ(Lookup("KXR482"), std::vector<std::string>{misread.record_id()});
  EXPECT_TRUE(Lookup("KXR4").empty());  // exact plates only
  EXPECT_EQ(CandidateRows(misread.record_id()), 3);
  // What is read back is the plate text with its readings, in order.
  auto read = vault_->Read(misread.record_id(), {v1::DATA_CATEGORY_PLATE_TEXT},
                           Entry(v1::ACTION_READ_RECORD, misread.record_id()));
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->items_size(), 1);
  EXPECT_EQ(read->items(0).content(), "KXR4B21");
  EXPECT_EQ(Texts(read->items(0)),
            (std::vector<std::string>{"KXR4821", "KXR482"}));
  // The lookup's entry names the blind index of what was asked, never the
  // text; the files hold neither reading in the clear.
  vault::AuditQuery q;
  q.action = v1::ACTION_SEARCH_PLATE;
  auto logged = vault_->log().Query(q);
  ASSERT_TRUE(logged.ok());
  ASSERT_EQ(logged->size(), 3u);
  EXPECT_EQ((*logged)[0].plate_blind_index(),
            vault_->PlateBlindIndex("KXR4821"));
  for (const v1::AuditEntry& e : *logged) {
    EXPECT_EQ(e.SerializeAsString().find("KXR"), std::string::npos);
  }
  vault_.reset();
  EXPECT_FALSE(StoreFilesContain("KXR4821"));
  EXPECT_FALSE(StoreFilesContain("KXR482"));
}

// Someone holding a copy of the database (root on the vault host) sees the
// index values: were they one per plate, every crossing of a vehicle would
// be linked there. Values are of the hour of the plate's deadline, so only
// crossings kept until the same hour share one, not a way out in the
// morning and back in the evening; lookups still find all.
TEST_P(PlateReadingsTest, AVehiclesCrossingsInDifferentHoursShareNoIndexValue) {
  const absl::Time morning = clock_.Now();
  v1::Record out = Take("KXR4821", {"KXR4B21"}, "rec_out");
  v1::Record out_again = Take("KXR4821", {}, "rec_out2");
  clock_.Advance(absl::Hours(9));  // back the same day
  v1::Record back = Take("KXR4B21", {"KXR4821"}, "rec_back");
  // Within an hour the value is shared (the bound this gives): the hour's
  // two records hold two values, KXR4821's and KXR4B21's...
  EXPECT_EQ(DistinctValues(out.record_id(), out_again.record_id()), 2);
  // ...across hours no reading's value is: two readings a record, four
  // values for the two hours' records.
  EXPECT_EQ(DistinctValues(out.record_id(), back.record_id()), 4);
  if (!postgres()) {
    // Nor is the plate's undated value (what a lookup logs) in the files
    // before a lookup, while each hour's is.
    const std::string undated = vault_->PlateBlindIndex("KXR4821");
    const std::string of_evening =
        vault_->PlateIndexOf("KXR4821", Deadline(back), clock_.Now());
    vault_.reset();
    EXPECT_FALSE(StoreFilesContain(undated));
    EXPECT_TRUE(StoreFilesContain(of_evening));
    Reopen();
  }
  EXPECT_EQ(Lookup("KXR4821"),
            (std::vector<std::string>{"rec_out", "rec_out2", "rec_back"}));
  EXPECT_EQ(Lookup("KXR4B21"),
            (std::vector<std::string>{"rec_back", "rec_out"}));
  // Each hour's value is the one the vault computes for that hour, and
  // another hour's value of the plate finds nothing of it.
  const int64_t rows_of_morning_value = QueryBehind(absl::StrCat(
      "SELECT COUNT(*) FROM ", Candidates(), " c WHERE blind = ",
      Blob(vault_->PlateIndexOf("kxr 4821", Deadline(out), morning))));
  EXPECT_EQ(rows_of_morning_value, 2);
  EXPECT_EQ(QueryBehind(absl::StrCat(
                "SELECT COUNT(*) FROM ", Candidates(), " c WHERE blind = ",
                Blob(vault_->PlateIndexOf(
                    "KXR4821", Deadline(out) + absl::Hours(2), morning)))),
            0);
}

// An item kept longer than Vault::kHourIndexedWithin is indexed under its
// deadline's day (a lookup asks for every cell to the last deadline, and a
// year of hours would be 8,760 values), and found all its life.
TEST_P(PlateReadingsTest, AReadingKeptLongIsIndexedByItsDayAndFound) {
  v1::Record r = MakeRecord("LNG4567", "\xff\xd8 face");
  r.set_record_id("rec_long");
  const absl::Time taken = clock_.Now();
  const absl::Time deadline = taken + absl::Hours(24 * 200);
  *r.mutable_items(0)->mutable_deadline() = ToProto(deadline);
  ASSERT_TRUE(vault_->Intake(r, Entry(v1::ACTION_INTAKE, r.record_id())).ok());
  const std::string by_day = vault_->PlateIndexOf("LNG4567", deadline, taken);
  EXPECT_NE(by_day, vault_->PlateIndexOf("LNG4567", deadline, deadline));
  EXPECT_EQ(QueryBehind(absl::StrCat("SELECT COUNT(*) FROM ", Candidates(),
                                     " c WHERE blind = ", Blob(by_day))),
            1);
  EXPECT_EQ(Lookup("LNG4567"), std::vector<std::string>{"rec_long"});
  // Still found once its deadline is nearer than hours reach.
  clock_.Advance(absl::Hours(24 * 150));
  EXPECT_EQ(Lookup("LNG4567"), std::vector<std::string>{"rec_long"});
}

// Rows indexed before time cells were (a vault from before 2026-12-07) hold
// the plate's undated value, and are still found until they expire.
TEST_P(PlateReadingsTest, ReadingsIndexedBeforeCellsAreStillFound) {
  v1::Record old = Take("MHV2170", {"MHV217O"}, "rec_old");
  v1::Record fresh = Take("MHV2170", {}, "rec_new");
  const std::string table = postgres() ? "plate_candidates" : "plate_blinds";
  ExecBehind(
      absl::StrCat("UPDATE ", table,
                   " SET blind = ", Blob(vault_->PlateBlindIndex("MHV2170")),
                   " WHERE record_id = '", old.record_id(), "' AND rank = 1"));
  EXPECT_EQ(Lookup("MHV2170"),
            (std::vector<std::string>{"rec_new", "rec_old"}));
  EXPECT_EQ(DistinctValues(old.record_id(), fresh.record_id()), 3);
  if (postgres()) return;
  // SQLite keeps readings from before its step 12 in plate_candidates,
  // asked for by their undated value alone: found there, ranked among the
  // others (a third record read the plate second, kept in plate_blinds).
  v1::Record second = Take("MHV217B", {"MHV2170"}, "rec_2nd");
  ExecBehind(absl::StrCat(
      "INSERT INTO plate_candidates(record_id, item_id, rank, blind) "
      "SELECT record_id, item_id, rank, blind FROM plate_blinds WHERE "
      "record_id = '",
      old.record_id(), "';", "DELETE FROM plate_blinds WHERE record_id = '",
      old.record_id(), "';"));
  EXPECT_EQ(QueryBehind("SELECT COUNT(*) FROM plate_candidates"), 2);
  EXPECT_EQ(Lookup("MHV2170"),
            (std::vector<std::string>{"rec_new", "rec_old", "rec_2nd"}));
}

TEST_P(PlateReadingsTest, RecordsThatReadThePlateBetterComeFirst) {
  // Ids in the opposite order of the ranks, so an order by id would show.
  Take("ABC999", {"QQQ111", "WWW222", "ABC123"}, "rec_a4");
  Take("ABC128", {"ABC123"}, "rec_b2");
  Take("ABC123", {}, "rec_c1");
  Take("ABC12", {"ABC125", "ABC123"}, "rec_d3");
  Take("ABC121", {"ABC123"}, "rec_a2");
  EXPECT_EQ(Lookup("ABC123"),
            (std::vector<std::string>{"rec_c1", "rec_a2", "rec_b2", "rec_d3",
                                      "rec_a4"}));
  // The cap keeps the best-read.
  EXPECT_EQ(Lookup("ABC123", 2),
            (std::vector<std::string>{"rec_c1", "rec_a2"}));
}

TEST_P(PlateReadingsTest, PurgeTakesTheCandidateIndexesWithTheItem) {
  v1::Record held = Take("DDD444", {"DDD4A4", "D0D444"});
  v1::Record free = Take("EEE555", {"EEE5S5"});
  // EEE555 is never looked up, so no log entry holds its blind index: in
  // the files, it is the index row's.
  const std::string blind =
      vault_->PlateIndexOf("EEE555", Deadline(free), clock_.Now());
  if (!postgres()) {
    vault_.reset();
    EXPECT_TRUE(StoreFilesContain(blind));
    Reopen();
  }
  v1::AuditEntry place = Entry(v1::ACTION_MANAGE_HOLD, "");
  auto hold = vault_->oversight().PlaceHold("CASE-9", "court order",
                                            {held.record_id()}, place);
  ASSERT_TRUE(hold.ok()) << hold.status();
  // Past the plate text's deadline: no lookup finds either, and the sweep
  // takes the free one's rows and leaves the held one's.
  clock_.Advance(absl::Hours(24 * 31));
  EXPECT_TRUE(Lookup("EEE5S5").empty());
  EXPECT_TRUE(Lookup("DDD4A4").empty());
  ASSERT_TRUE(vault_->SweepExpired().ok());
  EXPECT_EQ(CandidateRows(free.record_id()), 0);
  EXPECT_EQ(CandidateRows(held.record_id()), 3);
  if (!postgres()) {
    // Nor are they left in the file's freed pages or its WAL (secure_delete
    // and the sweep's checkpoint; PostgreSQL's dead rows are only vacuumed).
    vault_.reset();
    EXPECT_FALSE(StoreFilesContain(blind));
    Reopen();
  }
  ASSERT_TRUE(vault_->oversight()
                  .LiftHold(hold->hold_id, "case closed",
                            Entry(v1::ACTION_MANAGE_HOLD, ""))
                  .ok());
  ASSERT_TRUE(vault_->SweepExpired().ok());
  EXPECT_EQ(QueryBehind("SELECT COUNT(*) FROM " + Candidates()), 0);
  EXPECT_EQ(QueryBehind("SELECT COUNT(*) FROM items"), 0);
}

TEST_P(PlateReadingsTest, PurgeFindsTheIndexesEvenWhenTheItemsCopyIsDamaged) {
  if (postgres()) GTEST_SKIP() << "SQLite keeps the copy (schema step 12)";
  v1::Record cut = Take("FFF666", {"FFF6G6", "FFF66"});
  v1::Record other = Take("GGG777", {"GGG7T7"});
  v1::Record wiped = Take("KKK888", {"KKK8B8"});
  // One item's copy names another item's rows, the other's is cut short, a
  // third's is wiped whole: none stops the sweep, and no item's index rows
  // outlive it (left, they would be found by no lookup, which joins the
  // item, but a blind index would stay on disk past its retention).
  ExecBehind(
      absl::StrCat("UPDATE items SET plate_blind = NULL WHERE record_id = '",
                   wiped.record_id(), "'"));
  ExecBehind(absl::StrCat(
      "UPDATE items SET plate_blind = (SELECT plate_blind FROM items WHERE "
      "record_id = '",
      cut.record_id(), "' AND plate_blind IS NOT NULL) WHERE record_id = '",
      other.record_id(), "' AND plate_blind IS NOT NULL"));
  ExecBehind(absl::StrCat(
      "UPDATE items SET plate_blind = substr(plate_blind, 1, 20) WHERE "
      "record_id = '",
      cut.record_id(), "' AND plate_blind IS NOT NULL"));
  EXPECT_EQ(CandidateRows(cut.record_id()), 3);
  EXPECT_EQ(CandidateRows(other.record_id()), 2);
  EXPECT_EQ(CandidateRows(wiped.record_id()), 2);
  clock_.Advance(absl::Hours(24 * 31));
  ASSERT_TRUE(vault_->SweepExpired().ok());
  EXPECT_EQ(CandidateRows(cut.record_id()), 0);
  EXPECT_EQ(CandidateRows(other.record_id()), 0);
  EXPECT_EQ(CandidateRows(wiped.record_id()), 0);
}

// The item's copy of its blind indexes (schema step 12): their count, then
// rank, length and bytes of each; an empty reading (the same plate as one
// before it) keeps its rank's gap; a copy cut anywhere is DATA_LOSS, never
// a shorter list read as whole.
TEST(PackedPlateBlinds, RoundTripsAndRefusesWhatItCannotHold) {
  const std::vector<std::string> blinds = {
      std::string(32, 'a'), "", std::string(32, 'c'), std::string(255, 'd')};
  absl::StatusOr<std::string> packed = vault::PackPlateBlinds(blinds);
  ASSERT_TRUE(packed.ok()) << packed.status();
  absl::StatusOr<std::vector<vault::RankedBlind>> back =
      vault::UnpackPlateBlinds(*packed);
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->size(), 3u);
  EXPECT_EQ((*back)[0].rank, 1);
  EXPECT_EQ((*back)[1].rank, 3);
  EXPECT_EQ((*back)[1].blind, blinds[2]);
  EXPECT_EQ((*back)[2].rank, 4);
  EXPECT_EQ((*back)[2].blind, blinds[3]);
  EXPECT_TRUE(vault::UnpackPlateBlinds("")->empty());
  EXPECT_TRUE(vault::PackPlateBlinds({"", ""})->empty());
  EXPECT_TRUE(
      absl::IsDataLoss(vault::UnpackPlateBlinds(*packed + "\x05").status()));
  for (size_t cut = 1; cut < packed->size(); ++cut) {
    absl::StatusOr<std::vector<vault::RankedBlind>> part =
        vault::UnpackPlateBlinds(absl::string_view(*packed).substr(0, cut));
    EXPECT_TRUE(absl::IsDataLoss(part.status())) << cut;
  }
  EXPECT_FALSE(vault::PackPlateBlinds({std::string(256, 'x')}).ok());
  EXPECT_FALSE(vault::PackPlateBlinds(std::vector<std::string>(256, "b")).ok());
}

TEST_P(PlateReadingsTest, APurgedDecoyStillTripsTheCanary) {
  v1::Record decoy = MakeRecord("HHH888", "decoy");
  ASSERT_TRUE(
      vault_->PlantCanary(decoy, Entry(v1::ACTION_INTAKE, decoy.record_id()))
          .ok());
  v1::Record real = Take("JJJ999", {});
  ASSERT_TRUE(*vault_->IsCanary(decoy.record_id()));
  clock_.Advance(absl::Hours(24 * 400));
  ASSERT_TRUE(vault_->SweepExpired().ok());
  EXPECT_EQ(QueryBehind("SELECT COUNT(*) FROM records"), 0);
  // A harvested decoy id, used after its retention, is still a decoy's.
  EXPECT_TRUE(*vault_->IsCanary(decoy.record_id()));
  EXPECT_FALSE(*vault_->IsCanary(real.record_id()));
}

TEST_P(PlateReadingsTest, ASealedPlateTextIsOneLengthHoweverManyReadings) {
  Take("A1", {});
  Take("KXR4821", {"AAAAAAAAAAAAAAAA", "BBBBBBBBBBBBBBBB", "CCCCCCCCCCCCCCCC",
                   "DDDDDDDDDDDDDDDD", "EEEEEEEEEEEEEEEE", "FFFFFFFFFFFFFFFF",
                   "GGGGGGGGGGGGGGGG"});
  EXPECT_EQ(QueryBehind(absl::StrCat(
                "SELECT COUNT(DISTINCT length(ciphertext)) FROM items "
                "WHERE category = ",
                static_cast<int>(v1::DATA_CATEGORY_PLATE_TEXT))),
            1);
  EXPECT_EQ(QueryBehind("SELECT COUNT(*) FROM " + Candidates()), 9);
}

TEST_P(PlateReadingsTest, TheVaultRefusesReadingsItCannotIndexOrHide) {
  auto refused = [&](auto edit) {
    v1::Record r = MakeRecord("KXR4821", "face");
    edit(r);
    absl::Status s = vault_->Intake(r, Entry(v1::ACTION_INTAKE, r.record_id()));
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  };
  refused([](v1::Record& r) {
    for (int i = 0; i < 8; ++i) {
      *r.mutable_items(0)->add_plate_candidates() =
          Reading(absl::StrCat("A", i));
    }
  });
  refused([](v1::Record& r) {
    *r.mutable_items(0)->add_plate_candidates() = Reading("kxr 4821");
  });
  refused([](v1::Record& r) {
    *r.mutable_items(0)->add_plate_candidates() = Reading("AAAAAAAAAAAAAAAAA");
  });
  refused([](v1::Record& r) {
    *r.mutable_items(1)->add_plate_candidates() = Reading("KXR4821");
  });
  EXPECT_EQ(QueryBehind("SELECT COUNT(*) FROM records"), 0);
  EXPECT_EQ(QueryBehind("SELECT COUNT(*) FROM " + Candidates()), 0);
}

// A vault as the build before readings wrote it (top readings in
// items.plate_blind, no plate_candidates table), remade from a current one
// in the layout the step before left, is migrated on opening and found by
// the lookup after. A step added after this one must be undone here too,
// since putting the version back runs every later step again.
TEST_P(PlateReadingsTest, AVaultFromThePreviousSchemaIsFoundAfterMigrating) {
  v1::Record old = Take("KXR4821", {});
  v1::Record other = Take("ZZZ0000", {});
  // That schema indexed each reading by its plate's undated value (time
  // cells came with SQLite step 18 and PostgreSQL step 7).
  std::string undated = "CASE plate_blind";
  for (const v1::Record* r : std::vector<const v1::Record*>{&old, &other}) {
    const std::string& plate = r->items(0).content();
    absl::StrAppend(
        &undated, " WHEN ",
        Blob(vault_->PlateIndexOf(plate, Deadline(*r), clock_.Now())), " THEN ",
        Blob(vault_->PlateBlindIndex(plate)));
  }
  absl::StrAppend(&undated, " END");
  vault_.reset();
  if (!postgres() &&
      QueryBehind("SELECT COUNT(*) FROM pragma_table_info('audit_nodes') "
                  "WHERE name = 'pos'") == 1) {
    // SQLite step 8: the log's tree nodes as step 6 keyed them.
    ExecBehind(
        "CREATE TABLE nodes_v6(level INTEGER NOT NULL, idx INTEGER NOT NULL, "
        "hash BLOB NOT NULL, PRIMARY KEY(level, idx)) WITHOUT ROWID;"
        "INSERT INTO nodes_v6 SELECT level, idx, hash FROM audit_nodes;"
        "DROP TABLE audit_nodes;"
        "ALTER TABLE nodes_v6 RENAME TO audit_nodes;");
  }
  // (SQLite's items keep the emptied column.)
  ExecBehind(absl::StrCat(
      postgres() ? "ALTER TABLE items ADD COLUMN plate_blind BYTEA;" : "",
      "UPDATE items SET plate_blind = (SELECT c.blind FROM ", Candidates(),
      " c WHERE c.record_id = items.record_id AND c.item_id = items.item_id "
      "AND c.rank = 1);",
      "UPDATE items SET plate_blind = ", undated,
      " WHERE plate_blind IS NOT NULL;",
      // SQLite step 12: one b-tree of readings keyed by blind index; 13:
      // canary marks in the records' rows; 14: the records' item ranges
      // (the items' row id column goes in step 9's rebuild).
      postgres() ? ""
                 : "DROP TABLE plate_blinds;"
                   "INSERT INTO canary_marks(mark) SELECT canary_mark FROM "
                   "records WHERE canary_mark IS NOT NULL;"
                   "ALTER TABLE records DROP COLUMN canary_mark;"
                   "ALTER TABLE records DROP COLUMN items_first;"
                   "ALTER TABLE records DROP COLUMN items_last;",
      "DROP TABLE plate_candidates;"
      "CREATE INDEX items_by_plate ON items(plate_blind) "
      "WHERE plate_blind IS NOT NULL;",
      // PostgreSQL step 3: the key registry (its rows are registered again
      // from the key store on opening).
      postgres() ? "DROP TABLE kek_registry, key_generation, replicas;"
                   "DROP SEQUENCE kek_versions;"
                   "UPDATE lanevault_schema SET version = 1;"
                 : "PRAGMA user_version = 6;"));
  ASSERT_EQ(QueryBehind("SELECT COUNT(*) FROM items WHERE plate_blind IS NOT "
                        "NULL"),
            2);
  Reopen();
  EXPECT_EQ(Lookup("KXR4821"), std::vector<std::string>{old.record_id()});
  EXPECT_EQ(CandidateRows(old.record_id()), 1);
  EXPECT_EQ(QueryBehind("SELECT COUNT(*) FROM plate_candidates"), 2);
  EXPECT_GE(QueryBehind(postgres() ? "SELECT version FROM lanevault_schema"
                                   : "PRAGMA user_version"),
            postgres() ? 2 : 7);
  // No second copy of an index outlives a purge: the old column is gone
  // (PostgreSQL) or empty (SQLite, where dropping it would rewrite every
  // item), and its index with it. (Since SQLite's step 12 an item stored
  // afterwards keeps its own blind indexes in that column, the copy purge
  // finds its plate_blinds rows by; it goes with the item's row, in the
  // same transaction, so it never outlives them.)
  EXPECT_EQ(QueryBehind(postgres()
                            ? "SELECT COUNT(*) FROM information_schema.columns "
                              "WHERE table_schema = current_schema() AND "
                              "table_name = 'items' AND column_name = "
                              "'plate_blind'"
                            : "SELECT COUNT(*) FROM items WHERE plate_blind "
                              "IS NOT NULL"),
            0);
  if (!postgres()) {
    EXPECT_EQ(QueryBehind("SELECT COUNT(*) FROM sqlite_master WHERE name = "
                          "'items_by_plate'"),
              0);
  }
  // New crossings after the migration are indexed with their readings.
  v1::Record fresh = Take("MHV2170", {"MHV2I70"});
  EXPECT_EQ(Lookup("MHV2I70"), std::vector<std::string>{fresh.record_id()});
}

// --- Over real gRPC with mTLS: a lane submits, an inspector looks up. ---

class PlateReadingsApiTest : public testing::ApiFixture {
 protected:
  // What the lane's node sends: a crossing with the tracker's readings.
  void Submit(absl::string_view plate, std::vector<std::string> readings) {
    v1::Record crossing;
    crossing.set_record_id(NewId("rec_"));
    crossing.set_lane_id("lane-1");
    crossing.set_checkpoint_id("demo-poe");
    *crossing.mutable_first_seen() = ToProto(absl::Now());
    *crossing.mutable_last_seen() = ToProto(absl::Now());
    v1::Item* text = crossing.add_items();
    text->set_item_id(NewId("itm_"));
    text->set_category(v1::DATA_CATEGORY_PLATE_TEXT);
    text->set_content(std::string(plate));
    text->set_media_type("text/plain");
    for (const std::string& r : readings) {
      *crossing.add_plate_candidates() = Reading(r, 0.4f, 2);
    }
    auto sealed = crypto::IntakeKey::Seal(vault_->intake_key().public_key(),
                                          crossing.SerializeAsString());
    ASSERT_TRUE(sealed.ok());
    v1::SubmitCrossingRequest req;
    req.set_sealed_record(*sealed);
    req.set_lane_id(crossing.lane_id());
    req.set_checkpoint_id(crossing.checkpoint_id());
    req.set_idempotency_key(NewId("k_"));
    auto stub = v1::LaneService::NewStub(Channel("lane-dev"));
    grpc::ClientContext ctx;
    testing::WithDeadline(ctx);
    v1::SubmitCrossingResponse resp;
    grpc::Status s = stub->SubmitCrossing(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_EQ(resp.items_kept(), 1);
  }
  v1::LookupPlateResponse Lookup(const std::string& plate) {
    auto stub = v1::EvidenceService::NewStub(Channel("inspector-dev"));
    v1::LookupPlateRequest req;
    req.set_plate_text(plate);
    req.set_purpose("vehicle-inspection");
    v1::LookupPlateResponse resp;
    grpc::ClientContext ctx;
    testing::WithDeadline(ctx);
    grpc::Status s = stub->LookupPlate(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }
};

TEST_F(PlateReadingsApiTest,
       ASecondReadingFindsTheCrossingAndOnlyItsIndexIsLogged) {
  // The tracker's first reading is the plate text's; its second is right.
  Submit("MHV2I70", {"MHV2I70", "MHV2170", "MHV217"});
  v1::LookupPlateResponse found = Lookup("mhv-2170");
  ASSERT_EQ(found.record_ids_size(), 1);
  EXPECT_FALSE(found.truncated());
  const v1::AuditEntry last = Log().back();
  EXPECT_EQ(last.action(), v1::ACTION_SEARCH_PLATE);
  EXPECT_EQ(last.plate_blind_index(), vault_->PlateBlindIndex("MHV2170"));
  EXPECT_EQ(last.revealed_record_ids_size(), 1);
  for (const v1::AuditEntry& e : Log()) {
    const std::string bytes = e.SerializeAsString();
    EXPECT_EQ(bytes.find("MHV"), std::string::npos) << e.DebugString();
    EXPECT_EQ(bytes.find("mhv"), std::string::npos) << e.DebugString();
  }
  // The record behind the handle: its plate text, and, since this purpose
  // reads plate text, the readings that made it match.
  auto stub = v1::EvidenceService::NewStub(Channel("inspector-dev"));
  v1::GetRecordRequest req;
  req.set_record_id(found.record_ids(0));
  req.set_purpose("vehicle-inspection");
  v1::GetRecordResponse resp;
  grpc::ClientContext ctx;
  testing::WithDeadline(ctx);
  grpc::Status s = stub->GetRecord(&ctx, req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(resp.record().items_size(), 1);
  EXPECT_EQ(resp.record().items(0).content(), "MHV2I70");
  EXPECT_EQ(Texts(resp.record().items(0)),
            (std::vector<std::string>{"MHV2170", "MHV217"}));
  EXPECT_EQ(resp.record().plate_candidates_size(), 0);
  // A plate no reading had finds nothing.
  EXPECT_EQ(Lookup("MHV2171").record_ids_size(), 0);
}

// An answer carries readings only inside a plate text item, which is there
// only when the purpose reads plate text.
TEST_F(PlateReadingsApiTest, ScopedAnswersKeepReadingsOnlyInThePlateText) {
  v1::Record r;
  r.set_record_id(NewId("rec_"));
  *r.add_plate_candidates() = Reading("KXR4821");
  v1::Item* text = r.add_items();
  text->set_item_id(NewId("itm_"));
  text->set_category(v1::DATA_CATEGORY_PLATE_TEXT);
  *text->add_plate_candidates() = Reading("KXR4B21");
  v1::Item* face = r.add_items();
  face->set_item_id(NewId("itm_"));
  face->set_category(v1::DATA_CATEGORY_FACE_IMAGE);
  *face->add_plate_candidates() = Reading("KXR4B21");
  policy::PurposeView view;
  view.purpose = view.scope = "vehicle-inspection";
  ASSERT_TRUE(api::ScopeRecord(vault_->handles(), view, r).ok());
  EXPECT_EQ(r.plate_candidates_size(), 0);
  for (const v1::Item& item : r.items()) {
    EXPECT_EQ(item.plate_candidates_size(),
              item.category() == v1::DATA_CATEGORY_PLATE_TEXT ? 1 : 0);
  }
}

}  // namespace
}  // namespace lanevault
