#ifndef LANEVAULT_VAULT_SQLITE_H_
#define LANEVAULT_VAULT_SQLITE_H_

// A thin RAII layer over the SQLite C API that turns result codes into
// absl::Status: disk full is RESOURCE_EXHAUSTED, a damaged file DATA_LOSS,
// a busy or failing disk UNAVAILABLE. Not thread-safe; the store serialises.

#include <sqlite3.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace lanevault::vault {

absl::Status SqliteStatus(int code, absl::string_view context, sqlite3* db);

// What every connection of one store shares. Above all a latch, tripped once
// SQLite reports the file's structure damaged (SQLITE_CORRUPT,
// SQLITE_NOTADB). From then on the connection refuses every statement with
// UNAVAILABLE naming the damage: a vault that finds damage stops instead of
// writing on, and says so once (a critical log line), not on every call.
class DamageLatch {
 public:
  void Trip(absl::string_view what);
  // OK, or UNAVAILABLE naming the first damage found.
  absl::Status Check() const;

  // Not damage: a write the disk refused (full, read-only, I/O error). It
  // is kept until a later commit succeeds, so health can say the vault
  // cannot commit (ops/health_monitor.h) without writing to find out.
  void NoteWriteFault(int code, absl::string_view what);
  void NoteCommitted();
  // OK, or UNAVAILABLE naming the last refused write since the last commit.
  absl::Status WriteHealth() const;

  // Not damage either: rows the store's prepared statements stepped through
  // whole-table scans, and automatic indexes they built (each a scan too):
  // SQLITE_STMTSTATUS_FULLSCAN_STEP and _AUTOINDEX, added as each statement
  // is reset or finalized. A path meant to seek that scans instead (a
  // missing index, a foreign key checked against an unindexed column) shows
  // here; tests read it. SQL run through Database::Exec is not counted.
  void NoteFullScanSteps(int64_t steps) {
    full_scan_steps_.fetch_add(steps, std::memory_order_relaxed);
  }
  int64_t full_scan_steps() const {
    return full_scan_steps_.load(std::memory_order_relaxed);
  }
  // And the virtual machine instructions they ran (SQLITE_STMTSTATUS_VM_STEP),
  // counted the same way: a statement's work whatever the depth of the
  // b-trees it seeks in, so a path whose count grows with the vault walks
  // rows it should seek past (a range of an index, not only a whole table).
  void NoteVmSteps(int64_t steps) {
    vm_steps_.fetch_add(steps, std::memory_order_relaxed);
  }
  int64_t vm_steps() const { return vm_steps_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> full_scan_steps_{0};
  std::atomic<int64_t> vm_steps_{0};
  mutable absl::Mutex mu_;
  std::string what_ ABSL_GUARDED_BY(mu_);
  std::string write_fault_ ABSL_GUARDED_BY(mu_);
};

class Statement {
 public:
  // An owned statement is finalized on destruction; a borrowed one (from
  // Database::Cached) is only reset, so it can be stepped again cheaply.
  Statement(sqlite3* db, sqlite3_stmt* stmt, DamageLatch* damage,
            bool owned = true)
      : db_(db), stmt_(stmt), damage_(damage), owned_(owned) {}
  ~Statement();
  Statement(Statement&& o) noexcept
      : db_(o.db_), stmt_(o.stmt_), damage_(o.damage_), owned_(o.owned_) {
    o.stmt_ = nullptr;
  }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, absl::string_view text);  // as TEXT
  Statement& BindBlob(int index, absl::string_view bytes);
  // Without SQLite's copy of the bytes, for large ones (a ciphertext):
  // they must stay where they are until this Statement is gone (it clears
  // its bindings then).
  Statement& BindBlobInPlace(int index, absl::string_view bytes);

  // Steps once: true while a row is available, false when done.
  absl::StatusOr<bool> Step();
  // Steps to completion, calling `row` on each row (read it through Int,
  // Text, ...). Stops at the first error, the step's or `row`'s; a step's
  // error has already tripped the damage latch when it is damage.
  absl::Status ForEachRow(absl::FunctionRef<absl::Status()> row);
  // Steps to completion, for statements that return no rows.
  absl::Status Run();
  // Steps to completion, collecting one text column of every row.
  absl::StatusOr<std::vector<std::string>> AllText(int column);

  int64_t Int(int column) const;
  std::string Text(int column) const;
  std::string Blob(int column) const;
  bool IsNull(int column) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  DamageLatch* damage_;
  bool owned_;
};

class Database {
 public:
  // `vfs` names a registered SQLite VFS; empty for the default (tests use
  // one that fails writes like a full disk).
  static absl::StatusOr<Database> Open(const std::string& path,
                                       const std::string& vfs = "");
  // A connection that can only read `path` (opened read-only and
  // query_only), reporting damage through `damage`, the writer's latch: a
  // damaged page a reader finds takes the whole store out of service.
  static absl::StatusOr<Database> OpenReadOnly(
      const std::string& path, const std::string& vfs,
      std::shared_ptr<DamageLatch> damage);
  ~Database();
  Database(Database&& o) noexcept
      : db_(o.db_), cache_(std::move(o.cache_)), damage_(std::move(o.damage_)) {
    o.db_ = nullptr;
    o.cache_.clear();
  }
  Database& operator=(Database&& o) noexcept;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  absl::Status Exec(absl::string_view sql);
  absl::StatusOr<Statement> Prepare(absl::string_view sql);
  // A statement prepared once and kept for the connection's life; `sql`
  // must live as long and never change, a string literal or a static
  // string never freed (its address is the cache key).
  absl::StatusOr<Statement> Cached(const char* sql);
  sqlite3* handle() { return db_; }
  // Shared with the statements; outlives moves of the Database.
  std::shared_ptr<DamageLatch> damage() const { return damage_; }

 private:
  Database(sqlite3* db, std::shared_ptr<DamageLatch> damage)
      : db_(db), damage_(std::move(damage)) {}
  static absl::StatusOr<Database> OpenWith(const std::string& path,
                                           const std::string& vfs, int flags,
                                           std::shared_ptr<DamageLatch> damage);
  void FinalizeCached();
  // The error for `code`; trips the damage latch when it is damage.
  absl::Status Failed(int code, absl::string_view context);
  sqlite3* db_ = nullptr;
  absl::flat_hash_map<const char*, sqlite3_stmt*> cache_;
  std::shared_ptr<DamageLatch> damage_;
};

// One snapshot for several statements on a read-only connection: BEGIN
// (deferred) on construction, its end on destruction. Without it each
// statement sees the newest commit, so two could disagree (a record's row
// before a purge, its items after).
class ReadSnapshot {
 public:
  static absl::StatusOr<ReadSnapshot> Begin(Database& db);
  ~ReadSnapshot();
  ReadSnapshot(ReadSnapshot&& o) noexcept : db_(o.db_) { o.db_ = nullptr; }
  ReadSnapshot(const ReadSnapshot&) = delete;
  ReadSnapshot& operator=(const ReadSnapshot&) = delete;

 private:
  explicit ReadSnapshot(Database* db) : db_(db) {}
  Database* db_;
};

// BEGIN IMMEDIATE on construction; ROLLBACK on destruction unless Commit()
// succeeded.
class Transaction {
 public:
  static absl::StatusOr<Transaction> Begin(Database& db);
  ~Transaction();
  Transaction(Transaction&& o) noexcept : db_(o.db_), done_(o.done_) {
    o.done_ = true;
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  absl::Status Commit();

 private:
  explicit Transaction(Database* db) : db_(db) {}
  Database* db_;
  bool done_ = false;
};

}  // namespace lanevault::vault

#endif  // LANEVAULT_VAULT_SQLITE_H_
