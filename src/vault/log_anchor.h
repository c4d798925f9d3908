#ifndef LANEVAULT_VAULT_LOG_ANCHOR_H_
#define LANEVAULT_VAULT_LOG_ANCHOR_H_

// The access log's size and root as of its last commit, kept outside the
// database (in the daemon's state directory), so a database that was rolled
// back, truncated (a WAL cut short) or had its log rewritten is caught at
// start instead of served.
//
// Every commit that grows the log rewrites the anchor in place (one pwrite
// of a fixed-size slot, no fsync: the database's own fsync has already made
// the commit durable, so the anchor can lag the database after a power cut
// but never lead it). Two slots, each with its own checksum, alternate, so
// a torn write leaves the other slot intact; the newer generation wins. The
// file is flock'ed for the process's life: one vault per state directory.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "crypto/blind_index.h"

namespace lanevault::vault {

class LogAnchor {
 public:
  struct Head {
    uint64_t size = 0;
    std::string root;  // 32 bytes
  };

  // Opens (creating) `path` and locks it. FAILED_PRECONDITION when another
  // process holds it. Slots are tagged with `key` (owned by the caller), so
  // one written by anyone without it is not intact; `allow_unkeyed` also
  // reads the plain-checksum slots of an anchor from before (the vault
  // allows that until it has a head of its own in the key store). Without
  // a key the anchor is only read, its tags unchecked (a report).
  static absl::StatusOr<std::unique_ptr<LogAnchor>> Open(
      const std::string& path, const crypto::BlindIndex* key,
      bool allow_unkeyed = false);
  ~LogAnchor();
  LogAnchor(const LogAnchor&) = delete;
  LogAnchor& operator=(const LogAnchor&) = delete;

  // The newest intact head; nullopt for a new anchor. DATA_LOSS when the
  // file holds slots and none is intact.
  absl::StatusOr<std::optional<Head>> Read();
  // Records a committed head. Errors are logged by the caller; the
  // database, not the anchor, holds what was acknowledged.
  absl::Status Note(const Head& head);
  // Makes the last Note durable (at each signed checkpoint and at close).
  absl::Status Sync();

  const std::string& path() const { return path_; }

 private:
  LogAnchor(std::string path, int fd, const crypto::BlindIndex* key,
            bool allow_unkeyed)
      : path_(std::move(path)),
        fd_(fd),
        key_(key),
        allow_unkeyed_(allow_unkeyed) {}
  std::string path_;
  int fd_;
  const crypto::BlindIndex* key_;
  const bool allow_unkeyed_;
  absl::Mutex mu_;
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  size_t next_slot_at_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace lanevault::vault

#endif  // LANEVAULT_VAULT_LOG_ANCHOR_H_
