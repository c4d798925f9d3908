#include "vault/postgres_role.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "vault/postgres_store_impl.h"

namespace lanevault::vault {

PostgresRole::PostgresRole(PostgresOptions options)
    : options_(std::move(options)) {}

PostgresRole::~PostgresRole() {
  absl::MutexLock lock(&mu_);
  // Closing the session frees the lock at once for the next replica.
  db_.reset();
}

absl::Status PostgresRole::ConnectLocked() {
  if (db_.has_value() && db_->ok()) return absl::OkStatus();
  if (db_.has_value()) {
    if (absl::Status s = db_->Reset(); s.ok()) return s;
  }
  absl::StatusOr<pg::Connection> c =
      pg::Connection::Open(options_.conninfo, options_.password);
  if (!c.ok()) return c.status();
  db_.emplace(std::move(*c));
  return absl::OkStatus();
}

bool PostgresRole::StillHeldLocked() {
  // A session lock goes only with its session: a round trip that answers
  // means it is still ours. One the server ended (its lock freed, maybe
  // taken by another replica since) fails here.
  return db_->Run("SELECT 1").ok();
}

bool PostgresRole::TryTakeLocked() {
  absl::StatusOr<pg::Result> got = db_->Exec(
      "SELECT pg_try_advisory_lock($1::int, hashtext(current_schema()))",
      pg::Params().Int(kRoleLockClass));
  return got.ok() && got->rows() == 1 && got->Text(0, 0) == "t";
}

bool PostgresRole::Held() {
  absl::MutexLock lock(&mu_);
  if (held_) {
    if (StillHeldLocked()) return true;
    held_ = false;
    spdlog::warn(
        "replica role lost (its PostgreSQL session ended): checkpoint "
        "signing, retention and key re-wrapping stop here until it is "
        "taken again");
  }
  if (absl::Status s = ConnectLocked(); !s.ok()) return false;
  if (!TryTakeLocked()) return false;
  held_ = true;
  spdlog::info(
      "replica role taken: this lanevaultd now signs the access log's "
      "checkpoints and runs retention and key re-wrapping");
  return true;
}

namespace {

// How long a replica waits for another's hold of a ReplicaMutex: holds
// last one human-paced call each, so a wait this long means a stuck one.
constexpr char kMutexWait[] = "SET lock_timeout = '10s'";

}  // namespace

PostgresMutex::PostgresMutex(PostgresOptions options, int lock_class)
    : options_(std::move(options)), lock_class_(lock_class) {}

PostgresMutex::~PostgresMutex() {
  absl::MutexLock lock(&mu_);
  db_.reset();
}

absl::Status PostgresMutex::Lock() {
  absl::MutexLock lock(&mu_);
  if (!db_.has_value() || !db_->ok()) {
    db_.reset();
    absl::StatusOr<pg::Connection> c =
        pg::Connection::Open(options_.conninfo, options_.password);
    if (!c.ok()) return c.status();
    if (absl::Status s = c->Run(kMutexWait); !s.ok()) return s;
    db_.emplace(std::move(*c));
  }
  absl::StatusOr<pg::Result> got =
      db_->Exec("SELECT pg_advisory_lock($1::int, hashtext(current_schema()))",
                pg::Params().Int(lock_class_));
  if (!got.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "another replica holds the vault's quota lock too long, or the "
        "database cannot be asked: ",
        got.status().message()));
  }
  return absl::OkStatus();
}

void PostgresMutex::Unlock() {
  absl::MutexLock lock(&mu_);
  if (!db_.has_value()) return;
  absl::StatusOr<pg::Result> done = db_->Exec(
      "SELECT pg_advisory_unlock($1::int, hashtext(current_schema()))",
      pg::Params().Int(lock_class_));
  // A session that cannot unlock is ended: its locks go with it.
  if (!done.ok()) db_.reset();
}

}  // namespace lanevault::vault
