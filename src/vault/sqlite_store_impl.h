#ifndef LANEVAULT_VAULT_SQLITE_STORE_IMPL_H_
#define LANEVAULT_VAULT_SQLITE_STORE_IMPL_H_

// The SQLite store's class, shared by the files that implement it: records
// and the access log (sqlite_store.cc), retention, holds, keys and alerts
// (sqlite_store_retention.cc), keys (sqlite_store_keys.cc), backups
// (sqlite_store_backup.cc), what the API
// enforces and contract proposals (sqlite_store_access.cc), and the schema
// (sqlite_schema.cc).

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"
#include "tlog/merkle.h"
#include "vault/sqlite.h"
#include "vault/sqlite_checkpointer.h"
#include "vault/sqlite_readers.h"
#include "vault/sqlite_store.h"
#include "vault/store.h"

namespace lanevault::vault {

// Steps `q` to completion, parsing its first column as an access-log entry
// of each row; DATA_LOSS for one that does not parse.
absl::StatusOr<std::vector<v1::AuditEntry>> ReadEntries(Statement& q);

// Applies the schema migrations the database has not seen yet, each in a
// transaction of its own that first reads the version again under the
// write lock (another process may have migrated meanwhile). Returns how
// many steps this call ran.
absl::StatusOr<int64_t> MigrateSchema(Database& db);

// An item's plate blind indexes as its row keeps them (schema step 12): how
// many there are, then for each non-empty one its rank (1-based), its
// length and its bytes. Empty when there are none. INVALID_ARGUMENT past
// 255 readings or 255 bytes.
absl::StatusOr<std::string> PackPlateBlinds(
    const std::vector<std::string>& blinds);
struct RankedBlind {
  int64_t rank;
  std::string blind;
};
// DATA_LOSS when `packed` is cut anywhere (the count tells a cut at an
// entry's end too) or has bytes past its last entry.
absl::StatusOr<std::vector<RankedBlind>> UnpackPlateBlinds(
    absl::string_view packed);

// Entries per block of the log's time spans (audit_blocks, schema step 19,
// whose migration says 4096 too).
inline constexpr uint64_t kAuditBlockEntries = 4096;

// A principal's (or a group's) allowed reads (and distinct records read)
// and calls of one action since a time: the quota counts the policy asks
// on every read, lookup and search. Their indexes are keyed by what they
// ask (schema step 17), so a count seeks to the allowed calls of one
// action in the window and reads the index alone. "action != 1" (not an
// intake) is audit_by_principal's own condition (step 15) and "grp != ''"
// audit_by_group's: SQLite uses a partial index only for a query that
// states its condition, and a count that stopped stating it fails to
// prepare instead of walking the log. Intakes are never counted here.
inline constexpr char kCountReadsByPrincipal[] =
    "SELECT COUNT(*), COUNT(DISTINCT record_id) FROM audit_log "
    "INDEXED BY audit_by_principal "
    "WHERE principal = ? AND action != 1 AND time_us >= ? AND verdict = ? "
    "AND action IN (?, ?)";
inline constexpr char kCountCallsByPrincipal[] =
    "SELECT COUNT(*) FROM audit_log INDEXED BY audit_by_principal "
    "WHERE principal = ? AND action != 1 AND time_us >= ? AND verdict = ? "
    "AND action = ?";
inline constexpr char kCountReadsByGroup[] =
    "SELECT COUNT(*), COUNT(DISTINCT record_id) FROM audit_log "
    "INDEXED BY audit_by_group "
    "WHERE grp = ? AND grp != '' AND time_us >= ? AND verdict = ? "
    "AND action IN (?, ?)";
inline constexpr char kCountCallsByGroup[] =
    "SELECT COUNT(*) FROM audit_log INDEXED BY audit_by_group "
    "WHERE grp = ? AND grp != '' AND time_us >= ? AND verdict = ? "
    "AND action = ?";
static_assert(v1::ACTION_INTAKE == 1,
              "audit_by_principal and audit_by_record leave out 1");

// A record's own history: whether it was purged, read by a caller (or its
// group) since a time, and which categories a caller learned of it; and
// the entries about key-encryption keys (record ids "kek:<version>"). All
// are served by audit_by_record, which since schema step 16 leaves intake
// entries out ("action != 1", stated in each for SQLite to use it), and
// none asks for an intake. Each names the index: on the quota indexes
// (a principal's or a group's entries since a time, partial too) SQLite
// would otherwise plan them by its guesses, over a caller's thousands of
// entries instead of a record's few, and a query that stopped stating the
// index's condition fails to prepare instead of scanning the log.
inline constexpr char kWasPurged[] =
    "SELECT 1 FROM audit_log INDEXED BY audit_by_record "
    "WHERE record_id = ? AND action != 1 AND action = ? LIMIT 1";
inline constexpr char kReadRecordSinceByGroup[] =
    "SELECT 1 FROM audit_log INDEXED BY audit_by_record "
    "WHERE record_id = ? AND action != 1 AND grp = ? AND grp != '' "
    "AND time_us >= ? AND verdict = ? AND action IN (?, ?) LIMIT 1";
inline constexpr char kReadRecordSinceByPrincipal[] =
    "SELECT 1 FROM audit_log INDEXED BY audit_by_record "
    "WHERE record_id = ? AND action != 1 AND principal = ? "
    "AND time_us >= ? AND verdict = ? AND action IN (?, ?) LIMIT 1";
// What was handed over (reads) and what was revealed (lookups naming the
// record): both are what the caller learned of it.
inline constexpr char kCategoriesReadByGroup[] =
    "SELECT entry FROM audit_log INDEXED BY audit_by_record "
    "WHERE record_id = ?1 AND action != 1 AND grp = ?2 AND verdict = ?3 "
    "UNION ALL SELECT a.entry FROM audit_reveals r JOIN audit_log a "
    "ON a.sequence = r.sequence WHERE r.record_id = ?1 AND r.grp = ?2";
inline constexpr char kCategoriesReadByPrincipal[] =
    "SELECT entry FROM audit_log INDEXED BY audit_by_record "
    "WHERE record_id = ?1 AND action != 1 AND principal = ?2 "
    "AND verdict = ?3 "
    "UNION ALL SELECT a.entry FROM audit_reveals r JOIN audit_log a "
    "ON a.sequence = r.sequence WHERE r.record_id = ?1 AND r.principal = ?2";
// A range on record_id, so the record index finds them among millions of
// entries ("kek;" is the first id after every "kek:...").
inline constexpr char kKekEntries[] =
    "SELECT entry FROM audit_log INDEXED BY audit_by_record "
    "WHERE record_id >= 'kek:' AND record_id < 'kek;' AND action != 1 "
    "AND sequence >= ? AND time_us >= ? AND time_us < ? "
    "ORDER BY sequence LIMIT ?";

class SqliteStore final : public Store {
 public:
  // How many read-only connections serve the reads callers wait on: two
  // cores here, and a read spends part of its time outside SQLite.
  static constexpr int kReadConnections = 4;

  // `db` is the writer's connection to `path`, opened through `vfs`.
  SqliteStore(Database db, std::string path, std::string vfs)
      : damage_(db.damage()),
        path_(std::move(path)),
        vfs_(std::move(vfs)),
        db_(std::move(db)) {}

  // The checkpointer and the readers close first: the writer's connection,
  // closing last, checkpoints the WAL into the file and removes it.
  ~SqliteStore() override {
    checkpointer_.reset();
    readers_.reset();
  }

  absl::Status Init();

  // Rows stepped through whole-table scans by this store's statements, on
  // every connection (DamageLatch::full_scan_steps).
  int64_t FullScanStepsForTesting() const { return damage_->full_scan_steps(); }
  // The instructions its statements ran (DamageLatch::vm_steps).
  int64_t VmStepsForTesting() const { return damage_->vm_steps(); }

  // Runs `hook` inside every later intake or access-log commit, just before
  // its COMMIT, with the writer's lock held: tests hold a commit open with
  // it to show what a reader sees meanwhile.
  void SetBeforeCommitForTesting(std::function<void()> hook);

  // Store.
  absl::Status Health() override { return damage_->Check(); }
  absl::Status WriteHealth() override { return damage_->WriteHealth(); }
  absl::Status CheckIntegrity(bool full) override;
  absl::Status Compact() override;
  absl::StatusOr<BackupCopy> BackupTo(const std::string& dest) override;

  // RecordStore.
  std::vector<absl::Status> PutRecords(std::vector<IntakeRow>& rows) override;
  absl::StatusOr<bool> WasPurged(absl::string_view record_id) override;
  absl::StatusOr<std::string> SubmissionDigest(
      absl::string_view record_id) override;
  absl::Status PutUnkept(absl::string_view record_id, absl::string_view digest,
                         v1::AuditEntry audit) override;
  absl::StatusOr<std::vector<std::string>> FindPlate(
      const PlateIndexValues& plate, absl::Time now, int limit) override;
  absl::StatusOr<StoredRecord> GetRecord(absl::string_view record_id) override;
  absl::StatusOr<std::vector<v1::RecordSummary>> FindRecords(
      const RecordQuery& query) override;
  absl::StatusOr<uint64_t> CountRecords() override;
  absl::StatusOr<bool> HasCanaryMark(absl::string_view record_id,
                                     absl::string_view mark) override;
  absl::StatusOr<absl::Time> NextDeadline() override;
  absl::StatusOr<absl::Time> LastDeadline() override;
  absl::StatusOr<PurgeResult> PurgeExpired(
      absl::Time now, int limit, const v1::AuditEntry& purge_template) override;
  absl::StatusOr<std::vector<CategoryRetentionRow>> RetentionCounts(
      absl::Time now) override;

  // AccessLogStore.
  absl::StatusOr<uint64_t> AppendAuditBatch(
      std::vector<v1::AuditEntry> entries) override;
  void SetLogListener(LogListener listener) override;
  absl::StatusOr<std::vector<std::string>> AuditLeafData(uint64_t start,
                                                         uint64_t end) override;
  uint64_t AuditSize() override;
  absl::StatusOr<std::string> AuditSubtree(int level, uint64_t index) override;
  absl::StatusOr<AuditPage> QueryAudit(const AuditQuery& query) override;
  absl::StatusOr<std::vector<v1::AuditEntry>> QueryKekEntries(
      absl::Time since, absl::Time until, uint64_t start_sequence,
      int limit) override;
  absl::StatusOr<ReadCounts> CountReads(absl::string_view who, bool group,
                                        absl::Time since) override;
  absl::StatusOr<uint32_t> CountCalls(absl::string_view who, bool group,
                                      v1::Action action,
                                      absl::Time since) override;
  absl::StatusOr<bool> ReadRecordSince(absl::string_view who, bool group,
                                       absl::string_view record_id,
                                       absl::Time since) override;
  absl::StatusOr<std::vector<v1::DataCategory>> CategoriesRead(
      absl::string_view who, bool group, absl::string_view record_id) override;
  absl::StatusOr<uint32_t> CountRefusals(absl::string_view principal,
                                         v1::RefusalCount counted,
                                         absl::Time since) override;
  absl::Status PutCheckpoint(const StoredCheckpoint& checkpoint) override;
  absl::StatusOr<StoredCheckpoint> LatestCheckpoint() override;

  // KeyStore.
  absl::StatusOr<std::string> GetMeta(absl::string_view key) override;
  absl::Status PutMeta(absl::string_view key, absl::string_view value) override;
  absl::StatusOr<std::vector<KekRow>> Keks() override;
  absl::Status DestroyKek(uint32_t version, absl::Time from, absl::Time to,
                          v1::AuditEntry audit) override;
  absl::Status DeleteLegacyKeks() override;
  absl::StatusOr<std::vector<std::pair<uint32_t, uint64_t>>>
  ItemsPerKeyVersion() override;
  absl::StatusOr<std::vector<RewrapCandidate>> ItemsToRewrap(
      uint32_t below_version, int limit) override;
  absl::StatusOr<uint64_t> UpdateWrappedKeys(
      const std::vector<Rewrapped>& keys) override;

  // OversightStore.
  absl::Status PutHold(const HoldRow& hold, v1::AuditEntry audit) override;
  absl::StatusOr<HoldRow> LiftHold(absl::string_view hold_id,
                                   absl::string_view lifted_by,
                                   absl::Time lifted, absl::string_view reason,
                                   v1::AuditEntry audit) override;
  absl::StatusOr<std::vector<HoldRow>> Holds(bool include_lifted) override;
  absl::StatusOr<std::vector<std::string>> HoldCases(
      absl::string_view record_id) override;
  absl::Status PutAlert(const AlertRow& alert) override;
  absl::StatusOr<std::vector<AlertRow>> Alerts(
      bool include_acknowledged) override;
  absl::StatusOr<AlertRow> AcknowledgeAlert(absl::string_view alert_id,
                                            absl::string_view by) override;
  absl::Status PutLockout(const LockoutRow& lockout,
                          v1::AuditEntry audit) override;
  absl::StatusOr<std::vector<LockoutRow>> Lockouts() override;
  absl::Status DeleteLockout(absl::string_view principal,
                             v1::AuditEntry audit) override;

  // ContractStore.
  absl::Status PutContractVersion(const ContractVersionRow& row) override;
  absl::StatusOr<std::vector<ContractVersionRow>> ContractVersions() override;
  absl::Status PutProposal(const ProposalRow& proposal,
                           v1::AuditEntry audit) override;
  absl::StatusOr<ProposalRow> GetProposal(uint64_t version) override;
  absl::StatusOr<std::vector<ProposalRow>> Proposals() override;
  absl::Status ActivateProposal(const ProposalRow& proposal,
                                const ContractVersionRow& version,
                                v1::AuditEntry audit) override;

 private:
  absl::Status InsertRecordLocked(const StoredRecord& record)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The row id the next item takes: a record's items are a range of them,
  // kept in its row (schema step 14).
  absl::StatusOr<int64_t> NextItemRowidLocked()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Runs `body` and appends `audit` in one transaction.
  absl::Status WithAuditLocked(v1::AuditEntry audit,
                               absl::FunctionRef<absl::Status()> body)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::vector<std::string>> HoldRecordsLocked(
      absl::string_view hold_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static absl::Status WithRecord(const absl::Status& s,
                                 absl::string_view record_id);

  // Rebuilds the tree's right edge from the stored peaks: one perfect
  // subtree per set bit of the size, largest first.
  absl::Status LoadTreeEdge() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Takes a committed range as the tree and tells the listener.
  void AdoptEdgeLocked(tlog::CompactRange edge)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::StatusOr<std::string> ReadNodeLocked(int level, uint64_t index)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Appends inside the caller's transaction, extending `edge`; the caller
  // adopts `edge` only once the transaction has committed.
  absl::StatusOr<uint64_t> AppendLocked(v1::AuditEntry entry,
                                        tlog::CompactRange& edge)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  void BeforeCommitLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Copies the whole WAL into the file and empties it (after the
  // checkpointer's copy under way, if any, which would make it BUSY).
  absl::Status TruncateWalLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Its own lock: Health() answers while a statement runs.
  const std::shared_ptr<DamageLatch> damage_;
  const std::string path_;
  const std::string vfs_;
  // The pure reads a caller waits on; everything else, and every read
  // inside a write, goes through the writer's connection `db_`. Set once
  // by Init, before the store is shared.
  std::unique_ptr<SqliteReaders> readers_;
  // Set once by Init; hooks db_'s commits.
  std::unique_ptr<WalCheckpointer> checkpointer_;
  absl::Mutex mu_;
  Database db_ ABSL_GUARDED_BY(mu_);
  tlog::CompactRange edge_ ABSL_GUARDED_BY(mu_);  // committed tree only
  LogListener log_listener_ ABSL_GUARDED_BY(mu_);
  std::function<void()> before_commit_for_testing_ ABSL_GUARDED_BY(mu_);
};

}  // namespace lanevault::vault

#endif  // LANEVAULT_VAULT_SQLITE_STORE_IMPL_H_
