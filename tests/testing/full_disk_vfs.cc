#include "testing/full_disk_vfs.h"

#include <sqlite3.h>

#include <atomic>
#include <mutex>

#include "vault/sqlite_vfs_shim.h"

namespace lanevault::testing {
namespace {

std::atomic<bool> g_full{false};

// While full, a write that would grow a file fails as a full disk does.
int RefuseGrowth(void*, sqlite3_file* real, const void*, int n,
                 sqlite3_int64 off) {
  if (!g_full.load()) return SQLITE_OK;
  sqlite3_int64 size = 0;
  if (real->pMethods->xFileSize(real, &size) != SQLITE_OK || off + n > size) {
    return SQLITE_FULL;
  }
  return SQLITE_OK;
}

// Growth hints would allocate behind our back while full.
int RefuseSizeHint(void*, int op) {
  return op == SQLITE_FCNTL_SIZE_HINT && g_full.load() ? SQLITE_FULL
                                                       : SQLITE_NOTFOUND;
}

}  // namespace

const char* FullDiskVfsName() {
  static constexpr char kName[] = "lanevault-full-disk";
  static std::once_flag once;
  std::call_once(once, [] {
    vault::SqliteShimHooks hooks;
    hooks.on_write = RefuseGrowth;
    hooks.on_file_control = RefuseSizeHint;
    vault::RegisterShimVfs(kName, hooks, /*make_default=*/false);
  });
  return kName;
}

void SetDiskFull(bool full) { g_full.store(full); }

}  // namespace lanevault::testing
