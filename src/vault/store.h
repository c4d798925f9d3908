#ifndef LANEVAULT_VAULT_STORE_H_
#define LANEVAULT_VAULT_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "crypto/key_ring.h"
#include "lanevault/v1/audit.pb.h"
#include "lanevault/v1/decision.pb.h"
#include "lanevault/v1/types.pb.h"

namespace lanevault::vault {

// One item as stored: only the category and deadline are in the clear (the
// sweeper and the policy need them); everything else is inside `sealed`.
struct StoredItem {
  std::string item_id;
  v1::DataCategory category = v1::DATA_CATEGORY_UNSPECIFIED;
  absl::Time deadline;
  crypto::SealedItem sealed;
  // Plate text only: the blind index of the plate (see BlindIndex), so an
  // exact plate can be found while the text itself stays sealed. Destroyed
  // with the item.
  std::string plate_blind_index;
};

struct StoredRecord {
  v1::RecordSummary summary;  // categories are filled in on read
  std::vector<StoredItem> items;
  // Decoys only, at intake: the keyed mark that names the record a canary.
  std::string canary_mark;
  // Records a capture node submitted: the keyed digest of what it sent, so a
  // resubmission is recognised as the same one (empty otherwise).
  std::string submission_digest;
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

// One record to store and the audit entry describing its intake.
struct IntakeRow {
  StoredRecord record;
  v1::AuditEntry audit;
};

struct PurgeResult {
  uint64_t items = 0;
  uint64_t records = 0;  // records left with no items, removed too
};

struct HoldRow {
  std::string hold_id;
  std::string case_id;
  std::string reason;
  std::vector<std::string> record_ids;
  std::string placed_by;
  absl::Time placed;
  std::string lifted_by;  // empty while in force
  absl::Time lifted = absl::InfinitePast();
  std::string lift_reason;
  bool active() const { return lifted_by.empty(); }
};

// Retention figures for one category at a given time.
struct CategoryRetentionRow {
  v1::DataCategory category = v1::DATA_CATEGORY_UNSPECIFIED;
  uint64_t items = 0;
  uint64_t on_hold = 0;
  uint64_t overdue = 0;  // past deadline, not on hold, not yet purged
  absl::Time next_deadline = absl::InfiniteFuture();  // of items not on hold
};

struct AlertRow {
  std::string alert_id;
  absl::Time raised;
  std::string severity;  // "info", "warning", "critical"
  std::string kind;      // "data_loss", "canary_read", ...
  std::string principal;
  std::string message;  // never personal data
  std::string acknowledged_by;
};

// A principal refused access until a compliance officer lifts it.
struct LockoutRow {
  std::string principal;
  std::string reason;  // never personal data
  absl::Time since;
};

// A contract version proposed over the API and the signatures gathered.
struct ProposalRow {
  std::string contract_id;
  uint64_t version = 0;
  std::string signed_contract;  // a serialized v1::SignedContract
  std::string proposed_by;
  absl::Time proposed;
};

struct KekRow {
  crypto::WrappedKek kek;
  absl::Time created;
};

// An item whose data key is wrapped by an older KEK, with what its
// associated data needs.
struct RewrapCandidate {
  std::string record_id;
  std::string contract_id;
  uint64_t contract_version = 0;
  StoredItem item;  // ciphertext left empty: re-wrapping does not need it
};

struct Rewrapped {
  std::string record_id;
  std::string item_id;
  uint32_t from_version = 0;
  uint32_t to_version = 0;
  std::string wrapped_key;
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

  // OK while the store can serve; UNAVAILABLE naming the damage once it
  // has found its files damaged (then it refuses everything).
  virtual absl::Status Health() = 0;
  // Called after every commit that grows the access log, with the log's new
  // size and root, under the store's lock: it must be quick and must not
  // call back into the store.
  using LogListener =
      std::function<void(uint64_t size, const std::string& root)>;
  virtual void SetLogListener(LogListener listener) = 0;

  // Checks the files' structure (SQLite's quick_check, or the slower
  // integrity_check with `full`): DATA_LOSS naming the first problem.
  virtual absl::Status CheckIntegrity(bool full) = 0;

  // Records with an unexpired plate-text item under this blind index, at
  // most `limit`, ordered by id.
  virtual absl::StatusOr<std::vector<std::string>> FindPlate(
      absl::string_view blind_index, absl::Time now, int limit) = 0;

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

  // Allowed reads since `since` (quotas) by a principal or, with `group`,
  // by everyone of that group.
  virtual absl::StatusOr<ReadCounts> CountReads(absl::string_view who,
                                                bool group,
                                                absl::Time since) = 0;
  // Allowed calls of `action` since `since`, likewise.
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

  // --- Small settings that are not secret (a passphrase salt). ---
  // NOT_FOUND when unset.
  virtual absl::StatusOr<std::string> GetMeta(absl::string_view key) = 0;
  virtual absl::Status PutMeta(absl::string_view key,
                               absl::string_view value) = 0;

  // --- Key-encryption keys (wrapped by the master key). ---
  virtual absl::StatusOr<std::vector<KekRow>> Keks() = 0;
  // Stores a new KEK version with its audit entry, in one transaction. The
  // first KEK is made with the vault and has no entry: the log starts empty.
  virtual absl::Status PutKek(const KekRow& kek,
                              std::optional<v1::AuditEntry> audit) = 0;
  // Deletes a KEK version with its audit entry, in one transaction;
  // FAILED_PRECONDITION while any item still uses it.
  virtual absl::Status DestroyKek(uint32_t version, v1::AuditEntry audit) = 0;
  // Items per KEK version.
  virtual absl::StatusOr<std::vector<std::pair<uint32_t, uint64_t>>>
  ItemsPerKeyVersion() = 0;
  virtual absl::StatusOr<std::vector<RewrapCandidate>> ItemsToRewrap(
      uint32_t below_version, int limit) = 0;
  // Applies re-wrapped keys in one transaction; an item purged or already
  // re-wrapped meanwhile is skipped. Returns how many were updated.
  virtual absl::StatusOr<uint64_t> UpdateWrappedKeys(
      const std::vector<Rewrapped>& keys) = 0;

  // --- Retention. ---
  // The earliest deadline among items not on hold; InfiniteFuture if none.
  virtual absl::StatusOr<absl::Time> NextDeadline() = 0;
  // Deletes up to `limit` items past their deadline (`now`) and not on hold,
  // their blind-index entries, and records left empty; appends one entry per
  // item built from `purge_template`. One transaction.
  virtual absl::StatusOr<PurgeResult> PurgeExpired(
      absl::Time now, int limit, const v1::AuditEntry& purge_template) = 0;
  // Copies the WAL into the database and truncates it, so pages that held
  // purged data do not linger in the WAL.
  virtual absl::Status CompactWal() = 0;
  virtual absl::StatusOr<std::vector<CategoryRetentionRow>> RetentionCounts(
      absl::Time now) = 0;

  // --- Legal holds. ---
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

  // --- Alerts for compliance officers. ---
  virtual absl::Status PutAlert(const AlertRow& alert) = 0;
  virtual absl::StatusOr<std::vector<AlertRow>> Alerts(
      bool include_acknowledged) = 0;
  // NOT_FOUND for an unknown alert.
  virtual absl::StatusOr<AlertRow> AcknowledgeAlert(absl::string_view alert_id,
                                                    absl::string_view by) = 0;

  // --- What the API enforces: lockouts, refusals, canaries. ---
  // Stores the lockout and its audit entry together; ALREADY_EXISTS (and
  // nothing written) when the principal is already locked out.
  virtual absl::Status PutLockout(const LockoutRow& lockout,
                                  v1::AuditEntry audit) = 0;
  virtual absl::StatusOr<std::vector<LockoutRow>> Lockouts() = 0;
  // Deletes the lockout with its audit entry; NOT_FOUND when there is none.
  virtual absl::Status DeleteLockout(absl::string_view principal,
                                     v1::AuditEntry audit) = 0;
  // Refusals of `principal` logged since `since` that count towards
  // `counted` (see v1::RefusalCount).
  virtual absl::StatusOr<uint32_t> CountRefusals(absl::string_view principal,
                                                 v1::RefusalCount counted,
                                                 absl::Time since) = 0;
  virtual absl::StatusOr<bool> HasCanaryMark(absl::string_view mark) = 0;

  // --- Contract versions proposed over the API. ---
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

struct SqliteOptions {
  // A registered SQLite VFS; empty for the default. Tests use one that runs
  // out of space on demand.
  std::string vfs;
};

// Opens (creating if needed) a SQLite vault file in WAL mode with
// synchronous=FULL and secure_delete=ON, migrating its schema forward.
absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(
    const std::string& path, const SqliteOptions& options = {});

}  // namespace lanevault::vault

#endif  // LANEVAULT_VAULT_STORE_H_
