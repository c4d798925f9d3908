#include "vault/sqlite_vfs_shim.h"

namespace lanevault::vault {
namespace {

struct ShimVfs {
  sqlite3_vfs vfs;  // first: SQLite hands it back to xOpen
  sqlite3_vfs* real;
  SqliteShimHooks hooks;
};

// Our file: the wrapper, with the real file's state right after it.
struct ShimFile {
  sqlite3_file base;
  const SqliteShimHooks* hooks;
  void* state;
  sqlite3_file* real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
};
ShimFile* Shim(sqlite3_file* f) { return reinterpret_cast<ShimFile*>(f); }
sqlite3_file* Real(sqlite3_file* f) { return Shim(f)->real(); }

int Close(sqlite3_file* f) {
  ShimFile* s = Shim(f);
  if (s->hooks->on_close != nullptr) s->hooks->on_close(s->state);
  return Real(f)->pMethods->xClose(Real(f));
}
int Read(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
  return Real(f)->pMethods->xRead(Real(f), buf, n, off);
}
int Write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
  ShimFile* s = Shim(f);
  if (s->hooks->on_write != nullptr) {
    const int rc = s->hooks->on_write(s->state, Real(f), buf, n, off);
    if (rc != SQLITE_OK) return rc;
  }
  return Real(f)->pMethods->xWrite(Real(f), buf, n, off);
}
int Truncate(sqlite3_file* f, sqlite3_int64 size) {
  return Real(f)->pMethods->xTruncate(Real(f), size);
}
int Sync(sqlite3_file* f, int flags) {
  ShimFile* s = Shim(f);
  if (s->hooks->on_sync != nullptr) s->hooks->on_sync(s->state);
  return Real(f)->pMethods->xSync(Real(f), flags);
}
int FileSize(sqlite3_file* f, sqlite3_int64* size) {
  return Real(f)->pMethods->xFileSize(Real(f), size);
}
int Lock(sqlite3_file* f, int l) {
  return Real(f)->pMethods->xLock(Real(f), l);
}
int Unlock(sqlite3_file* f, int l) {
  return Real(f)->pMethods->xUnlock(Real(f), l);
}
int CheckReservedLock(sqlite3_file* f, int* out) {
  return Real(f)->pMethods->xCheckReservedLock(Real(f), out);
}
int FileControl(sqlite3_file* f, int op, void* arg) {
  ShimFile* s = Shim(f);
  if (s->hooks->on_file_control != nullptr) {
    const int rc = s->hooks->on_file_control(s->state, op);
    if (rc != SQLITE_NOTFOUND) return rc;
  }
  return Real(f)->pMethods->xFileControl(Real(f), op, arg);
}
int SectorSize(sqlite3_file* f) {
  return Real(f)->pMethods->xSectorSize(Real(f));
}
int DeviceCharacteristics(sqlite3_file* f) {
  return Real(f)->pMethods->xDeviceCharacteristics(Real(f));
}
int ShmMap(sqlite3_file* f, int page, int size, int extend,
           void volatile** out) {
  return Real(f)->pMethods->xShmMap(Real(f), page, size, extend, out);
}
int ShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return Real(f)->pMethods->xShmLock(Real(f), offset, n, flags);
}
void ShmBarrier(sqlite3_file* f) { Real(f)->pMethods->xShmBarrier(Real(f)); }
int ShmUnmap(sqlite3_file* f, int del) {
  return Real(f)->pMethods->xShmUnmap(Real(f), del);
}

const sqlite3_io_methods kMethods = {
    2,  // no xFetch/xUnfetch: memory mapping stays off, as by default
    Close,       Read,       Write,
    Truncate,    Sync,       FileSize,
    Lock,        Unlock,     CheckReservedLock,
    FileControl, SectorSize, DeviceCharacteristics,
    ShmMap,      ShmLock,    ShmBarrier,
    ShmUnmap,    nullptr,    nullptr};

int Open(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* f, int flags,
         int* out_flags) {
  auto* self = reinterpret_cast<ShimVfs*>(vfs);
  ShimFile* shim = Shim(f);
  shim->base.pMethods = nullptr;
  const int rc =
      self->real->xOpen(self->real, name, shim->real(), flags, out_flags);
  if (shim->real()->pMethods == nullptr) return rc;
  shim->hooks = &self->hooks;
  shim->state = self->hooks.on_open == nullptr
                    ? nullptr
                    : self->hooks.on_open(name, flags);
  shim->base.pMethods = &kMethods;
  return rc;
}

}  // namespace

void RegisterShimVfs(const char* name, SqliteShimHooks hooks,
                     bool make_default) {
  auto* shim = new ShimVfs;  // lives as long as the process: SQLite holds it
  shim->real = sqlite3_vfs_find(nullptr);
  shim->hooks = hooks;
  shim->vfs = *shim->real;
  shim->vfs.zName = name;
  shim->vfs.szOsFile =
      static_cast<int>(sizeof(ShimFile)) + shim->real->szOsFile;
  shim->vfs.xOpen = Open;
  shim->vfs.pNext = nullptr;
  sqlite3_vfs_register(&shim->vfs, make_default ? 1 : 0);
}

}  // namespace lanevault::vault
