// The SQLite store's everyday paths seek: intake, reads, plate lookups, the
// re-wrap's updates and the purge step through no table from end to end.
// A scan there grows with the vault (every purged record once scanned all
// items to check a foreign key nobody had indexed), and nothing else in the
// tests would notice it on a vault of a few hundred records. Nor a walk
// along an index (a plate lookup once built an index of every unexpired
// item): the second test counts the calls' instructions in a small vault
// and in a larger one. The third checks that an auditor's window of the
// log walks only the blocks of it that reach into the window.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/time_util.h"
#include "gtest/gtest.h"
#include "testing/test_util.h"
#include "vault/sqlite_store.h"
#include "vault/sqlite_store_impl.h"

namespace lanevault::vault {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);
constexpr int kRecords = 120;

v1::AuditEntry Logged(v1::Action action, const std::string& record_id) {
  v1::AuditEntry e;
  e.set_principal("inspector");
  e.set_action(action);
  e.set_verdict(v1::VERDICT_ALLOW);
  e.set_record_id(record_id);
  *e.mutable_time() = ToProto(kNow);
  return e;
}

std::string Blind(int record, int rank) {
  return absl::StrCat("blind-", record, "-", rank);
}

// A sealed item of `bytes` ciphertext bytes, due `keep` after kNow.
StoredItem Sealed(const std::string& id, v1::DataCategory category,
                  absl::Duration keep, size_t bytes) {
  StoredItem item;
  item.item_id = id;
  item.category = category;
  item.deadline = kNow + keep;
  item.sealed.key_version = 1;
  item.sealed.wrapped_key = "wrapped";
  item.sealed.ciphertext = std::string(bytes, 'c');
  return item;
}

// A crossing as intake stores it: its plate text with two readings (each
// with its blind index) and a face crop, due an hour apart.
IntakeRow Crossing(int n) {
  IntakeRow row;
  const std::string id = absl::StrCat("rec-", n);
  v1::RecordSummary& s = row.record.summary;
  s.set_record_id(id);
  s.set_lane_id("lane-1");
  s.set_checkpoint_id("cp");
  s.set_contract_id("test");
  *s.mutable_first_seen() = ToProto(kNow);
  *s.mutable_last_seen() = ToProto(kNow);
  StoredItem& text = row.record.items.emplace_back(
      Sealed("plate", v1::DATA_CATEGORY_PLATE_TEXT, absl::Hours(2), 64));
  text.plate_blind_indexes = {Blind(n, 1), Blind(n, 2)};
  row.record.items.push_back(
      Sealed("face", v1::DATA_CATEGORY_FACE_IMAGE, absl::Hours(1), 9000));
  row.record.canary_mark = absl::StrCat("mark-", n);
  row.audit = Logged(v1::ACTION_INTAKE, id);
  return row;
}

// A plate's values as a lookup asks for them (a month of hours), one of
// them `blind`.
PlateIndexValues AMonthOfHoursWith(const std::string& blind) {
  PlateIndexValues values{.undated = std::string(32, 'u'), .cells = {}};
  for (int hour = 0; hour < 24 * 31; ++hour) {
    values.cells.push_back(absl::StrCat("cell-", hour));
  }
  values.cells.push_back(blind);
  return values;
}

class SqliteScansTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Store>> opened =
        OpenSqliteStore(dir_.Join("vault.db"));
    ASSERT_TRUE(opened.ok()) << opened.status();
    store_ = std::move(*opened);
    sqlite_ = dynamic_cast<SqliteStore*>(store_.get());
    ASSERT_NE(sqlite_, nullptr);
  }

  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
  SqliteStore* sqlite_ = nullptr;
};

TEST_F(SqliteScansTest, EverydayPathsStepThroughNoWholeTable) {
  Store* store = store_.get();
  SqliteStore* sqlite = sqlite_;
  const int64_t at_open = sqlite->FullScanStepsForTesting();

  // Intake, in groups of eight as grouped commits take them.
  for (int n = 0; n < kRecords; n += 8) {
    std::vector<IntakeRow> rows;
    for (int i = n; i < n + 8; ++i) rows.push_back(Crossing(i));
    for (const absl::Status& s : store->PutRecords(rows)) {
      ASSERT_TRUE(s.ok()) << s;
    }
  }
  for (int n = 0; n < kRecords; ++n) {
    const std::string id = absl::StrCat("rec-", n);
    absl::StatusOr<StoredRecord> got = store->GetRecord(id);
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_EQ(got->items.size(), 2u);
    absl::StatusOr<std::vector<std::string>> found =
        store->FindPlate(AMonthOfHoursWith(Blind(n, 2)), kNow, 5);
    ASSERT_TRUE(found.ok()) << found.status();
    EXPECT_EQ(*found, std::vector<std::string>{id});
    absl::StatusOr<bool> marked =
        store->HasCanaryMark(id, absl::StrCat("mark-", n));
    ASSERT_TRUE(marked.ok()) << marked.status();
    EXPECT_TRUE(*marked);
    absl::StatusOr<bool> purged = store->WasPurged(id);
    ASSERT_TRUE(purged.ok()) << purged.status();
    EXPECT_FALSE(*purged);
  }
  std::vector<Rewrapped> rewrapped;
  for (int n = 0; n < kRecords; ++n) {
    rewrapped.push_back(
        {absl::StrCat("rec-", n), "plate", 1, 2, "wrapped-again"});
  }
  absl::StatusOr<uint64_t> updated = store->UpdateWrappedKeys(rewrapped);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(*updated, static_cast<uint64_t>(kRecords));
  // The faces first (each record keeps its plate), then the plates.
  v1::AuditEntry purge = Logged(v1::ACTION_PURGE, "");
  for (absl::Duration later : {absl::Minutes(90), absl::Hours(3)}) {
    absl::StatusOr<PurgeResult> purged =
        store->PurgeExpired(kNow + later, 50, purge);
    while (purged.ok() && purged->items > 0) {
      purged = store->PurgeExpired(kNow + later, 50, purge);
    }
    ASSERT_TRUE(purged.ok()) << purged.status();
  }
  absl::StatusOr<uint64_t> left = store->CountRecords();
  ASSERT_TRUE(left.ok()) << left.status();
  EXPECT_EQ(*left, 0u);

  EXPECT_EQ(sqlite->FullScanStepsForTesting() - at_open, 0)
      << "a statement on an everyday path stepped through a whole table";
}

// The same calls' work, counted in SQLite's instructions, is the same in a
// vault sixteen times the size. An instruction count does not grow with a
// b-tree's depth, but it does with the rows a statement steps through, so
// a path that walks a range of an index (every unexpired item by deadline,
// an automatic index of them) shows here where the count of whole-table
// scans above does not.
TEST_F(SqliteScansTest, EverydayPathsDoNoMoreWorkInALargerVault) {
  Store* store = store_.get();
  SqliteStore* sqlite = sqlite_;
  int taken = 0;
  const auto take_to = [&](int records) {
    while (taken < records) {
      std::vector<IntakeRow> rows;
      for (int i = 0; i < 8; ++i) rows.push_back(Crossing(taken++));
      for (const absl::Status& s : store->PutRecords(rows)) {
        ASSERT_TRUE(s.ok()) << s;
      }
    }
  };
  // Intake of eight, a read, the canary and purge checks, a lookup of a
  // month of hours, searches (an hour no one crossed in, a lane's first
  // five, a busy minute's first five), a purge batch, an auditor's query
  // that matches nothing: the instructions they take, on record n.
  const auto work = [&](int n) -> int64_t {
    const int64_t before = sqlite->VmStepsForTesting();
    take_to(taken + 8);
    const std::string id = absl::StrCat("rec-", n);
    EXPECT_TRUE(store->GetRecord(id).ok());
    absl::StatusOr<bool> marked =
        store->HasCanaryMark(id, absl::StrCat("mark-", n));
    absl::StatusOr<bool> purged_before = store->WasPurged(id);
    EXPECT_TRUE(marked.ok() && *marked);
    EXPECT_TRUE(purged_before.ok() && !*purged_before);
    absl::StatusOr<std::vector<std::string>> found =
        store->FindPlate(AMonthOfHoursWith(Blind(n, 2)), kNow, 5);
    EXPECT_TRUE(found.ok() && *found == std::vector<std::string>{id});
    RecordQuery quiet;
    quiet.since = kNow + absl::Hours(1);
    quiet.until = kNow + absl::Hours(2);
    quiet.limit = 5001;
    absl::StatusOr<std::vector<v1::RecordSummary>> none =
        store->FindRecords(quiet);
    EXPECT_TRUE(none.ok() && none->empty());
    RecordQuery first;
    first.lane_id = "lane-1";
    first.limit = 5;
    absl::StatusOr<std::vector<v1::RecordSummary>> five =
        store->FindRecords(first);
    EXPECT_TRUE(five.ok() && five->size() == 5);
    RecordQuery busy;  // every record crossed in it
    busy.since = kNow;
    busy.until = kNow + absl::Minutes(1);
    busy.limit = 5;
    absl::StatusOr<std::vector<v1::RecordSummary>> busy_five =
        store->FindRecords(busy);
    EXPECT_TRUE(busy_five.ok() && busy_five->size() == 5);
    absl::StatusOr<PurgeResult> purged = store->PurgeExpired(
        kNow + absl::Minutes(90), 8, Logged(v1::ACTION_PURGE, ""));
    EXPECT_TRUE(purged.ok() && purged->items == 8);
    // An auditor asking for a principal with no entries: one bounded
    // stretch of the log per call, however long the log.
    AuditQuery nobody;
    nobody.principal = "nobody";
    nobody.scan_limit = 40;
    absl::StatusOr<AuditPage> walked = store->QueryAudit(nobody);
    EXPECT_TRUE(walked.ok() && walked->entries.empty() && walked->more &&
                walked->next_sequence == 40);
    return sqlite->VmStepsForTesting() - before;
  };
  take_to(64);
  const int64_t small = work(40);
  take_to(1024);
  const int64_t large = work(1000);
  EXPECT_GT(small, 0);
  EXPECT_LE(large, small + small / 20)
      << "in a vault of " << taken << " records against 72";
}

// An auditor's window of the log walks only the blocks of 4,096 entries
// whose span of times reaches into it, and finds every entry stamped in
// it, however far from its neighbours.
TEST_F(SqliteScansTest, AWindowOfTheLogWalksOnlyTheBlocksThatReachIntoIt) {
  constexpr uint64_t kBlock = kAuditBlockEntries;
  const absl::Duration kDay = absl::Hours(24);
  // Three whole blocks a day apart, then 100 entries on the fourth day.
  // Entry 7 was stamped on the third day, five minutes in.
  const uint64_t total = 3 * kBlock + 100;
  std::vector<absl::Time> stamped;
  for (uint64_t i = 0; i < total; ++i) {
    stamped.push_back(i == 7 ? kNow + 2 * kDay + absl::Minutes(5)
                             : kNow + static_cast<int64_t>(i / kBlock) * kDay +
                                   absl::Seconds(i % kBlock));
  }
  for (uint64_t i = 0; i < total;) {
    std::vector<v1::AuditEntry> batch;
    for (; i < total && batch.size() < 1000; ++i) {
      v1::AuditEntry e = Logged(v1::ACTION_READ_RECORD, "rec");
      *e.mutable_time() = ToProto(stamped[i]);
      batch.push_back(std::move(e));
    }
    ASSERT_TRUE(store_->AppendAuditBatch(std::move(batch)).ok());
  }
  EXPECT_EQ(testing::QueryInt(dir_.Join("vault.db"),
                              "SELECT COUNT(*) FROM audit_blocks"),
            3);
  // Every page of [since, until), 1,000 entries walked at a time (pages
  // never full): where the first walk ended, and all that was found.
  struct Walked {
    uint64_t first_end = 0;
    std::vector<uint64_t> found;
  };
  const auto walk = [&](absl::Time since, absl::Time until) {
    AuditQuery q;
    q.since = since;
    q.until = until;
    q.limit = 2000;
    q.scan_limit = 1000;
    Walked w;
    for (int call = 0; call < 100; ++call) {
      absl::StatusOr<AuditPage> page = store_->QueryAudit(q);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) break;
      if (call == 0) w.first_end = page->next_sequence;
      for (const v1::AuditEntry& e : page->entries) {
        w.found.push_back(e.sequence());
      }
      q.start_sequence = page->next_sequence;
      if (!page->more) break;
    }
    return w;
  };
  const auto stamped_in = [&](absl::Time since, absl::Time until) {
    std::vector<uint64_t> in;
    for (uint64_t i = 0; i < total; ++i) {
      if (stamped[i] >= since && stamped[i] < until) in.push_back(i);
    }
    return in;
  };
  // The third day after entry 7: only the third block reaches into it.
  const absl::Time third = kNow + 2 * kDay + absl::Minutes(10);
  Walked late = walk(third, kNow + 3 * kDay);
  EXPECT_EQ(late.first_end, 2 * kBlock + 1000);
  EXPECT_EQ(late.found, stamped_in(third, kNow + 3 * kDay));
  // Its first ten minutes: entry 7 in the first block, then the third.
  Walked early = walk(kNow + 2 * kDay, third);
  EXPECT_EQ(early.found, stamped_in(kNow + 2 * kDay, third));
  ASSERT_FALSE(early.found.empty());
  EXPECT_EQ(early.found.front(), 7u);
  EXPECT_EQ(early.first_end, 1000u);
  // The fourth day: the block still filling, from its start.
  Walked tail = walk(kNow + 3 * kDay, absl::InfiniteFuture());
  EXPECT_EQ(tail.first_end, total);
  EXPECT_EQ(tail.found.size(), 100u);
  // A block's row missing: nothing is passed over, the answer the same.
  testing::ExecSql(dir_.Join("vault.db"),
                   "DELETE FROM audit_blocks WHERE block = 1");
  Walked damaged = walk(third, kNow + 3 * kDay);
  EXPECT_EQ(damaged.first_end, 1000u);
  EXPECT_EQ(damaged.found, late.found);
}

}  // namespace
}  // namespace lanevault::vault
