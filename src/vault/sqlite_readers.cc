#include "vault/sqlite_readers.h"

#include <utility>

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

}  // namespace lanevault::vault
