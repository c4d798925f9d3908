#ifndef LANEVAULT_VAULT_ACCESS_LOG_H_
#define LANEVAULT_VAULT_ACCESS_LOG_H_

// The vault's access log: every decision appended (grouped into shared
// commits), its RFC 6962 proofs and signed checkpoints for auditors, and
// what its history says of a principal (quotas, linkage). Reached through
// Vault::log(). Thread-safe.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "crypto/signing.h"
#include "lanevault/v1/audit.pb.h"
#include "lanevault/v1/types.pb.h"
#include "tlog/checkpoint.h"
#include "vault/group_commit.h"
#include "vault/log_anchor.h"
#include "vault/store.h"

namespace lanevault::vault {

class AccessLog {
 public:
  AccessLog(AccessLogStore& store, const crypto::SigningKey& key,
            std::string origin)
      : store_(store), key_(key), origin_(std::move(origin)) {}
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // Appends a decision that acts on nothing (a refusal, a search), grouped
  // with those other threads append meanwhile into one commit. UNAVAILABLE
  // when the log cannot be written.
  absl::StatusOr<uint64_t> Append(v1::AuditEntry audit);
  // Appends decisions in one transaction; returns the first's sequence.
  absl::StatusOr<uint64_t> AppendBatch(std::vector<v1::AuditEntry> entries);

  // Committed entries.
  uint64_t Size();
  absl::StatusOr<std::vector<v1::AuditEntry>> Entries(uint64_t start,
                                                      uint64_t end);
  // The entries that match `q` from its start, at most its limit: the log
  // is walked to the end whatever q.scan_limit says. For callers that ask
  // of a log they know to be small, or that must have the whole answer.
  absl::StatusOr<std::vector<v1::AuditEntry>> Query(AuditQuery q);
  // One bounded walk of at most q.scan_limit entries, and where the next
  // starts (what auditors' calls use).
  absl::StatusOr<AuditPage> QueryPage(const AuditQuery& q);
  // The exact bytes entries in [start, end) were hashed from.
  absl::StatusOr<std::vector<std::string>> LeafData(uint64_t start,
                                                    uint64_t end);

  // --- For auditors (see checkpoint.h and merkle.h). ---
  // Signs the current tree head unless the newest checkpoint already covers
  // it, stores it, and returns the newest checkpoint.
  absl::StatusOr<v1::Checkpoint> SignCheckpoint();
  // The newest checkpoint (signing one if none was issued yet).
  absl::StatusOr<v1::Checkpoint> LatestCheckpoint();
  // RFC 6962 proofs; OUT_OF_RANGE beyond the current tree.
  absl::StatusOr<std::vector<std::string>> InclusionProof(uint64_t index,
                                                          uint64_t tree_size);
  absl::StatusOr<std::vector<std::string>> ConsistencyProof(uint64_t from_size,
                                                            uint64_t to_size);
  // The root over the first `size` entries.
  absl::StatusOr<std::string> RootAt(uint64_t size);
  // The log's name: first line of every checkpoint.
  const std::string& origin() const { return origin_; }
  // The C2SP verifier key auditors pin to check checkpoints.
  std::string VerifierKey() const;

  // --- A principal's (or, with `group`, a group's) past, for quotas and
  // linkage. ---
  absl::StatusOr<ReadCounts> CountReads(absl::string_view who, absl::Time since,
                                        bool group = false);
  absl::StatusOr<uint32_t> CountCalls(absl::string_view who, bool group,
                                      v1::Action action, absl::Time since);
  absl::StatusOr<bool> ReadRecordSince(absl::string_view who, bool group,
                                       absl::string_view record_id,
                                       absl::Time since);
  absl::StatusOr<std::vector<v1::DataCategory>> CategoriesRead(
      absl::string_view who, absl::string_view record_id, bool group = false);

 private:
  friend class Vault;
  // Append without its error mapping: the vault words its own refusals.
  absl::StatusOr<uint64_t> AppendGrouped(v1::AuditEntry entry);
  // Made durable with each checkpoint; owned by the vault.
  void SetAnchor(LogAnchor* anchor) { anchor_ = anchor; }
  // Told each head a new checkpoint signs, once it is stored (the vault
  // keeps it, authenticated, in the key store). Set before any signing.
  void SetSignedListener(std::function<void(const tlog::TreeHead&)> listener) {
    on_signed_ = std::move(listener);
  }
  absl::Status CheckTreeSize(uint64_t size);

  AccessLogStore& store_;
  const crypto::SigningKey& key_;
  const std::string origin_;
  LogAnchor* anchor_ = nullptr;
  std::function<void(const tlog::TreeHead&)> on_signed_;
  GroupCommit<v1::AuditEntry, absl::StatusOr<uint64_t>> commits_;
};

}  // namespace lanevault::vault

#endif  // LANEVAULT_VAULT_ACCESS_LOG_H_
