#ifndef LANEVAULT_VAULT_KEK_STORE_H_
#define LANEVAULT_VAULT_KEK_STORE_H_

// The vault's key-encryption keys and its own secrets (the access log's
// signing seed), each wrapped by the master key, in a small SQLite file of
// their own, apart from the database of items.
//
// Why apart: a retention period's KEK is destroyed when its period has
// passed, and from then on no copy of the database — a backup, a snapshot,
// a stolen file, taken at any time — opens that period's items, even with
// the master key, because the key was never in the database. Deleting a
// key overwrites its page (secure_delete) and truncates the WAL, so a copy
// of this file taken afterwards does not hold it either. A copy of this
// file taken *before* the destruction still holds it: it is the one file a
// backup must not contain (see the README's runbook).
//
// Thread-safe (PeriodKeys and the checkpoint signer both write to it).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "vault/sqlite.h"

namespace lanevault::vault {

// A stored KEK. `period_day` is the UTC day (days since the epoch) of the
// deadlines it serves, or kNoPeriod for a KEK from before retention
// periods; `generation` counts key rotations.
struct StoredKek {
  static constexpr int64_t kNoPeriod = -1;
  uint32_t version = 0;
  int64_t period_day = kNoPeriod;
  uint32_t generation = 0;
  std::string wrapped;
  absl::Time created;
};

// The Get/Put name of the access log's signing seed (wrapped).
inline constexpr char kLogSeedName[] = "log_seed";

class KekStore {
 public:
  // Opens or creates the file (0600) with its schema. DATA_LOSS when it is
  // not a key store; the path is named in every error.
  static absl::StatusOr<std::unique_ptr<KekStore>> Open(
      const std::string& path);

  const std::string& path() const { return path_; }

  absl::StatusOr<std::vector<StoredKek>> Keks();
  // Durable on return (synchronous=FULL): only then may a data key be
  // wrapped by it.
  absl::Status PutKek(const StoredKek& kek);
  // Deletes a KEK: its page is overwritten and the WAL emptied, so the file
  // no longer holds it. OK when it is already gone; UNAVAILABLE when the
  // WAL could not be emptied (the next open empties it). Its version stays
  // as a tombstone (the number only) in the same transaction.
  absl::Status DestroyKek(uint32_t version);
  // The versions this key store has destroyed: never taken in again, so a
  // copy of a destroyed KEK handed over by anyone stays out.
  absl::StatusOr<std::vector<uint32_t>> DestroyedVersions();

  // Changes when another connection (another process sharing the file)
  // commits a change; the same otherwise (SQLite's data_version).
  absl::StatusOr<int64_t> DataVersion();

  // Small named values (the rotation generation, the wrapped log seed).
  // NOT_FOUND when unset.
  absl::StatusOr<std::string> Get(absl::string_view name);
  absl::Status Put(absl::string_view name, absl::string_view value);

 private:
  KekStore(std::string path, Database db)
      : path_(std::move(path)), db_(std::move(db)) {}
  absl::Status Named(const absl::Status& s) const;
  // Moves the WAL into the file and empties it; UNAVAILABLE when a reader
  // holds it back for a second.
  absl::Status TruncateWal() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::string path_;
  absl::Mutex mu_;
  Database db_ ABSL_GUARDED_BY(mu_);
};

}  // namespace lanevault::vault

#endif  // LANEVAULT_VAULT_KEK_STORE_H_
