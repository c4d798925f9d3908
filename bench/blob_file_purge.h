#ifndef LANEVAULT_BENCH_BLOB_FILE_PURGE_H_
#define LANEVAULT_BENCH_BLOB_FILE_PURGE_H_

// A route for the purge that is not built, measured before anyone builds it:
// each item's ciphertext in a file of its own kind (one append-only file of
// slots beside the database), the database keeping its row (ids, deadline,
// wrapped key, where its slot is). A purge deletes the rows and queues their
// slots in one transaction, then overwrites the slots with zeros in place,
// syncs the file and clears the queue: each purged byte is written once,
// where SQLite with secure_delete writes it twice (its zeroed page into the
// WAL, then the checkpoint's copy into the database).

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "lanevault/v1/types.pb.h"

namespace lanevault::bench {

struct BlobPurgeFigures {
  double items_per_s = 0;
  double intake_per_s = 0;  // records taken in beside the purge
};

// Takes `due` in (every item already past its deadline), then purges them
// while one writer keeps taking records from `make_record` in (each durable
// before the next: its slots synced, then its rows committed), if
// `intake_beside`. The database as the purge baseline's: WAL,
// synchronous=FULL, secure_delete on, batches of 500 with 2 ms between, the
// WAL truncated at the end. Then scans the slot file, the database and its
// WAL: INTERNAL if a purged item's ciphertext is still in any of them, or a
// kept one's is not.
absl::StatusOr<BlobPurgeFigures> BlobFilePurge(
    const std::vector<v1::Record>& due,
    const std::function<v1::Record()>& make_record, const std::string& dir,
    bool intake_beside);

// Durable intake in the same store, committing each record (its slots
// synced, then its rows committed) on one thread; records/s.
absl::StatusOr<double> BlobFileIntake(const std::vector<v1::Record>& records,
                                      const std::string& dir);

}  // namespace lanevault::bench

#endif  // LANEVAULT_BENCH_BLOB_FILE_PURGE_H_
