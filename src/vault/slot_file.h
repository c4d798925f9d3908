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
//  - a rewind, for rows rolled back, so later appends go where they were;
//  - erasure: slots overwritten with noise (bytes that are neither the
//    ciphertext nor zeros a disk could skip writing), synced, then their
//    whole blocks given back to the file system (FALLOC_FL_PUNCH_HOLE), so
//    the file's space follows what it holds;
//  - at open, the bytes past the last committed slot (appended for rows
//    that never committed) erased and cut off, and a file shorter than its
//    rows say, missing, or not this process's alone refused.
//
// One writer at a time (the store's lock) for Append, Rewind, Sync and
// Erase; Read may run on any thread at once with them (pread), but must not
// read a slot being erased: the caller orders readers against erasure.

#include <atomic>
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
};

class SlotFile {
 public:
  // Opens the file at `path`. `committed_end`: where the last slot a
  // committed row names ends; 0 for none, and only then is a missing file
  // made (0600). Bytes past it are erased and cut off. DATA_LOSS if the file
  // is missing or shorter than that (cut, or an older copy put back);
  // FAILED_PRECONDITION if the last part of `path` is a link, or the file is
  // not a regular file that this user owns alone, under one name, that no
  // one else may read or write.
  static absl::StatusOr<std::unique_ptr<SlotFile>> Open(const std::string& path,
                                                        int64_t committed_end);

  SlotFile(const SlotFile&) = delete;
  SlotFile& operator=(const SlotFile&) = delete;
  ~SlotFile();

  // Writes `bytes` at the end and returns its slot: not durable until
  // Sync(). RESOURCE_EXHAUSTED when the disk (or the file's limit) is full;
  // nothing is appended then.
  absl::StatusOr<Slot> Append(absl::string_view bytes);
  // Where the next slot starts.
  int64_t end() const { return end_.load(std::memory_order_acquire); }
  // Forgets the slots appended at or past `end` (rows rolled back): later
  // appends go there. Their bytes stay in the file until written over or
  // cut off at the next open; no key for them was ever committed. An `end`
  // past the end is ignored.
  void Rewind(int64_t end);
  // Makes every append so far durable. If it fails, appends since the last
  // Sync that succeeded may be lost even if a later one succeeds (Linux
  // forgets a failed write-back): rows naming them must not commit.
  absl::Status Sync();

  // The slot's bytes. DATA_LOSS for a slot that is not one (negative, or
  // past the end), or if the file ends before the slot does.
  absl::StatusOr<std::string> Read(const Slot& slot) const;

  // Overwrites each slot's bytes with noise (parts already given back are
  // skipped: they read as zeros and need no space) and syncs: the overwrite
  // is durable on return. Then punches out the blocks each slot wholly
  // covers; the file keeps its length. The punch is not synced: if a crash
  // loses it, those blocks hold noise. INVALID_ARGUMENT for a slot that is
  // not one, before anything is written.
  absl::Status Erase(const std::vector<Slot>& slots);

  const std::string& path() const { return path_; }

 private:
  SlotFile(std::string path, int fd, int64_t end);
  // Overwrites [at, at + length) where the file holds data.
  absl::Status Overwrite(int64_t at, int64_t length);
  absl::Status OverwriteAndSync(const std::vector<Slot>& slots);

  const std::string path_;
  const int fd_;
  // Written by the one writer; read by readers to bound a slot.
  std::atomic<int64_t> end_;
  const std::string noise_;
};

}  // namespace lanevault::vault

#endif  // LANEVAULT_VAULT_SLOT_FILE_H_
