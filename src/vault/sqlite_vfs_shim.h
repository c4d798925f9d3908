#ifndef LANEVAULT_VAULT_SQLITE_VFS_SHIM_H_
#define LANEVAULT_VAULT_SQLITE_VFS_SHIM_H_

// A SQLite VFS that hands every call to the default VFS, with hooks in
// between: the tests' full disk and vault_bench's page accounting both sit
// under SQLite this way.

#include <sqlite3.h>

namespace lanevault::vault {

struct SqliteShimHooks {
  // After the real file opened: the file's own state, given to the other
  // hooks (may be null).
  void* (*on_open)(const char* name, int flags) = nullptr;
  void (*on_close)(void* state) = nullptr;
  // Before a write reaches `real`: SQLITE_OK lets it through; anything else
  // is returned instead.
  int (*on_write)(void* state, sqlite3_file* real, const void* buf, int n,
                  sqlite3_int64 off) = nullptr;
  void (*on_sync)(void* state) = nullptr;
  // Before a file control: SQLITE_NOTFOUND passes it on; anything else is
  // returned instead.
  int (*on_file_control)(void* state, int op) = nullptr;
};

// Registers a VFS named `name` (a string that outlives it) over the default
// one, with `hooks`; the default VFS from now on if `make_default`. Once per
// process and name: the caller keeps it from running twice.
void RegisterShimVfs(const char* name, SqliteShimHooks hooks,
                     bool make_default);

}  // namespace lanevault::vault

#endif  // LANEVAULT_VAULT_SQLITE_VFS_SHIM_H_
