#ifndef LANEVAULT_BENCH_BLOB_FILE_PURGE_H_
#define LANEVAULT_BENCH_BLOB_FILE_PURGE_H_

// A route for the purge that is not built, measured before anyone builds it:
// each item's ciphertext in a file of slots beside the database, the
// database keeping its row (ids, deadline, wrapped key, where its slot is).
// A purge deletes the rows and queues their slots in one transaction, then
// overwrites the slots in place, syncs the file and clears the queue: each
// purged byte is written once, where SQLite with secure_delete writes it
// twice (its zeroed page into the WAL, then the checkpoint's copy into the
// database). The same store with the ciphertext in its rows is the
// like-for-like SQLite side: same code, same pragmas, same batches.

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "lanevault/v1/types.pb.h"

namespace lanevault::bench {

enum class Placement {
  kSlotFile,  // ciphertext in the slot file, its place in the row
  kInRow,     // ciphertext in the row, freed pages zeroed by secure_delete
};

// What a purge writes over a slot: zeros, or bytes that are neither zero
// nor the ciphertext (as forensic, and no disk can skip writing them).
enum class Overwrite { kZeros, kNoise };

struct BlobPurgeFigures {
  double items_per_s = 0;
  double intake_per_s = 0;  // records taken in beside the purge
};

// Takes `due` in (every item already past its deadline), then purges them
// while one writer keeps taking records from `make_record` in, each durable
// before the next (its slots synced, then its rows committed). The
// database: WAL, synchronous=FULL, secure_delete on, an 8 MiB cache;
// batches of 500 with 2 ms between; the WAL truncated at the end. No crypto
// on either side (the contents stand for sealed items). Then scans the slot
// file, the database and its WAL: INTERNAL if a purged item's bytes are in
// any of them, or a kept one's are not.
absl::StatusOr<BlobPurgeFigures> BlobFilePurge(
    Placement placement, Overwrite overwrite,
    const std::vector<v1::Record>& due,
    const std::function<v1::Record()>& make_record, const std::string& dir);

// Durable intake in the same store, committing each record on one thread;
// records/s.
absl::StatusOr<double> BlobFileIntake(Placement placement,
                                      const std::vector<v1::Record>& records,
                                      const std::string& dir);

}  // namespace lanevault::bench

#endif  // LANEVAULT_BENCH_BLOB_FILE_PURGE_H_
