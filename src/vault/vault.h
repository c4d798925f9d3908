#ifndef LANEVAULT_VAULT_VAULT_H_
#define LANEVAULT_VAULT_VAULT_H_

// The vault module's public surface: seal and store what the policy kept,
// open one record for one allowed reader, and write every decision to the
// access log first. Thread-safe.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "common/file_lock.h"
#include "crypto/blind_index.h"
#include "crypto/handles.h"
#include "crypto/key_ring.h"
#include "crypto/master_key.h"
#include "crypto/sealed_box.h"
#include "crypto/secure_bytes.h"
#include "crypto/signing.h"
#include "lanevault/v1/audit.pb.h"
#include "lanevault/v1/types.pb.h"
#include "vault/access_log.h"
#include "vault/contracts.h"
#include "vault/group_commit.h"
#include "vault/kek_store.h"
#include "vault/key_registry.h"
#include "vault/log_anchor.h"
#include "vault/oversight.h"
#include "vault/period_keys.h"
#include "vault/postgres_store.h"
#include "vault/replica_role.h"
#include "vault/sqlite_store.h"
#include "vault/store.h"

namespace lanevault::vault {

class Maintainer;

struct VaultOptions {
  std::string database;  // SQLite file; created if missing
  // The master key: a 0600 file of 32 bytes, or (when `passphrase` is set) a
  // passphrase stretched with Argon2id under a salt kept in the vault.
  std::string master_key_file;
  const crypto::SecureBytes* passphrase = nullptr;
  crypto::PassphraseParams passphrase_params;
  // The master key itself (32 bytes), when the caller already holds it (an
  // unsealed daemon): neither file nor passphrase is used. Not kept.
  const crypto::SecureBytes* master_key = nullptr;
  SqliteOptions sqlite;
  // The vault on PostgreSQL instead of the SQLite file, when its conninfo
  // is set: `database` is then unused (no file, no file lock: the store
  // holds an owner lock in the database) and `key_store` must be set.
  PostgresOptions postgres;
  Clock* clock = RealClock();
  // The access log's name: first line of every checkpoint and the name of
  // its signing key.
  std::string log_origin = "lanevault.dev/audit";
  // The key store (see kek_store.h): the KEKs of every retention period and
  // the access log's signing seed, apart from the database so that a copy
  // of the database never holds a key. Empty: "<database>.keys".
  std::string key_store;
  // Where the log anchor lives (see log_anchor.h), outside the database, so
  // a rolled-back, truncated or rewritten database is refused at start.
  // Empty: no anchor (tests of other things, tools).
  std::string state_dir;
  // The structural check run at start: SQLite's quick_check (the default),
  // the slower integrity_check, or none.
  enum class IntegrityCheck { kQuick, kFull, kOff };
  IntegrityCheck integrity_check = IntegrityCheck::kQuick;
  // Serve a database older than the anchor (a restore made on purpose)
  // instead of refusing it: logged, with a critical alert, and re-anchored.
  bool accept_rollback = false;
  // Replicas on PostgreSQL, each with its own key store (key_registry.h):
  // how this replica hands KEKs and the log's seed to its peers and fetches
  // them (not owned; null: it cannot, and makes no KEK while another
  // replica is alive), and the address and principal it announces to them
  // (empty address: none; it is then no peer of the others).
  KeyPeers* key_peers = nullptr;
  ReplicaPeer replica;
  // How long a new replica waits at start for a peer to hand over the
  // access log's signing seed.
  absl::Duration log_seed_wait = absl::Seconds(30);
  // Open only to derive the public keys (the log's verifier key, the
  // intake key), beside a daemon that owns the vault: no lock, no checks,
  // nothing written but a new vault's passphrase salt. Nothing else may be
  // called on such a vault.
  bool keys_only = false;
};

// The bytes an item's encryption is bound to: record id, item id, category,
// contract id and version, and deadline. Exposed for tests that move
// ciphertext around on purpose.
std::string ItemAssociatedData(absl::string_view record_id,
                               absl::string_view item_id,
                               v1::DataCategory category,
                               absl::string_view contract_id,
                               uint64_t contract_version, absl::Time deadline);

// A NOT_FOUND for a record or items that existed and are gone (past their
// deadline, purged): the same answer as an unknown id, but not the asker's
// doing.
absl::Status GoneError(absl::string_view message);
bool IsGone(const absl::Status& status);
// An UNAVAILABLE because the disk holding the vault is full.
bool IsDiskFull(const absl::Status& status);

// What a "key_destroyed" access-log entry says, read back from it (the
// destruction report is the log's, so an auditor can prove each entry).
struct KeyDestruction {
  uint32_t version = 0;
  std::string retention_period;  // "2027-01-15", or "none"
  uint32_t generation = 0;
  bool rotated = false;  // else its period ended
};
std::optional<KeyDestruction> ParseKeyDestruction(const v1::AuditEntry& entry);

class Vault {
 public:
  static absl::StatusOr<std::unique_ptr<Vault>> Open(const VaultOptions& opts);

  Vault(const Vault&) = delete;
  Vault& operator=(const Vault&) = delete;

  // Seals every item of `record` (each must carry its deadline) and stores
  // them with `audit` in one transaction. Returns only after the commit: an
  // OK return is the acknowledgement. INVALID_ARGUMENT for a record without
  // id, lane, items or deadlines, or whose record or item id is taken by
  // another record. `submission_digest` (see SubmissionDigest) marks a
  // capture node's submission: when the record id is already stored from
  // the same submission, ALREADY_EXISTS says it was acknowledged before.
  // Otherwise the store's errors: UNAVAILABLE (retry) when the disk is full
  // or failing.
  absl::Status Intake(const v1::Record& record, v1::AuditEntry audit,
                      absl::string_view submission_digest = "");
  // The keyed digest of what a capture node submitted (the opened box).
  std::string SubmissionDigest(absl::string_view submission) const;
  // Logs a submission of which the policy kept nothing. With a digest, its
  // id is remembered as a stored record's is: ALREADY_EXISTS for the same
  // submission again, INVALID_ARGUMENT for other content under the id.
  absl::Status LogUnkept(absl::string_view record_id,
                         absl::string_view submission_digest,
                         v1::AuditEntry audit);

  // OK while the vault can serve; UNAVAILABLE naming the damage once it
  // has found its database damaged (it then refuses everything).
  absl::Status Health();
  // OK unless the disk refused the vault's last write and nothing has
  // committed since (a full or read-only disk): UNAVAILABLE naming it.
  // Records and access-log entries share the database, so this is also
  // whether the access log can be appended.
  absl::Status WriteHealth();

  // Stores a decoy exactly like a record taken in, marked (by a keyed hash
  // of its id, so the file does not tell) as a canary: IsCanary names it.
  absl::Status PlantCanary(const v1::Record& decoy, v1::AuditEntry audit);
  absl::StatusOr<bool> IsCanary(absl::string_view record_id);

  // The key capture nodes seal crossings to (see IntakeKey).
  const crypto::IntakeKey& intake_key() const { return intake_key_; }
  // The key that signs evidence answers' receipts (src/receipt), derived
  // from the master key; its public half is published by GetPublicKey. The
  // receipts name the vault by log().origin().
  const crypto::SigningKey& receipt_key() const { return receipt_key_; }
  // The key of purpose-scoped handles (crypto/handles.h).
  const crypto::HandleKey& handles() const { return handles_; }
  // The key of the watermark every returned image carries (32 bytes;
  // src/watermark), derived from the master key.
  absl::string_view watermark_key() const { return watermark_key_.view(); }
  // A record id for a resubmission-safe intake: the same submitter, lane
  // and key give the same id, which the store refuses twice.
  std::string IdempotentRecordId(absl::string_view submitter,
                                 absl::string_view lane_id,
                                 absl::string_view idempotency_key) const;

  // What may be known of a record without opening it: lane, times, contract,
  // and the categories of its items that are not past their deadline (or,
  // for `case_id`, past it but kept by a legal hold for that case).
  // NOT_FOUND for an unknown id (an expired record looks like a missing one).
  // With `item_id`, only that item's category (NOT_FOUND without it).
  // `principal` is who asked, named by a damage alert. `fetched`, when
  // given, receives the record as this fetched it (its items sealed:
  // nothing in it is plaintext), for the Read that follows to open instead
  // of fetching the record a second time.
  absl::StatusOr<v1::RecordSummary> Describe(
      absl::string_view record_id, absl::string_view case_id = "",
      absl::string_view item_id = "", absl::string_view principal = "system",
      std::optional<StoredRecord>* fetched = nullptr);

  // Writes `audit` to the access log, then opens the record's unexpired items
  // of the given categories (all when empty). An item past its deadline is
  // never opened, swept or not, unless a legal hold in force keeps it for
  // the case named in `audit`. If the log cannot be written nothing is
  // opened (UNAVAILABLE). DATA_LOSS names the record when a row or a
  // ciphertext is damaged, and raises a critical alert. The returned record
  // is plaintext: the caller hands it to one reader and lets it go. With
  // `item_id`, only that item is opened. `withheld`, when given, receives
  // the ids of unexpired items left out for their category; `logged_as`
  // the sequence number of the read's entry (which its answer's watermarks
  // and receipt name). `fetched`: the record as Describe fetched it for
  // this call's decision (the same id), opened instead of fetched again.
  // It was fetched before the entry was logged, as Read's own fetch is;
  // deadlines and holds are judged when the items are opened, after the
  // log, either way, and an item re-wrapped since is fetched again.
  absl::StatusOr<v1::Record> Read(
      absl::string_view record_id,
      const std::vector<v1::DataCategory>& categories, v1::AuditEntry audit,
      absl::string_view item_id = "",
      std::vector<std::string>* withheld = nullptr,
      uint64_t* logged_as = nullptr,
      std::optional<StoredRecord> fetched = std::nullopt);

  // Exact-plate lookup through the blind index: the ids of at most `limit`
  // records holding an unexpired plate-text item with this plate among its
  // readings, those that read it best first (the top reading, then the
  // second, ...; records alike by id), returned
  // only once `audit` is logged with the lookup's blind-index value (never
  // the text) and the ids it reveals.
  // `admit` may withhold found records before the answer is logged (and
  // say so in the entry it is given).
  // `logged_as`, when given, receives the sequence number of the entry.
  absl::StatusOr<std::vector<std::string>> LookupPlate(
      absl::string_view plate, int limit, v1::AuditEntry audit,
      absl::FunctionRef<std::vector<std::string>(std::vector<std::string>,
                                                 v1::AuditEntry&)>
          admit =
              [](std::vector<std::string> ids, v1::AuditEntry&) { return ids; },
      uint64_t* logged_as = nullptr);
  // The blind-index value of a plate (what LookupPlate logs).
  std::string PlateBlindIndex(absl::string_view plate) const;
  // The value a plate text item with this deadline, taken in at `taken`, is
  // indexed under in the store: under the hour of its deadline when that is
  // at most kHourIndexedWithin after `taken`, else under its UTC day. A
  // plate's rows of different cells hold unrelated values, so a copy of the
  // database does not link a vehicle's crossings across hours (or days).
  std::string PlateIndexOf(absl::string_view plate, absl::Time deadline,
                           absl::Time taken) const;
  static constexpr int64_t kHourIndexedDays = 100;
  static constexpr absl::Duration kHourIndexedWithin =
      absl::Hours(24 * kHourIndexedDays);
  // A lookup asks for a plate's value of each cell from now to the last
  // deadline kept; it refuses to ask for more days than this (about 27
  // years), far past any retention a contract may set.
  static constexpr int64_t kMaxLookupDays = 10000;

  // --- Retention (see also Maintainer). ---
  // Purges, in batches, every item past its deadline and not on hold, one
  // access-log entry per item, then truncates the WAL.
  absl::StatusOr<PurgeResult> SweepExpired();
  // The next deadline the sweeper must act on (InfiniteFuture if none).
  absl::StatusOr<absl::Time> NextDeadline();
  absl::StatusOr<std::vector<CategoryRetentionRow>> RetentionReport();

  // --- Keys (see period_keys.h). ---
  // Starts a key generation: new KEKs, one per retention period, wrap every
  // new data key from now on; logged with `audit`. The Maintainer re-wraps
  // older data keys in the background. Returns the new generation.
  absl::StatusOr<uint32_t> RotateKeys(v1::AuditEntry audit);
  // Re-wraps up to `limit` data keys held by older generations; returns how
  // many. Then destroys what DestroyUnusedKeys destroys.
  absl::StatusOr<uint64_t> RewrapStep(int limit);
  // Destroys every KEK no data key uses whose retention period has ended
  // (or whose generation is past), each with an access-log entry
  // (reason_code "key_destroyed") written before the key store forgets it.
  // Returns how many.
  absl::StatusOr<uint64_t> DestroyUnusedKeys();
  // Every KEK a stored data key names must be in the key store: one that is
  // not (a key store edited, replaced by an older copy, or lost) leaves its
  // items unopenable, so each missing version raises a critical alert
  // naming how many items it held. Returns how many versions are missing.
  // The maintainer runs it once at its start: it reads every item row.
  absl::StatusOr<uint64_t> CheckKeysPresent();
  uint32_t CurrentKeyVersion() const { return periods_->generation(); }
  // The destruction report: "key_destroyed" entries the vault itself wrote
  // in [since, until), from `start_sequence`, a page of at most `limit`
  // entries looked at; `next_sequence` continues it (0: no more).
  struct DestroyedKeysPage {
    std::vector<v1::AuditEntry> entries;
    uint64_t next_sequence = 0;
  };
  absl::StatusOr<DestroyedKeysPage> DestroyedKeys(absl::Time since,
                                                  absl::Time until,
                                                  uint64_t start_sequence,
                                                  int limit);
  // The key store's file.
  const std::string& key_store_path() const { return key_store_->path(); }
  absl::StatusOr<std::vector<std::pair<uint32_t, uint64_t>>>
  ItemsPerKeyVersion();

  // --- Key hand-over between replicas (key_registry.h, src/replica). ---
  // Takes KEKs a peer replica hands over into this key store (durable on
  // return); PERMISSION_DENIED for one the master key does not open.
  absl::Status AcceptPeerKeks(const std::vector<StoredKek>& keks);
  // Those of `versions` this key store holds, as stored (wrapped).
  absl::StatusOr<std::vector<StoredKek>> HeldKeks(
      const std::vector<uint32_t>& versions);
  // The access log's signing seed as stored (wrapped by the master key).
  absl::StatusOr<std::string> WrappedLogSeed();
  // Announces this replica as alive and takes in what the others did:
  // KEKs it lacks are fetched, destroyed ones destroyed here. Run every
  // kPeerHeartbeatEvery by the hand-over service; OK on SQLite.
  absl::Status SyncReplicaKeys();
  // Withdraws this replica from the others' wait (a clean stop).
  absl::Status LeaveReplicas();
  // Tests only: runs once between an intake's sealing and its commit (the
  // rotation fence's test drives another replica's destruction there).
  void SetBeforeCommitForTesting(std::function<void()> hook) {
    before_commit_for_testing_ = std::move(hook);
  }

  // --- Backup (vault_backup.cc; see the README's runbook). ---
  // Signs a checkpoint, copies the database online into a new file `dest`
  // (see Store::BackupTo), and logs the backup with `audit` (its detail
  // then names the file, its size and its tree head). The copy holds
  // ciphertext, wrapped data keys and the log, never a key: a backup alone
  // opens nothing.
  absl::StatusOr<BackupCopy> Backup(const std::string& dest,
                                    v1::AuditEntry audit);

  // Starts the background maintainer (retention sweeps at each deadline,
  // key re-wrapping). It catches up on everything overdue first. Stopped by
  // StopMaintenance or the destructor.
  void StartMaintenance();
  void StopMaintenance();

  absl::StatusOr<std::vector<v1::RecordSummary>> Find(const RecordQuery& q);
  absl::StatusOr<uint64_t> RecordCount();

  // The access log: appends, proofs, checkpoints, a principal's history.
  AccessLog& log() { return log_; }
  // Legal holds, alerts, lockouts and refusals.
  Oversight& oversight() { return oversight_; }
  // Contract versions in force and proposed.
  Contracts& contracts() { return contracts_; }

  Clock* clock() const { return clock_; }

  // Whether this process does the duties one replica does at a time
  // (signing checkpoints, retention, key re-wrapping): always on SQLite;
  // on PostgreSQL, while it holds the replica role (replica_role.h).
  bool HoldsReplicaRole();
  // Whether other processes may serve this vault at the same time (it is
  // on PostgreSQL): what they change is not announced to this one.
  bool Replicated() const { return replicated_; }
  // Held by a replica while it decides and logs calls a quota counts, so
  // replicas count each other's calls exactly (wiring/quota_ledger.h).
  // Null when the vault has no other replica.
  ReplicaMutex* quota_mutex() { return quota_mutex_.get(); }

  ~Vault();

 private:
  Vault(std::unique_ptr<Store> store, std::unique_ptr<KekStore> key_store,
        crypto::MasterKey& master, crypto::SigningKey log_key,
        std::string origin, Clock* clock);
  absl::Status LoadKeys();
  // Compares the stored log with its newest signed checkpoint: the
  // signature must be the log key's (or `legacy_verifier`'s, once, for a
  // vault whose log key was just made) and the stored tree must still hash
  // to its root. FAILED_PRECONDITION with a critical alert otherwise.
  absl::Status CheckLastCheckpoint(absl::string_view legacy_verifier);
  // Compares the stored log with the newest signed head the key store
  // holds (authenticated with a key from the master key, so root cannot
  // write one): deleting the database's checkpoints does not hide a
  // rewrite. A shorter log is accepted only with `accept_rollback`.
  // Returns whether the key store had such a head; a key store the vault
  // was `opened_before` with must (every open leaves one).
  absl::StatusOr<bool> CheckSealedHead(bool accept_rollback,
                                       bool opened_before);
  // Keeps `head` in the key store as the newest signed one.
  void SealHead(const tlog::TreeHead& head);
  // Empty when the log's first `size` entries still hash to `root`;
  // otherwise what went wrong, saying `when` the head was taken.
  std::string Divergence(uint64_t size, absl::string_view root,
                         absl::string_view when);
  // Compares the stored log with the anchor, then keeps the anchor current.
  // `expected`: the vault kept an anchor before, so a missing one is a
  // problem, not a first start.
  absl::Status CheckAnchor(std::unique_ptr<LogAnchor> anchor,
                           bool accept_rollback, bool expected);
  absl::Status Commit(IntakeRow row);
  absl::Status Keep(const v1::Record& record, v1::AuditEntry audit, bool canary,
                    absl::string_view submission_digest = "");
  // One attempt of Keep: seal every item and commit the record.
  absl::Status SealAndCommit(const v1::Record& record, v1::AuditEntry audit,
                             bool canary, absl::string_view submission_digest);
  // OK when no submission used `record_id` before; otherwise what
  // ExplainIntakeFailure says of a taken id.
  absl::Status PriorSubmission(absl::string_view record_id,
                               absl::string_view submission_digest);
  // What a failed intake of `record_id` means for its caller.
  absl::Status ExplainIntakeFailure(const absl::Status& failure,
                                    absl::string_view record_id,
                                    absl::string_view submission_digest);
  void NoteDeadline(absl::Time deadline);
  absl::StatusOr<StoredRecord> Fetch(absl::string_view record_id,
                                     absl::string_view principal);
  // One critical alert per damaged record, naming who met the damage.
  void RaiseDamageAlert(absl::string_view record_id,
                        absl::string_view principal, absl::string_view message);
  // Whether a hold in force keeps the record's expired items for `case_id`
  // (false without a case or without expired items).
  absl::StatusOr<bool> HeldForCase(const StoredRecord& record,
                                   absl::string_view case_id, absl::Time now);
  void WakeMaintainer();
  v1::AuditEntry SystemEntry(v1::Action action) const;

  // Declared first, destroyed last: the lock outlives every use of the file.
  std::unique_ptr<FileLock> lock_;
  std::unique_ptr<LogAnchor> anchor_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<KekStore> key_store_;
  // On PostgreSQL only: what the replicas' key stores keep in step by.
  std::unique_ptr<KeyRegistry> key_registry_;
  KeyPeers* key_peers_ = nullptr;
  crypto::SigningKey log_key_;
  crypto::BlindIndex plates_;
  crypto::BlindIndex canary_marks_;
  crypto::BlindIndex idempotent_ids_;
  crypto::BlindIndex submissions_;
  // Authenticates the newest signed head kept in the key store.
  crypto::BlindIndex log_heads_;
  // Tags the log anchor's slots.
  crypto::BlindIndex anchor_key_;
  crypto::IntakeKey intake_key_;
  crypto::HandleKey handles_;
  crypto::SecureBytes watermark_key_;
  // Signs receipts. Before keys_, which takes the master key.
  crypto::SigningKey receipt_key_;
  crypto::KeyRing keys_;
  std::unique_ptr<PeriodKeys> periods_;
  Clock* clock_;

  GroupCommit<IntakeRow, absl::Status> intake_commits_;
  AccessLog log_;
  Oversight oversight_;
  Contracts contracts_;

  // The generation every data key was last found under (0: not yet
  // checked): spares the maintainer a scan of the items on every wake.
  std::atomic<uint32_t> rewrap_settled_at_{0};
  // One destruction pass at a time (the maintainer's and a caller's).
  absl::Mutex destroy_mu_;
  // Held shared by an intake from choosing its KEK until its commit, and
  // exclusively by each destruction: an item is never committed under a KEK
  // a concurrent pass has just found unused and destroyed.
  absl::Mutex kek_use_mu_;

  // Records a damage alert was raised for: one alert each, not one a read.
  absl::Mutex alerted_mu_;
  absl::flat_hash_set<std::string> alerted_damage_ ABSL_GUARDED_BY(alerted_mu_);

  absl::Mutex maintainer_mu_;
  std::unique_ptr<Maintainer> maintainer_ ABSL_GUARDED_BY(maintainer_mu_);

  // Null only on a keys-only vault, which does no duty.
  std::unique_ptr<ReplicaRole> role_;
  std::unique_ptr<ReplicaMutex> quota_mutex_;
  bool replicated_ = false;
  std::function<void()> before_commit_for_testing_;
};

}  // namespace lanevault::vault

#endif  // LANEVAULT_VAULT_VAULT_H_
