#include "vault/sqlite_readers.h"

#include <utility>

#include "common/logging.h"

namespace lanevault::vault {

absl::StatusOr<std::unique_ptr<SqliteReaders>> SqliteReaders::Open(
    const std::string& path, const std::string& vfs,
    const std::shared_ptr<DamageLatch>& damage, int count) {
  std::vector<std::unique_ptr<Database>> all;
  for (int i = 0; i < count; ++i) {
    absl::StatusOr<Database> db = Database::OpenReadOnly(path, vfs, damage);
    if (!db.ok()) return db.status();
    // 8 MiB of page cache each: the indexes a read walks stay in memory.
    if (absl::Status s = db->Exec("PRAGMA cache_size=-8192"); !s.ok()) {
      return s;
    }
    all.push_back(std::make_unique<Database>(std::move(*db)));
  }
  return std::unique_ptr<SqliteReaders>(new SqliteReaders(std::move(all)));
}

SqliteReaders::SqliteReaders(std::vector<std::unique_ptr<Database>> all)
    : all_(std::move(all)) {
  for (const std::unique_ptr<Database>& db : all_) free_.push_back(db.get());
}

SqliteReaders::Lease SqliteReaders::Borrow() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](std::vector<Database*>* free) { return !free->empty(); }, &free_));
  Database* db = free_.back();
  free_.pop_back();
  return Lease(this, db);
}

void SqliteReaders::Return(Database* db) {
  // A connection handed back inside a transaction (a snapshot whose end
  // failed) would answer every later borrower from that old snapshot:
  // quotas and canary checks would miss what was committed since.
  if (!sqlite3_get_autocommit(db->handle())) {
    sqlite3_exec(db->handle(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
  absl::MutexLock lock(&mu_);
  free_.push_back(db);
}

absl::StatusOr<std::unique_ptr<SqliteCheckpointer>> SqliteCheckpointer::Start(
    const std::string& path, const std::string& vfs,
    std::shared_ptr<DamageLatch> damage) {
  absl::StatusOr<Database> db = Database::OpenReadWrite(path, vfs, damage);
  if (!db.ok()) return db.status();
  // The writer's sync: the WAL is synced before its frames are copied and
  // the database file after.
  if (absl::Status s = db->Exec("PRAGMA synchronous=FULL"); !s.ok()) return s;
  return std::unique_ptr<SqliteCheckpointer>(
      new SqliteCheckpointer(std::move(*db), std::move(damage)));
}

SqliteCheckpointer::SqliteCheckpointer(Database db,
                                       std::shared_ptr<DamageLatch> damage)
    : damage_(std::move(damage)), db_(std::move(db)) {
  thread_ = std::thread([this] { Run(); });
}

SqliteCheckpointer::~SqliteCheckpointer() {
  {
    absl::MutexLock lock(&wake_mu_);
    stop_ = true;
  }
  thread_.join();
}

void SqliteCheckpointer::Attach(sqlite3* writer) {
  sqlite3_wal_hook(writer, &SqliteCheckpointer::OnCommit, this);
}

void SqliteCheckpointer::Detach(sqlite3* writer) {
  sqlite3_wal_autocheckpoint(writer, kWakeFrames);
}

int SqliteCheckpointer::OnCommit(void* self, sqlite3* writer,
                                 const char* schema, int frames) {
  auto* c = static_cast<SqliteCheckpointer*>(self);
  const int copied = c->copied_.load(std::memory_order_relaxed);
  // A WAL smaller than what was copied has restarted from its beginning.
  const int pending = frames >= copied ? frames - copied : frames;
  if (pending >= kInlineFrames) {
    // Behind: this commit pays for the copy, as SQLite's own would. BUSY
    // (the thread is copying right now) is fine: it is catching up.
    int log = 0, done = 0;
    if (sqlite3_wal_checkpoint_v2(writer, schema, SQLITE_CHECKPOINT_PASSIVE,
                                  &log, &done) == SQLITE_OK) {
      c->copied_.store(done, std::memory_order_relaxed);
    }
  } else if (pending >= kWakeFrames) {
    absl::MutexLock lock(&c->wake_mu_);
    c->wanted_ = true;
  }
  return SQLITE_OK;
}

void SqliteCheckpointer::Run() {
  int failures = 0;
  while (true) {
    {
      absl::MutexLock lock(&wake_mu_);
      wake_mu_.Await(absl::Condition(
          +[](SqliteCheckpointer* c) ABSL_EXCLUSIVE_LOCKS_REQUIRED(
               c->wake_mu_) { return c->wanted_ || c->stop_; },
          this));
      if (stop_) return;
      wanted_ = false;
    }
    if (!damage_->Check().ok()) continue;  // nothing more is written
    absl::MutexLock lock(&checkpoint_mu_);
    int log = 0, done = 0;
    const int rc = sqlite3_wal_checkpoint_v2(
        db_.handle(), "main", SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    if (rc == SQLITE_OK) copied_.store(done, std::memory_order_relaxed);
    if (rc == SQLITE_OK || rc == SQLITE_BUSY) continue;
    const absl::Status s = SqliteStatus(rc, "WAL checkpoint", db_.handle());
    if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB) {
      damage_->Trip(s.message());
    } else if (failures++ % 100 == 0) {
      // The commits themselves report a full or failing disk; this only
      // says why the WAL grows.
      spdlog::warn("{} (the WAL grows until it succeeds)", s.message());
    }
  }
}

}  // namespace lanevault::vault
