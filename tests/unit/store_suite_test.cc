// The Store interface (store.h) itself, on each engine: SQLite (a file) and
// PostgreSQL (a real server, a schema per test). The vault-level promises
// built on it run on both engines too (vault_test, retention_test).

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/time_util.h"
#include "gtest/gtest.h"
#include "testing/postgres_server.h"
#include "testing/store_engines.h"
#include "testing/test_util.h"
#include "tlog/merkle.h"
#include "vault/postgres.h"
#include "vault/postgres_store.h"
#include "vault/sqlite_store.h"
#include "vault/store.h"

namespace lanevault::vault {
namespace {

using testing::Engine;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

PostgresOptions Pg(const std::string& conninfo, bool owner = true) {
  PostgresOptions o;
  o.conninfo = conninfo;
  o.owner = owner;
  return o;
}

// Opens a store of the engine under test; reopens it on the same data.
class StoreBase : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }
  void Open() {
    store_.reset();
    absl::StatusOr<std::unique_ptr<Store>> s =
        postgres_.empty() ? OpenSqliteStore(db_path())
                          : OpenPostgresStore(Pg(postgres_));
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }
  std::string db_path() const { return dir_.Join("vault.db"); }

  v1::AuditEntry Entry(v1::Action action, absl::string_view record_id,
                       absl::string_view principal = "officer") {
    v1::AuditEntry e;
    e.set_principal(std::string(principal));
    e.set_action(action);
    e.set_verdict(v1::VERDICT_ALLOW);
    e.set_record_id(std::string(record_id));
    *e.mutable_time() = ToProto(kNow);
    return e;
  }
  IntakeRow Row(absl::string_view id, absl::string_view item = "") {
    IntakeRow row;
    v1::RecordSummary& s = row.record.summary;
    s.set_record_id(std::string(id));
    s.set_lane_id("lane-1");
    s.set_checkpoint_id("cp");
    s.set_contract_id("test");
    s.set_contract_version(3);
    *s.mutable_first_seen() = ToProto(kNow);
    *s.mutable_last_seen() = ToProto(kNow);
    StoredItem it;
    it.item_id = item.empty() ? absl::StrCat(id, "-plate") : std::string(item);
    it.category = v1::DATA_CATEGORY_PLATE_TEXT;
    it.deadline = kNow + absl::Hours(1);
    it.sealed.key_version = 1;
    it.sealed.wrapped_key = std::string("\x00\x01wrapped\xff", 10);
    it.sealed.ciphertext = std::string("\x00\xfe sealed \x00", 10);
    it.plate_blind_indexes = {std::string("\x00blind", 6)};
    row.record.items.push_back(it);
    row.audit = Entry(v1::ACTION_INTAKE, id, "node");
    return row;
  }
  // The root of the log as hashed again from its leaves.
  std::string RootFromLeaves() {
    absl::StatusOr<std::vector<std::string>> leaves =
        store_->AuditLeafData(0, store_->AuditSize());
    EXPECT_TRUE(leaves.ok()) << leaves.status();
    tlog::CompactRange r;
    for (const std::string& l : *leaves) r.Append(tlog::LeafHash(l));
    return r.Root();
  }

  testing::TempDir dir_;
  std::string postgres_;
  std::unique_ptr<Store> store_;
};

class StoreTest : public testing::OnEachEngine<StoreBase> {};
LANEVAULT_ON_EACH_ENGINE(StoreTest);

TEST_P(StoreTest, AGroupCommitsEachRecordWithItsEntryAndFailsBadOnesAlone) {
  std::vector<IntakeRow> first = {Row("rec-a")};
  ASSERT_TRUE(store_->PutRecords(first)[0].ok());
  std::vector<IntakeRow> rows = {Row("rec-b"), Row("rec-a"), Row("rec-c"),
                                 Row("rec-d")};
  // Item ids are unique within a record: rec-d has one twice.
  rows[3].record.items.push_back(rows[3].record.items[0]);
  std::vector<absl::Status> got = store_->PutRecords(rows);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_TRUE(got[0].ok()) << got[0];
  EXPECT_EQ(got[1].code(), absl::StatusCode::kAlreadyExists) << got[1];
  EXPECT_TRUE(got[2].ok()) << got[2];
  EXPECT_EQ(got[3].code(), absl::StatusCode::kInvalidArgument) << got[3];
  EXPECT_EQ(*store_->CountRecords(), 3u);
  // One entry per stored record, numbered in order, none for the failures.
  EXPECT_EQ(store_->AuditSize(), 3u);
  EXPECT_EQ(rows[0].audit.sequence(), 1u);
  EXPECT_EQ(rows[2].audit.sequence(), 2u);
  EXPECT_EQ(store_->GetRecord("rec-d").status().code(),
            absl::StatusCode::kNotFound);
  absl::StatusOr<std::vector<std::string>> log = store_->AuditLeafData(0, 10);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 3u);
  v1::AuditEntry third;
  ASSERT_TRUE(third.ParseFromString((*log)[2]));
  EXPECT_EQ(third.record_id(), "rec-c");
}

TEST_P(StoreTest, BytesComeBackExactlyAndPlatesAreFoundByBlindIndex) {
  std::vector<IntakeRow> rows = {Row("rec-a"), Row("rec-b")};
  rows[0].record.submission_digest = std::string("\x00\x01\x02", 3);
  rows[1].record.canary_mark = std::string("\xffmark\x00", 6);
  for (const absl::Status& s : store_->PutRecords(rows)) ASSERT_TRUE(s.ok());
  absl::StatusOr<StoredRecord> r = store_->GetRecord("rec-a");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->items.size(), 1u);
  EXPECT_EQ(r->items[0].sealed.ciphertext,
            rows[0].record.items[0].sealed.ciphertext);
  EXPECT_EQ(r->items[0].sealed.wrapped_key,
            rows[0].record.items[0].sealed.wrapped_key);
  EXPECT_EQ(r->items[0].deadline, kNow + absl::Hours(1));
  EXPECT_EQ(*store_->SubmissionDigest("rec-a"), std::string("\x00\x01\x02", 3));
  EXPECT_EQ(*store_->SubmissionDigest("rec-b"), "");
  EXPECT_TRUE(*store_->HasCanaryMark("rec-b", std::string("\xffmark\x00", 6)));
  EXPECT_FALSE(*store_->HasCanaryMark("rec-b", "other"));
  EXPECT_FALSE(*store_->HasCanaryMark("rec-c", "other"));
  const std::string blind("\x00blind", 6);
  EXPECT_EQ(*store_->FindPlate({.undated = blind, .cells = {}}, kNow, 10),
            (std::vector<std::string>{"rec-a", "rec-b"}));
  // Under any of a plate's values (its cells' and the undated one), however
  // many: at and past the 32 the smallest statement takes, past the most
  // SQLite keeps a statement for, and near the most a lookup asks for.
  for (size_t cells : {1, 31, 32, 40, 5000, 12500}) {
    PlateIndexValues values{.undated = "undated", .cells = {}};
    for (size_t i = 0; i < cells; ++i) {
      values.cells.push_back(absl::StrCat("cell ", i));
    }
    EXPECT_TRUE(store_->FindPlate(values, kNow, 10)->empty()) << cells;
    values.cells[cells / 2] = blind;
    EXPECT_EQ(*store_->FindPlate(values, kNow, 10),
              (std::vector<std::string>{"rec-a", "rec-b"}))
        << cells;
  }
  EXPECT_EQ(
      *store_->FindPlate({.undated = "undated", .cells = {blind}}, kNow, 1),
      std::vector<std::string>{"rec-a"});
  EXPECT_FALSE(store_->FindPlate({}, kNow, 10).ok());
  PlateIndexValues too_many{.undated = blind, .cells = {}};
  too_many.cells.assign(kMostPlateIndexValues, blind);
  EXPECT_EQ(store_->FindPlate(too_many, kNow, 10).status().code(),
            absl::StatusCode::kInternal);
  // Not once the plate is past its deadline.
  EXPECT_TRUE(store_
                  ->FindPlate({.undated = blind, .cells = {}},
                              kNow + absl::Hours(2), 10)
                  ->empty());
  // Byte order for ids, whatever the database's locale.
  RecordQuery q;
  q.after_record_id = "rec-a";
  absl::StatusOr<std::vector<v1::RecordSummary>> after = store_->FindRecords(q);
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), 1u);
  EXPECT_EQ((*after)[0].record_id(), "rec-b");
}

// A search's answer, whatever its window, lane, cursor and limit: the
// matching records in id order, at most the limit (SQLite reads a bounded
// window through its time index first, and falls back to a walk by id when
// the window holds more than the limit).
TEST_P(StoreTest, SearchesFindTheWindowsRecordsInIdOrder) {
  // Ten records a minute apart on two lanes, their ids in the reverse of
  // their times' order.
  std::vector<IntakeRow> rows;
  for (int i = 0; i < 10; ++i) {
    IntakeRow row = Row(absl::StrCat("rec-", std::string(1, 'j' - i)),
                        absl::StrCat("item-", i));
    row.record.summary.set_lane_id(i % 2 == 0 ? "lane-1" : "lane-2");
    *row.record.summary.mutable_first_seen() = ToProto(kNow + absl::Minutes(i));
    rows.push_back(std::move(row));
  }
  for (const absl::Status& s : store_->PutRecords(rows)) ASSERT_TRUE(s.ok());
  const auto expected = [&](const RecordQuery& q) {
    std::vector<std::string> ids;
    for (int i = 0; i < 10; ++i) {
      const v1::RecordSummary& s = rows[i].record.summary;
      const absl::Time seen = kNow + absl::Minutes(i);
      if ((q.lane_id.empty() || s.lane_id() == q.lane_id) && seen >= q.since &&
          seen < q.until && s.record_id() > q.after_record_id) {
        ids.push_back(s.record_id());
      }
    }
    std::sort(ids.begin(), ids.end());
    if (ids.size() > static_cast<size_t>(q.limit)) ids.resize(q.limit);
    return ids;
  };
  const absl::Time never = absl::InfiniteFuture(), ever = absl::InfinitePast();
  struct Case {
    absl::Time since, until;
    std::string lane, after;
    int limit;
  };
  const Case cases[] = {
      {kNow + absl::Minutes(2), kNow + absl::Minutes(6), "", "", 50},
      {kNow + absl::Minutes(2), kNow + absl::Minutes(6), "lane-1", "", 50},
      {kNow + absl::Minutes(2), kNow + absl::Minutes(6), "", "", 4},
      {kNow + absl::Minutes(2), kNow + absl::Minutes(6), "", "", 2},
      {kNow + absl::Minutes(2), kNow + absl::Minutes(6), "", "rec-f", 50},
      {kNow + absl::Minutes(2), kNow + absl::Minutes(6), "lane-2", "rec-d", 1},
      {ever, kNow + absl::Minutes(3), "", "", 50},
      {kNow + absl::Minutes(7), never, "", "", 2},
      {kNow + absl::Hours(1), never, "", "", 50},
      {ever, never, "lane-2", "", 3},
      {kNow + absl::Minutes(2), kNow + absl::Minutes(6), "", "", 0},
  };
  for (const Case& c : cases) {
    RecordQuery q;
    q.since = c.since;
    q.until = c.until;
    q.lane_id = c.lane;
    q.after_record_id = c.after;
    q.limit = c.limit;
    absl::StatusOr<std::vector<v1::RecordSummary>> found =
        store_->FindRecords(q);
    ASSERT_TRUE(found.ok()) << found.status();
    std::vector<std::string> ids;
    for (const v1::RecordSummary& s : *found) ids.push_back(s.record_id());
    EXPECT_EQ(ids, expected(q))
        << c.lane << " after '" << c.after << "' limit " << c.limit;
  }
}

TEST_P(StoreTest, TheLogsTreeNodesSurviveReopenAndTheNextAppendContinuesIt) {
  std::string root;
  uint64_t size = 0;
  store_->SetLogListener([&](uint64_t n, const std::string& r) {
    size = n;
    root = r;
  });
  std::vector<v1::AuditEntry> batch;
  for (int i = 0; i < 7; ++i)
    batch.push_back(Entry(v1::ACTION_READ_RECORD, "x"));
  absl::StatusOr<uint64_t> first = store_->AppendAuditBatch(batch);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, 0u);
  EXPECT_EQ(size, 7u);
  EXPECT_EQ(root, RootFromLeaves());
  // Every leaf and perfect subtree is stored: 7 = 4 + 2 + 1.
  EXPECT_TRUE(store_->AuditSubtree(2, 0).ok());
  EXPECT_TRUE(store_->AuditSubtree(1, 2).ok());
  EXPECT_EQ(*store_->AuditSubtree(0, 6),
            tlog::LeafHash((*store_->AuditLeafData(6, 7))[0]));
  EXPECT_EQ(store_->AuditSubtree(3, 0).status().code(),
            absl::StatusCode::kDataLoss);
  Open();
  EXPECT_EQ(store_->AuditSize(), 7u);
  store_->SetLogListener([&](uint64_t n, const std::string& r) {
    size = n;
    root = r;
  });
  ASSERT_EQ(*store_->AppendAuditBatch({Entry(v1::ACTION_READ_RECORD, "y")}),
            7u);
  EXPECT_EQ(size, 8u);
  EXPECT_EQ(root, RootFromLeaves());
  EXPECT_TRUE(store_->AuditSubtree(3, 0).ok());
  EXPECT_TRUE(store_->CheckIntegrity(/*full=*/true).ok());
  EXPECT_TRUE(store_->Compact().ok());
}

// An auditor's filter that matches little walks the log a bounded stretch
// per call: each page says where the next starts and whether any remain,
// and the pages together are exactly the unbounded answer.
TEST_P(StoreTest, AuditQueriesWalkABoundedStretchAndSayWhereToGoOn) {
  std::vector<v1::AuditEntry> batch;
  for (int i = 0; i < 50; ++i) {
    batch.push_back(Entry(v1::ACTION_READ_RECORD, absl::StrCat("r", i),
                          i == 12 || i == 37 ? "rare" : "common"));
  }
  ASSERT_TRUE(store_->AppendAuditBatch(batch).ok());
  AuditQuery whole;
  whole.principal = "rare";
  absl::StatusOr<AuditPage> all = store_->QueryAudit(whole);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->entries.size(), 2u);
  EXPECT_EQ(all->next_sequence, 50u);
  EXPECT_FALSE(all->more);

  AuditQuery q = whole;
  q.scan_limit = 10;
  std::vector<uint64_t> found, starts;
  for (int calls = 0; calls < 10; ++calls) {
    starts.push_back(q.start_sequence);
    absl::StatusOr<AuditPage> page = store_->QueryAudit(q);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const v1::AuditEntry& e : page->entries) found.push_back(e.sequence());
    q.start_sequence = page->next_sequence;
    if (!page->more) break;
  }
  EXPECT_EQ(found, (std::vector<uint64_t>{12, 37}));
  EXPECT_EQ(starts, (std::vector<uint64_t>{0, 10, 20, 30, 40}));
  EXPECT_EQ(q.start_sequence, 50u);

  // A full page goes on after its last entry, however far the limit lets
  // it walk.
  AuditQuery common;
  common.principal = "common";
  common.limit = 3;
  common.scan_limit = 40;
  absl::StatusOr<AuditPage> full = store_->QueryAudit(common);
  ASSERT_TRUE(full.ok()) << full.status();
  ASSERT_EQ(full->entries.size(), 3u);
  EXPECT_EQ(full->next_sequence, 3u);
  EXPECT_TRUE(full->more);
  // Past the end: nothing, nothing more, and the place kept.
  common.start_sequence = 70;
  absl::StatusOr<AuditPage> past = store_->QueryAudit(common);
  ASSERT_TRUE(past.ok()) << past.status();
  EXPECT_TRUE(past->entries.empty());
  EXPECT_EQ(past->next_sequence, 70u);
  EXPECT_FALSE(past->more);
  // An entry appended after a page is found by the next one.
  ASSERT_TRUE(
      store_->AppendAuditBatch({Entry(v1::ACTION_READ_RECORD, "z", "rare")})
          .ok());
  // The log as it was at sequence 50: the later entry is not in it.
  q.start_sequence = 45;
  q.end_sequence = 50;
  absl::StatusOr<AuditPage> before = store_->QueryAudit(q);
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_TRUE(before->entries.empty());
  EXPECT_EQ(before->next_sequence, 50u);
  EXPECT_FALSE(before->more);
  q.end_sequence = whole.end_sequence;
  q.start_sequence = 50;
  absl::StatusOr<AuditPage> later = store_->QueryAudit(q);
  ASSERT_TRUE(later.ok()) << later.status();
  ASSERT_EQ(later->entries.size(), 1u);
  EXPECT_EQ(later->entries[0].sequence(), 50u);
  EXPECT_EQ(later->next_sequence, 51u);
  EXPECT_FALSE(later->more);
}

// The stores keep times to the microsecond; a window is decided by the
// entries' own times, to the nanosecond, at both of its ends.
TEST_P(StoreTest, AuditWindowsHoldExactlyTheEntriesStampedInThem) {
  const absl::Time t = kNow + absl::Nanoseconds(1500);  // 1.5 us past kNow
  v1::AuditEntry e = Entry(v1::ACTION_READ_RECORD, "r");
  *e.mutable_time() = ToProto(t);
  ASSERT_TRUE(store_->AppendAuditBatch({e}).ok());
  const auto count = [&](absl::Time since, absl::Time until) {
    AuditQuery q;
    q.since = since;
    q.until = until;
    absl::StatusOr<AuditPage> page = store_->QueryAudit(q);
    EXPECT_TRUE(page.ok()) << page.status();
    return page.ok() ? page->entries.size() : size_t{99};
  };
  const absl::Duration ns = absl::Nanoseconds(1);
  EXPECT_EQ(count(t, t + ns), 1u);
  EXPECT_EQ(count(t - absl::Seconds(1), t + ns), 1u);
  EXPECT_EQ(count(t + ns, t + absl::Seconds(1)), 0u);
  EXPECT_EQ(count(t - absl::Seconds(1), t), 0u);
  EXPECT_EQ(count(kNow, kNow + absl::Microseconds(2)), 1u);
}

TEST_P(StoreTest, HoldsKeepItemsFromThePurgeAndEveryPurgeIsLogged) {
  std::vector<IntakeRow> rows = {Row("rec-a"), Row("rec-b")};
  for (const absl::Status& s : store_->PutRecords(rows)) ASSERT_TRUE(s.ok());
  HoldRow hold;
  hold.hold_id = "h1";
  hold.case_id = "case-9";
  hold.reason = "court order";
  hold.record_ids = {"rec-a"};
  hold.placed_by = "officer";
  hold.placed = kNow;
  ASSERT_TRUE(store_->PutHold(hold, Entry(v1::ACTION_MANAGE_HOLD, "")).ok());
  HoldRow missing = hold;
  missing.hold_id = "h2";
  missing.record_ids = {"rec-none"};
  EXPECT_EQ(store_->PutHold(missing, Entry(v1::ACTION_MANAGE_HOLD, "")).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(*store_->HoldCases("rec-a"), std::vector<std::string>{"case-9"});
  const uint64_t before = store_->AuditSize();
  v1::AuditEntry purge = Entry(v1::ACTION_PURGE, "");
  absl::StatusOr<PurgeResult> purged =
      store_->PurgeExpired(kNow + absl::Hours(2), 100, purge);
  ASSERT_TRUE(purged.ok()) << purged.status();
  EXPECT_EQ(purged->items, 1u);
  EXPECT_EQ(purged->records, 1u);
  EXPECT_EQ(store_->AuditSize(), before + 1);
  EXPECT_TRUE(*store_->WasPurged("rec-b"));
  EXPECT_FALSE(*store_->WasPurged("rec-a"));
  absl::StatusOr<std::vector<CategoryRetentionRow>> counts =
      store_->RetentionCounts(kNow + absl::Hours(2));
  ASSERT_TRUE(counts.ok());
  ASSERT_EQ(counts->size(), 1u);
  EXPECT_EQ((*counts)[0].on_hold, 1u);
  EXPECT_EQ((*counts)[0].overdue, 0u);
  EXPECT_EQ(*store_->NextDeadline(), absl::InfiniteFuture());
  absl::StatusOr<HoldRow> lifted = store_->LiftHold(
      "h1", "officer2", kNow, "closed", Entry(v1::ACTION_MANAGE_HOLD, ""));
  ASSERT_TRUE(lifted.ok()) << lifted.status();
  EXPECT_EQ(lifted->record_ids, std::vector<std::string>{"rec-a"});
  EXPECT_EQ(store_
                ->LiftHold("h1", "officer2", kNow, "again",
                           Entry(v1::ACTION_MANAGE_HOLD, ""))
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(*store_->NextDeadline(), kNow + absl::Hours(1));
  EXPECT_EQ(store_->Holds(false)->size(), 0u);
  EXPECT_EQ(store_->Holds(true)->size(), 1u);
}

TEST_P(StoreTest, QuotasLockoutsKeysAndContractsAreCountedInTheDatabase) {
  ASSERT_TRUE(store_
                  ->AppendAuditBatch({Entry(v1::ACTION_READ_RECORD, "r1"),
                                      Entry(v1::ACTION_READ_RECORD, "r1"),
                                      Entry(v1::ACTION_READ_ITEM, "r2")})
                  .ok());
  ReadCounts reads = *store_->CountReads("officer", false, kNow);
  EXPECT_EQ(reads.reads, 3u);
  EXPECT_EQ(reads.records, 2u);
  EXPECT_TRUE(*store_->ReadRecordSince("officer", false, "r2", kNow));
  EXPECT_FALSE(*store_->ReadRecordSince("other", false, "r2", kNow));
  EXPECT_EQ(*store_->CountCalls("officer", false, v1::ACTION_READ_ITEM, kNow),
            1u);

  v1::AuditEntry refused = Entry(v1::ACTION_READ_RECORD, "r1", "mallory");
  refused.set_verdict(v1::VERDICT_DENY);
  refused.set_refusal_count(v1::REFUSAL_COUNT_CALLER);
  ASSERT_TRUE(store_->AppendAuditBatch({refused, refused}).ok());
  EXPECT_EQ(*store_->CountRefusals("mallory", v1::REFUSAL_COUNT_CALLER,
                                   absl::InfinitePast()),
            2u);
  LockoutRow lockout{"mallory", "refusals", kNow};
  ASSERT_TRUE(
      store_->PutLockout(lockout, Entry(v1::ACTION_MANAGE_ALERTS, "")).ok());
  EXPECT_EQ(
      store_->PutLockout(lockout, Entry(v1::ACTION_MANAGE_ALERTS, "")).code(),
      absl::StatusCode::kAlreadyExists);
  ASSERT_EQ(store_->Lockouts()->size(), 1u);
  v1::AuditEntry lift = Entry(v1::ACTION_MANAGE_ALERTS, "");
  *lift.mutable_time() = ToProto(kNow + absl::Seconds(1));
  ASSERT_TRUE(store_->DeleteLockout("mallory", lift).ok());
  EXPECT_EQ(store_->DeleteLockout("mallory", lift).code(),
            absl::StatusCode::kNotFound);
  // The judged refusals no longer count.
  EXPECT_EQ(*store_->CountRefusals("mallory", v1::REFUSAL_COUNT_CALLER,
                                   absl::InfinitePast()),
            0u);

  ASSERT_TRUE(store_->PutMeta("salt", std::string("\x00salt", 5)).ok());
  ASSERT_TRUE(store_->PutMeta("salt", std::string("\x00new", 4)).ok());
  EXPECT_EQ(*store_->GetMeta("salt"), std::string("\x00new", 4));
  EXPECT_EQ(store_->GetMeta("none").status().code(),
            absl::StatusCode::kNotFound);

  ProposalRow p{"test", 4, "signed-bytes", "officer", kNow};
  ASSERT_TRUE(
      store_->PutProposal(p, Entry(v1::ACTION_MANAGE_CONTRACT, "")).ok());
  EXPECT_EQ(
      store_->PutProposal(p, Entry(v1::ACTION_MANAGE_CONTRACT, "")).code(),
      absl::StatusCode::kAlreadyExists);
  p.signed_contract = "more-signatures";
  ASSERT_TRUE(store_
                  ->ActivateProposal(p, {"test", 4, "contract-text", kNow},
                                     Entry(v1::ACTION_MANAGE_CONTRACT, ""))
                  .ok());
  EXPECT_EQ(store_->GetProposal(4)->signed_contract, "more-signatures");
  ASSERT_EQ(store_->ContractVersions()->size(), 1u);
  EXPECT_EQ((*store_->ContractVersions())[0].signed_text, "contract-text");

  AlertRow alert{"a1", kNow, "critical", "canary_read", "mallory", "m", ""};
  ASSERT_TRUE(store_->PutAlert(alert).ok());
  EXPECT_EQ(store_->AcknowledgeAlert("a1", "officer")->acknowledged_by,
            "officer");
  EXPECT_EQ(store_->Alerts(false)->size(), 0u);
  EXPECT_EQ(store_->AcknowledgeAlert("none", "officer").status().code(),
            absl::StatusCode::kNotFound);
}

// PostgreSQL only: what has no SQLite counterpart.
class PostgresStoreTest : public StoreBase {
 protected:
  void SetUp() override {
    LANEVAULT_REQUIRE_POSTGRES();
    postgres_ = testing::PostgresServer::Shared()->NewSchema();
    StoreBase::SetUp();
  }
};

TEST_F(PostgresStoreTest, ASecondOwnerIsRefusedWhileTheFirstHoldsTheVault) {
  absl::StatusOr<std::unique_ptr<Store>> second =
      OpenPostgresStore(Pg(postgres_));
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition)
      << second.status();
  store_.reset();  // the owner lock goes with the connection
  EXPECT_TRUE(OpenPostgresStore(Pg(postgres_)).ok());
}

TEST_F(PostgresStoreTest, TwoWritersOnOneDatabaseKeepOneLogWithoutAFork) {
  // What replicas will stand on: the log head's row lock serialises
  // appends, and a writer behind the head reloads the tree's edge.
  absl::StatusOr<std::unique_ptr<Store>> other =
      OpenPostgresStore(Pg(postgres_, /*owner=*/false));
  ASSERT_TRUE(other.ok()) << other.status();
  for (int i = 0; i < 5; ++i) {
    std::vector<IntakeRow> rows = {Row(absl::StrCat("rec-", i))};
    ASSERT_TRUE(store_->PutRecords(rows)[0].ok());
    EXPECT_EQ(rows[0].audit.sequence(), static_cast<uint64_t>(2 * i));
    absl::StatusOr<uint64_t> seq =
        (*other)->AppendAuditBatch({Entry(v1::ACTION_READ_RECORD, "x")});
    ASSERT_TRUE(seq.ok()) << seq.status();
    EXPECT_EQ(*seq, static_cast<uint64_t>(2 * i + 1));
  }
  EXPECT_TRUE(store_->CheckIntegrity(/*full=*/true).ok());
  Open();
  EXPECT_EQ(store_->AuditSize(), 10u);
}

TEST_F(PostgresStoreTest, FullCheckFindsALeafRewrittenBehindTheVaultsBack) {
  ASSERT_TRUE(store_
                  ->AppendAuditBatch({Entry(v1::ACTION_READ_RECORD, "a"),
                                      Entry(v1::ACTION_READ_RECORD, "b")})
                  .ok());
  ASSERT_TRUE(store_->CheckIntegrity(true).ok());
  absl::StatusOr<pg::Connection> c = pg::Connection::Open(postgres_);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c->Run("UPDATE audit_log SET entry = entry || '\\x00'::bytea "
                     "WHERE sequence = 1")
                  .ok());
  EXPECT_TRUE(store_->CheckIntegrity(false).ok());  // the edge is intact
  EXPECT_EQ(store_->CheckIntegrity(true).code(), absl::StatusCode::kDataLoss);
  ASSERT_TRUE(c->Run("DELETE FROM audit_log WHERE sequence = 1").ok());
  EXPECT_EQ(store_->CheckIntegrity(false).code(), absl::StatusCode::kDataLoss);
}

TEST_F(PostgresStoreTest, BackupToPointsAtTheServersOwnTools) {
  absl::StatusOr<BackupCopy> copy = store_->BackupTo(dir_.Join("copy.db"));
  EXPECT_EQ(copy.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_NE(copy.status().message().find("pg_dump"), std::string::npos);
}

}  // namespace
}  // namespace lanevault::vault
