#ifndef LANEVAULT_VAULT_STORE_H_
#define LANEVAULT_VAULT_STORE_H_

// Where sealed records and the access log live, as a few interfaces one
// database class implements together (Store): SQLite (sqlite_store.h, the
// default, one file); PostgreSQL can follow as a second implementation.
// Nothing here names a database. Every method is thread-safe.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "vault/store_rows.h"

namespace lanevault::vault {

// The most values a plate lookup may ask a store for (PlateIndexValues, the
// undated one included).
inline constexpr size_t kMostPlateIndexValues = 16384;

// Sealed records and their items: intake, reads, plate lookups, retention.
// A record, its items and the audit entry that describes its intake commit
// together or not at all.
class RecordStore {
 public:
  virtual ~RecordStore() = default;

  // Stores each record with its audit entry (whose sequence number is set),
  // many records in one transaction (group commit: one fsync). Each record
  // succeeds or fails on its own, and nothing of a failed one is written:
  // ALREADY_EXISTS only when its record id is taken (see
  // SubmissionDigest), INVALID_ARGUMENT when an item id is. If the
  // transaction cannot commit, every record gets that error
  // (RESOURCE_EXHAUSTED when the disk is full, UNAVAILABLE on I/O errors);
  // INTERNAL when the access log's next position is taken, which means
  // another writer: then nothing is stored. Returns one status per row.
  virtual std::vector<absl::Status> PutRecords(
      std::vector<IntakeRow>& rows) = 0;

  // Whether the access log records a purge of this record's items.
  virtual absl::StatusOr<bool> WasPurged(absl::string_view record_id) = 0;

  // The submission digest stored with a record, or with a submission of
  // which nothing was kept ("" when it has none); NOT_FOUND for an unknown
  // id.
  virtual absl::StatusOr<std::string> SubmissionDigest(
      absl::string_view record_id) = 0;
  // Remembers a submission of which the policy kept nothing, with the audit
  // entry of that decision, in one transaction. ALREADY_EXISTS when the id
  // is taken.
  virtual absl::Status PutUnkept(absl::string_view record_id,
                                 absl::string_view digest,
                                 v1::AuditEntry audit) = 0;

  // Records with an unexpired plate-text item having a reading under any
  // of one plate's values, at most `limit`, by the best rank of such a
  // reading in each (1 is the top reading), then by id. INVALID_ARGUMENT
  // without an undated value; INTERNAL for more than kMostPlateIndexValues
  // values (a caller's fault). On SQLite its work grows with the values
  // asked for and the readings found, not with the vault; PostgreSQL leaves
  // the choice to its planner and statistics.
  virtual absl::StatusOr<std::vector<std::string>> FindPlate(
      const PlateIndexValues& plate, absl::Time now, int limit) = 0;

  // NOT_FOUND for an unknown id; DATA_LOSS when the row is damaged.
  virtual absl::StatusOr<StoredRecord> GetRecord(
      absl::string_view record_id) = 0;

  // Summaries ordered by first_seen then id, at most query.limit.
  virtual absl::StatusOr<std::vector<v1::RecordSummary>> FindRecords(
      const RecordQuery& query) = 0;

  virtual absl::StatusOr<uint64_t> CountRecords() = 0;

  // Whether record `record_id` was stored with this canary mark (a decoy's
  // keyed mark: every record carries a mark, random for real ones).
  virtual absl::StatusOr<bool> HasCanaryMark(absl::string_view record_id,
                                             absl::string_view mark) = 0;

  // The earliest deadline among items not on hold; InfiniteFuture if none.
  virtual absl::StatusOr<absl::Time> NextDeadline() = 0;
  // The latest deadline of any item; InfinitePast if none.
  virtual absl::StatusOr<absl::Time> LastDeadline() = 0;
  // Deletes up to `limit` items past their deadline (`now`) and not on hold,
  // their blind-index entries, and records left empty; appends one entry per
  // item built from `purge_template`. One transaction.
  virtual absl::StatusOr<PurgeResult> PurgeExpired(
      absl::Time now, int limit, const v1::AuditEntry& purge_template) = 0;
  virtual absl::StatusOr<std::vector<CategoryRetentionRow>> RetentionCounts(
      absl::Time now) = 0;
};

// The access log: an RFC 6962 tree whose appends store the leaf and every
// perfect subtree it completes (O(log n)), its checkpoints, and the
// questions asked of its history (quotas, linkage, refusals).
class AccessLogStore {
 public:
  virtual ~AccessLogStore() = default;

  // Appends entries in one transaction (one fsync); returns the first
  // sequence number. All or none are appended.
  virtual absl::StatusOr<uint64_t> AppendAuditBatch(
      std::vector<v1::AuditEntry> entries) = 0;

  // Called after every commit that grows the access log, with the log's new
  // size and root, under the store's lock: it must be quick and must not
  // call back into the store.
  using LogListener =
      std::function<void(uint64_t size, const std::string& root)>;
  virtual void SetLogListener(LogListener listener) = 0;

  // The exact bytes each entry in [start, end) was hashed from (an entry's
  // serialised AuditEntry).
  virtual absl::StatusOr<std::vector<std::string>> AuditLeafData(
      uint64_t start, uint64_t end) = 0;

  // Committed entries in the log.
  virtual uint64_t AuditSize() = 0;

  // The hash of the perfect subtree over leaves
  // [index << level, (index + 1) << level). DATA_LOSS if it is missing.
  virtual absl::StatusOr<std::string> AuditSubtree(int level,
                                                   uint64_t index) = 0;

  // The entries that match `query`, by sequence, examining at most its
  // scan_limit. SQLite's runs on a reader connection, in one snapshot, and
  // neither waits for nor holds up appends; PostgreSQL's runs on the
  // store's one connection, under the lock appends take too, so they wait
  // for each walk (bounded by scan_limit), never for a whole log.
  virtual absl::StatusOr<AuditPage> QueryAudit(const AuditQuery& query) = 0;
  // Entries about a KEK (record id "kek:<version>") in [since, until), from
  // `start_sequence`, at most `limit`, by sequence.
  virtual absl::StatusOr<std::vector<v1::AuditEntry>> QueryKekEntries(
      absl::Time since, absl::Time until, uint64_t start_sequence,
      int limit) = 0;

  // Allowed reads since `since` (quotas) by a principal or, with `group`,
  // by everyone of that group.
  virtual absl::StatusOr<ReadCounts> CountReads(absl::string_view who,
                                                bool group,
                                                absl::Time since) = 0;
  // Allowed calls of `action` since `since`, likewise. Intakes are not
  // counted (INVALID_ARGUMENT): the quotas are on what people ask, and the
  // stores keep no index of intakes by principal.
  virtual absl::StatusOr<uint32_t> CountCalls(absl::string_view who, bool group,
                                              v1::Action action,
                                              absl::Time since) = 0;
  // Whether a principal (or group) was allowed a read of the record since
  // `since`.
  virtual absl::StatusOr<bool> ReadRecordSince(absl::string_view who,
                                               bool group,
                                               absl::string_view record_id,
                                               absl::Time since) = 0;
  // Categories a principal (or group) was ever given of a record, or shown
  // by a lookup that named it (linkage).
  virtual absl::StatusOr<std::vector<v1::DataCategory>> CategoriesRead(
      absl::string_view who, bool group, absl::string_view record_id) = 0;
  // Refusals of `principal` logged since `since` that count towards
  // `counted` (see v1::RefusalCount), not before its last lifted lockout.
  virtual absl::StatusOr<uint32_t> CountRefusals(absl::string_view principal,
                                                 v1::RefusalCount counted,
                                                 absl::Time since) = 0;

  virtual absl::Status PutCheckpoint(const StoredCheckpoint& checkpoint) = 0;
  // NOT_FOUND before the first checkpoint.
  virtual absl::StatusOr<StoredCheckpoint> LatestCheckpoint() = 0;
};

// Key-encryption keys (wrapped by the master key), the data keys they wrap,
// and small settings that are not secret (a passphrase salt).
class KeyStore {
 public:
  virtual ~KeyStore() = default;

  // NOT_FOUND when unset.
  virtual absl::StatusOr<std::string> GetMeta(absl::string_view key) = 0;
  virtual absl::Status PutMeta(absl::string_view key,
                               absl::string_view value) = 0;

  // The KEKs the database held before the key store (see key_store.h).
  virtual absl::StatusOr<std::vector<KekRow>> Keks() = 0;
  // Logs a KEK's destruction, in one transaction with the check that no
  // item whose deadline is in [from, to) uses it: FAILED_PRECONDITION
  // (nothing logged) while one does. The caller then forgets the key.
  virtual absl::Status DestroyKek(uint32_t version, absl::Time from,
                                  absl::Time to, v1::AuditEntry audit) = 0;
  // Deletes the KEKs the database held before the key store took them.
  virtual absl::Status DeleteLegacyKeks() = 0;
  // Items per KEK version.
  virtual absl::StatusOr<std::vector<std::pair<uint32_t, uint64_t>>>
  ItemsPerKeyVersion() = 0;
  virtual absl::StatusOr<std::vector<RewrapCandidate>> ItemsToRewrap(
      uint32_t below_version, int limit) = 0;
  // Applies re-wrapped keys in one transaction; an item purged or already
  // re-wrapped meanwhile is skipped. Returns how many were updated.
  virtual absl::StatusOr<uint64_t> UpdateWrappedKeys(
      const std::vector<Rewrapped>& keys) = 0;
};

// What compliance officers and the API's enforcement keep: legal holds,
// alerts, lockouts. Changes that are decisions are logged with them.
class OversightStore {
 public:
  virtual ~OversightStore() = default;

  // NOT_FOUND (naming it) when a record does not exist.
  virtual absl::Status PutHold(const HoldRow& hold, v1::AuditEntry audit) = 0;
  // NOT_FOUND for an unknown hold; FAILED_PRECONDITION if already lifted.
  virtual absl::StatusOr<HoldRow> LiftHold(absl::string_view hold_id,
                                           absl::string_view lifted_by,
                                           absl::Time lifted,
                                           absl::string_view reason,
                                           v1::AuditEntry audit) = 0;
  virtual absl::StatusOr<std::vector<HoldRow>> Holds(bool include_lifted) = 0;
  // Case ids of the holds in force on a record.
  virtual absl::StatusOr<std::vector<std::string>> HoldCases(
      absl::string_view record_id) = 0;

  virtual absl::Status PutAlert(const AlertRow& alert) = 0;
  virtual absl::StatusOr<std::vector<AlertRow>> Alerts(
      bool include_acknowledged) = 0;
  // NOT_FOUND for an unknown alert.
  virtual absl::StatusOr<AlertRow> AcknowledgeAlert(absl::string_view alert_id,
                                                    absl::string_view by) = 0;

  // Stores the lockout and its audit entry together; ALREADY_EXISTS (and
  // nothing written) when the principal is already locked out.
  virtual absl::Status PutLockout(const LockoutRow& lockout,
                                  v1::AuditEntry audit) = 0;
  virtual absl::StatusOr<std::vector<LockoutRow>> Lockouts() = 0;
  // Deletes the lockout with its audit entry; NOT_FOUND when there is none.
  virtual absl::Status DeleteLockout(absl::string_view principal,
                                     v1::AuditEntry audit) = 0;
};

// Contract versions: those that took effect, and those proposed over the
// API while they gather signatures.
class ContractStore {
 public:
  virtual ~ContractStore() = default;

  // Keeps a contract version that took effect (the first activation of an
  // id and version is kept; later ones are ignored).
  virtual absl::Status PutContractVersion(const ContractVersionRow& row) = 0;
  // Newest activation first.
  virtual absl::StatusOr<std::vector<ContractVersionRow>>
  ContractVersions() = 0;

  // ALREADY_EXISTS for a version already proposed.
  virtual absl::Status PutProposal(const ProposalRow& proposal,
                                   v1::AuditEntry audit) = 0;
  // The newest proposal of that version; NOT_FOUND when there is none.
  virtual absl::StatusOr<ProposalRow> GetProposal(uint64_t version) = 0;
  // Newest first.
  virtual absl::StatusOr<std::vector<ProposalRow>> Proposals() = 0;
  // Keeps the proposal's gathered signatures and puts it in force, with
  // the audit entry, in one transaction.
  virtual absl::Status ActivateProposal(const ProposalRow& proposal,
                                        const ContractVersionRow& version,
                                        v1::AuditEntry audit) = 0;
};

// What a backup copy holds, read from the copy itself once it is complete.
struct BackupCopy {
  uint64_t bytes = 0;
  uint64_t tree_size = 0;  // access-log entries in the copy
  std::string root;        // their RFC 6962 root (32 bytes)
  std::string checkpoint;  // the copy's newest signed checkpoint note
  uint64_t checkpoint_size = 0;
  uint64_t records = 0;
  uint64_t items = 0;
  uint64_t intake_entries = 0;  // ACTION_INTAKE entries in the copy's log
};

// One database holding all of the above: one implementation class, so a
// record's intake and its log entry can share a transaction.
class Store : public RecordStore,
              public AccessLogStore,
              public KeyStore,
              public OversightStore,
              public ContractStore {
 public:
  // OK while the store can serve; UNAVAILABLE naming the damage once it
  // has found its files damaged (then it refuses everything).
  virtual absl::Status Health() = 0;
  // OK unless the last write since the last commit was refused by the disk
  // (full, read-only, failing): UNAVAILABLE naming it.
  virtual absl::Status WriteHealth() { return absl::OkStatus(); }
  // Checks the files' structure (a quick check, or a slower thorough one
  // with `full`): DATA_LOSS naming the first problem.
  virtual absl::Status CheckIntegrity(bool full) = 0;
  // Folds pending writes (a journal) into the main files and truncates
  // them, so pages that held purged data do not linger there.
  virtual absl::Status Compact() = 0;
  // Copies the database, online, into a new file `dest` (0600; ALREADY_EXISTS
  // rather than overwrite), consistent as of one commit, durable on return
  // (file and folder fsynced) and checked. The copy is the database alone:
  // no key of any kind is in it. Writers wait only for one short step at a
  // time.
  virtual absl::StatusOr<BackupCopy> BackupTo(const std::string& dest) = 0;
};

}  // namespace lanevault::vault

#endif  // LANEVAULT_VAULT_STORE_H_
