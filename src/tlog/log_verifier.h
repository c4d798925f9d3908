#ifndef LANEVAULT_TLOG_LOG_VERIFIER_H_
#define LANEVAULT_TLOG_LOG_VERIFIER_H_

// What an auditor runs to check the access log without trusting the
// server: the checkpoint's signature against a pinned key, a consistency
// proof from the last checkpoint it verified, inclusion of chosen entries,
// and optionally every entry recomputed into the signed root. Any failure
// is DATA_LOSS naming the first failing entry index where there is one.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "lanevault/v1/audit.pb.h"

namespace lanevault::tlog {

// Where the log comes from: a server (rpc/audit_log_source.h) or an offline
// export.
class AuditLogSource {
 public:
  virtual ~AuditLogSource() = default;
  virtual absl::StatusOr<v1::Checkpoint> Checkpoint() = 0;
  virtual absl::StatusOr<std::vector<std::string>> ConsistencyProof(
      uint64_t from_size, uint64_t to_size) = 0;
  virtual absl::StatusOr<std::vector<std::string>> InclusionProof(
      uint64_t index, uint64_t tree_size) = 0;
  // Up to end - start leaves; fewer means the rest are missing.
  virtual absl::StatusOr<std::vector<std::string>> LeafData(uint64_t start,
                                                            uint64_t end) = 0;
  // Whether proofs come from the log's own stored tree (a server) rather
  // than from the same leaves being checked (an export). Only then can a
  // mismatch be narrowed down to the first differing entry.
  virtual bool proofs_from_stored_tree() const = 0;
};

// Everything is computed from the export's own leaves.
absl::StatusOr<std::unique_ptr<AuditLogSource>> ExportAuditLogSource(
    const v1::AuditExport& exported);

struct VerifyOptions {
  std::string verifier_key;         // the pinned log key (C2SP note format)
  std::string previous_checkpoint;  // last verified note; empty on first use
  // The log's key before it moved to a key of its own (the vault logs
  // "log_key_created"): the saved checkpoint may carry its signature.
  std::string previous_verifier_key;
  std::vector<uint64_t> entries;  // indexes whose inclusion to prove
  bool full = false;              // recompute every entry into the root
};

struct VerifyReport {
  uint64_t tree_size = 0;
  uint64_t previous_size = 0;
  std::string checkpoint;  // the note now verified: keep it for next time
  size_t entries_proved = 0;
  bool full = false;
};

absl::StatusOr<VerifyReport> VerifyAuditLog(AuditLogSource& source,
                                            const VerifyOptions& options);

}  // namespace lanevault::tlog

#endif  // LANEVAULT_TLOG_LOG_VERIFIER_H_
