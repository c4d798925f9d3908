// The WAL checkpointer: on a real SQLite file, the writer's WAL is copied
// into the database file by the checkpointer's own thread while the writer
// keeps committing, the WAL stays bounded however fast the writer goes, and
// nothing committed is lost when both close.

#include "vault/sqlite_checkpointer.h"

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "testing/test_util.h"
#include "vault/sqlite.h"

namespace lanevault::vault {
namespace {

namespace fs = std::filesystem;

constexpr int kPage = 4096;
// A WAL frame is its page and a 24-byte header; the file has a 32-byte one.
constexpr uint64_t kFrame = kPage + 24;

int64_t Count(Database& db) {
  absl::StatusOr<Statement> q = db.Cached("SELECT COUNT(*) FROM t");
  EXPECT_TRUE(q.ok()) << q.status();
  if (!q.ok()) return -1;
  absl::StatusOr<bool> row = q->Step();
  EXPECT_TRUE(row.ok() && *row);
  return q->Int(0);
}

TEST(WalCheckpointerTest, CopiesTheWalOffTheCommitPathAndKeepsItBounded) {
  testing::TempDir dir;
  const std::string path = dir.Join("t.db");
  constexpr int kCommits = 20000;  // each about three pages
  {
    absl::StatusOr<Database> db = Database::Open(path);
    ASSERT_TRUE(db.ok()) << db.status();
    // NORMAL: the test's commits need not each reach the disk to fill the WAL.
    ASSERT_TRUE(db->Exec("PRAGMA page_size=4096; PRAGMA journal_mode=WAL; "
                         "PRAGMA synchronous=NORMAL; "
                         "CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB)")
                    .ok());
    const uint64_t file_before = fs::file_size(path);
    absl::StatusOr<std::unique_ptr<WalCheckpointer>> checkpointer =
        WalCheckpointer::Start(path, "", db->handle());
    ASSERT_TRUE(checkpointer.ok()) << checkpointer.status();

    // In all, several times the backstop.
    const std::string blob(2 * kPage + 100, 'x');
    uint64_t largest_wal = 0;
    for (int i = 0; i < kCommits; ++i) {
      absl::StatusOr<Statement> ins = db->Cached("INSERT INTO t(b) VALUES(?)");
      ASSERT_TRUE(ins.ok()) << ins.status();
      ins->BindBlob(1, blob);
      ASSERT_TRUE(ins->Run().ok());
      if (i % 64 == 0) {
        largest_wal = std::max(largest_wal, fs::file_size(path + "-wal"));
      }
    }
    // Each commit stays where it is; the thread copies behind them.
    for (int i = 0; i < 300 && (*checkpointer)->runs() == 0; ++i) {
      absl::SleepFor(absl::Milliseconds(100));
    }
    EXPECT_GT((*checkpointer)->runs(), 0) << "the thread never checkpointed";
    EXPECT_GT(fs::file_size(path), file_before + 1000 * kPage)
        << "nothing was copied into the database file";
    // Bounded: about the backstop and what was committed during one of
    // the thread's copies. Unbounded, it would hold every commit's pages
    // (about 60,000 here) whenever the thread never copies it all between
    // two commits.
    EXPECT_LE(largest_wal,
              32 + 3 * WalCheckpointer::kWalBackstopPages * kFrame);

    // Nothing committed is lost: the checkpointer goes, the writer closes
    // (its close copies the rest and removes the WAL), and a new connection
    // finds every row.
    checkpointer->reset();
  }
  EXPECT_FALSE(fs::exists(path + "-wal"));
  absl::StatusOr<Database> again = Database::Open(path);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(Count(*again), kCommits);
}

// The purge empties the WAL with a TRUNCATE checkpoint on the writer's
// connection. SQLite runs one checkpoint at a time and refuses a second at
// once (SQLITE_BUSY, no busy timeout), so a TRUNCATE that met the thread's
// copy failed and left purged pages in the WAL; through Exclusive it waits
// for the copy and runs.
TEST(WalCheckpointerTest, ATruncateWaitsForTheThreadsCopyInsteadOfFailing) {
  testing::TempDir dir;
  const std::string path = dir.Join("t.db");
  absl::StatusOr<Database> db = Database::Open(path);
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE(db->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                       "CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB)")
                  .ok());
  absl::StatusOr<std::unique_ptr<WalCheckpointer>> checkpointer =
      WalCheckpointer::Start(path, "", db->handle());
  ASSERT_TRUE(checkpointer.ok()) << checkpointer.status();
  const std::string blob(2 * kPage + 100, 'x');
  int truncates = 0, refused = 0;
  for (int i = 0; i < 6000; ++i) {
    absl::StatusOr<Statement> ins = db->Cached("INSERT INTO t(b) VALUES(?)");
    ASSERT_TRUE(ins.ok()) << ins.status();
    ins->BindBlob(1, blob);
    ASSERT_TRUE(ins->Run().ok());
    // Right after the commit that woke the thread, as the purge's last
    // batch is followed by its TRUNCATE.
    if (i % 333 == 332) {
      ++truncates;
      const int rc = (*checkpointer)->Exclusive([&] {
        return sqlite3_wal_checkpoint_v2(db->handle(), nullptr,
                                         SQLITE_CHECKPOINT_TRUNCATE, nullptr,
                                         nullptr);
      });
      if (rc != SQLITE_OK) ++refused;
    }
  }
  EXPECT_EQ(refused, 0) << "of " << truncates << " truncates";
}

}  // namespace
}  // namespace lanevault::vault
