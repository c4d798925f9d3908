#include "vault/kek_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/time_util.h"

namespace lanevault::vault {
namespace {

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS keks(
  version INTEGER PRIMARY KEY,
  period_day INTEGER NOT NULL,
  generation INTEGER NOT NULL,
  wrapped BLOB NOT NULL,
  created_us INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS destroyed_keks(
  version INTEGER PRIMARY KEY
);
CREATE TABLE IF NOT EXISTS key_store_meta(
  name TEXT PRIMARY KEY,
  value BLOB NOT NULL
);
)sql";

// Created 0600 before SQLite opens it: SQLite would create it with the
// umask's mode, readable by others for a moment.
absl::Status CreatePrivately(const std::string& path) {
  const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat("cannot create key store ", path,
                                               ": ", std::strerror(errno)));
  }
  ::close(fd);
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "key store ", path, " is readable by group or others (", "mode ",
        absl::StrFormat("%o", st.st_mode & 0777), "): chmod 600 it"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<KekStore>> KekStore::Open(
    const std::string& path) {
  if (absl::Status s = CreatePrivately(path); !s.ok()) return s;
  absl::StatusOr<Database> db = Database::Open(path);
  if (!db.ok()) {
    return absl::Status(
        db.status().code(),
        absl::StrCat("key store ", path, ": ", db.status().message()));
  }
  std::unique_ptr<KekStore> store(new KekStore(path, std::move(*db)));
  absl::MutexLock lock(&store->mu_);
  for (absl::string_view pragma :
       {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
        "PRAGMA secure_delete=ON"}) {
    if (absl::Status s = store->db_.Exec(pragma); !s.ok()) {
      return store->Named(s);
    }
  }
  if (absl::Status s = store->db_.Exec(kSchema); !s.ok()) {
    return store->Named(s);
  }
  // A destruction whose checkpoint a reader blocked last time is finished.
  if (absl::Status s = store->TruncateWal(); !s.ok()) return s;
  return store;
}

absl::Status KekStore::TruncateWal() {
  // A reader (a --print_log_key beside the daemon) can hold the checkpoint
  // back; SQLite then reports it busy in its result, not as an error.
  for (int attempt = 0;; ++attempt) {
    const int rc = sqlite3_wal_checkpoint_v2(
        db_.handle(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
    if (rc != SQLITE_BUSY || attempt == 50) {
      return Named(SqliteStatus(rc, "WAL checkpoint", db_.handle()));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
}

absl::Status KekStore::Named(const absl::Status& s) const {
  if (s.ok()) return s;
  return absl::Status(s.code(),
                      absl::StrCat("key store ", path_, ": ", s.message()));
}

absl::StatusOr<std::vector<StoredKek>> KekStore::Keks() {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Statement> q = db_.Cached(
      "SELECT version, period_day, generation, wrapped, created_us FROM keks "
      "ORDER BY version");
  if (!q.ok()) return Named(q.status());
  std::vector<StoredKek> out;
  absl::Status rows = q->ForEachRow([&] {
    StoredKek& k = out.emplace_back();
    k.version = static_cast<uint32_t>(q->Int(0));
    k.period_day = q->Int(1);
    k.generation = static_cast<uint32_t>(q->Int(2));
    k.wrapped = q->Blob(3);
    k.created = absl::FromUnixMicros(q->Int(4));
    return absl::OkStatus();
  });
  if (!rows.ok()) return Named(rows);
  return out;
}

absl::Status KekStore::PutKek(const StoredKek& kek) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Statement> q = db_.Cached(
      "INSERT INTO keks(version, period_day, generation, wrapped, created_us) "
      "VALUES(?,?,?,?,?)");
  if (!q.ok()) return Named(q.status());
  q->Bind(1, static_cast<int64_t>(kek.version))
      .Bind(2, kek.period_day)
      .Bind(3, static_cast<int64_t>(kek.generation))
      .BindBlob(4, kek.wrapped)
      .Bind(5, ToUnixMicrosSaturated(kek.created));
  return Named(q->Run());
}

absl::Status KekStore::DestroyKek(uint32_t version) {
  absl::MutexLock lock(&mu_);
  {
    absl::StatusOr<Transaction> tx = Transaction::Begin(db_);
    if (!tx.ok()) return Named(tx.status());
    for (const char* sql :
         {"INSERT OR IGNORE INTO destroyed_keks(version) VALUES(?)",
          "DELETE FROM keks WHERE version = ?"}) {
      absl::StatusOr<Statement> q = db_.Cached(sql);
      if (!q.ok()) return Named(q.status());
      q->Bind(1, static_cast<int64_t>(version));
      if (absl::Status s = q->Run(); !s.ok()) return Named(s);
    }
    if (absl::Status s = tx->Commit(); !s.ok()) return Named(s);
  }
  // The deleted row's page was zeroed in the WAL; the checkpoint moves the
  // zeroed page into the file and empties the WAL, so neither holds the key.
  return TruncateWal();
}

absl::StatusOr<std::vector<uint32_t>> KekStore::DestroyedVersions() {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Statement> q =
      db_.Cached("SELECT version FROM destroyed_keks ORDER BY version");
  if (!q.ok()) return Named(q.status());
  std::vector<uint32_t> out;
  absl::Status rows = q->ForEachRow([&] {
    out.push_back(static_cast<uint32_t>(q->Int(0)));
    return absl::OkStatus();
  });
  if (!rows.ok()) return Named(rows);
  return out;
}

absl::StatusOr<int64_t> KekStore::DataVersion() {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Statement> q = db_.Cached("PRAGMA data_version");
  if (!q.ok()) return Named(q.status());
  absl::StatusOr<bool> row = q->Step();
  if (!row.ok()) return Named(row.status());
  if (!*row) return absl::InternalError("PRAGMA data_version: no row");
  return q->Int(0);
}

absl::StatusOr<std::string> KekStore::Get(absl::string_view name) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Statement> q =
      db_.Cached("SELECT value FROM key_store_meta WHERE name = ?");
  if (!q.ok()) return Named(q.status());
  q->Bind(1, name);
  absl::StatusOr<bool> row = q->Step();
  if (!row.ok()) return Named(row.status());
  if (!*row) return absl::NotFoundError(absl::StrCat("no ", name));
  return q->Blob(0);
}

absl::Status KekStore::Put(absl::string_view name, absl::string_view value) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Statement> q = db_.Cached(
      "INSERT INTO key_store_meta(name, value) VALUES(?, ?) "
      "ON CONFLICT(name) DO UPDATE SET value = excluded.value");
  if (!q.ok()) return Named(q.status());
  q->Bind(1, name).BindBlob(2, value);
  return Named(q->Run());
}

}  // namespace lanevault::vault
