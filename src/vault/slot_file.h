#ifndef LANEVAULT_VAULT_SLOT_FILE_H_
#define LANEVAULT_VAULT_SLOT_FILE_H_

// Item ciphertext kept in a file of its own beside the database, each item
// in a slot the database's row points at. Why: with the ciphertext in
// SQLite, `secure_delete` makes a purge write every purged byte twice (its
// zeroed page into the WAL, then the checkpoint's copy into the database),
// which holds a purge well under what the disk allows (`vault_bench
// --sections sweepwal`); overwritten in place here, each purged byte is
// written once (`--sections blobpurge`).
//
// Not yet the store's: the SQLite store's schema, intake, reads, purge,
// backup and integrity check are to use it (README, "Issue 31, the night of
// 2026-12-07"). What this file owns:
//  - appends, durable only once Sync() returns, so a caller syncs before it
//    commits the rows that point here;
//  - a rewind, for rows rolled back, so their slots are written over next;
//  - erasure: slots overwritten with noise (bytes that are neither the
//    ciphertext nor zeros a disk could skip writing), synced, then their
//    whole blocks given back to the file system (FALLOC_FL_PUNCH_HOLE), so
//    the file's space follows what it holds;
//  - at open, the bytes past the last committed slot (appended for rows
//    that never committed) erased and cut off, and a file shorter than its
//    rows say refused.
//
// One writer at a time (the store's lock) for Append, Rewind, Sync and
// Erase; Read may run on any thread at once with them (pread), but must not
// read a slot being erased: the caller orders readers against erasure.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace lanevault::vault {

struct Slot {
  int64_t at = 0;
  int64_t length = 0;
  int64_t end() const { return at + length; }
};

class SlotFile {
 public:
  // Opens the file at `path`, making it (0600) if absent. `committed_end`:
  // where the last slot a committed row names ends (0 for none). Bytes past
  // it are erased and cut off. DATA_LOSS if the file is shorter than that
  // (cut, or an older copy put back); FAILED_PRECONDITION if it is not a
  // regular file or others than its owner may read or write it.
  static absl::StatusOr<std::unique_ptr<SlotFile>> Open(const std::string& path,
                                                        int64_t committed_end);

  SlotFile(const SlotFile&) = delete;
  SlotFile& operator=(const SlotFile&) = delete;
  ~SlotFile();

  // Writes `bytes` at the end and returns its slot: not durable until
  // Sync(). RESOURCE_EXHAUSTED when the disk (or the file's limit) is full,
  // and nothing is appended.
  absl::StatusOr<Slot> Append(absl::string_view bytes);
  // Where the next slot starts.
  int64_t end() const { return end_; }
  // Forgets the slots appended at or past `end` (rows rolled back): the
  // next appends write over them. Past the end, or before a slot a
  // committed row may name, is the caller's error; ignored if past.
  void Rewind(int64_t end);
  // Makes every append so far durable.
  absl::Status Sync();

  // The slot's bytes. DATA_LOSS if the file ends before the slot does.
  absl::StatusOr<std::string> Read(const Slot& slot) const;

  // Overwrites each slot with noise, syncs, then punches out the file
  // system blocks the slots wholly cover (the file keeps its length; those
  // bytes read as zeros). Durable on return.
  absl::Status Erase(const std::vector<Slot>& slots);

  const std::string& path() const { return path_; }

 private:
  SlotFile(std::string path, int fd, int64_t end);
  absl::Status Overwrite(const Slot& slot);

  const std::string path_;
  const int fd_;
  int64_t end_;
  std::string noise_;
};

}  // namespace lanevault::vault

#endif  // LANEVAULT_VAULT_SLOT_FILE_H_
