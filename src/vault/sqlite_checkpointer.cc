#include "vault/sqlite_checkpointer.h"

#include <sqlite3.h>

#include <utility>

#include "spdlog/spdlog.h"

namespace lanevault::vault {

absl::StatusOr<std::unique_ptr<WalCheckpointer>> WalCheckpointer::Start(
    const std::string& path, const std::string& vfs, sqlite3* writer) {
  absl::StatusOr<Database> own = Database::Open(path, vfs);
  if (!own.ok()) return own.status();
  // The checkpoint syncs as the writer's commits do.
  if (absl::Status s = own->Exec("PRAGMA synchronous=FULL"); !s.ok()) return s;
  std::unique_ptr<WalCheckpointer> c(
      new WalCheckpointer(path, std::move(*own), writer));
  c->thread_ = std::thread([p = c.get()] { p->Run(); });
  // Replaces SQLite's automatic checkpoint on the writer's connection.
  sqlite3_wal_hook(writer, &WalCheckpointer::OnCommit, c.get());
  return c;
}

WalCheckpointer::~WalCheckpointer() {
  sqlite3_wal_hook(writer_, nullptr, nullptr);
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

int WalCheckpointer::OnCommit(void* self, sqlite3* db, const char* name,
                              int pages) {
  auto* c = static_cast<WalCheckpointer*>(self);
  if (pages >= kWalBackstopPages) {
    // Runs on the writer's connection inside its commit, as SQLite's own
    // automatic checkpoint does; its failure does not undo the commit.
    c->Exclusive([&] {
      return sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE,
                                       nullptr, nullptr);
    });
    return SQLITE_OK;
  }
  absl::MutexLock lock(&c->mu_);
  // The WAL restarted after a complete copy: count from its start again.
  if (pages < c->asked_at_) c->asked_at_ = 0;
  // Once per kWalWakePages new pages, as SQLite's own checkpoint would run
  // (each commit past the threshold would start one copy after another).
  if (pages - c->asked_at_ >= kWalWakePages) {
    c->asked_at_ = pages;
    c->due_ = true;
  }
  return SQLITE_OK;
}

void WalCheckpointer::Run() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &WalCheckpointer::DueOrStopping));
      if (stop_) return;
      due_ = false;
    }
    const int rc = Exclusive([this] {
      return sqlite3_wal_checkpoint_v2(
          own_.handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    });
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
      // Not the commits' problem; the writer checkpoints itself past the
      // backstop.
      spdlog::warn(
          "{}: copying the WAL into the database file failed (tried again "
          "after the next 1000 pages; commits stay durable in the WAL): {}",
          path_, sqlite3_errmsg(own_.handle()));
    }
    absl::MutexLock lock(&mu_);
    ++runs_;
  }
}

int WalCheckpointer::Exclusive(absl::FunctionRef<int()> checkpoint) {
  absl::MutexLock lock(&copying_);
  return checkpoint();
}

int WalCheckpointer::runs() const {
  absl::MutexLock lock(&mu_);
  return runs_;
}

}  // namespace lanevault::vault
