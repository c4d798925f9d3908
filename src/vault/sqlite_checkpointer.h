#ifndef LANEVAULT_VAULT_SQLITE_CHECKPOINTER_H_
#define LANEVAULT_VAULT_SQLITE_CHECKPOINTER_H_

// Copies the writer's WAL back into the database file on a thread and a
// connection of its own, so that no commit waits for it.
//
// SQLite's default checkpoints in the committing thread once the WAL holds
// 1000 pages: every thousandth page or so, a commit writes those pages into
// the file and fsyncs it before it returns, and the writers queued behind
// it wait too. Here the writer's WAL hook only wakes this thread, which runs
// a PASSIVE checkpoint (it never blocks the writer nor the readers, and
// copies what no reader still needs). Durability is unchanged: a commit is
// durable once its WAL frames are synced, as before; the checkpoint itself
// syncs the WAL before it writes the file and the file after.
//
// A writer that never pauses could keep the WAL from ever being copied
// whole (it restarts only when a write begins after a complete copy): past
// kWalBackstopPages the writer's hook checkpoints in its own thread, as
// SQLite would have (after the thread's copy under way, if any), so the WAL
// stays bounded whatever the load.

#include <memory>
#include <string>
#include <thread>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "vault/sqlite.h"

namespace lanevault::vault {

class WalCheckpointer {
 public:
  // WAL pages from which the thread is woken (SQLite's own threshold).
  static constexpr int kWalWakePages = 1000;
  // WAL pages from which the writer checkpoints itself (16 MB): by then
  // the thread has copied most of them, so this copies the rest and lets
  // the next commit start the WAL over.
  static constexpr int kWalBackstopPages = 4000;

  // Opens its own connection to `path` (through `vfs`) and hooks the
  // writer's connection `writer`, which must outlive this object.
  static absl::StatusOr<std::unique_ptr<WalCheckpointer>> Start(
      const std::string& path, const std::string& vfs, sqlite3* writer);
  // Unhooks the writer and stops the thread (a checkpoint under way ends
  // first). The writer's own close checkpoints what is left.
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // Runs `checkpoint` (a TRUNCATE on the writer's connection, say) once
  // any copy the thread has under way is done, and keeps the thread from
  // starting one meanwhile: SQLite runs one checkpoint at a time and answers
  // a second with SQLITE_BUSY at once, without the busy timeout.
  int Exclusive(absl::FunctionRef<int()> checkpoint);

  // Checkpoints the thread has run.
  int runs() const;

 private:
  WalCheckpointer(std::string path, Database own, sqlite3* writer)
      : path_(std::move(path)), own_(std::move(own)), writer_(writer) {}
  static int OnCommit(void* self, sqlite3* db, const char* name, int pages);
  bool DueOrStopping() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return due_ || stop_;
  }
  void Run();

  const std::string path_;  // for the logs
  Database own_;            // used by the thread alone
  sqlite3* const writer_;
  std::thread thread_;
  // Held by whoever checkpoints the file: the thread, the writer past the
  // backstop, Exclusive. Never taken with mu_ held.
  absl::Mutex copying_ ABSL_ACQUIRED_BEFORE(mu_);
  mutable absl::Mutex mu_;
  bool due_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  // The WAL's size in pages when a checkpoint was last asked for.
  int asked_at_ ABSL_GUARDED_BY(mu_) = 0;
  int runs_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace lanevault::vault

#endif  // LANEVAULT_VAULT_SQLITE_CHECKPOINTER_H_
