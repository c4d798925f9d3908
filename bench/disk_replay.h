#ifndef LANEVAULT_BENCH_DISK_REPLAY_H_
#define LANEVAULT_BENCH_DISK_REPLAY_H_

// The disk's own limit for what a SQLite workload wrote: the same bytes,
// written to plain files in the same shape, with no SQLite, no b-tree and
// no crypto, so a rate can be set against what the disk itself allows in
// the same run (this machine's disk drifts between days as its CPU does).

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
};

// Replays `shape` in `dir`: the WAL's bytes appended to a fresh file in
// frames, split evenly over `commits` groups with an fdatasync after each
// (synchronous=FULL); then the checkpoint's pages written in order over a
// file allocated and synced beforehand (a checkpoint overwrites pages the
// database already has), one fdatasync, and the WAL truncated and synced,
// as a sweep ends. Sequential writes throughout, so this is an upper bound
// on what any store writing those bytes could reach. Returns the seconds
// taken; the files are removed.
absl::StatusOr<double> ReplayWrites(const std::string& dir,
                                    const WriteShape& shape);

}  // namespace lanevault::bench

#endif  // LANEVAULT_BENCH_DISK_REPLAY_H_
