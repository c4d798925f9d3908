// The vault's maintenance, run by its maintainer thread: retention (purge
// at each deadline) and key rotation (re-wrapping data keys).

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/ids.h"
#include "common/logging.h"
#include "common/time_util.h"
#include "vault/maintainer.h"
#include "vault/vault.h"

namespace lanevault::vault {
namespace {

// Items purged per transaction: large enough to amortise the fsync, small
// enough that intake waits only briefly behind a sweep (which holds the
// store for one batch at a time).
constexpr int kPurgeBatch = 500;

// The detail of a "key_destroyed" entry; ParseKeyDestruction reads it.
std::string KeyDestructionDetail(const PeriodKeys::Candidate& c) {
  return absl::StrCat(
      "key version ", c.version, " destroyed (retention period ",
      PeriodKeys::DayName(c.info.period_day), ", generation ",
      c.info.generation, "): ",
      c.stale ? "its generation was rotated out and no data key uses it"
              : "its retention period has ended and no data key uses it");
}

}  // namespace

std::optional<KeyDestruction> ParseKeyDestruction(const v1::AuditEntry& e) {
  if (e.reason_code() != "key_destroyed") return std::nullopt;
  KeyDestruction out;
  absl::string_view d = e.detail();
  auto between = [&d](absl::string_view open, absl::string_view close) {
    size_t a = d.find(open);
    if (a == absl::string_view::npos) return absl::string_view();
    a += open.size();
    size_t b = d.find(close, a);
    return b == absl::string_view::npos ? absl::string_view()
                                        : d.substr(a, b - a);
  };
  if (!absl::SimpleAtoi(between("key version ", " destroyed"), &out.version) ||
      !absl::SimpleAtoi(between(", generation ", ")"), &out.generation)) {
    return std::nullopt;
  }
  out.retention_period = std::string(between("(retention period ", ","));
  out.rotated = e.action() == v1::ACTION_ROTATE_KEYS;
  return out;
}

absl::StatusOr<PurgeResult> Vault::SweepExpired() {
  PurgeResult total;
  v1::AuditEntry tmpl = SystemEntry(v1::ACTION_PURGE);
  tmpl.set_reason_code("retention_deadline");
  while (true) {
    *tmpl.mutable_time() = ToProto(clock_->Now());
    absl::StatusOr<PurgeResult> batch =
        store_->PurgeExpired(clock_->Now(), kPurgeBatch, tmpl);
    if (!batch.ok()) return batch.status();
    total.items += batch->items;
    total.records += batch->records;
    if (batch->items < static_cast<uint64_t>(kPurgeBatch)) break;
    // Let waiting intake in: the store's mutex is not fair, and a sweeper
    // that re-locks at once would starve the lanes for a whole catch-up.
    absl::SleepFor(absl::Milliseconds(2));
  }
  if (total.items > 0) {
    // Deleted pages were zeroed (secure_delete); this moves them out of the
    // WAL into the database and empties the WAL.
    if (absl::Status s = store_->Compact(); !s.ok()) {
      spdlog::warn("WAL truncation after purge failed (retried next sweep): {}",
                   s.message());
    }
  }
  absl::StatusOr<uint64_t> destroyed = DestroyUnusedKeys();
  if (!destroyed.ok()) return destroyed.status();
  return total;
}

absl::StatusOr<absl::Time> Vault::NextDeadline() {
  absl::StatusOr<absl::Time> next = store_->NextDeadline();
  if (!next.ok()) return next.status();
  // A period's KEK becomes destroyable when its day ends.
  return std::min(*next, periods_->NextPeriodEnd(clock_->Now()));
}

absl::StatusOr<std::vector<CategoryRetentionRow>> Vault::RetentionReport() {
  return store_->RetentionCounts(clock_->Now());
}

absl::StatusOr<uint32_t> Vault::RotateKeys(v1::AuditEntry audit) {
  // New seals take the new generation's KEKs as soon as it is stored.
  absl::StatusOr<uint32_t> generation = periods_->Rotate();
  if (!generation.ok()) return generation.status();
  audit.set_detail(absl::StrCat("key generation ", *generation,
                                " started: new key-encryption keys for every "
                                "retention period from now on"));
  if (absl::StatusOr<uint64_t> seq = log_.Append(std::move(audit)); !seq.ok()) {
    return seq.status();
  }
  spdlog::info("key rotation: generation {} now wraps new data keys",
               *generation);
  WakeMaintainer();
  return *generation;
}

absl::StatusOr<uint64_t> Vault::RewrapStep(int limit) {
  // Another replica may have rotated or made keys since.
  if (absl::Status s = periods_->Refresh(); !s.ok()) return s;
  const uint32_t generation = periods_->generation();
  // The maintainer calls this on every wake; once every data key is under
  // the current generation, there is nothing to scan the items for until
  // the next rotation.
  if (rewrap_settled_at_.load() == generation) return 0;
  absl::StatusOr<std::vector<RewrapCandidate>> todo =
      store_->ItemsToRewrap(periods_->first_current_version(), limit);
  if (!todo.ok()) return todo.status();
  std::vector<Rewrapped> done;
  done.reserve(todo->size());
  bool failed = false;
  for (const RewrapCandidate& c : *todo) {
    absl::StatusOr<uint32_t> to = periods_->For(c.item.deadline);
    if (!to.ok()) return to.status();
    absl::StatusOr<std::string> wrapped = keys_.Rewrap(
        c.item.sealed,
        ItemAssociatedData(c.record_id, c.item.item_id, c.item.category,
                           c.contract_id, c.contract_version, c.item.deadline),
        *to);
    if (!wrapped.ok()) {
      failed = true;  // left on its old version, which is then kept
      if (absl::IsNotFound(wrapped.status()) &&
          periods_->AwaitingFetch(c.item.sealed.key_version)) {
        // Sealed by another replica under a KEK this one has not fetched
        // yet (the heartbeat does): re-wrapped at a later pass.
        continue;
      }
      oversight_.RaiseAlert(
          "critical", "data_loss", "system",
          absl::StrCat("record ", c.record_id, " item ", c.item.item_id,
                       ": cannot re-wrap: ", wrapped.status().message()));
      continue;
    }
    done.push_back({c.record_id, c.item.item_id, c.item.sealed.key_version, *to,
                    std::move(*wrapped)});
  }
  uint64_t updated = 0;
  if (!done.empty()) {
    absl::StatusOr<uint64_t> n = store_->UpdateWrappedKeys(done);
    if (!n.ok()) return n.status();
    updated = *n;
  }
  if (updated > 0 && done.size() == todo->size()) return updated;
  // Nothing (more) to move: the older generation's KEKs go.
  if (absl::StatusOr<uint64_t> destroyed = DestroyUnusedKeys();
      !destroyed.ok()) {
    return destroyed.status();
  }
  if (todo->empty() && !failed) rewrap_settled_at_.store(generation);
  return updated;
}

absl::StatusOr<uint64_t> Vault::DestroyUnusedKeys() {
  absl::MutexLock lock(&destroy_mu_);
  // Every KEK in the key store counts, also those other replicas made.
  if (absl::Status s = periods_->Refresh(); !s.ok()) return s;
  uint64_t destroyed = 0;
  for (const PeriodKeys::Candidate& c : periods_->Candidates(clock_->Now())) {
    v1::AuditEntry audit =
        SystemEntry(c.stale ? v1::ACTION_ROTATE_KEYS : v1::ACTION_PURGE);
    audit.set_reason_code("key_destroyed");
    audit.set_record_id(absl::StrCat("kek:", c.version));
    audit.set_detail(KeyDestructionDetail(c));
    // Logged, with the store's own check that no item uses it, before the
    // key store forgets it: a crash between the two destroys it again at
    // the next pass (logged twice), never silently. No intake is between
    // choosing a KEK and its commit meanwhile.
    absl::WriterMutexLock no_sealing(&kek_use_mu_);
    if (absl::Status s =
            store_->DestroyKek(c.version, c.from, c.to, std::move(audit));
        !s.ok()) {
      if (absl::IsFailedPrecondition(s)) continue;  // held, or not yet moved
      return s;
    }
    if (absl::Status s = periods_->Destroy(c.version); !s.ok()) {
      // Logged as destroyed, still in the key store: said loudly, and the
      // next pass tries again (logging it again; the report shows it once).
      oversight_.RaiseAlert(
          "critical", "key_not_destroyed", "system",
          absl::StrCat("key version ", c.version,
                       " is logged as destroyed but the key store still "
                       "holds it: ",
                       s.message()));
      return s;
    }
    ++destroyed;
    spdlog::info(
        "key version {} destroyed (retention period {}, generation {})",
        c.version, PeriodKeys::DayName(c.info.period_day), c.info.generation);
  }
  return destroyed;
}

absl::StatusOr<uint64_t> Vault::CheckKeysPresent() {
  absl::StatusOr<std::vector<std::pair<uint32_t, uint64_t>>> used =
      store_->ItemsPerKeyVersion();
  if (!used.ok()) return used.status();
  uint64_t missing = 0;
  for (const auto& [version, items] : *used) {
    if (items == 0 || keys_.Has(version)) continue;
    if (periods_->AwaitingFetch(version)) {
      spdlog::warn(
          "{} stored items are wrapped by key version {}, which another "
          "replica made and this one is still fetching",
          items, version);
      continue;
    }
    ++missing;
    oversight_.RaiseAlert(
        "critical", "key_missing", "system",
        absl::StrCat(items, " stored items are wrapped by key version ",
                     version, ", which the key store ", key_store_->path(),
                     " does not hold: they cannot be opened. Was the key "
                     "store edited, lost or replaced by an older copy?"));
  }
  return missing;
}

absl::StatusOr<Vault::DestroyedKeysPage> Vault::DestroyedKeys(
    absl::Time since, absl::Time until, uint64_t start_sequence, int limit) {
  absl::StatusOr<std::vector<v1::AuditEntry>> entries =
      store_->QueryKekEntries(since, until, start_sequence, limit);
  if (!entries.ok()) return entries.status();
  DestroyedKeysPage page;
  if (!entries->empty() && entries->size() == static_cast<size_t>(limit)) {
    page.next_sequence = entries->back().sequence() + 1;
  }
  // A caller can name "kek:7" as a record id in a refused request; only the
  // vault's own entries count, and a destruction retried (its key store
  // write failed once) counts once, at its first entry.
  absl::flat_hash_set<std::string> seen;
  if (start_sequence > 0) {
    // Those already on earlier pages (a few a day: one a period and key
    // generation).
    absl::StatusOr<std::vector<v1::AuditEntry>> before =
        store_->QueryKekEntries(since, until, 0, 1 << 20);
    if (!before.ok()) return before.status();
    for (const v1::AuditEntry& e : *before) {
      if (e.sequence() < start_sequence && e.principal() == "system" &&
          e.reason_code() == "key_destroyed") {
        seen.insert(e.record_id());
      }
    }
  }
  for (v1::AuditEntry& e : *entries) {
    if (e.principal() == "system" && e.reason_code() == "key_destroyed" &&
        seen.insert(e.record_id()).second) {
      page.entries.push_back(std::move(e));
    }
  }
  return page;
}

absl::StatusOr<std::vector<std::pair<uint32_t, uint64_t>>>
Vault::ItemsPerKeyVersion() {
  return store_->ItemsPerKeyVersion();
}

void Vault::WakeMaintainer() {
  absl::MutexLock lock(&maintainer_mu_);
  if (maintainer_ != nullptr) maintainer_->Wake();
}

void Vault::NoteDeadline(absl::Time deadline) {
  absl::MutexLock lock(&maintainer_mu_);
  if (maintainer_ != nullptr) maintainer_->NoteDeadline(deadline);
}

void Vault::StartMaintenance() {
  absl::MutexLock lock(&maintainer_mu_);
  if (maintainer_ == nullptr) maintainer_ = std::make_unique<Maintainer>(this);
}

void Vault::StopMaintenance() {
  std::unique_ptr<Maintainer> stopping;
  {
    absl::MutexLock lock(&maintainer_mu_);
    stopping = std::move(maintainer_);
  }
  stopping.reset();  // joins outside the lock
}

}  // namespace lanevault::vault
