#include "vault/vault_restore.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/file_lock.h"
#include "common/files.h"
#include "common/logging.h"
#include "common/time_util.h"
#include "tlog/log_verifier.h"
#include "vault/log_anchor.h"
#include "vault/sqlite.h"

namespace lanevault::vault {
namespace {

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

absl::Status Errno(absl::string_view what, const std::string& path) {
  return absl::UnavailableError(
      absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

// Copies `from` into a new 0600 file `to`, fsynced.
absl::Status CopyFile(const std::string& from, const std::string& to) {
  const int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return Errno("cannot open backup", from);
  const int out =
      ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (out < 0) {
    absl::Status s = Errno("cannot create", to);
    ::close(in);
    return s;
  }
  absl::Status status;
  char buf[1 << 16];
  while (status.ok()) {
    const ssize_t n = ::read(in, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) status = Errno("cannot read", from);
    if (n <= 0) break;
    for (ssize_t done = 0; done < n && status.ok();) {
      const ssize_t w = ::write(out, buf + done, n - done);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) status = Errno("cannot write", to);
      if (w > 0) done += w;
    }
  }
  if (status.ok() && ::fsync(out) != 0) status = Errno("cannot fsync", to);
  ::close(in);
  ::close(out);
  return status;
}

// The structure of the file (integrity_check), and a checkpoint to check
// its log against. DATA_LOSS otherwise.
absl::Status CheckBackupFile(const std::string& path) {
  absl::StatusOr<Database> db = Database::Open(path);
  if (!db.ok()) return absl::DataLossError(db.status().message());
  absl::StatusOr<Statement> check = db->Prepare("PRAGMA integrity_check(5)");
  if (!check.ok()) return absl::DataLossError(check.status().message());
  std::string problem;
  absl::Status rows = check->ForEachRow([&] {
    if (check->Text(0) != "ok" && problem.empty()) problem = check->Text(0);
    return absl::OkStatus();
  });
  if (!rows.ok()) return absl::DataLossError(rows.message());
  if (!problem.empty()) {
    return absl::DataLossError(
        absl::StrCat("integrity_check found: ", problem));
  }
  absl::StatusOr<Statement> cps =
      db->Prepare("SELECT COUNT(*) FROM audit_checkpoints");
  if (!cps.ok()) return absl::DataLossError(cps.status().message());
  absl::StatusOr<bool> row = cps->Step();
  if (!row.ok()) return absl::DataLossError(row.status().message());
  if (cps->Int(0) == 0) {
    return absl::DataLossError(
        "it holds no signed checkpoint to check its access log against");
  }
  return absl::OkStatus();
}

struct CheckedBackup {
  uint64_t checkpoint_size = 0;
  uint64_t tree_size = 0;
  std::string root;
  uint64_t records = 0;
};

// Opens the staged copy as a vault, with the live key store: the vault's
// own start checks that its newest checkpoint is signed by the log's key
// and that its stored tree still hashes to that checkpoint's root.
absl::StatusOr<CheckedBackup> CheckBackupLog(const VaultOptions& opts,
                                             const std::string& staged) {
  VaultOptions check = opts;
  check.database = staged;
  check.key_store =
      opts.key_store.empty() ? opts.database + ".keys" : opts.key_store;
  check.state_dir.clear();  // the anchor is the live vault's
  check.integrity_check = VaultOptions::IntegrityCheck::kOff;  // done
  // Older than the newest head the key store keeps, by design: what is
  // checked here is the backup's log against its own checkpoint.
  check.accept_rollback = true;
  absl::StatusOr<std::unique_ptr<Vault>> vault = Vault::Open(check);
  if (!vault.ok()) {
    return absl::IsFailedPrecondition(vault.status())
               ? absl::DataLossError(absl::StrCat(
                     "its access log does not match its own newest signed "
                     "checkpoint: ",
                     vault.status().message()))
               : vault.status();
  }
  // Below the stored tree: every entry the checkpoint covers, recomputed
  // into its signed root, so an entry rewritten without its tree is caught
  // too.
  AccessLog& log = (*vault)->log();
  absl::StatusOr<v1::Checkpoint> cp = log.LatestCheckpoint();
  if (!cp.ok()) return cp.status();
  v1::AuditExport exported;
  *exported.mutable_checkpoint() = *cp;
  absl::StatusOr<std::vector<std::string>> leaves =
      log.LeafData(0, cp->tree_size());
  if (!leaves.ok()) return leaves.status();
  for (std::string& leaf : *leaves) exported.add_leaf_data(std::move(leaf));
  absl::StatusOr<std::unique_ptr<tlog::AuditLogSource>> source =
      tlog::ExportAuditLogSource(exported);
  if (!source.ok()) return source.status();
  tlog::VerifyOptions verify;
  verify.verifier_key = log.VerifierKey();
  verify.full = true;
  if (absl::StatusOr<tlog::VerifyReport> verified =
          tlog::VerifyAuditLog(**source, verify);
      !verified.ok()) {
    return absl::DataLossError(
        absl::StrCat("its access log does not match its own newest signed "
                     "checkpoint (tree size ",
                     cp->tree_size(), "): ", verified.status().message()));
  }
  CheckedBackup out;
  out.checkpoint_size = cp->tree_size();
  out.tree_size = (*vault)->log().Size();
  absl::StatusOr<std::string> root = (*vault)->log().RootAt(out.tree_size);
  if (!root.ok()) return root.status();
  out.root = *root;
  absl::StatusOr<uint64_t> records = (*vault)->RecordCount();
  if (!records.ok()) return records.status();
  out.records = *records;
  return out;
}

absl::StatusOr<std::optional<LogAnchor::Head>> LastAnchoredHead(
    const std::string& state_dir) {
  if (state_dir.empty() || !Exists(state_dir + "/log-anchor")) {
    return std::nullopt;
  }
  absl::StatusOr<std::unique_ptr<LogAnchor>> anchor =
      LogAnchor::Open(state_dir + "/log-anchor", /*key=*/nullptr);
  if (!anchor.ok()) return anchor.status();
  return (*anchor)->Read();
}

// Renames the database and its WAL files to `aside`: kept, never deleted.
// All or none: on failure what was moved goes back.
absl::Status SetAside(const std::string& database, const std::string& aside) {
  std::vector<std::pair<std::string, std::string>> moved;
  absl::Status status;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    const std::string from = absl::StrCat(database, suffix);
    if (!Exists(from)) continue;
    const std::string to = absl::StrCat(aside, suffix);
    if (Exists(to)) {
      status = absl::AlreadyExistsError(
          absl::StrCat("cannot move ", from, " aside: ", to, " exists"));
      break;
    }
    if (::rename(from.c_str(), to.c_str()) != 0) {
      status = Errno(absl::StrCat("cannot rename ", from, " to"), to);
      break;
    }
    moved.emplace_back(from, to);
  }
  if (!status.ok()) {
    for (const auto& [from, to] : moved) ::rename(to.c_str(), from.c_str());
  }
  return status;
}

std::string Dir(const std::string& path) {
  const std::string dir = std::filesystem::path(path).parent_path().string();
  return dir.empty() ? "." : dir;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Vault>> RestoreFromBackup(
    const VaultOptions& opts, const std::string& backup,
    RestoreReport* report) {
  RestoreReport local;
  RestoreReport& r = report != nullptr ? *report : local;
  struct stat st;
  if (::stat(backup.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return absl::NotFoundError(
        absl::StrCat("no backup file ", backup, " to restore from"));
  }
  if (std::error_code ec;
      Exists(opts.database) &&
      std::filesystem::equivalent(backup, opts.database, ec)) {
    return absl::InvalidArgumentError(
        absl::StrCat(backup, " is the vault's own database"));
  }
  // Without the key store the backup opens nothing, and opening it here
  // would make a new, empty one (with a new log key) in its place.
  const std::string key_store =
      opts.key_store.empty() ? opts.database + ".keys" : opts.key_store;
  if (!Exists(key_store)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the key store ", key_store,
        " is missing: a backup opens nothing without the key store it was "
        "taken beside; put that back first"));
  }
  // No daemon may hold the vault while its file is swapped.
  std::unique_ptr<FileLock> lock;
  if (Exists(opts.database)) {
    absl::StatusOr<std::unique_ptr<FileLock>> held =
        FileLock::Acquire(opts.database, /*keep_content=*/true);
    if (!held.ok()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "stop the daemon before restoring: ", held.status().message()));
    }
    lock = std::move(*held);
  }
  // The backup file itself is never opened for writing: a copy beside the
  // database is checked, then renamed into place.
  const std::string staged = opts.database + ".restoring";
  for (const char* suffix : {"", "-wal", "-shm", "-journal", ".lock"}) {
    ::unlink(absl::StrCat(staged, suffix).c_str());  // a failed attempt's
  }
  auto discard = [&staged](absl::Status s) {
    for (const char* suffix : {"", "-wal", "-shm", "-journal", ".lock"}) {
      ::unlink(absl::StrCat(staged, suffix).c_str());
    }
    return s;
  };
  if (absl::Status s = CopyFile(backup, staged); !s.ok()) return discard(s);
  if (absl::Status s = CheckBackupFile(staged); !s.ok()) {
    return discard(absl::DataLossError(absl::StrCat(
        "backup ", backup, " is refused: ", s.message(), "; nothing moved")));
  }
  absl::StatusOr<CheckedBackup> checked = CheckBackupLog(opts, staged);
  if (!checked.ok()) {
    return discard(absl::Status(
        checked.status().code(),
        absl::StrCat("backup ", backup, " is refused: ",
                     checked.status().message(), "; nothing moved")));
  }
  ::unlink(absl::StrCat(staged, ".lock").c_str());
  r.backup_tree_size = checked->tree_size;
  r.backup_checkpoint_size = checked->checkpoint_size;
  r.backup_root = checked->root;
  r.backup_records = checked->records;
  absl::StatusOr<std::optional<LogAnchor::Head>> anchored =
      LastAnchoredHead(opts.state_dir);
  if (!anchored.ok()) return discard(anchored.status());
  if (anchored->has_value()) {
    r.anchor_size = (*anchored)->size;
    r.anchor_root = (*anchored)->root;
  }

  if (lock != nullptr) {
    r.set_aside =
        absl::StrCat(opts.database, ".before-restore-",
                     absl::FormatTime("%Y%m%dT%H%M%SZ", opts.clock->Now(),
                                      absl::UTCTimeZone()));
    if (absl::Status s = SetAside(opts.database, r.set_aside); !s.ok()) {
      return discard(s);
    }
  }
  // With its WAL, should the check have left one.
  if (absl::Status s = SetAside(staged, opts.database); !s.ok()) {
    // Nothing restored: the database goes back where it was.
    if (!r.set_aside.empty() && !SetAside(r.set_aside, opts.database).ok()) {
      return absl::DataLossError(absl::StrCat(
          s.message(), "; and the database could not be put back: it is at ",
          r.set_aside));
    }
    return discard(s);
  }
  if (absl::Status s = SyncDirectory(Dir(opts.database)); !s.ok()) return s;
  lock.reset();
  spdlog::warn(
      "restored {} from backup {} (log tree size {}); the database "
      "that was in place is kept at {}",
      opts.database, backup, r.backup_tree_size,
      r.set_aside.empty() ? "(none)" : r.set_aside);

  VaultOptions restored = opts;
  restored.accept_rollback = true;  // older than the anchor, on purpose
  absl::StatusOr<std::unique_ptr<Vault>> vault = Vault::Open(restored);
  if (!vault.ok()) {
    return absl::Status(
        vault.status().code(),
        absl::StrCat("the backup is in place as ", opts.database,
                     " (the database that was there is kept at ",
                     r.set_aside.empty() ? "(none)" : r.set_aside,
                     ") but does not open: ", vault.status().message()));
  }
  const std::string detail = absl::StrCat(
      "restored from backup ", backup, ": its access log tree size ",
      r.backup_tree_size, " root ", absl::Base64Escape(r.backup_root),
      "; the log anchor's last head was tree size ", r.anchor_size, " root ",
      absl::Base64Escape(r.anchor_root),
      r.anchor_size > r.backup_tree_size
          ? absl::StrCat(", so entries ", r.backup_tree_size, " to ",
                         r.anchor_size - 1,
                         " of the log before the restore are not in this "
                         "vault")
          : "",
      "; the database that was in place is kept at ",
      r.set_aside.empty() ? "(none)" : r.set_aside);
  v1::AuditEntry e;
  *e.mutable_time() = ToProto(opts.clock->Now());
  e.set_principal("system");
  e.set_role("system");
  e.set_action(v1::ACTION_BACKUP);
  e.set_verdict(v1::VERDICT_ALLOW);
  e.set_reason_code("restored_from_backup");
  e.set_detail(detail);
  if (absl::StatusOr<uint64_t> seq = (*vault)->log().Append(std::move(e));
      !seq.ok()) {
    return seq.status();
  }
  (*vault)->oversight().RaiseAlert("critical", "restored_from_backup", "system",
                                   detail);
  // The next start checks the restored log, these entries included.
  if (absl::StatusOr<v1::Checkpoint> cp = (*vault)->log().SignCheckpoint();
      !cp.ok()) {
    return cp.status();
  }
  return vault;
}

}  // namespace lanevault::vault
