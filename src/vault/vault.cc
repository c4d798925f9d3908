#include "vault/vault.h"

#include <sys/stat.h>

#include <algorithm>

#include "absl/strings/cord.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/files.h"
#include "common/ids.h"
#include "common/logging.h"
#include "common/time_util.h"
#include "crypto/blind_index.h"
#include "crypto/key_ring.h"
#include "crypto/master_key.h"
#include "crypto/sealed_box.h"
#include "crypto/secure_bytes.h"
#include "crypto/signing.h"
#include "tlog/checkpoint.h"
#include "tlog/merkle.h"
#include "vault/maintainer.h"
#include "vault/postgres_key_registry.h"
#include "vault/postgres_role.h"
#include "vault/postgres_store_impl.h"

namespace lanevault::vault {
namespace {

// The time cells plate readings are indexed under (Vault::PlateIndexOf).
int64_t HourOf(absl::Time t) {
  return absl::ToInt64Seconds(
             absl::Floor(t - absl::UnixEpoch(), absl::Hours(1))) /
         3600;
}
std::string HourScope(int64_t hour) { return absl::StrCat("hour ", hour); }
std::string DayScope(int64_t day) { return absl::StrCat("day ", day); }

// An item kept at most kHourIndexedWithin past its intake is indexed under
// the hour of its deadline, a longer-kept one under its day: a lookup asks
// for each cell up to the last deadline, and hours as far as a year would be
// 8,760 values.
std::string PlateIndexScope(absl::Time deadline, absl::Time taken) {
  return deadline - taken <= Vault::kHourIndexedWithin
             ? HourScope(HourOf(deadline))
             : DayScope(PeriodKeys::DayOf(deadline));
}

void AppendField(std::string& out, absl::string_view field) {
  // Length-prefixed so that no two different tuples encode alike.
  absl::StrAppend(&out, field.size(), ":", field, ";");
}

}  // namespace

std::string ItemAssociatedData(absl::string_view record_id,
                               absl::string_view item_id,
                               v1::DataCategory category,
                               absl::string_view contract_id,
                               uint64_t contract_version, absl::Time deadline) {
  std::string ad = "lanevault.item.v1;";
  AppendField(ad, record_id);
  AppendField(ad, item_id);
  AppendField(ad, absl::StrCat(static_cast<int>(category)));
  AppendField(ad, contract_id);
  AppendField(ad, absl::StrCat(contract_version));
  AppendField(ad, absl::StrCat(ToUnixMicrosSaturated(deadline)));
  return ad;
}

namespace {

constexpr absl::string_view kGonePayload = "lanevault.dev/gone";

// Every sealed plate text is this long, whatever the plate and however
// many other readings it carries: its ciphertext tells neither the plate's
// length, nor how sure the reader was, nor a decoy's. Room for the item
// with kMaxPlateReadings readings of kMaxPlateReadingChars each.
constexpr size_t kSealedPlateTextBytes = 448;
// What the vault takes at most of a plate's readings (the policy keeps
// fewer, policy.h): the seal's padding must hide how many there are.
constexpr int kMaxPlateReadings = 8;
constexpr size_t kMaxPlateReadingChars = 16;

// Only a plate text carries readings, at most kMaxPlateReadings with its
// own, each of capitals and digits exactly as the blind index reads them
// (so what is indexed is what is sealed).
absl::Status CheckPlateReadings(const v1::Item& item) {
  if (item.plate_candidates().empty()) return absl::OkStatus();
  if (item.category() != v1::DATA_CATEGORY_PLATE_TEXT) {
    return absl::InvalidArgumentError(absl::StrCat(
        "item ", item.item_id(), ": only a plate text carries readings"));
  }
  if (item.plate_candidates_size() >= kMaxPlateReadings) {
    return absl::InvalidArgumentError(
        absl::StrCat("item ", item.item_id(), ": at most ",
                     kMaxPlateReadings - 1, " other readings of a plate"));
  }
  for (const v1::PlateCandidate& c : item.plate_candidates()) {
    if (c.text().empty() || c.text().size() > kMaxPlateReadingChars ||
        crypto::BlindIndex::Normalize(c.text()) != c.text()) {
      return absl::InvalidArgumentError(
          absl::StrCat("item ", item.item_id(), ": a reading is 1 to ",
                       kMaxPlateReadingChars, " capitals and digits"));
    }
  }
  return absl::OkStatus();
}

// The item serialized with `padding` filling it to kSealedPlateTextBytes
// exactly; an item already longer is left as it is. One filler field takes
// a tag byte, a length byte (two from 128 on) and the filler: one size
// (where a 127-byte filler is a byte short and a 128-byte one a byte over)
// cannot be met with one, so a one-byte filler comes first there.
std::string PaddedPlateText(const v1::Item& item) {
  v1::Item padded = item;
  padded.clear_padding();
  const size_t base = padded.ByteSizeLong();
  if (base + 2 > kSealedPlateTextBytes) return padded.SerializeAsString();
  size_t room = kSealedPlateTextBytes - base;
  if (room == 130) {  // 2 + 128 needs a 2-byte length: 131
    padded.add_padding(std::string(1, '\0'));
    room -= 3;
  }
  const size_t header = room - 2 < 128 ? 2 : 3;
  padded.add_padding(std::string(room - header, '\0'));
  return padded.SerializeAsString();
}
constexpr absl::string_view kDiskFullPayload = "lanevault.dev/disk-full";

}  // namespace

absl::Status GoneError(absl::string_view message) {
  absl::Status s = absl::NotFoundError(message);
  s.SetPayload(kGonePayload, absl::Cord("1"));
  return s;
}

bool IsGone(const absl::Status& status) {
  return absl::IsNotFound(status) &&
         status.GetPayload(kGonePayload).has_value();
}

bool IsDiskFull(const absl::Status& status) {
  return absl::IsUnavailable(status) &&
         status.GetPayload(kDiskFullPayload).has_value();
}

namespace {

constexpr absl::string_view kSaltKey = "passphrase_salt";
constexpr absl::string_view kParamsKey = "passphrase_params";
constexpr char kLogKeyAdopted[] = "log_key_adopted";
constexpr char kSealedHead[] = "log_head";

absl::StatusOr<crypto::MasterKey> LoadMasterKey(const VaultOptions& opts,
                                                Store& store) {
  if (opts.master_key != nullptr) {
    return crypto::MasterKey::FromBytes(*opts.master_key);
  }
  if (opts.passphrase == nullptr) {
    return crypto::MasterKey::LoadFromFile(opts.master_key_file);
  }
  // The salt and cost are not secret; they live in the vault so the same
  // passphrase opens it again.
  crypto::PassphraseParams params = opts.passphrase_params;
  absl::StatusOr<std::string> salt = store.GetMeta(kSaltKey);
  if (absl::IsNotFound(salt.status())) {
    salt = crypto::NewPassphraseSalt();
    if (absl::Status s = store.PutMeta(kSaltKey, *salt); !s.ok()) return s;
    if (absl::Status s = store.PutMeta(
            kParamsKey, absl::StrCat(params.ops_limit, ":", params.mem_limit));
        !s.ok()) {
      return s;
    }
  } else if (!salt.ok()) {
    return salt.status();
  } else if (absl::StatusOr<std::string> stored = store.GetMeta(kParamsKey);
             stored.ok()) {
    std::pair<std::string, std::string> parts = absl::StrSplit(*stored, ':');
    if (!absl::SimpleAtoi(parts.first, &params.ops_limit) ||
        !absl::SimpleAtoi(parts.second, &params.mem_limit)) {
      return absl::DataLossError(
          "the stored passphrase parameters are damaged");
    }
  }
  return crypto::MasterKey::FromPassphrase(*opts.passphrase, *salt, params);
}

// The access log's signing key: its own random seed, wrapped by the master
// key in the key store (made on first use). Not derived from the master
// key, so it can move to a token and so a master key alone does not make
// it.
absl::StatusOr<crypto::SigningKey> LoadLogKey(KekStore& keys,
                                              const crypto::MasterKey& master) {
  absl::StatusOr<std::string> wrapped = keys.Get(kLogSeedName);
  if (absl::IsNotFound(wrapped.status())) {
    crypto::SecureBytes seed = crypto::SigningKey::NewSeed();
    if (absl::Status s = keys.Put(kLogSeedName, master.Wrap(seed, "log seed"));
        !s.ok()) {
      return s;
    }
    return crypto::SigningKey::FromSeed(seed);
  }
  if (!wrapped.ok()) return wrapped.status();
  absl::StatusOr<crypto::SecureBytes> seed =
      master.Unwrap(*wrapped, "log seed");
  if (!seed.ok()) return seed.status();
  return crypto::SigningKey::FromSeed(*seed);
}

struct OpenedKeys {
  std::unique_ptr<KekStore> store;
  crypto::SigningKey log_key;
};

// Whether a full open has checked the log with its own key yet. Until then
// (a vault from before the log had a key of its own, also when a keys-only
// open such as --print_log_key has already made the seed) the newest
// checkpoint may carry the older key's signature.
absl::StatusOr<bool> LogKeyAdopted(KekStore& keys) {
  absl::StatusOr<std::string> adopted = keys.Get(kLogKeyAdopted);
  if (absl::IsNotFound(adopted.status())) return false;
  if (!adopted.ok()) return adopted.status();
  return true;
}

// The store the options name: PostgreSQL when its conninfo is set, else
// the SQLite file. On PostgreSQL no process owns the vault alone: replicas
// share it, their appends serialised by the database and their one-holder
// duties by the replica role (postgres_role.h).
absl::StatusOr<std::unique_ptr<Store>> OpenStore(const VaultOptions& opts) {
  if (opts.postgres.conninfo.empty()) {
    return OpenSqliteStore(opts.database, opts.sqlite);
  }
  if (opts.key_store.empty()) {
    return absl::InvalidArgumentError(
        "a vault on PostgreSQL needs its key store path set (vault.key_store):"
        " the keys are never kept in the database");
  }
  PostgresOptions o = opts.postgres;
  o.owner = false;
  return OpenPostgresStore(o);
}

// A replica whose key store lacks the log's seed, on a vault another
// replica made it for: the seed as a live peer hands it over, put in the
// key store. FAILED_PRECONDITION when none does within `wait`.
absl::Status FetchLogSeed(KekStore& keys, const crypto::MasterKey& master,
                          KeyRegistry& registry, KeyPeers* peers,
                          absl::Duration wait) {
  const absl::Time give_up = absl::Now() + wait;
  std::string tried = "none alive";
  while (peers != nullptr) {
    absl::StatusOr<std::vector<ReplicaPeer>> live = registry.LivePeers();
    if (!live.ok()) return live.status();
    for (const ReplicaPeer& peer : *live) {
      if (!peers->Configured(peer)) continue;  // a row only: not asked
      absl::StatusOr<KeyPeers::Fetched> got =
          peers->Fetch(peer, {}, /*log_seed=*/true);
      if (!got.ok() || got->wrapped_log_seed.empty()) {
        tried = absl::StrCat(peer.address, ": ",
                             got.ok() ? "it has none" : got.status().message());
        continue;
      }
      // Only a seed this master key opens is taken.
      if (absl::StatusOr<crypto::SecureBytes> seed =
              master.Unwrap(got->wrapped_log_seed, "log seed");
          !seed.ok()) {
        tried = absl::StrCat(peer.address,
                             ": its seed does not open with "
                             "this master key");
        continue;
      }
      spdlog::info("the access log's signing seed was handed over by {}",
                   peer.address);
      return keys.Put(kLogSeedName, got->wrapped_log_seed);
    }
    if (absl::Now() >= give_up) break;
    absl::SleepFor(absl::Seconds(1));
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "REFUSING TO SERVE: this replica's key store ", keys.path(),
      " has no access-log signing seed, another replica of the vault made "
      "it, and no live replica handed it over (",
      peers == nullptr ? "no key hand-over is configured" : tried,
      "). Start it while another replica runs, with replica_peers naming "
      "each other"));
}

absl::StatusOr<OpenedKeys> OpenKeyStore(const VaultOptions& opts,
                                        const crypto::MasterKey& master,
                                        Store& vault_db,
                                        std::string& legacy_verifier,
                                        KeyRegistry* registry) {
  const std::string path =
      opts.key_store.empty() ? opts.database + ".keys" : opts.key_store;
  struct stat st;
  // A replica's key store is filled from its peers when new.
  if (registry == nullptr && ::stat(path.c_str(), &st) != 0 &&
      vault_db.AuditSize() > 0) {
    // A vault with a history and no key store of its own (nor KEKs from
    // before it) lost it: a new one would open nothing and sign with a new
    // key, so nothing is made and nothing is served.
    absl::StatusOr<std::vector<KekRow>> legacy = vault_db.Keks();
    if (!legacy.ok()) return legacy.status();
    if (legacy->empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "REFUSING TO SERVE: the key store ", path,
          " is missing but the vault ", opts.database, " has ",
          vault_db.AuditSize(),
          " access-log entries: every item's key and the log's signing key "
          "were in it. Put the key store back (from its own backup); a new "
          "one would open nothing"));
    }
  }
  absl::StatusOr<std::unique_ptr<KekStore>> store = KekStore::Open(path);
  if (!store.ok()) return store.status();
  // A key store that held period keys holds the log's seed too: one without
  // it was edited, and a new seed would sign a history it did not sign.
  absl::StatusOr<std::string> seed = (*store)->Get(kLogSeedName);
  if (absl::IsNotFound(seed.status())) {
    absl::StatusOr<bool> used = PeriodKeys::Initialized(**store);
    if (!used.ok()) return used.status();
    if (*used) {
      return absl::FailedPreconditionError(absl::StrCat(
          "REFUSING TO SERVE: the key store ", path,
          " has lost the access log's signing key (it was edited): a new key "
          "would sign a history the log's key never did"));
    }
    if (registry != nullptr) {
      // On a new vault the first replica to ask makes the seed; every other
      // replica takes it from a peer, so all sign with one key.
      absl::StatusOr<bool> claimed = registry->ClaimLogSeed();
      if (!claimed.ok()) return claimed.status();
      if (!*claimed || vault_db.AuditSize() > 0) {
        if (absl::Status s = FetchLogSeed(**store, master, *registry,
                                          opts.key_peers, opts.log_seed_wait);
            !s.ok()) {
          return s;
        }
      }
    }
  } else if (!seed.ok()) {
    return seed.status();
  } else if (registry != nullptr) {
    // Names the maker on a vault from before the registry (harmless after).
    if (absl::Status s = registry->ClaimLogSeed().status(); !s.ok()) return s;
  }
  absl::StatusOr<bool> adopted = LogKeyAdopted(**store);
  if (!adopted.ok()) return adopted.status();
  if (!*adopted) {
    // Checkpoints from before the log had a key of its own were signed by
    // one derived from the master key: the newest of them is checked with
    // that key, this once.
    legacy_verifier = tlog::VerifierKey(
        opts.log_origin,
        crypto::SigningKey::DeriveFrom(master, "lvaudit1").public_key());
  }
  absl::StatusOr<crypto::SigningKey> log_key = LoadLogKey(**store, master);
  if (!log_key.ok()) return log_key.status();
  return OpenedKeys{std::move(*store), std::move(*log_key)};
}

}  // namespace

Vault::Vault(std::unique_ptr<Store> store, std::unique_ptr<KekStore> key_store,
             crypto::MasterKey& master, crypto::SigningKey log_key,
             std::string origin, Clock* clock)
    : store_(std::move(store)),
      key_store_(std::move(key_store)),
      log_key_(std::move(log_key)),
      plates_(crypto::BlindIndex::DeriveFrom(master)),
      canary_marks_(crypto::BlindIndex::DeriveFrom(master, 2, "lvcanary")),
      idempotent_ids_(crypto::BlindIndex::DeriveFrom(master, 3, "lvidempo")),
      submissions_(crypto::BlindIndex::DeriveFrom(master, 4, "lvsubmit")),
      log_heads_(crypto::BlindIndex::DeriveFrom(master, 5, "lvloghed")),
      anchor_key_(crypto::BlindIndex::DeriveFrom(master, 6, "lvanchor")),
      intake_key_(crypto::IntakeKey::DeriveFrom(master)),
      handles_(crypto::HandleKey::DeriveFrom(master)),
      watermark_key_(master.DeriveSubkey(32, 8, "lvwmark1")),
      receipt_key_(crypto::SigningKey::DeriveFrom(master, "lvrecpt1")),
      keys_(std::move(master)),
      clock_(clock),
      log_(*store_, log_key_, std::move(origin)),
      oversight_(*store_, *store_, clock, [this] { WakeMaintainer(); }),
      contracts_(*store_, clock) {}

Vault::~Vault() { StopMaintenance(); }

bool Vault::HoldsReplicaRole() { return role_ != nullptr && role_->Held(); }

absl::StatusOr<std::unique_ptr<Vault>> Vault::Open(const VaultOptions& opts) {
  if (absl::Status s = crypto::InitCrypto(); !s.ok()) return s;
  if (opts.keys_only) {
    absl::StatusOr<std::unique_ptr<Store>> store = OpenStore(opts);
    if (!store.ok()) return store.status();
    absl::StatusOr<crypto::MasterKey> key = LoadMasterKey(opts, **store);
    if (!key.ok()) return key.status();
    std::string unused;
    // A first replica's keys-only open (--print_log_key before its first
    // start) may make the log's seed; another's takes it from a peer.
    std::unique_ptr<KeyRegistry> registry;
    if (!opts.postgres.conninfo.empty()) {
      registry =
          std::make_unique<PostgresKeyRegistry>(opts.postgres, opts.replica);
    }
    absl::StatusOr<OpenedKeys> keys =
        OpenKeyStore(opts, *key, **store, unused, registry.get());
    if (!keys.ok()) return keys.status();
    return std::unique_ptr<Vault>(
        new Vault(std::move(*store), std::move(keys->store), *key,
                  std::move(keys->log_key), opts.log_origin, opts.clock));
  }
  // One owner per vault: a second process would keep its own position in
  // the access log and lose every intake that collides with ours. The lock
  // is on the database file itself, so it holds through any link to it.
  // (On PostgreSQL the database serialises its replicas' appends.)
  absl::StatusOr<std::unique_ptr<FileLock>> lock =
      opts.postgres.conninfo.empty()
          ? FileLock::Acquire(opts.database, /*keep_content=*/true)
          : absl::StatusOr<std::unique_ptr<FileLock>>(nullptr);
  if (!lock.ok()) {
    return absl::Status(lock.status().code(),
                        absl::StrCat("vault ", opts.database,
                                     " is in use: ", lock.status().message()));
  }
  absl::StatusOr<std::unique_ptr<Store>> store = OpenStore(opts);
  if (!store.ok()) return store.status();
  if (opts.integrity_check != VaultOptions::IntegrityCheck::kOff) {
    const bool full =
        opts.integrity_check == VaultOptions::IntegrityCheck::kFull;
    if (absl::Status s = (*store)->CheckIntegrity(full); !s.ok()) {
      return absl::DataLossError(absl::StrCat(
          "vault ", opts.database, " is damaged and is not served (",
          s.message(), "); restore it from a backup"));
    }
  }
  absl::StatusOr<crypto::MasterKey> key = LoadMasterKey(opts, **store);
  if (!key.ok()) return key.status();
  std::unique_ptr<KeyRegistry> registry;
  if (!opts.postgres.conninfo.empty()) {
    registry =
        std::make_unique<PostgresKeyRegistry>(opts.postgres, opts.replica);
  }
  std::string legacy_verifier;
  absl::StatusOr<OpenedKeys> keys =
      OpenKeyStore(opts, *key, **store, legacy_verifier, registry.get());
  if (!keys.ok()) return keys.status();
  std::unique_ptr<Vault> vault(
      new Vault(std::move(*store), std::move(keys->store), *key,
                std::move(keys->log_key), opts.log_origin, opts.clock));
  vault->lock_ = std::move(*lock);
  vault->key_registry_ = std::move(registry);
  vault->key_peers_ = opts.key_peers;
  if (opts.postgres.conninfo.empty()) {
    vault->role_ = std::make_unique<SoleReplica>();
  } else {
    vault->role_ = std::make_unique<PostgresRole>(opts.postgres);
    vault->quota_mutex_ =
        std::make_unique<PostgresMutex>(opts.postgres, kQuotaLockClass);
    vault->replicated_ = true;
    // Another replica's lockouts count here at once.
    vault->oversight_.read_lockouts_from_store_ = true;
  }
  // A key store a vault was opened with before holds a head of its own
  // (written at the end of every open and at every checkpoint).
  absl::StatusOr<bool> opened_before =
      PeriodKeys::Initialized(*vault->key_store_);
  if (!opened_before.ok()) return opened_before.status();
  if (absl::Status s = vault->LoadKeys(); !s.ok()) return s;
  if (absl::Status s = vault->CheckLastCheckpoint(legacy_verifier); !s.ok()) {
    return s;
  }
  absl::StatusOr<bool> had_head =
      vault->CheckSealedHead(opts.accept_rollback, *opened_before);
  if (!had_head.ok()) return had_head.status();
  Vault* raw = vault.get();
  vault->log_.SetSignedListener(
      [raw](const tlog::TreeHead& head) { raw->SealHead(head); });
  if (absl::Status s = vault->oversight_.LoadLockouts(); !s.ok()) return s;
  if (!opts.state_dir.empty()) {
    if (absl::Status s = MakeDirectories(opts.state_dir); !s.ok()) return s;
    // An anchor from before keyed tags is read until the vault has a head
    // of its own; after that only slots tagged with its key count.
    absl::StatusOr<std::unique_ptr<LogAnchor>> anchor = LogAnchor::Open(
        opts.state_dir + "/log-anchor", &vault->anchor_key_, !*had_head);
    if (!anchor.ok()) return anchor.status();
    // Replicas share the key store, whose head says a vault was opened
    // before, not that this replica was: a replica's first start finds no
    // anchor of its own. The shared head still catches a rolled-back log.
    const bool anchor_expected = *had_head && !vault->replicated_;
    if (absl::Status s = vault->CheckAnchor(
            std::move(*anchor), opts.accept_rollback, anchor_expected);
        !s.ok()) {
      return s;
    }
  }
  // Every check passed: this head is the newest the vault vouches for.
  const uint64_t size = vault->store_->AuditSize();
  absl::StatusOr<tlog::Hash> root = vault->log_.RootAt(size);
  if (!root.ok()) return root.status();
  vault->SealHead({vault->log_.origin(), size, *root});
  return vault;
}

absl::Status Vault::CheckAnchor(std::unique_ptr<LogAnchor> anchor,
                                bool accept_rollback, bool expected) {
  absl::StatusOr<std::optional<LogAnchor::Head>> last = anchor->Read();
  if (!last.ok()) return last.status();
  std::string problem;
  if (last->has_value()) {
    problem = Divergence((*last)->size, (*last)->root, "at its last commit");
  } else if (expected && store_->AuditSize() > 0) {
    problem = absl::StrCat(
        "the log anchor is missing (deleted?) although this vault kept one "
        "and its log has ",
        store_->AuditSize(),
        " entries: what it held of the last commits cannot be checked");
  }
  if (!problem.empty()) {
    oversight_.RaiseAlert("critical", "vault_rollback", "system", problem);
    if (!accept_rollback) {
      return absl::FailedPreconditionError(absl::StrCat(
          "REFUSING TO SERVE: ", problem, " (anchor ", anchor->path(),
          "). If this is a restore made on purpose, start once with "
          "--accept_rollback"));
    }
    v1::AuditEntry e = SystemEntry(v1::ACTION_MANAGE_CONTRACT);
    e.set_reason_code("rollback_accepted");
    e.set_detail(problem);
    if (absl::StatusOr<uint64_t> seq = log_.Append(std::move(e)); !seq.ok()) {
      return seq.status();
    }
  }
  // From here every commit that grows the log moves the anchor.
  LogAnchor* raw = anchor.get();
  anchor_ = std::move(anchor);
  log_.SetAnchor(raw);
  store_->SetLogListener([raw](uint64_t n, const std::string& root) {
    if (absl::Status s = raw->Note({n, root}); !s.ok()) {
      spdlog::error("the log anchor cannot be kept current: {}", s.message());
    }
  });
  // The anchor already holds this head on an ordinary restart.
  const uint64_t now_size = store_->AuditSize();
  if (problem.empty() && last->has_value() && (*last)->size == now_size) {
    return absl::OkStatus();
  }
  absl::StatusOr<tlog::Hash> root = log_.RootAt(now_size);
  if (!root.ok()) return root.status();
  if (absl::Status s = raw->Note({now_size, *root}); !s.ok()) return s;
  return raw->Sync();
}

std::string Vault::Divergence(uint64_t size, absl::string_view root,
                              absl::string_view when) {
  const uint64_t now_size = store_->AuditSize();
  if (size > now_size) {
    return absl::StrCat(
        "the access log has ", now_size, " entries but had ", size, " ", when,
        ": the database was rolled back or truncated (an older copy put "
        "back, or its WAL cut short), so acknowledged records may be "
        "missing");
  }
  absl::StatusOr<tlog::Hash> now_root = log_.RootAt(size);
  if (!now_root.ok()) {
    return absl::StrCat("the access log's tree cannot be read: ",
                        now_root.status().message());
  }
  if (*now_root != root) {
    return absl::StrCat("the access log's first ", size,
                        " entries no longer hash to the root they had ", when,
                        ": the log was rewritten");
  }
  return "";
}

absl::Status Vault::CheckLastCheckpoint(absl::string_view legacy_verifier) {
  // Once the log's own key has taken over, only it signs checkpoints.
  auto adopt = [&]() -> absl::Status {
    if (legacy_verifier.empty()) return absl::OkStatus();
    return key_store_->Put(kLogKeyAdopted, "1");
  };
  absl::StatusOr<StoredCheckpoint> last = store_->LatestCheckpoint();
  if (absl::IsNotFound(last.status())) return adopt();
  if (!last.ok()) return last.status();
  absl::StatusOr<tlog::TreeHead> head =
      tlog::OpenCheckpoint(last->note, log_.VerifierKey());
  bool legacy_signed = false;
  if (!head.ok() && !legacy_verifier.empty()) {
    head = tlog::OpenCheckpoint(last->note, legacy_verifier);
    legacy_signed = head.ok();
  }
  std::string problem;
  if (!head.ok()) {
    problem = absl::StrCat(
        "the newest stored checkpoint (tree size ", last->tree_size,
        ") is not signed by the log's key: ", head.status().message());
  } else {
    problem = Divergence(head->size, head->root_hash,
                         "in its last signed checkpoint");
  }
  if (problem.empty()) {
    if (legacy_signed) {
      // The log's own key starts here: an entry saying so, and at once a
      // checkpoint signed with it, so the next start checks with it.
      v1::AuditEntry e = SystemEntry(v1::ACTION_ROTATE_KEYS);
      e.set_reason_code("log_key_created");
      e.set_detail(absl::StrCat("the access log's signing key is now its own: ",
                                log_.VerifierKey()));
      if (absl::StatusOr<uint64_t> seq = log_.Append(std::move(e)); !seq.ok()) {
        return seq.status();
      }
      if (absl::Status s = log_.SignCheckpoint().status(); !s.ok()) return s;
    }
    return adopt();
  }
  // No override: the anchor's --accept_rollback is for a restore, and a
  // restored database agrees with its own checkpoints. This one does not:
  // it was edited.
  oversight_.RaiseAlert("critical", "log_rewritten", "system", problem);
  return absl::FailedPreconditionError(
      absl::StrCat("REFUSING TO SERVE: ", problem,
                   ". Restore the database from a backup whose log agrees "
                   "with its checkpoints and with the witnesses"));
}

std::string SealedHeadMessage(const tlog::TreeHead& head) {
  return absl::StrCat(head.origin, "\n", head.size, "\n",
                      absl::BytesToHexString(head.root_hash));
}

void Vault::SealHead(const tlog::TreeHead& head) {
  const std::string message = SealedHeadMessage(head);
  if (absl::Status s = key_store_->Put(
          kSealedHead,
          absl::StrCat(message, "\n",
                       absl::BytesToHexString(log_heads_.Mac(message))));
      !s.ok()) {
    spdlog::error("the key store cannot keep the newest signed head: {}",
                  s.message());
  }
}

absl::StatusOr<bool> Vault::CheckSealedHead(bool accept_rollback,
                                            bool opened_before) {
  absl::StatusOr<std::string> kept = key_store_->Get(kSealedHead);
  if (absl::IsNotFound(kept.status())) {
    if (!opened_before || store_->AuditSize() == 0) return false;  // none yet
    // Every open leaves one: a key store used before without one was
    // edited, to make an unkeyed or missing anchor pass.
    const std::string problem =
        "the key store's record of the newest signed head is missing "
        "(deleted?) although the vault was opened with it before";
    oversight_.RaiseAlert("critical", "log_rewritten", "system", problem);
    if (accept_rollback) return false;
    return absl::FailedPreconditionError(
        absl::StrCat("REFUSING TO SERVE: ", problem,
                     " (if the key store was restored on purpose, start with "
                     "--accept_rollback)"));
  }
  if (!kept.ok()) return kept.status();
  std::vector<std::string> parts = absl::StrSplit(*kept, '\n');
  tlog::TreeHead head;
  std::string problem;
  if (parts.size() != 4 || !absl::SimpleAtoi(parts[1], &head.size) ||
      parts[0] != log_.origin()) {
    problem = "the key store's record of the newest signed head is damaged";
  } else {
    head.origin = parts[0];
    head.root_hash = absl::HexStringToBytes(parts[2]);
    if (!log_heads_.Verify(SealedHeadMessage(head),
                           absl::HexStringToBytes(parts[3]))) {
      problem =
          "the key store's record of the newest signed head does not "
          "authenticate: it was edited";
    } else {
      problem =
          Divergence(head.size, head.root_hash, "in the newest head it signed");
    }
  }
  if (problem.empty()) return true;
  // A shorter log is a restore (or a rollback) and may be accepted; a
  // rewritten one never is.
  const bool shorter = head.size > store_->AuditSize();
  oversight_.RaiseAlert("critical",
                        shorter ? "vault_rollback" : "log_rewritten", "system",
                        problem);
  if (shorter && accept_rollback) return true;
  return absl::FailedPreconditionError(absl::StrCat(
      "REFUSING TO SERVE: ", problem,
      shorter ? " (if this is a restore made on purpose, start with "
                "--accept_rollback)"
              : ""));
}

absl::Status Vault::Health() { return store_->Health(); }

absl::Status Vault::WriteHealth() { return store_->WriteHealth(); }

std::string Vault::SubmissionDigest(absl::string_view submission) const {
  return submissions_.Mac(submission);
}

absl::Status Vault::LogUnkept(absl::string_view record_id,
                              absl::string_view submission_digest,
                              v1::AuditEntry audit) {
  if (submission_digest.empty()) return log_.Append(std::move(audit)).status();
  if (absl::Status s = PriorSubmission(record_id, submission_digest); !s.ok()) {
    return s;
  }
  absl::Status s =
      store_->PutUnkept(record_id, submission_digest, std::move(audit));
  return s.ok() ? s : ExplainIntakeFailure(s, record_id, submission_digest);
}

absl::Status Vault::PriorSubmission(absl::string_view record_id,
                                    absl::string_view submission_digest) {
  absl::StatusOr<std::string> prior = store_->SubmissionDigest(record_id);
  if (absl::IsNotFound(prior.status())) return absl::OkStatus();
  if (!prior.ok()) return prior.status();
  return ExplainIntakeFailure(absl::AlreadyExistsError("taken"), record_id,
                              submission_digest);
}

absl::Status Vault::LoadKeys() {
  absl::StatusOr<std::vector<KekRow>> rows = store_->Keks();
  if (!rows.ok()) return rows.status();
  std::vector<crypto::WrappedKek> legacy;
  for (const KekRow& row : *rows) legacy.push_back(row.kek);
  KekLocalChecks checks;
  checks.clock = clock_;
  checks.items_under = [this](uint32_t version) -> absl::StatusOr<uint64_t> {
    absl::StatusOr<std::vector<std::pair<uint32_t, uint64_t>>> used =
        store_->ItemsPerKeyVersion();
    if (!used.ok()) return used.status();
    for (const auto& [v, items] : *used) {
      if (v == version) return items;
    }
    return 0;
  };
  checks.alert = [this](const std::string& message) {
    oversight_.RaiseAlert("critical", "key_destruction_refused", "system",
                          message);
  };
  absl::StatusOr<std::unique_ptr<PeriodKeys>> periods =
      PeriodKeys::Load(&keys_, key_store_.get(), legacy, clock_->Now(),
                       key_registry_.get(), key_peers_, std::move(checks));
  if (!periods.ok()) return periods.status();
  periods_ = std::move(*periods);
  if (!legacy.empty()) {
    // They live in the key store now (as a stale generation, re-wrapped
    // away and destroyed by the maintainer); the database keeps no key.
    if (absl::Status s = store_->DeleteLegacyKeks(); !s.ok()) return s;
    spdlog::info(
        "moved {} key-encryption keys from the database to the key store {}",
        legacy.size(), key_store_->path());
  }
  return absl::OkStatus();
}

v1::AuditEntry Vault::SystemEntry(v1::Action action) const {
  v1::AuditEntry e;
  *e.mutable_time() = ToProto(clock_->Now());
  e.set_principal("system");
  e.set_role("system");
  e.set_action(action);
  e.set_verdict(v1::VERDICT_ALLOW);
  return e;
}

absl::Status Vault::Intake(const v1::Record& record, v1::AuditEntry audit,
                           absl::string_view submission_digest) {
  return Keep(record, std::move(audit), /*canary=*/false, submission_digest);
}

absl::Status Vault::PlantCanary(const v1::Record& decoy, v1::AuditEntry audit) {
  return Keep(decoy, std::move(audit), /*canary=*/true);
}

absl::StatusOr<bool> Vault::IsCanary(absl::string_view record_id) {
  return store_->HasCanaryMark(record_id, canary_marks_.Mac(record_id));
}

std::string Vault::IdempotentRecordId(absl::string_view submitter,
                                      absl::string_view lane_id,
                                      absl::string_view idempotency_key) const {
  // Scoped by who submits: one node's keys cannot squat another's.
  const std::string mac = idempotent_ids_.Mac(
      absl::StrCat(submitter, "\n", lane_id, "\n", idempotency_key));
  return absl::StrCat(
      "rec_", absl::BytesToHexString(absl::string_view(mac).substr(0, 16)));
}

absl::Status Vault::Keep(const v1::Record& record, v1::AuditEntry audit,
                         bool canary, absl::string_view submission_digest) {
  if (record.record_id().empty() || record.lane_id().empty()) {
    return absl::InvalidArgumentError("a record needs an id and a lane");
  }
  if (record.items().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("record ", record.record_id(), " has no items to keep"));
  }
  if (!submission_digest.empty()) {
    // A key first used by a submission of which nothing was kept is taken
    // too (that one has no row among the records).
    if (absl::Status s = PriorSubmission(record.record_id(), submission_digest);
        !s.ok()) {
      return s;
    }
  }
  // Another replica may destroy the KEK an item was sealed under (its
  // generation rotated out) between the sealing and the commit: the store
  // then refuses the record, which is sealed again under a current KEK.
  for (int attempt = 0;; ++attempt) {
    absl::Status s = SealAndCommit(record, audit, canary, submission_digest);
    if (!IsKekDestroyed(s) || attempt == 3) return s;
    spdlog::info("record {}: {}; sealing it again", record.record_id(),
                 s.message());
    if (absl::Status r = periods_->Refresh(); !r.ok()) return r;
  }
}

absl::Status Vault::SealAndCommit(const v1::Record& record,
                                  v1::AuditEntry audit, bool canary,
                                  absl::string_view submission_digest) {
  // From choosing a KEK to the commit, no destruction pass of this process
  // may find that KEK unused and destroy it under the commit (see
  // DestroyUnusedKeys); other replicas' are fenced by the store.
  absl::ReaderMutexLock sealing(&kek_use_mu_);
  IntakeRow row;
  row.audit = std::move(audit);
  StoredRecord& stored = row.record;
  v1::RecordSummary& s = stored.summary;
  s.set_record_id(record.record_id());
  s.set_lane_id(record.lane_id());
  s.set_checkpoint_id(record.checkpoint_id());
  *s.mutable_first_seen() = record.first_seen();
  *s.mutable_last_seen() = record.last_seen();
  s.set_contract_id(record.contract_id());
  s.set_contract_version(record.contract_version());
  // Every record carries a mark: a keyed one names a canary, a random one
  // of the same length stands beside every real record, so a copy of the
  // file shows neither which records are canaries nor how many there are.
  stored.canary_mark = canary_marks_.Mac(record.record_id());
  if (!canary) stored.canary_mark = RandomBytes(stored.canary_mark.size());
  stored.submission_digest = std::string(submission_digest);
  absl::Time earliest = absl::InfiniteFuture();
  for (const v1::Item& item : record.items()) {
    if (item.item_id().empty() || !item.has_deadline()) {
      return absl::InvalidArgumentError(
          absl::StrCat("record ", record.record_id(),
                       ": every item needs an id and a deadline"));
    }
    if (absl::Status st = CheckPlateReadings(item); !st.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("record ", record.record_id(), ": ", st.message()));
    }
    StoredItem& out = stored.items.emplace_back();
    out.item_id = item.item_id();
    out.category = item.category();
    out.deadline = FromProto(item.deadline());
    earliest = std::min(earliest, out.deadline);
    if (item.category() == v1::DATA_CATEGORY_PLATE_TEXT) {
      // Rank 1 is the plate text itself, then its readings in their order;
      // a reading that is the same plate as one before it adds no row.
      // Indexed under the hour (or day) of the item's deadline
      // (PlateIndexOf), so the file does not match a vehicle's crossings
      // across hours.
      const std::string scope = PlateIndexScope(out.deadline, clock_->Now());
      std::vector<std::string>& blinds = out.plate_blind_indexes;
      blinds.push_back(plates_.OfScope(item.content(), scope));
      for (const v1::PlateCandidate& c : item.plate_candidates()) {
        std::string blind = plates_.OfScope(c.text(), scope);
        if (std::find(blinds.begin(), blinds.end(), blind) != blinds.end()) {
          blind.clear();
        }
        blinds.push_back(std::move(blind));
      }
    }
    // The whole item (content, box, confidence) is sealed; only category and
    // deadline stay in the clear. A plate text is padded to one length.
    std::string plaintext = item.category() == v1::DATA_CATEGORY_PLATE_TEXT
                                ? PaddedPlateText(item)
                                : item.SerializeAsString();
    absl::StatusOr<uint32_t> kek = periods_->For(out.deadline);
    if (!kek.ok()) {
      crypto::Wipe(plaintext);
      return kek.status();
    }
    absl::StatusOr<crypto::SealedItem> sealed = keys_.SealWith(
        *kek, plaintext,
        ItemAssociatedData(record.record_id(), item.item_id(), item.category(),
                           record.contract_id(), record.contract_version(),
                           out.deadline));
    crypto::Wipe(plaintext);
    if (!sealed.ok()) return sealed.status();
    out.sealed = std::move(*sealed);
  }
  if (before_commit_for_testing_) {
    std::function<void()> hook = std::move(before_commit_for_testing_);
    before_commit_for_testing_ = nullptr;
    hook();
  }
  if (absl::Status st = Commit(std::move(row)); !st.ok()) {
    return ExplainIntakeFailure(st, record.record_id(), submission_digest);
  }
  NoteDeadline(earliest);
  return absl::OkStatus();
}

absl::Status Vault::ExplainIntakeFailure(const absl::Status& failure,
                                         absl::string_view record_id,
                                         absl::string_view submission_digest) {
  if (absl::IsResourceExhausted(failure)) {
    // A full disk is not the submitter's fault and passes: retry.
    absl::Status s = absl::UnavailableError(failure.message());
    s.SetPayload(kDiskFullPayload, absl::Cord("1"));
    return s;
  }
  if (!absl::IsAlreadyExists(failure)) return failure;
  // Only the same submission, recognised by its digest, was acknowledged
  // before; anything else under a taken id is a clash, never an OK.
  absl::StatusOr<std::string> stored = store_->SubmissionDigest(record_id);
  if (!stored.ok()) return stored.status();
  if (!submission_digest.empty() && *stored == submission_digest) {
    return absl::AlreadyExistsError(absl::StrCat(
        "record ", record_id, " was stored before from the same submission"));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "record id ", record_id, " is already used by another record",
      submission_digest.empty()
          ? ""
          : " (an idempotency key reused with different content)"));
}

absl::Status Vault::Commit(IntakeRow row) {
  return intake_commits_.Submit(
      std::move(row),
      [&](std::vector<IntakeRow> rows) { return store_->PutRecords(rows); });
}

absl::StatusOr<StoredRecord> Vault::Fetch(absl::string_view record_id,
                                          absl::string_view principal) {
  absl::StatusOr<StoredRecord> stored = store_->GetRecord(record_id);
  if (absl::IsDataLoss(stored.status())) {
    RaiseDamageAlert(record_id, principal, stored.status().message());
  }
  return stored;
}

void Vault::RaiseDamageAlert(absl::string_view record_id,
                             absl::string_view principal,
                             absl::string_view message) {
  {
    absl::MutexLock lock(&alerted_mu_);
    if (!alerted_damage_.insert(std::string(record_id)).second) {
      spdlog::error("DATA LOSS (alert already raised): {}", message);
      return;
    }
  }
  oversight_.RaiseAlert("critical", "data_loss", principal, message);
}

absl::StatusOr<bool> Vault::HeldForCase(const StoredRecord& record,
                                        absl::string_view case_id,
                                        absl::Time now) {
  // Only an item past its deadline needs a hold to be seen, so the common
  // read asks nothing more of the store.
  const bool any_expired =
      std::any_of(record.items.begin(), record.items.end(),
                  [now](const StoredItem& i) { return i.deadline <= now; });
  if (case_id.empty() || !any_expired) return false;
  absl::StatusOr<std::vector<std::string>> cases =
      store_->HoldCases(record.summary.record_id());
  if (!cases.ok()) return cases.status();
  return std::find(cases->begin(), cases->end(), case_id) != cases->end();
}

absl::StatusOr<v1::RecordSummary> Vault::Describe(
    absl::string_view record_id, absl::string_view case_id,
    absl::string_view item_id, absl::string_view principal,
    std::optional<StoredRecord>* fetched) {
  absl::StatusOr<StoredRecord> stored = Fetch(record_id, principal);
  if (absl::IsNotFound(stored.status())) {
    // Purged whole by retention: the same answer as an unknown id, but not
    // the asker's doing (the purge is in the log).
    absl::StatusOr<bool> purged = store_->WasPurged(record_id);
    if (purged.ok() && *purged) return GoneError(stored.status().message());
  }
  if (!stored.ok()) return stored.status();
  const absl::Time now = clock_->Now();
  absl::StatusOr<bool> held = HeldForCase(*stored, case_id, now);
  if (!held.ok()) return held.status();
  v1::RecordSummary summary = stored->summary;
  summary.clear_categories();
  for (const StoredItem& item : stored->items) {
    if (!item_id.empty() && item.item_id != item_id) continue;
    if (item.deadline > now || *held) summary.add_categories(item.category);
  }
  if (summary.categories().empty()) {
    const bool had_item =
        item_id.empty() ||
        std::any_of(stored->items.begin(), stored->items.end(),
                    [&](const StoredItem& i) { return i.item_id == item_id; });
    if (!had_item) {
      return absl::NotFoundError(
          absl::StrCat("no item ", item_id, " in record ", record_id));
    }
    // Past its deadline: it answers as a missing one does.
    return GoneError(item_id.empty() ? absl::StrCat("no record ", record_id)
                                     : absl::StrCat("no item ", item_id,
                                                    " in record ", record_id));
  }
  if (fetched != nullptr) *fetched = *std::move(stored);
  return summary;
}

absl::StatusOr<v1::Record> Vault::Read(
    absl::string_view record_id,
    const std::vector<v1::DataCategory>& categories, v1::AuditEntry audit,
    absl::string_view item_id, std::vector<std::string>* withheld,
    uint64_t* logged_as, std::optional<StoredRecord> fetched) {
  const std::string principal = audit.principal();
  const std::string case_id = audit.case_id();
  // One fetch a read: the decision's, when the caller kept it (a fetch is a
  // read snapshot and two queries, the ciphertext included).
  const bool kept =
      fetched.has_value() && fetched->summary.record_id() == record_id;
  absl::StatusOr<StoredRecord> stored =
      kept ? absl::StatusOr<StoredRecord>(*std::move(fetched))
           : Fetch(record_id, principal);
  if (!stored.ok()) return stored.status();
  // Fail closed: the read is logged before anything is opened.
  if (absl::StatusOr<uint64_t> seq = log_.AppendGrouped(std::move(audit));
      !seq.ok()) {
    return absl::UnavailableError(
        absl::StrCat("the access log cannot be written, so nothing is read: ",
                     seq.status().message()));
  } else if (logged_as != nullptr) {
    *logged_as = *seq;
  }
  const absl::Time now = clock_->Now();
  if (kept &&
      std::any_of(stored->items.begin(), stored->items.end(),
                  [&](const StoredItem& i) { return i.deadline <= now; })) {
    // An item past its deadline may have been purged since the decision
    // fetched it (and would open only under a hold placed since): the
    // decision's copy serves only while every item in it is in its time.
    stored = Fetch(record_id, principal);
    if (!stored.ok()) return stored.status();
  }
  absl::StatusOr<bool> held = HeldForCase(*stored, case_id, now);
  if (!held.ok()) return held.status();
  const bool held_for_case = *held;
  const v1::RecordSummary& s = stored->summary;
  v1::Record out;
  out.set_record_id(s.record_id());
  out.set_lane_id(s.lane_id());
  out.set_checkpoint_id(s.checkpoint_id());
  *out.mutable_first_seen() = s.first_seen();
  *out.mutable_last_seen() = s.last_seen();
  out.set_contract_id(s.contract_id());
  out.set_contract_version(s.contract_version());
  for (const StoredItem& item : stored->items) {
    if (item.deadline <= now && !held_for_case) continue;  // never returned
    if (!item_id.empty() && item.item_id != item_id) continue;
    if (!categories.empty() && std::find(categories.begin(), categories.end(),
                                         item.category) == categories.end()) {
      if (withheld != nullptr) withheld->push_back(item.item_id);
      continue;
    }
    const std::string ad = ItemAssociatedData(
        s.record_id(), item.item_id, item.category, s.contract_id(),
        s.contract_version(), item.deadline);
    absl::StatusOr<crypto::SecureBytes> plain = keys_.Open(item.sealed, ad);
    uint32_t tried_version = item.sealed.key_version;
    if (absl::IsNotFound(plain.status())) {
      // Re-wrapped under a newer key (and the old one destroyed) between our
      // fetch and now: fetch the row again. Or sealed by another replica
      // under a key it made since we last looked: take that in if this key
      // store has it by now (the heartbeat fetches it from the peers; a
      // read never waits on another machine).
      if (absl::Status refreshed = periods_->Refresh(); !refreshed.ok()) {
        spdlog::warn("cannot re-read the key store: {}", refreshed.message());
      }
      absl::StatusOr<StoredRecord> again = Fetch(record_id, principal);
      if (!again.ok()) return again.status();
      bool still_stored = false;
      for (const StoredItem& fresh : again->items) {
        if (fresh.item_id != item.item_id) continue;
        still_stored = true;
        plain = keys_.Open(fresh.sealed, ad);
        tried_version = fresh.sealed.key_version;
      }
      // Purged since the fetch (its deadline passed meanwhile): not
      // returned, as if the read had come a moment later; not damage. An
      // item gone before its deadline is damage, below.
      if (!still_stored && item.deadline <= clock_->Now()) continue;
    }
    if (absl::IsNotFound(plain.status()) &&
        periods_->AwaitingFetch(tried_version)) {
      // Not damage: another replica sealed it under a KEK it made, and this
      // replica's key store has not taken that KEK in yet (its fetches are
      // retried every minute, and at each heartbeat when the list changes).
      // A KEK missing for longer than PeriodKeys::kFetchGrace is damage.
      spdlog::warn(
          "record {} item {}: sealed under key version {}, which another "
          "replica holds and this one has not fetched yet",
          record_id, item.item_id, tried_version);
      return absl::UnavailableError(absl::StrCat(
          "item ", item.item_id, " is sealed under key version ", tried_version,
          ", which this replica has not received from the others yet; try "
          "again shortly"));
    }
    v1::Item* opened = out.add_items();
    absl::Status damage;
    if (!plain.ok()) {
      damage = plain.status();
    } else if (!opened->ParseFromArray(plain->data(),
                                       static_cast<int>(plain->size())) ||
               opened->item_id() != item.item_id ||
               opened->category() != item.category) {
      damage = absl::DataLossError("does not match its row");
    }
    opened->clear_padding();
    if (!damage.ok()) {
      const std::string message = absl::StrCat(
          "record ", record_id, " item ", item.item_id, ": ", damage.message());
      RaiseDamageAlert(record_id, principal, message);
      return absl::DataLossError(message);
    }
  }
  return out;
}

// A lookup's values (the undated one, the hours an item kept by hours can
// reach with a day's margin, and the days) are within what a store takes.
static_assert(1 + (Vault::kHourIndexedDays + 1) * 24 + 1 +
                  Vault::kMaxLookupDays <=
              kMostPlateIndexValues);

absl::StatusOr<std::vector<std::string>> Vault::LookupPlate(
    absl::string_view plate, int limit, v1::AuditEntry audit,
    absl::FunctionRef<std::vector<std::string>(std::vector<std::string>,
                                               v1::AuditEntry&)>
        admit,
    uint64_t* logged_as) {
  const std::string blind = plates_.Of(plate);
  if (blind.empty()) {
    return absl::InvalidArgumentError("a plate needs letters or digits");
  }
  audit.set_plate_blind_index(blind);
  // Under every cell an unexpired item can have its deadline in, from now
  // to the last deadline kept (whoever took the item in): hours as far as an
  // item kept by hours can reach, days to the last deadline; and under the
  // undated index that readings kept before cells carry.
  const absl::Time now = clock_->Now();
  absl::StatusOr<absl::Time> last = store_->LastDeadline();
  if (!last.ok()) return last.status();
  PlateIndexValues values;
  values.undated = blind;
  if (*last > now) {
    const int64_t first_day = PeriodKeys::DayOf(now);
    const int64_t last_day = PeriodKeys::DayOf(*last);
    if (last_day - first_day >= kMaxLookupDays) {
      return absl::FailedPreconditionError(absl::StrCat(
          "an item is kept until ", PeriodKeys::DayName(last_day),
          ", more than ", kMaxLookupDays,
          " days ahead: plate lookups would ask for a value of each day"));
    }
    // An item kept by hours was taken in no later than now (a day's margin
    // for a clock set back since), so its deadline is within this reach.
    const absl::Time hours_end =
        std::min(*last, now + kHourIndexedWithin + absl::Hours(24));
    for (int64_t hour = HourOf(now); hour <= HourOf(hours_end); ++hour) {
      values.cells.push_back(plates_.OfScope(plate, HourScope(hour)));
    }
    // One kept by days may have been taken long ago: any day to the last.
    for (int64_t day = first_day; day <= last_day; ++day) {
      values.cells.push_back(plates_.OfScope(plate, DayScope(day)));
    }
  }
  absl::StatusOr<std::vector<std::string>> found =
      store_->FindPlate(values, now, limit);
  if (!found.ok()) return found.status();
  found = admit(std::move(*found), audit);
  // The answer is logged before it is given, naming what it reveals: these
  // records' plate is now known to the caller (linkage is judged on it).
  for (const std::string& id : *found) audit.add_revealed_record_ids(id);
  if (!found->empty()) audit.add_categories(v1::DATA_CATEGORY_PLATE_TEXT);
  if (absl::StatusOr<uint64_t> seq = log_.AppendGrouped(std::move(audit));
      !seq.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "the access log cannot be written, so nothing is looked up: ",
        seq.status().message()));
  } else if (logged_as != nullptr) {
    *logged_as = *seq;
  }
  return found;
}

std::string Vault::PlateBlindIndex(absl::string_view plate) const {
  return plates_.Of(plate);
}

std::string Vault::PlateIndexOf(absl::string_view plate, absl::Time deadline,
                                absl::Time taken) const {
  return plates_.OfScope(plate, PlateIndexScope(deadline, taken));
}

absl::StatusOr<std::vector<v1::RecordSummary>> Vault::Find(
    const RecordQuery& q) {
  return store_->FindRecords(q);
}

absl::StatusOr<uint64_t> Vault::RecordCount() { return store_->CountRecords(); }

}  // namespace lanevault::vault
