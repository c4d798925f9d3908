#include "vault/sqlite.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace lanevault::vault {
namespace {

bool IsStructuralDamage(int code) {
  return (code & 0xff) == SQLITE_CORRUPT || (code & 0xff) == SQLITE_NOTADB;
}

}  // namespace

void DamageLatch::Trip(absl::string_view what) {
  absl::MutexLock lock(&mu_);
  if (!what_.empty()) return;
  what_ = std::string(what);
  spdlog::critical(
      "VAULT OUT OF SERVICE: the database is damaged ({}); nothing more is "
      "read or written. Stop the daemon and restore from a backup.",
      what_);
}

absl::Status DamageLatch::Check() const {
  absl::MutexLock lock(&mu_);
  if (what_.empty()) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat(
      "the vault is out of service: its database is damaged (", what_, ")"));
}

void DamageLatch::NoteWriteFault(int code, absl::string_view what) {
  switch (code & 0xff) {
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
      break;
    default:
      return;  // busy, constraint, misuse: the disk is not the matter
  }
  absl::MutexLock lock(&mu_);
  write_fault_ = std::string(what);
}

void DamageLatch::NoteCommitted() {
  absl::MutexLock lock(&mu_);
  write_fault_.clear();
}

absl::Status DamageLatch::WriteHealth() const {
  absl::MutexLock lock(&mu_);
  if (write_fault_.empty()) return absl::OkStatus();
  return absl::UnavailableError(
      absl::StrCat("the vault cannot commit: ", write_fault_));
}

absl::Status SqliteStatus(int code, absl::string_view context, sqlite3* db) {
  const std::string message = absl::StrCat(
      context, ": ", db ? sqlite3_errmsg(db) : sqlite3_errstr(code));
  switch (code & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
      return absl::OkStatus();
    case SQLITE_FULL:
      return absl::ResourceExhaustedError(
          absl::StrCat(message, " (the disk holding the vault is full)"));
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::DataLossError(message);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PROTOCOL:
      return absl::UnavailableError(message);
    case SQLITE_CONSTRAINT:
      // Only a taken key is "already exists"; a trigger's or a check's
      // refusal is not.
      if (code == SQLITE_CONSTRAINT_PRIMARYKEY ||
          code == SQLITE_CONSTRAINT_UNIQUE) {
        return absl::AlreadyExistsError(message);
      }
      return absl::FailedPreconditionError(message);
    default:
      return absl::InternalError(message);
  }
}

Statement::~Statement() {
  if (stmt_ == nullptr) return;
  if (damage_ != nullptr) {
    // Read and reset: a cached statement keeps its counts across resets.
    const int scanned =
        sqlite3_stmt_status(stmt_, SQLITE_STMTSTATUS_FULLSCAN_STEP, 1) +
        sqlite3_stmt_status(stmt_, SQLITE_STMTSTATUS_AUTOINDEX, 1);
    if (scanned > 0) damage_->NoteFullScanSteps(scanned);
    damage_->NoteVmSteps(
        sqlite3_stmt_status(stmt_, SQLITE_STMTSTATUS_VM_STEP, 1));
  }
  if (owned_) {
    sqlite3_finalize(stmt_);
  } else {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

Statement& Statement::Bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Statement& Statement::Bind(int index, absl::string_view text) {
  sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()),
                    SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::BindBlob(int index, absl::string_view bytes) {
  sqlite3_bind_blob(stmt_, index, bytes.data(), static_cast<int>(bytes.size()),
                    SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::BindBlobInPlace(int index, absl::string_view bytes) {
  sqlite3_bind_blob(stmt_, index, bytes.data(), static_cast<int>(bytes.size()),
                    SQLITE_STATIC);
  return *this;
}

absl::StatusOr<bool> Statement::Step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  absl::Status s = SqliteStatus(rc, "sqlite step", db_);
  if (IsStructuralDamage(rc) && damage_ != nullptr) damage_->Trip(s.message());
  if (damage_ != nullptr) damage_->NoteWriteFault(rc, s.message());
  return s;
}

absl::Status Statement::ForEachRow(absl::FunctionRef<absl::Status()> row) {
  while (true) {
    absl::StatusOr<bool> more = Step();
    if (!more.ok()) return more.status();
    if (!*more) return absl::OkStatus();
    if (absl::Status s = row(); !s.ok()) return s;
  }
}

absl::Status Statement::Run() {
  return ForEachRow([] { return absl::OkStatus(); });
}

absl::StatusOr<std::vector<std::string>> Statement::AllText(int column) {
  std::vector<std::string> out;
  absl::Status s = ForEachRow([&] {
    out.push_back(Text(column));
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

int64_t Statement::Int(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

std::string Statement::Text(int column) const {
  const auto* p = sqlite3_column_text(stmt_, column);
  return p ? std::string(reinterpret_cast<const char*>(p),
                         sqlite3_column_bytes(stmt_, column))
           : std::string();
}

std::string Statement::Blob(int column) const {
  const void* p = sqlite3_column_blob(stmt_, column);
  return p ? std::string(static_cast<const char*>(p),
                         sqlite3_column_bytes(stmt_, column))
           : std::string();
}

bool Statement::IsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

absl::StatusOr<Database> Database::OpenWith(
    const std::string& path, const std::string& vfs, int flags,
    std::shared_ptr<DamageLatch> damage) {
  sqlite3* db = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_FULLMUTEX,
                      vfs.empty() ? nullptr : vfs.c_str());
  if (rc != SQLITE_OK) {
    absl::Status s = SqliteStatus(rc, absl::StrCat("cannot open ", path), db);
    sqlite3_close(db);
    return s;
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, 5000);
  return Database(db, std::move(damage));
}

absl::StatusOr<Database> Database::Open(const std::string& path,
                                        const std::string& vfs) {
  return OpenWith(path, vfs, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                  std::make_shared<DamageLatch>());
}

absl::StatusOr<Database> Database::OpenReadOnly(
    const std::string& path, const std::string& vfs,
    std::shared_ptr<DamageLatch> damage) {
  absl::StatusOr<Database> db =
      OpenWith(path, vfs, SQLITE_OPEN_READONLY, std::move(damage));
  if (!db.ok()) return db;
  // Read-only twice over: the open flag refuses writes to the file, and
  // query_only refuses any statement that would write at all.
  if (absl::Status s = db->Exec("PRAGMA query_only=ON"); !s.ok()) return s;
  return db;
}

void Database::FinalizeCached() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  cache_.clear();
}

Database::~Database() {
  FinalizeCached();
  if (db_ != nullptr) sqlite3_close(db_);
}

Database& Database::operator=(Database&& o) noexcept {
  if (this != &o) {
    FinalizeCached();
    if (db_ != nullptr) sqlite3_close(db_);
    db_ = o.db_;
    cache_ = std::move(o.cache_);
    damage_ = std::move(o.damage_);
    o.db_ = nullptr;
    o.cache_.clear();
  }
  return *this;
}

absl::StatusOr<Statement> Database::Cached(const char* sql) {
  if (absl::Status s = damage_->Check(); !s.ok()) return s;
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT,
                                      &stmt, nullptr);
    if (rc != SQLITE_OK) return Failed(rc, "sqlite prepare");
    it = cache_.emplace(sql, stmt).first;
  }
  return Statement(db_, it->second, damage_.get(), /*owned=*/false);
}

absl::Status Database::Failed(int code, absl::string_view context) {
  absl::Status s = SqliteStatus(code, context, db_);
  if (IsStructuralDamage(code)) damage_->Trip(s.message());
  damage_->NoteWriteFault(code, s.message());
  return s;
}

absl::Status Database::Exec(absl::string_view sql) {
  if (absl::Status s = damage_->Check(); !s.ok()) return s;
  char* error = nullptr;
  const int rc =
      sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, &error);
  sqlite3_free(error);
  return rc == SQLITE_OK ? absl::OkStatus() : Failed(rc, "sqlite exec");
}

absl::StatusOr<Statement> Database::Prepare(absl::string_view sql) {
  if (absl::Status s = damage_->Check(); !s.ok()) return s;
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v2(
      db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) return Failed(rc, "sqlite prepare");
  return Statement(db_, stmt, damage_.get());
}

absl::StatusOr<ReadSnapshot> ReadSnapshot::Begin(Database& db) {
  if (absl::Status s = db.Exec("BEGIN"); !s.ok()) return s;
  return ReadSnapshot(&db);
}

ReadSnapshot::~ReadSnapshot() {
  // Nothing was written: ending the transaction only lets go of the
  // snapshot, so a checkpoint can move past it.
  if (db_ != nullptr)
    sqlite3_exec(db_->handle(), "COMMIT", nullptr, nullptr, nullptr);
}

absl::StatusOr<Transaction> Transaction::Begin(Database& db) {
  if (absl::Status s = db.Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  return Transaction(&db);
}

Transaction::~Transaction() {
  // Not through Exec: a rollback must run even on a connection that has
  // just found damage, so nothing half-written stays.
  if (!done_)
    sqlite3_exec(db_->handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

absl::Status Transaction::Commit() {
  absl::Status s = db_->Exec("COMMIT");
  if (s.ok()) {
    done_ = true;
    db_->damage()->NoteCommitted();
  }
  return s;
}

}  // namespace lanevault::vault
