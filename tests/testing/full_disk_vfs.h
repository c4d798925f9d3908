#ifndef LANEVAULT_TESTS_TESTING_FULL_DISK_VFS_H_
#define LANEVAULT_TESTS_TESTING_FULL_DISK_VFS_H_

// A SQLite VFS that behaves like a disk that has filled up: while "full",
// any write that would grow a file fails with SQLITE_FULL (ENOSPC), as a
// real full disk does; rewriting bytes a file already has still works.
// Everything else goes to the default VFS, so the files are real.

namespace lanevault::testing {

// Registers the VFS (once) and returns its name for SqliteOptions::vfs.
const char* FullDiskVfsName();
// Fills or frees the pretend disk.
void SetDiskFull(bool full);

}  // namespace lanevault::testing

#endif  // LANEVAULT_TESTS_TESTING_FULL_DISK_VFS_H_
