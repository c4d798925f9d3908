// The SQLite store's read-only connections: the reads a caller waits on are
// answered while the writer holds a commit open, they see only what was
// committed, and the connections they use cannot write.

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/time_util.h"
#include "gtest/gtest.h"
#include "testing/test_util.h"
#include "vault/sqlite.h"
#include "vault/sqlite_store.h"
#include "vault/sqlite_store_impl.h"

namespace lanevault::vault {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);
// Only a bound on a wait that would otherwise hang the test: a read that
// queues behind the held commit never finishes until the commit is let go.
constexpr absl::Duration kDeadlock = absl::Seconds(30);

v1::AuditEntry Logged(v1::Action action, const std::string& record_id) {
  v1::AuditEntry e;
  e.set_principal("officer");
  e.set_action(action);
  e.set_verdict(v1::VERDICT_ALLOW);
  e.set_record_id(record_id);
  *e.mutable_time() = ToProto(kNow);
  return e;
}

IntakeRow OneItemRecord(const std::string& id, const std::string& mark) {
  IntakeRow row;
  v1::RecordSummary& s = row.record.summary;
  s.set_record_id(id);
  s.set_lane_id("lane-1");
  s.set_checkpoint_id("cp");
  s.set_contract_id("test");
  *s.mutable_first_seen() = ToProto(kNow);
  *s.mutable_last_seen() = ToProto(kNow);
  StoredItem& it = row.record.items.emplace_back();
  it.item_id = id + "-face";
  it.category = v1::DATA_CATEGORY_FACE_IMAGE;
  it.deadline = kNow + absl::Hours(1);
  it.sealed.key_version = 1;
  it.sealed.wrapped_key = "wrapped";
  it.sealed.ciphertext = std::string(20000, 'c');
  row.record.canary_mark = mark;
  row.audit = Logged(v1::ACTION_INTAKE, id);
  return row;
}

class SqliteReadersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Store>> s = OpenSqliteStore(db_path());
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
    sqlite_ = dynamic_cast<SqliteStore*>(store_.get());
    ASSERT_NE(sqlite_, nullptr);
  }
  std::string db_path() const { return dir_.Join("vault.db"); }
  void Put(const std::string& id, const std::string& mark) {
    std::vector<IntakeRow> rows = {OneItemRecord(id, mark)};
    absl::Status s = store_->PutRecords(rows)[0];
    ASSERT_TRUE(s.ok()) << s;
  }

  // A read-only connection of the test's own, reporting to `latch_`.
  absl::StatusOr<Database> OpenReader() {
    return Database::OpenReadOnly(db_path(), "", latch_);
  }
  // Runs `write` on a thread of its own and returns once its commit is
  // held open, just before COMMIT, with the writer's lock held.
  void HoldNextCommit(std::function<void()> write) {
    sqlite_->SetBeforeCommitForTesting([this] {
      held_.Notify();
      release_.WaitForNotificationWithTimeout(kDeadlock);
    });
    writer_ = std::thread(std::move(write));
    ASSERT_TRUE(held_.WaitForNotificationWithTimeout(kDeadlock));
  }
  // Runs `read` on another thread while the commit is held; then lets the
  // commit go. False if `read` did not finish while the commit was held.
  bool AnsweredWhileHeld(std::function<void()> read) {
    absl::Notification answered;
    std::thread reader([&] {
      read();
      answered.Notify();
    });
    const bool in_time = answered.WaitForNotificationWithTimeout(kDeadlock);
    release_.Notify();
    reader.join();
    writer_.join();
    sqlite_->SetBeforeCommitForTesting(nullptr);
    return in_time;
  }

  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
  SqliteStore* sqlite_ = nullptr;
  std::shared_ptr<DamageLatch> latch_ = std::make_shared<DamageLatch>();
  absl::Notification held_, release_;
  std::thread writer_;
};

TEST_F(SqliteReadersTest, ReadsAreAnsweredWhileACommitIsHeldOpen) {
  Put("rec-a", "mark-a");
  // The held commit stores rec-b with its intake entry.
  HoldNextCommit([&] {
    std::vector<IntakeRow> rows = {OneItemRecord("rec-b", "mark-b")};
    EXPECT_TRUE(store_->PutRecords(rows)[0].ok());
  });

  struct Seen {
    absl::StatusOr<StoredRecord> a, b;
    absl::StatusOr<bool> mark_a, mark_b;
    absl::StatusOr<std::string> digest_b;
  } seen;
  ASSERT_TRUE(AnsweredWhileHeld([&] {
    seen.a = store_->GetRecord("rec-a");
    seen.b = store_->GetRecord("rec-b");
    seen.mark_a = store_->HasCanaryMark("rec-a", "mark-a");
    seen.mark_b = store_->HasCanaryMark("rec-b", "mark-b");
    seen.digest_b = store_->SubmissionDigest("rec-b");
  })) << "the reads waited for the writer's commit";

  // What was committed before the held commit, and nothing of it.
  ASSERT_TRUE(seen.a.ok()) << seen.a.status();
  EXPECT_EQ(seen.a->items.at(0).sealed.ciphertext, std::string(20000, 'c'));
  EXPECT_EQ(seen.b.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(seen.mark_a.ok() && *seen.mark_a);
  EXPECT_TRUE(seen.mark_b.ok() && !*seen.mark_b);
  EXPECT_EQ(seen.digest_b.status().code(), absl::StatusCode::kNotFound);

  // Once committed, the next read sees it.
  EXPECT_TRUE(store_->GetRecord("rec-b").ok());
  EXPECT_TRUE(*store_->HasCanaryMark("rec-b", "mark-b"));
}

TEST_F(SqliteReadersTest, AHistoryCountSeesTheLogAsOfTheLastCommit) {
  Put("rec-a", "mark-a");
  ASSERT_TRUE(
      store_->AppendAuditBatch({Logged(v1::ACTION_READ_RECORD, "rec-a")}).ok());
  HoldNextCommit([&] {
    EXPECT_TRUE(store_
                    ->AppendAuditBatch({Logged(v1::ACTION_READ_RECORD, "rec-a"),
                                        Logged(v1::ACTION_READ_ITEM, "rec-a")})
                    .ok());
  });
  absl::StatusOr<ReadCounts> during;
  ASSERT_TRUE(AnsweredWhileHeld([&] {
    during = store_->CountReads("officer", false, kNow - absl::Hours(1));
  })) << "the count waited for the writer's commit";
  ASSERT_TRUE(during.ok()) << during.status();
  EXPECT_EQ(during->reads, 1u);

  absl::StatusOr<ReadCounts> after =
      store_->CountReads("officer", false, kNow - absl::Hours(1));
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->reads, 3u);
}

TEST_F(SqliteReadersTest, AReadOnlyConnectionCannotWrite) {
  Put("rec-a", "mark-a");
  absl::StatusOr<Database> reader = OpenReader();
  ASSERT_TRUE(reader.ok()) << reader.status();
  for (const char* sql :
       {"INSERT INTO vault_meta(key, value) VALUES('x', 'y')",
        "DELETE FROM records", "UPDATE items SET ciphertext = x'00'",
        "PRAGMA query_only=OFF; UPDATE records SET canary_mark = NULL"}) {
    absl::Status s = reader->Exec(sql);
    EXPECT_FALSE(s.ok()) << sql;
  }
  EXPECT_EQ(testing::QueryInt(db_path(), "SELECT COUNT(*) FROM records"), 1);
  EXPECT_EQ(testing::QueryInt(db_path(),
                              "SELECT COUNT(*) FROM records WHERE "
                              "canary_mark IS NOT NULL"),
            1);
  EXPECT_TRUE(store_->GetRecord("rec-a").ok());
}

TEST_F(SqliteReadersTest, AReaderRefusesOnceTheWritersLatchIsTripped) {
  Put("rec-a", "mark-a");
  absl::StatusOr<Database> reader = OpenReader();
  ASSERT_TRUE(reader.ok()) << reader.status();
  ASSERT_TRUE(reader->Cached("SELECT COUNT(*) FROM records").ok());
  latch_->Trip("a page of items is damaged");
  absl::StatusOr<Statement> q = reader->Cached("SELECT COUNT(*) FROM records");
  EXPECT_EQ(q.status().code(), absl::StatusCode::kUnavailable) << q.status();
}

}  // namespace
}  // namespace lanevault::vault
