#ifndef LANEVAULT_VAULT_STORE_H_
#define LANEVAULT_VAULT_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lanevault/v1/audit.pb.h"
#include "lanevault/v1/decision.pb.h"
#include "lanevault/v1/types.pb.h"
#include "vault/crypto.h"

namespace lanevault::vault {

// One item as stored: only the category and deadline are in the clear (the
// sweeper and the policy need them); everything else is inside `sealed`.
struct StoredItem {
  std::string item_id;
  v1::DataCategory category = v1::DATA_CATEGORY_UNSPECIFIED;
  absl::Time deadline;
  SealedItem sealed;
};

struct StoredRecord {
  v1::RecordSummary summary;  // categories are filled in on read
  std::vector<StoredItem> items;
};

struct RecordQuery {
  std::string lane_id;  // empty: every lane
  absl::Time since = absl::InfinitePast();
  absl::Time until = absl::InfiniteFuture();
  std::string after_record_id;  // paging: continue after this id
  int limit = 50;
};

// A filter over the access log; empty fields match everything.
struct AuditQuery {
  std::string principal;
  std::string record_id;
  v1::Action action = v1::ACTION_UNSPECIFIED;
  v1::Verdict verdict = v1::VERDICT_UNSPECIFIED;
  absl::Time since = absl::InfinitePast();
  absl::Time until = absl::InfiniteFuture();
  uint64_t start_sequence = 0;  // paging: entries at or after this one
  int limit = 100;
};

struct StoredCheckpoint {
  uint64_t tree_size = 0;
  std::string note;  // the signed note, exactly as issued
};

struct ContractVersionRow {
  std::string contract_id;
  uint64_t version = 0;
  std::string signed_text;  // the signed contract file, byte for byte
  absl::Time activated;
};

struct ReadCounts {
  uint32_t reads = 0;    // allowed reads
  uint32_t records = 0;  // distinct records among them
};

// Where sealed records and the access log live. Implementations: SQLite
// (the default, one file); PostgreSQL can follow behind this interface.
// Every method is thread-safe. A record, its items and the audit entry that
// describes its intake commit together or not at all.
class Store {
 public:
  virtual ~Store() = default;

  // Stores the record and appends `audit` in one transaction; returns the
  // audit sequence number. ALREADY_EXISTS for a duplicate record id;
  // RESOURCE_EXHAUSTED when the disk is full; UNAVAILABLE on I/O errors.
  // On any error nothing was written.
  virtual absl::StatusOr<uint64_t> PutRecord(const StoredRecord& record,
                                             v1::AuditEntry audit) = 0;

  // NOT_FOUND for an unknown id; DATA_LOSS when the row is damaged.
  virtual absl::StatusOr<StoredRecord> GetRecord(
      absl::string_view record_id) = 0;

  // Summaries ordered by first_seen then id, at most query.limit.
  virtual absl::StatusOr<std::vector<v1::RecordSummary>> FindRecords(
      const RecordQuery& query) = 0;

  // Appends one entry to the access log; returns its sequence number. The
  // log is an RFC 6962 tree: the append stores the leaf and every perfect
  // subtree it completes (O(log n)).
  virtual absl::StatusOr<uint64_t> AppendAudit(v1::AuditEntry entry) = 0;

  // Appends entries in one transaction (one fsync); returns the first
  // sequence number. All or none are appended.
  virtual absl::StatusOr<uint64_t> AppendAuditBatch(
      std::vector<v1::AuditEntry> entries) = 0;

  // Entries with sequence in [start, end).
  virtual absl::StatusOr<std::vector<v1::AuditEntry>> ReadAudit(
      uint64_t start, uint64_t end) = 0;

  // The exact bytes each entry in [start, end) was hashed from.
  virtual absl::StatusOr<std::vector<std::string>> AuditLeafData(
      uint64_t start, uint64_t end) = 0;

  // Committed entries in the log.
  virtual uint64_t AuditSize() = 0;

  // The hash of the perfect subtree over leaves
  // [index << level, (index + 1) << level). DATA_LOSS if it is missing.
  virtual absl::StatusOr<std::string> AuditSubtree(int level,
                                                   uint64_t index) = 0;

  virtual absl::StatusOr<std::vector<v1::AuditEntry>> QueryAudit(
      const AuditQuery& query) = 0;

  // A principal's allowed reads since `since` (quotas).
  virtual absl::StatusOr<ReadCounts> CountReads(absl::string_view principal,
                                                absl::Time since) = 0;
  // Categories a principal was ever given of a record (linkage).
  virtual absl::StatusOr<std::vector<v1::DataCategory>> CategoriesRead(
      absl::string_view principal, absl::string_view record_id) = 0;

  // Keeps a contract version that took effect (the first activation of an
  // id and version is kept; later ones are ignored).
  virtual absl::Status PutContractVersion(const ContractVersionRow& row) = 0;
  // Newest activation first.
  virtual absl::StatusOr<std::vector<ContractVersionRow>>
  ContractVersions() = 0;

  virtual absl::Status PutCheckpoint(const StoredCheckpoint& checkpoint) = 0;
  // NOT_FOUND before the first checkpoint.
  virtual absl::StatusOr<StoredCheckpoint> LatestCheckpoint() = 0;

  virtual absl::StatusOr<uint64_t> CountRecords() = 0;
};

// Opens (creating if needed) a SQLite vault file in WAL mode with
// synchronous=FULL and secure_delete=ON, migrating its schema forward.
absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path);

}  // namespace lanevault::vault

#endif  // LANEVAULT_VAULT_STORE_H_
