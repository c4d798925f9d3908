#ifndef LANEVAULT_VAULT_SQLITE_READERS_H_
#define LANEVAULT_VAULT_SQLITE_READERS_H_

// Read-only connections to the SQLite store's file, for the reads a caller
// waits on (the canary check, a record, a plate lookup, the history a
// quota counts). In WAL mode a reader sees the last commit and runs while
// the writer's connection is busy committing and fsyncing, so a read does
// not queue behind the access log's group commit. Each connection is used
// by one thread at a time; a caller borrows one for the length of a Lease.
//
// Also here, the other connection beside the writer's: the checkpointer,
// which copies the WAL into the database file on a thread of its own.

#include <atomic>
#include <memory>
#include <string>
#include <thread>
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

// Copies committed WAL frames into the database file (a PASSIVE
// checkpoint) on a thread and connection of its own, instead of SQLite's
// automatic checkpoint inside the commit that crosses 1000 frames: that
// commit then waited for the copy and the database file's fsync, about a
// third of the bytes an intake record writes. A commit is durable once its
// WAL frames are synced either way; the checkpoint only moves them.
class SqliteCheckpointer {
 public:
  // WAL frames not yet copied at which a commit wakes the thread: SQLite's
  // own automatic checkpoint threshold. Counted from what the thread last
  // copied, not from the WAL's start: a WAL restarts only at a write that
  // finds it all copied, so by its size alone every commit would wake the
  // thread for a copy and an fsync of a few pages.
  static constexpr int kWakeFrames = 1000;
  // Past this the thread has fallen behind (readers holding old snapshots,
  // a slow disk): the committing writer checkpoints itself, as before, so
  // the WAL stays bounded (~64 MiB).
  static constexpr int kInlineFrames = 16000;

  // Opens its read-write connection to `path` and starts the thread.
  static absl::StatusOr<std::unique_ptr<SqliteCheckpointer>> Start(
      const std::string& path, const std::string& vfs,
      std::shared_ptr<DamageLatch> damage);
  // Stops the thread and closes its connection. Detach the writer first.
  ~SqliteCheckpointer();
  SqliteCheckpointer(const SqliteCheckpointer&) = delete;
  SqliteCheckpointer& operator=(const SqliteCheckpointer&) = delete;

  // Replaces `writer`'s automatic checkpoint with a wake-up of this thread
  // (sqlite3_wal_hook); Detach puts SQLite's own back.
  void Attach(sqlite3* writer);
  static void Detach(sqlite3* writer);

  // Held by the thread while it checkpoints; a caller running a checkpoint
  // of its own (a TRUNCATE) holds it so the two do not collide (the second
  // would get SQLITE_BUSY).
  absl::Mutex& checkpoint_mu() { return checkpoint_mu_; }

 private:
  SqliteCheckpointer(Database db, std::shared_ptr<DamageLatch> damage);
  static int OnCommit(void* self, sqlite3* writer, const char* schema,
                      int frames);
  void Run();

  std::shared_ptr<DamageLatch> damage_;
  absl::Mutex checkpoint_mu_;
  Database db_ ABSL_GUARDED_BY(checkpoint_mu_);
  absl::Mutex wake_mu_;
  bool wanted_ ABSL_GUARDED_BY(wake_mu_) = false;
  bool stop_ ABSL_GUARDED_BY(wake_mu_) = false;
  // The WAL frames the last checkpoint had copied (the WAL's size then).
  std::atomic<int> copied_{0};
  std::thread thread_;
};

}  // namespace lanevault::vault

#endif  // LANEVAULT_VAULT_SQLITE_READERS_H_
