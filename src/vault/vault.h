#ifndef LANEVAULT_VAULT_VAULT_H_
#define LANEVAULT_VAULT_VAULT_H_

// The vault module's public surface: seal and store what the policy kept,
// open one record for one allowed reader, and write every decision to the
// access log first. Thread-safe.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/clock.h"
#include "lanevault/v1/audit.pb.h"
#include "lanevault/v1/types.pb.h"
#include "vault/crypto.h"
#include "vault/store.h"

namespace lanevault::vault {

struct VaultOptions {
  std::string database;         // SQLite file; created if missing
  std::string master_key_file;  // 0600, 32 bytes
  Clock* clock = RealClock();
  // The access log's name: first line of every checkpoint and the name of
  // its signing key.
  std::string log_origin = "lanevault.dev/audit";
};

// The bytes an item's encryption is bound to: record id, item id, category,
// contract id and version, and deadline. Exposed for tests that move
// ciphertext around on purpose.
std::string ItemAssociatedData(absl::string_view record_id,
                               absl::string_view item_id,
                               v1::DataCategory category,
                               absl::string_view contract_id,
                               uint64_t contract_version, absl::Time deadline);

class Vault {
 public:
  static absl::StatusOr<std::unique_ptr<Vault>> Open(const VaultOptions& opts);

  Vault(const Vault&) = delete;
  Vault& operator=(const Vault&) = delete;

  // Seals every item of `record` (each must carry its deadline) and stores
  // them with `audit` in one transaction. Returns only after the commit: an
  // OK return is the acknowledgement. INVALID_ARGUMENT for a record without
  // id, lane, items or deadlines; otherwise the store's errors.
  absl::Status Intake(const v1::Record& record, v1::AuditEntry audit);

  // What may be known of a record without opening it: lane, times, contract,
  // and the categories of its items that are not past their deadline.
  // NOT_FOUND for an unknown id (an expired record looks like a missing one).
  absl::StatusOr<v1::RecordSummary> Describe(absl::string_view record_id);

  // Writes `audit` to the access log, then opens the record's unexpired items
  // of the given categories (all when empty). If the log cannot be written
  // nothing is opened (UNAVAILABLE). DATA_LOSS names the record when a
  // ciphertext fails to authenticate. The returned record is plaintext: the
  // caller hands it to one reader and lets it go.
  absl::StatusOr<v1::Record> Read(
      absl::string_view record_id,
      const std::vector<v1::DataCategory>& categories, v1::AuditEntry audit);

  // Appends a decision that acts on nothing (a refusal, a search).
  absl::StatusOr<uint64_t> Audit(v1::AuditEntry audit);

  // Appends decisions in one transaction (group commit).
  absl::StatusOr<uint64_t> AuditBatch(std::vector<v1::AuditEntry> entries);

  absl::StatusOr<std::vector<v1::RecordSummary>> Find(const RecordQuery& q);
  absl::StatusOr<std::vector<v1::AuditEntry>> AuditEntries(uint64_t start,
                                                           uint64_t end);
  absl::StatusOr<uint64_t> RecordCount();

  // Contract versions that took effect, kept as signed.
  absl::Status KeepContractVersion(const std::string& contract_id,
                                   uint64_t version,
                                   const std::string& signed_text);
  absl::StatusOr<std::vector<ContractVersionRow>> ContractVersions();

  // A principal's past, from the access log, for quotas and linkage.
  absl::StatusOr<ReadCounts> CountReads(absl::string_view principal,
                                        absl::Time since);
  absl::StatusOr<std::vector<v1::DataCategory>> CategoriesRead(
      absl::string_view principal, absl::string_view record_id);

  // --- The access log, for auditors (see checkpoint.h and merkle.h). ---
  uint64_t AuditSize();
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
  // The exact bytes entries in [start, end) were hashed from.
  absl::StatusOr<std::vector<std::string>> AuditLeafData(uint64_t start,
                                                         uint64_t end);
  absl::StatusOr<std::vector<v1::AuditEntry>> QueryAudit(const AuditQuery& q);
  const std::string& log_origin() const { return origin_; }
  // The C2SP verifier key auditors pin to check checkpoints.
  std::string LogVerifierKey() const;

  Clock* clock() const { return clock_; }

 private:
  Vault(std::unique_ptr<Store> store, Envelope envelope, SigningKey log_key,
        std::string origin, Clock* clock)
      : store_(std::move(store)),
        envelope_(std::move(envelope)),
        log_key_(std::move(log_key)),
        origin_(std::move(origin)),
        clock_(clock) {}

  absl::Status CheckTreeSize(uint64_t size);

  std::unique_ptr<Store> store_;
  Envelope envelope_;
  SigningKey log_key_;
  std::string origin_;
  Clock* clock_;
};

}  // namespace lanevault::vault

#endif  // LANEVAULT_VAULT_VAULT_H_
