#ifndef LANEVAULT_VAULT_VAULT_RESTORE_H_
#define LANEVAULT_VAULT_VAULT_RESTORE_H_

// Restoring the vault's database from a backup (Vault::Backup), with the
// daemon stopped. The backup is checked before anything is moved; the
// current database is kept aside (renamed, never deleted); the vault then
// opens the older log on purpose (the anchor's accept_rollback path) and
// logs what was lost between, with a critical alert.
//
// The key store is never touched: a restored vault opens only the items
// whose period key still lives in it. Items whose period key was destroyed
// after the backup was taken stay unopenable (DATA_LOSS), and whatever
// passed its deadline while in the backup is purged by the maintainer's
// catch-up as soon as it starts.

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "vault/vault.h"

namespace lanevault::vault {

struct RestoreReport {
  // The backup's log, as verified against its own newest checkpoint.
  uint64_t backup_tree_size = 0;
  // Entries up to here are covered by a signature; any later ones (taken
  // in between checkpoint and copy) by the stored tree only.
  uint64_t backup_checkpoint_size = 0;
  std::string backup_root;
  uint64_t backup_records = 0;
  // The anchor's last head before the restore (size 0 without an anchor):
  // the entries in [backup_tree_size, anchor_size) are those lost.
  uint64_t anchor_size = 0;
  std::string anchor_root;
  // Where the database that was in place now is ("" when there was none).
  std::string set_aside;
};

// Checks `backup` (SQLite integrity_check; a signed checkpoint whose
// signature is the log key's from `opts`' key store and whose root its log
// still hashes to), then puts it in place of `opts.database` and opens the
// vault from it, logging "restored_from_backup". `opts.master_key*` must
// open the key store. FAILED_PRECONDITION while the vault is in use;
// DATA_LOSS for a damaged backup or one whose log does not match its
// checkpoint (then nothing was moved).
absl::StatusOr<std::unique_ptr<Vault>> RestoreFromBackup(
    const VaultOptions& opts, const std::string& backup,
    RestoreReport* report = nullptr);

}  // namespace lanevault::vault

#endif  // LANEVAULT_VAULT_VAULT_RESTORE_H_
