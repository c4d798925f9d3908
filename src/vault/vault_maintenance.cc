// The vault's maintenance, run by its maintainer thread: retention (purge
// at each deadline) and key rotation (re-wrapping data keys).

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

}  // namespace

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
  return total;
}

absl::StatusOr<absl::Time> Vault::NextDeadline() {
  return store_->NextDeadline();
}

absl::StatusOr<std::vector<CategoryRetentionRow>> Vault::RetentionReport() {
  return store_->RetentionCounts(clock_->Now());
}

absl::StatusOr<uint32_t> Vault::RotateKeys(v1::AuditEntry audit) {
  // One rotation at a time; intake keeps sealing under the current version
  // until the new one is stored.
  static absl::Mutex rotate_mu(absl::kConstInit);
  absl::MutexLock rotate(&rotate_mu);
  const uint32_t version = keys_.current() + 1;
  KekRow row{keys_.NewKek(version), clock_->Now()};
  audit.set_detail(absl::StrCat("key version ", version, " created"));
  if (absl::Status s = store_->PutKek(row, std::move(audit)); !s.ok()) {
    keys_.Forget(version);
    return s;
  }
  keys_.SetCurrent(version);
  spdlog::info("key rotation: version {} now wraps new data keys", version);
  WakeMaintainer();
  return version;
}

absl::StatusOr<uint64_t> Vault::RewrapStep(int limit) {
  const uint32_t current = keys_.current();
  // The maintainer calls this on every wake; once every data key is under
  // the current version, there is nothing to scan the items for until the
  // next rotation.
  if (rewrap_settled_at_.load() == current) return 0;
  absl::StatusOr<std::vector<RewrapCandidate>> todo =
      store_->ItemsToRewrap(current, limit);
  if (!todo.ok()) return todo.status();
  std::vector<Rewrapped> done;
  done.reserve(todo->size());
  for (const RewrapCandidate& c : *todo) {
    absl::StatusOr<std::string> wrapped = keys_.Rewrap(
        c.item.sealed,
        ItemAssociatedData(c.record_id, c.item.item_id, c.item.category,
                           c.contract_id, c.contract_version, c.item.deadline),
        current);
    if (!wrapped.ok()) {
      oversight_.RaiseAlert(
          "critical", "data_loss", "system",
          absl::StrCat("record ", c.record_id, " item ", c.item.item_id,
                       ": cannot re-wrap: ", wrapped.status().message()));
      continue;  // left on its old version, which is then kept
    }
    done.push_back({c.record_id, c.item.item_id, c.item.sealed.key_version,
                    current, std::move(*wrapped)});
  }
  uint64_t updated = 0;
  if (!done.empty()) {
    absl::StatusOr<uint64_t> n = store_->UpdateWrappedKeys(done);
    if (!n.ok()) return n.status();
    updated = *n;
  }
  if (updated > 0 && done.size() == todo->size()) return updated;
  // Nothing (more) to move: destroy every older version nothing uses.
  absl::StatusOr<std::vector<KekRow>> keks = store_->Keks();
  if (!keks.ok()) return keks.status();
  bool settled = todo->empty();
  absl::StatusOr<std::vector<std::pair<uint32_t, uint64_t>>> used =
      store_->ItemsPerKeyVersion();
  if (!used.ok()) return used.status();
  for (const KekRow& k : *keks) {
    if (k.kek.version >= current) continue;
    bool in_use = false;
    for (const auto& [version, count] : *used) {
      in_use |= version == k.kek.version && count > 0;
    }
    if (in_use) {
      settled = false;  // a damaged item that could not be re-wrapped
      continue;
    }
    v1::AuditEntry audit = SystemEntry(v1::ACTION_ROTATE_KEYS);
    audit.set_detail(absl::StrCat("key version ", k.kek.version,
                                  " destroyed (no data key uses it)"));
    if (absl::Status s = store_->DestroyKek(k.kek.version, std::move(audit));
        !s.ok()) {
      if (absl::IsFailedPrecondition(s)) {  // raced with a rewrap
        settled = false;
        continue;
      }
      return s;
    }
    keys_.Forget(k.kek.version);
    spdlog::info("key rotation: version {} destroyed", k.kek.version);
    if (absl::Status s = store_->Compact(); !s.ok()) {
      spdlog::warn("WAL truncation after key destruction failed: {}",
                   s.message());
    }
  }
  if (settled) rewrap_settled_at_.store(current);
  return updated;
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
