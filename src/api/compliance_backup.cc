// ComplianceService::Backup: an online backup of the vault's database into
// the daemon's own backup directory. The daemon names the file (a UTC
// timestamp); a client never gives a path, so no caller can make the vault
// host write anywhere else or over anything.

#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "api/services.h"
#include "common/files.h"

namespace lanevault::api {
namespace {

// 0700: the backups are ciphertext, but which records exist and when is
// not for every user of the host.
absl::Status PrepareBackupDir(const std::string& dir) {
  if (absl::Status s = MakeDirectories(dir); !s.ok()) return s;
  if (::chmod(dir.c_str(), 0700) != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot make the backup directory ", dir, " private"));
  }
  return absl::OkStatus();
}

}  // namespace

grpc::Status ComplianceService::Backup(grpc::ServerContext* ctx,
                                       const v1::BackupRequest* request,
                                       v1::BackupResponse* response) {
  CallSpec spec;
  spec.action = v1::ACTION_BACKUP;
  spec.vault_logs = true;
  return gate_->Run(ctx, *request, spec, [&](Admission& a) {
    if (backup_dir_.empty()) {
      return ToGrpc(absl::FailedPreconditionError(
          "this daemon has no backup directory (vault { backup_dir: ... })"));
    }
    if (absl::Status s = PrepareBackupDir(backup_dir_); !s.ok()) {
      return ToGrpc(s);
    }
    vault::Vault& vault = gate_->vault();
    const std::string path =
        absl::StrCat(backup_dir_, "/lanevault-",
                     absl::FormatTime("%Y%m%dT%H%M%E6SZ", vault.clock()->Now(),
                                      absl::UTCTimeZone()),
                     ".db");
    absl::StatusOr<vault::BackupCopy> copy =
        vault.Backup(path, std::move(a.entry));
    if (!copy.ok()) return ToGrpc(copy.status());
    response->set_path(path);
    response->set_bytes(copy->bytes);
    response->set_tree_size(copy->tree_size);
    response->set_root_hash(copy->root);
    response->set_checkpoint(copy->checkpoint);
    response->set_records(copy->records);
    response->set_items(copy->items);
    return grpc::Status::OK;
  });
}

}  // namespace lanevault::api
