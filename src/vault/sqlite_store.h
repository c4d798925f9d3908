#ifndef LANEVAULT_VAULT_SQLITE_STORE_H_
#define LANEVAULT_VAULT_SQLITE_STORE_H_

// The SQLite Store: one file, the default.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "vault/store.h"

namespace lanevault::vault {

struct SqliteOptions {
  // A registered SQLite VFS; empty for the default. Tests use one that runs
  // out of space on demand.
  std::string vfs;
};

// Opens (creating if needed) a SQLite vault file in WAL mode with
// synchronous=FULL and secure_delete=ON, migrating its schema forward.
// CheckIntegrity runs quick_check, or integrity_check with `full`; Compact
// checkpoints the WAL with TRUNCATE.
absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(
    const std::string& path, const SqliteOptions& options = {});

}  // namespace lanevault::vault

#endif  // LANEVAULT_VAULT_SQLITE_STORE_H_
