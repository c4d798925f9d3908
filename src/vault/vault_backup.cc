// Vault::Backup: an online copy of the database, consistent with the log
// and logged itself. See Store::BackupTo for the copy.

#include <unistd.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "vault/vault.h"

namespace lanevault::vault {

absl::StatusOr<BackupCopy> Vault::Backup(const std::string& dest,
                                         v1::AuditEntry audit) {
  // A signed head first, so the copy carries a checkpoint of its own that a
  // restore checks its log against.
  if (absl::StatusOr<v1::Checkpoint> cp = log_.SignCheckpoint(); !cp.ok()) {
    return cp.status();
  }
  absl::StatusOr<BackupCopy> copy = store_->BackupTo(dest);
  if (!copy.ok()) return copy.status();
  audit.set_detail(absl::StrCat(
      "backup ", dest, ": ", copy->bytes, " bytes, access log tree size ",
      copy->tree_size, " root ", absl::Base64Escape(copy->root), ", ",
      copy->records, " records, ", copy->items, " items"));
  if (absl::StatusOr<uint64_t> seq = log_.Append(std::move(audit)); !seq.ok()) {
    // A copy no log entry names is not left behind.
    ::unlink(dest.c_str());
    return absl::UnavailableError(
        absl::StrCat("the access log cannot be written, so no backup is kept: ",
                     seq.status().message()));
  }
  return copy;
}

}  // namespace lanevault::vault
