#ifndef LANEVAULT_BENCH_DISK_REPLAY_H_
#define LANEVAULT_BENCH_DISK_REPLAY_H_

// What the disk itself allows for what a SQLite workload wrote: the same
// bytes, written to plain files in the same shape, with no SQLite, no
// b-tree and no crypto, so a rate can be set against the disk in the same
// run (this machine's disk drifts between days as its CPU does).

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace lanevault::bench {

// What a run wrote, as the benchmarks' VFS shim counts it.
struct WriteShape {
  int64_t wal_bytes = 0;  // WAL frames (each a 24-byte header and a page)
  int64_t commits = 0;    // commits, each ending in an fdatasync of the WAL
  int64_t db_bytes = 0;   // checkpoints copying pages into the database
  int64_t page_size = 4096;
  // The pages are zeros (a purge's, freed pages zeroed by secure_delete);
  // otherwise random bytes (an intake's ciphertext). The frame headers are
  // never zero, as SQLite's are not.
  bool zero_pages = false;
};

// Replays `shape` in `dir`: the WAL's bytes written over a WAL file that
// already has that length (SQLite reuses its WAL from the start after a
// checkpoint), in frames, split evenly over `commits` groups with an
// fdatasync after each (synchronous=FULL); then the checkpoint's pages
// written in order over a database file that already has them, one
// fdatasync, and the WAL truncated and synced, as a sweep ends. The files
// are laid out and synced before the clock starts. Sequential writes and
// fewer syncs than SQLite makes (its checkpoints sync as they go), so this
// is what the disk gives those bytes at best, not what a store can reach.
// Returns the seconds taken; the files are removed.
absl::StatusOr<double> ReplayWrites(const std::string& dir,
                                    const WriteShape& shape);

}  // namespace lanevault::bench

#endif  // LANEVAULT_BENCH_DISK_REPLAY_H_
