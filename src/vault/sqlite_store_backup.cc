// Online backup of the SQLite store: SQLite's backup API, a few pages a
// step, each step under the store's lock and none between them.
//
// Why the store's own connection: SQLite carries every write made through
// the connection being backed up into the copy as it commits, so the copy
// never restarts under steady intake and, finished under the lock, holds
// exactly the database as of the last commit before it. A second
// connection would restart the copy at every intake commit.

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "vault/sqlite_store_impl.h"

namespace lanevault::vault {
namespace {

// 1024 pages of 4 KiB: a few milliseconds under the lock per step.
constexpr int kPagesPerStep = 1024;
constexpr std::chrono::milliseconds kPauseBetweenSteps{1};

absl::Status FsyncFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot fsync ", path, ": ", std::strerror(err)));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> CountOf(Database& db, absl::string_view sql) {
  absl::StatusOr<Statement> q = db.Prepare(sql);
  if (!q.ok()) return q.status();
  absl::StatusOr<bool> row = q->Step();
  if (!row.ok()) return row.status();
  return static_cast<uint64_t>(q->Int(0));
}

// Checks the finished copy and reads what it holds (the tree head comes
// from the source, taken under the lock the copy finished under).
absl::Status Describe(Database& copy, BackupCopy& out) {
  // One self-contained file: the copy keeps no WAL beside it.
  if (absl::Status s = copy.Exec("PRAGMA journal_mode=DELETE"); !s.ok()) {
    return s;
  }
  absl::StatusOr<Statement> check = copy.Prepare("PRAGMA quick_check(5)");
  if (!check.ok()) return check.status();
  std::string problem;
  absl::Status rows = check->ForEachRow([&] {
    if (check->Text(0) != "ok" && problem.empty()) problem = check->Text(0);
    return absl::OkStatus();
  });
  if (!rows.ok()) return rows;
  if (!problem.empty()) {
    return absl::DataLossError(
        absl::StrCat("the copy fails quick_check: ", problem));
  }
  absl::StatusOr<uint64_t> entries =
      CountOf(copy, "SELECT COUNT(*) FROM audit_log");
  if (!entries.ok()) return entries.status();
  if (*entries != out.tree_size) {
    return absl::InternalError(
        absl::StrCat("the copy holds ", *entries, " access-log entries, not ",
                     out.tree_size, " as the database did when it finished"));
  }
  absl::StatusOr<uint64_t> records =
      CountOf(copy, "SELECT COUNT(*) FROM records");
  if (!records.ok()) return records.status();
  absl::StatusOr<uint64_t> items = CountOf(copy, "SELECT COUNT(*) FROM items");
  if (!items.ok()) return items.status();
  absl::StatusOr<uint64_t> intakes = CountOf(
      copy, absl::StrCat("SELECT COUNT(*) FROM audit_log WHERE action = ",
                         static_cast<int>(v1::ACTION_INTAKE)));
  if (!intakes.ok()) return intakes.status();
  out.records = *records;
  out.items = *items;
  out.intake_entries = *intakes;
  absl::StatusOr<Statement> cp = copy.Prepare(
      "SELECT tree_size, note FROM audit_checkpoints ORDER BY tree_size DESC "
      "LIMIT 1");
  if (!cp.ok()) return cp.status();
  absl::StatusOr<bool> row = cp->Step();
  if (!row.ok()) return row.status();
  if (*row) {
    out.checkpoint_size = static_cast<uint64_t>(cp->Int(0));
    out.checkpoint = cp->Text(1);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<BackupCopy> SqliteStore::BackupTo(const std::string& dest) {
  // Created here, exclusively: never a file someone else put at the path.
  const int fd =
      ::open(dest.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int err = errno;
    const std::string why =
        absl::StrCat("cannot create backup ", dest, ": ", std::strerror(err));
    return err == EEXIST ? absl::AlreadyExistsError(why)
                         : absl::UnavailableError(why);
  }
  ::close(fd);
  BackupCopy out;
  absl::Status copied = [&]() -> absl::Status {
    absl::StatusOr<Database> copy = Database::Open(dest);
    if (!copy.ok()) return copy.status();
    // No journal and no fsync inside the copy: its last step, which holds
    // the store's lock, would otherwise flush the whole file. The copy is
    // ours alone, deleted if incomplete, and fsynced once it is closed.
    for (absl::string_view pragma :
         {"PRAGMA journal_mode=OFF", "PRAGMA synchronous=OFF"}) {
      if (absl::Status s = copy->Exec(pragma); !s.ok()) return s;
    }
    sqlite3_backup* backup = nullptr;
    {
      absl::MutexLock lock(&mu_);
      if (absl::Status s = damage_->Check(); !s.ok()) return s;
      backup =
          sqlite3_backup_init(copy->handle(), "main", db_.handle(), "main");
    }
    if (backup == nullptr) {
      return SqliteStatus(sqlite3_errcode(copy->handle()),
                          "cannot start the backup", copy->handle());
    }
    int rc = SQLITE_OK;
    for (bool done = false; !done;) {
      {
        absl::MutexLock lock(&mu_);
        rc = sqlite3_backup_step(backup, kPagesPerStep);
        if (rc == SQLITE_DONE) {
          // Finished under the lock: no commit came in since the last
          // page, so this is the copy's tree.
          out.tree_size = edge_.size();
          out.root = edge_.Root();
          rc = sqlite3_backup_finish(backup);
          done = true;
        } else if (rc != SQLITE_OK && rc != SQLITE_BUSY &&
                   rc != SQLITE_LOCKED) {
          sqlite3_backup_finish(backup);
          done = true;
        }
      }
      // Between steps the lock is free: intake commits, and SQLite carries
      // its pages into the copy. A pause, not a yield: the lock is not fair,
      // and a yield lets this loop take it back before a waiting writer.
      if (!done) std::this_thread::sleep_for(kPauseBetweenSteps);
    }
    if (rc != SQLITE_OK) {
      return SqliteStatus(rc, absl::StrCat("backup to ", dest, " failed"),
                          copy->handle());
    }
    if (absl::Status s = Describe(*copy, out); !s.ok()) {
      return absl::Status(s.code(),
                          absl::StrCat("backup ", dest, ": ", s.message()));
    }
    return absl::OkStatus();
  }();  // the copy is closed here
  if (!copied.ok()) {
    // Ours (made above), and incomplete: not left for anyone to restore.
    ::unlink(dest.c_str());
    ::unlink(absl::StrCat(dest, "-journal").c_str());
    return copied;
  }
  if (absl::Status s = FsyncFile(dest); !s.ok()) return s;
  const std::string dir = std::filesystem::path(dest).parent_path().string();
  if (absl::Status s = SyncDirectory(dir.empty() ? "." : dir); !s.ok()) {
    return s;
  }
  struct stat st;
  if (::stat(dest.c_str(), &st) == 0) out.bytes = st.st_size;
  return out;
}

}  // namespace lanevault::vault
