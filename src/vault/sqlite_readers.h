#ifndef LANEVAULT_VAULT_SQLITE_READERS_H_
#define LANEVAULT_VAULT_SQLITE_READERS_H_

// Read-only connections to the SQLite store's file, for the reads a caller
// waits on (the canary check, a record, a plate lookup, the history a
// quota counts). In WAL mode a reader sees the last commit and runs while
// the writer's connection is busy committing and fsyncing, so a read does
// not queue behind the access log's group commit. Each connection is used
// by one thread at a time; a caller borrows one for the length of a Lease.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "vault/sqlite.h"

namespace lanevault::vault {

class SqliteReaders {
 public:
  // Opens `count` read-only connections to `path` (through `vfs`, empty for
  // the default), reporting damage through the writer's `damage` latch.
  static absl::StatusOr<std::unique_ptr<SqliteReaders>> Open(
      const std::string& path, const std::string& vfs,
      const std::shared_ptr<DamageLatch>& damage, int count);

  class Lease {
   public:
    Lease(SqliteReaders* owner, Database* db) : owner_(owner), db_(db) {}
    ~Lease() { owner_->Return(db_); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Database& operator*() const { return *db_; }
    Database* operator->() const { return db_; }

   private:
    SqliteReaders* owner_;
    Database* db_;
  };

  // A free connection, waiting for one if all are lent out.
  Lease Borrow();

 private:
  explicit SqliteReaders(std::vector<std::unique_ptr<Database>> all);
  void Return(Database* db);

  const std::vector<std::unique_ptr<Database>> all_;
  absl::Mutex mu_;
  std::vector<Database*> free_ ABSL_GUARDED_BY(mu_);
};

}  // namespace lanevault::vault

#endif  // LANEVAULT_VAULT_SQLITE_READERS_H_
