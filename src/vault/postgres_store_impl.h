#ifndef LANEVAULT_VAULT_POSTGRES_STORE_IMPL_H_
#define LANEVAULT_VAULT_POSTGRES_STORE_IMPL_H_

// The PostgreSQL store's class, shared by the files that implement it:
// records and the access log (postgres_store.cc), retention, holds and
// alerts (postgres_store_retention.cc), keys, lockouts, contracts and the
// SQLite-shaped maintenance calls (postgres_store_more.cc), and the schema
// (postgres_schema.cc).
//
// One connection, serialised by mu_ like the SQLite store's. Appends to the
// access log are serialised by the database besides: each appending
// transaction locks the log_head row first, and when the size there is not
// the size this process last committed (another writer), it reloads the
// tree's edge from the stored nodes before appending. So several processes
// on one database keep one log, never a fork.

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"
#include "tlog/merkle.h"
#include "vault/postgres.h"
#include "vault/postgres_store.h"
#include "vault/store.h"

namespace lanevault::vault {

// Advisory lock classes (the second key is hashtext(current_schema()), so
// vaults in different schemas of one database do not meet).
inline constexpr int kOwnerLockClass = 0x4c560001;
inline constexpr int kMigrationLockClass = 0x4c560002;
// The replica role (postgres_role.h): checkpoints, retention, re-wrapping.
inline constexpr int kRoleLockClass = 0x4c560003;
// Quota decisions across replicas (wiring/quota_ledger.h).
inline constexpr int kQuotaLockClass = 0x4c560004;

// Applies the schema migrations the database has not seen yet.
absl::Status MigratePostgresSchema(pg::Connection& db);

class PostgresStore final : public Store {
 public:
  PostgresStore(pg::Connection db, PostgresOptions options)
      : options_(std::move(options)), db_(std::move(db)) {}
  ~PostgresStore() override;

  absl::Status Init();

  // Store.
  absl::Status Health() override;
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
  // Reconnects a lost connection, setting the session up again (and
  // taking the owner lock back: when another process has it, the store
  // stops serving).
  absl::Status ReadyLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status SessionSetupLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<pg::Result> ExecLocked(absl::string_view sql,
                                        const pg::Params& params = {})
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // BEGIN, and the log head's row lock with the edge it stands for: the
  // committed tree, reloaded when another writer grew it.
  absl::StatusOr<tlog::CompactRange> BeginAppendLocked()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Writes the head's new size and commits; adopts `edge` on success. On
  // failure rolls back.
  absl::Status CommitAppendLocked(tlog::CompactRange edge)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RollbackLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Status InsertRecordLocked(const StoredRecord& record)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Of the KEK versions `rows` were sealed under, those the key registry
  // marks destroyed (key_registry.h).
  absl::StatusOr<absl::flat_hash_set<uint32_t>> DestroyedKeksLocked(
      const std::vector<IntakeRow>& rows) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Runs `body` and appends `audit` in one transaction.
  absl::Status WithAuditLocked(v1::AuditEntry audit,
                               absl::FunctionRef<absl::Status()> body)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::vector<std::string>> HoldRecordsLocked(
      absl::string_view hold_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::vector<v1::AuditEntry>> EntriesLocked(
      absl::string_view sql, const pg::Params& params)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // The tree's right edge for `size` leaves, from the stored peaks.
  absl::StatusOr<tlog::CompactRange> LoadEdgeLocked(uint64_t size)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AdoptEdgeLocked(tlog::CompactRange edge)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::string> ReadNodeLocked(int level, uint64_t index)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<uint64_t> AppendLocked(v1::AuditEntry entry,
                                        tlog::CompactRange& edge)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const PostgresOptions options_;
  // Tripped when the owner lock is lost to another process: its own lock,
  // so Health() answers while a statement runs.
  mutable absl::Mutex damage_mu_;
  std::string damage_ ABSL_GUARDED_BY(damage_mu_);
  absl::Mutex mu_;
  pg::Connection db_ ABSL_GUARDED_BY(mu_);
  tlog::CompactRange edge_ ABSL_GUARDED_BY(mu_);  // committed tree only
  LogListener log_listener_ ABSL_GUARDED_BY(mu_);
};

}  // namespace lanevault::vault

#endif  // LANEVAULT_VAULT_POSTGRES_STORE_IMPL_H_
