#include "vault/period_keys.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/logging.h"

namespace lanevault::vault {
namespace {

constexpr char kCounters[] = "period_keys.counters";

// What a KEK's wrapping is bound to: its period and generation. Keys from
// before periods keep their original (unbound) wrapping.
std::string Binding(const PeriodKeys::Info& info) {
  if (info.period_day == StoredKek::kNoPeriod) return "";
  return absl::StrCat("period=", info.period_day,
                      ";generation=", info.generation);
}

}  // namespace

int64_t PeriodKeys::DayOf(absl::Time t) {
  return absl::ToInt64Seconds(
             absl::Floor(t - absl::UnixEpoch(), absl::Hours(24))) /
         86400;
}

absl::Time PeriodKeys::EndOfDay(int64_t day) {
  return absl::UnixEpoch() + absl::Hours(24) * (day + 1);
}

std::string PeriodKeys::DayName(int64_t day) {
  if (day == StoredKek::kNoPeriod) return "none";
  return absl::FormatTime("%Y-%m-%d", absl::UnixEpoch() + absl::Hours(24) * day,
                          absl::UTCTimeZone());
}

absl::StatusOr<std::unique_ptr<PeriodKeys>> PeriodKeys::Load(
    crypto::KeyRing* ring, KekStore* store,
    const std::vector<crypto::WrappedKek>& legacy, absl::Time now,
    KeyRegistry* registry, KeyPeers* peers, KekLocalChecks checks) {
  std::unique_ptr<PeriodKeys> keys(
      new PeriodKeys(ring, store, registry, peers, std::move(checks)));
  absl::ReleasableMutexLock lock(&keys->mu_);
  absl::StatusOr<std::string> counters = store->Get(kCounters);
  if (absl::IsNotFound(counters.status())) {
    // A new key store: the database's KEKs, if any, are generation 0, so
    // generation 1 re-wraps them away and then destroys them.
    // A move cut short by a crash left some of them there already.
    absl::StatusOr<std::vector<StoredKek>> moved = store->Keks();
    if (!moved.ok()) return moved.status();
    uint32_t max_version = 0;
    for (const crypto::WrappedKek& k : legacy) {
      max_version = std::max(max_version, k.version);
      if (std::any_of(moved->begin(), moved->end(), [&](const StoredKek& m) {
            return m.version == k.version;
          })) {
        continue;
      }
      StoredKek row{k.version, StoredKek::kNoPeriod, 0, k.wrapped, now};
      if (absl::Status s = store->PutKek(row); !s.ok()) return s;
    }
    keys->generation_ = 1;
    keys->generation_start_ = keys->next_version_ = max_version + 1;
    if (absl::Status s = keys->SaveCounters(); !s.ok()) return s;
  } else if (!counters.ok()) {
    return counters.status();
  } else {
    std::vector<std::string> parts = absl::StrSplit(*counters, ':');
    if (parts.size() != 3 || !absl::SimpleAtoi(parts[0], &keys->generation_) ||
        !absl::SimpleAtoi(parts[1], &keys->generation_start_) ||
        !absl::SimpleAtoi(parts[2], &keys->next_version_)) {
      return absl::DataLossError(absl::StrCat("key store ", store->path(),
                                              ": its counters are damaged"));
    }
  }
  if (absl::Status s = keys->LoadRowsLocked(); !s.ok()) return s;
  absl::StatusOr<int64_t> seen = store->DataVersion();
  if (!seen.ok()) return seen.status();
  keys->seen_version_ = *seen;
  if (registry != nullptr) {
    // KEKs from before the registry (one key store shared by the replicas
    // of one host) are registered as every replica's; then this key store
    // takes in what the other replicas made and destroyed meanwhile.
    absl::StatusOr<std::vector<StoredKek>> held = store->Keks();
    if (!held.ok()) return held.status();
    if (absl::Status s =
            registry->Adopt(*held, {keys->generation_, keys->generation_start_},
                            keys->next_version_);
        !s.ok()) {
      return s;
    }
    std::vector<uint32_t> missing;
    if (absl::Status s = keys->SyncLocked(&missing); !s.ok()) return s;
    lock.Release();
    keys->FetchAndAccept(std::move(missing));
  }
  return keys;
}

absl::Status PeriodKeys::LoadRowsLocked() {
  absl::StatusOr<std::vector<StoredKek>> rows = store_->Keks();
  if (!rows.ok()) return rows.status();
  absl::flat_hash_map<uint32_t, Info> keks;
  for (const StoredKek& row : *rows) {
    Info info{row.period_day, row.generation};
    if (!ring_->Has(row.version)) {
      if (absl::Status s =
              ring_->AddKek({row.version, row.wrapped}, Binding(info));
          !s.ok()) {
        return s;
      }
    }
    keks[row.version] = info;
    next_version_ = std::max(next_version_, row.version + 1);
    highest_seen_ = std::max(highest_seen_, row.version);
  }
  absl::StatusOr<std::vector<uint32_t>> destroyed = store_->DestroyedVersions();
  if (!destroyed.ok()) return destroyed.status();
  for (uint32_t version : *destroyed) {
    destroyed_.insert(version);
    highest_seen_ = std::max(highest_seen_, version);
  }
  // A KEK another process destroyed leaves this ring too.
  for (const auto& [version, info] : keks_) {
    if (!keks.contains(version)) ring_->Forget(version);
  }
  keks_ = std::move(keks);
  PickCurrentLocked();
  return absl::OkStatus();
}

void PeriodKeys::PickCurrentLocked() {
  current_.clear();
  for (const auto& [version, info] : keks_) {
    if (info.generation != generation_ ||
        info.period_day == StoredKek::kNoPeriod) {
      continue;
    }
    // A KEK another replica may lack seals nothing.
    if (registry_ != nullptr && !shared_.contains(version)) continue;
    // Two replicas may each have made one for a day: the first is used.
    auto [it, fresh] = current_.try_emplace(info.period_day, version);
    if (!fresh) it->second = std::min(it->second, version);
  }
}

void PeriodKeys::ForgetLocked(uint32_t version) {
  ring_->Forget(version);
  destroyed_.insert(version);  // the key store keeps its tombstone
  shared_.erase(version);
  auto it = keks_.find(version);
  if (it == keks_.end()) return;
  auto cur = current_.find(it->second.period_day);
  if (cur != current_.end() && cur->second == version) current_.erase(cur);
  keks_.erase(it);
}

absl::Status PeriodKeys::SyncLocked(std::vector<uint32_t>* to_fetch) {
  if (registry_ == nullptr) return absl::OkStatus();
  absl::StatusOr<KeyGeneration> generation = registry_->Generation();
  if (!generation.ok()) return generation.status();
  if (generation->generation > generation_ ||
      (generation->generation == generation_ &&
       generation->start_version != generation_start_)) {
    generation_ = generation->generation;
    generation_start_ = generation->start_version;
    next_version_ = std::max(next_version_, generation_start_);
    if (absl::Status s = SaveCounters(); !s.ok()) return s;
  }
  absl::StatusOr<std::vector<RegisteredKek>> registered = registry_->Keks();
  if (!registered.ok()) return registered.status();
  std::vector<uint32_t> missing;
  shared_.clear();
  for (const RegisteredKek& k : *registered) {
    next_version_ = std::max(next_version_, k.version + 1);
    if (k.destroyed) {
      if (!keks_.contains(k.version) && !ring_->Has(k.version)) continue;
      if (absl::Status s = FollowDestructionLocked(k.version); !s.ok()) {
        return s;
      }
      continue;
    }
    if (!k.shared) continue;  // sealed nothing: never needed to open
    if (destroyed_.contains(k.version)) {
      // Destroyed here: the registry cannot bring it back.
      if (refused_destructions_.insert(k.version).second) {
        spdlog::error(
            "the key registry lists key version {} as live, but this key "
            "store destroyed it: it stays destroyed here",
            k.version);
      }
      continue;
    }
    shared_.insert(k.version);
    if (!keks_.contains(k.version)) missing.push_back(k.version);
  }
  const absl::Time now = Now();
  for (auto it = missing_since_.begin(); it != missing_since_.end();) {
    if (std::find(missing.begin(), missing.end(), it->first) == missing.end()) {
      missing_since_.erase(it++);
    } else {
      ++it;
    }
  }
  for (uint32_t version : missing) missing_since_.try_emplace(version, now);
  // Each fetch is logged by every peer asked: the same missing versions
  // (held by no live replica) are asked for again only after a while.
  if (to_fetch != nullptr && !missing.empty() &&
      (missing != last_missing_ || now >= next_fetch_)) {
    last_missing_ = missing;
    next_fetch_ = now + absl::Minutes(1);
    *to_fetch = std::move(missing);
  }
  PickCurrentLocked();
  return absl::OkStatus();
}

absl::Time PeriodKeys::Now() const {
  return checks_.clock != nullptr ? checks_.clock->Now() : absl::Now();
}

bool PeriodKeys::DestroyableLocked(const Info& info, absl::Time now) const {
  const bool stale = info.generation < generation_;
  const bool period = info.period_day != StoredKek::kNoPeriod;
  return stale || (period && now >= EndOfDay(info.period_day));
}

absl::Status PeriodKeys::FollowDestructionLocked(uint32_t version) {
  const absl::Time now = Now();
  std::string refusal;
  auto it = keks_.find(version);
  if (it != keks_.end() && !DestroyableLocked(it->second, now)) {
    refusal = absl::StrCat("its period ", DayName(it->second.period_day),
                           " has not ended here and its generation ",
                           it->second.generation, " is current");
  } else if (!checks_.items_under) {
    refusal = "this replica cannot count the items under it";
  } else {
    absl::StatusOr<uint64_t> items = checks_.items_under(version);
    if (!items.ok()) return items.status();  // asked again at the next sync
    if (*items > 0) {
      refusal = absl::StrCat(*items, " stored items are still wrapped by it");
    }
  }
  if (!refusal.empty()) {
    if (refused_destructions_.insert(version).second) {
      const std::string message = absl::StrCat(
          "the key registry marks key version ", version,
          " destroyed, but this replica keeps it: ", refusal,
          ". Only the role holder destroys a key, after logging it; was the "
          "kek_registry table written by someone else?");
      spdlog::error("{}", message);
      if (checks_.alert) checks_.alert(message);
    }
    return absl::OkStatus();
  }
  // Another replica logged its destruction and this one agrees: this copy
  // goes too.
  if (absl::Status s = store_->DestroyKek(version); !s.ok()) return s;
  ForgetLocked(version);
  refused_destructions_.erase(version);
  spdlog::info(
      "key version {} destroyed in this key store too (logged as destroyed "
      "by the replica that held the role)",
      version);
  return absl::OkStatus();
}

void PeriodKeys::FetchAndAccept(std::vector<uint32_t> missing) {
  if (missing.empty()) return;
  if (peers_ != nullptr) {
    absl::StatusOr<std::vector<ReplicaPeer>> live = ConfiguredLivePeers();
    if (!live.ok()) {
      spdlog::warn("cannot list the live replicas to fetch keys from: {}",
                   live.status().message());
      return;
    }
    for (const ReplicaPeer& peer : *live) {
      if (missing.empty()) break;
      absl::StatusOr<KeyPeers::Fetched> got =
          peers_->Fetch(peer, missing, /*log_seed=*/false);
      if (!got.ok()) {
        spdlog::warn("cannot fetch keys from replica {}: {}", peer.address,
                     got.status().message());
        continue;
      }
      // The registry as it stands now, not as it stood before the call (a
      // version destroyed meanwhile must not be written here), and under
      // mu_, so no sync takes in a destruction between the read and the
      // key store's write.
      absl::MutexLock lock(&mu_);
      absl::StatusOr<Registered> registered = ListRegistered();
      if (!registered.ok()) {
        spdlog::warn("cannot read the key registry to check fetched keys: {}",
                     registered.status().message());
        break;
      }
      for (const StoredKek& kek : got->keks) {
        auto it = std::find(missing.begin(), missing.end(), kek.version);
        if (it == missing.end()) continue;
        if (absl::Status s = AcceptLocked(kek, *registered); !s.ok()) {
          spdlog::error("key version {} from replica {} refused: {}",
                        kek.version, peer.address, s.message());
          continue;
        }
        PickCurrentLocked();
        missing.erase(it);
      }
    }
  }
  if (!missing.empty()) {
    spdlog::warn(
        "key versions {} are registered but not in this key store, and no "
        "live replica handed them over yet: items under them open on the "
        "replicas that hold them",
        absl::StrJoin(missing, ", "));
  }
}

absl::Status PeriodKeys::AcceptLocked(const StoredKek& kek,
                                      const Registered& registered) {
  if (destroyed_.contains(kek.version)) {
    return absl::PermissionDeniedError(
        absl::StrCat("key version ", kek.version,
                     " was destroyed in this key store and is never taken in "
                     "again"));
  }
  if (keks_.contains(kek.version)) {
    // Acknowledged only when it is the very key held here: a different key
    // under a taken number would be sealed under on one replica only.
    absl::StatusOr<std::vector<StoredKek>> held = Held({kek.version});
    if (!held.ok()) return held.status();
    if (held->size() != 1 || (*held)[0].wrapped != kek.wrapped ||
        (*held)[0].period_day != kek.period_day ||
        (*held)[0].generation != kek.generation) {
      return absl::FailedPreconditionError(absl::StrCat(
          "key version ", kek.version,
          " is held here as a different key: the version number was "
          "taken twice (was the registry's numbering moved back?)"));
    }
    return absl::OkStatus();
  }
  if (registry_ != nullptr) {
    auto it = registered.find(kek.version);
    if (it == registered.end() || it->second.destroyed ||
        it->second.period_day != kek.period_day ||
        it->second.generation != kek.generation) {
      return absl::PermissionDeniedError(absl::StrCat(
          "key version ", kek.version,
          " is not registered as a live key of this period and generation"));
    }
  }
  const Info info{kek.period_day, kek.generation};
  if (!ring_->Has(kek.version)) {
    if (absl::Status s =
            ring_->AddKek({kek.version, kek.wrapped}, Binding(info));
        !s.ok()) {
      return s;
    }
  }
  absl::Status put = store_->PutKek(kek);
  if (!put.ok() && !absl::IsAlreadyExists(put)) {
    ring_->Forget(kek.version);
    return put;
  }
  keks_[kek.version] = info;
  next_version_ = std::max(next_version_, kek.version + 1);
  highest_seen_ = std::max(highest_seen_, kek.version);
  return absl::OkStatus();
}

absl::StatusOr<PeriodKeys::Registered> PeriodKeys::ListRegistered() {
  Registered registered;
  if (registry_ == nullptr) return registered;
  absl::StatusOr<std::vector<RegisteredKek>> listed = registry_->Keks();
  if (!listed.ok()) return listed.status();
  for (const RegisteredKek& k : *listed) registered[k.version] = k;
  return registered;
}

absl::Status PeriodKeys::Accept(const std::vector<StoredKek>& keks) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Registered> registered = ListRegistered();
  if (!registered.ok()) return registered.status();
  for (const StoredKek& kek : keks) {
    if (absl::Status s = AcceptLocked(kek, *registered); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<StoredKek>> PeriodKeys::Held(
    const std::vector<uint32_t>& versions) {
  absl::StatusOr<std::vector<StoredKek>> rows = store_->Keks();
  if (!rows.ok()) return rows.status();
  std::vector<StoredKek> out;
  for (StoredKek& row : *rows) {
    if (std::find(versions.begin(), versions.end(), row.version) !=
        versions.end()) {
      out.push_back(std::move(row));
    }
  }
  return out;
}

absl::StatusOr<std::vector<ReplicaPeer>> PeriodKeys::ConfiguredLivePeers() {
  absl::StatusOr<std::vector<ReplicaPeer>> live = registry_->LivePeers();
  if (!live.ok() || peers_ == nullptr) return live;
  std::vector<ReplicaPeer> out;
  for (ReplicaPeer& peer : *live) {
    if (peers_->Configured(peer)) {
      out.push_back(std::move(peer));
    } else {
      spdlog::warn(
          "the replicas table names {} ({}), which is not a configured "
          "replica: no key is handed to it or taken from it",
          peer.address, peer.principal);
    }
  }
  return out;
}

absl::Status PeriodKeys::PushToLivePeers(uint32_t version) {
  absl::StatusOr<std::vector<ReplicaPeer>> live = ConfiguredLivePeers();
  if (!live.ok()) return live.status();
  if (!live->empty()) {
    if (peers_ == nullptr) {
      return absl::FailedPreconditionError(absl::StrCat(
          "other replicas are alive (", live->front().address,
          ") but this one has no key hand-over configured: a key it made "
          "would be on this machine only"));
    }
    absl::StatusOr<std::vector<StoredKek>> kek = Held({version});
    if (!kek.ok()) return kek.status();
    if (kek->size() != 1) {  // destroyed since it was made
      return absl::UnavailableError(absl::StrCat(
          "key version ", version,
          " left this key store before it was handed over; try again"));
    }
    for (const ReplicaPeer& peer : *live) {
      if (absl::Status s = peers_->Push(peer, *kek); !s.ok()) {
        return absl::UnavailableError(absl::StrCat(
            "key version ", version, " was not acknowledged by replica ",
            peer.address, " (", peer.principal,
            "), so nothing is sealed under it yet (try again; a replica "
            "that stopped is waited for until its heartbeat is ",
            absl::FormatDuration(kPeerHeartbeatFresh), " old): ", s.message()));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> PeriodKeys::MakeShared(int64_t day) {
  absl::MutexLock share(&share_mu_);
  uint32_t version = 0;
  {
    absl::MutexLock lock(&mu_);
    if (absl::Status s = RefreshLocked(); !s.ok()) return s;
    // Another thread, or another replica, may have made and shared one
    // since.
    if (absl::Status s = SyncLocked(nullptr); !s.ok()) return s;
    if (auto it = current_.find(day); it != current_.end()) return it->second;
    absl::StatusOr<uint32_t> made = UnsharedOrNewLocked(day);
    if (!made.ok()) return made.status();
    version = *made;
  }
  if (absl::Status s = PushToLivePeers(version); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  if (!keks_.contains(version)) {
    return absl::UnavailableError(absl::StrCat(
        "key version ", version,
        " left this key store while it was handed over; try again"));
  }
  if (absl::Status s = registry_->MarkShared(version); !s.ok()) return s;
  shared_.insert(version);
  // The day's key as PickCurrentLocked chooses it: two replicas may each
  // have shared one meanwhile (the first is used), and a rotation meanwhile
  // leaves this one of an older generation, which seals nothing new.
  PickCurrentLocked();
  if (auto it = current_.find(day); it != current_.end()) return it->second;
  return absl::UnavailableError(
      absl::StrCat("the keys were rotated while key version ", version,
                   " was handed over; try again"));
}

absl::StatusOr<uint32_t> PeriodKeys::UnsharedOrNewLocked(int64_t day) {
  // One held here but not yet shared (made here, or handed over by a
  // replica that stopped before marking it): shared now rather than
  // another made.
  uint32_t unshared = 0;
  for (const auto& [version, info] : keks_) {
    if (info.period_day == day && info.generation == generation_ &&
        !shared_.contains(version) && (unshared == 0 || version < unshared)) {
      unshared = version;
    }
  }
  uint32_t version = unshared;
  if (version == 0) {
    absl::StatusOr<uint32_t> taken = registry_->NewVersion(day, generation_);
    if (!taken.ok()) return taken.status();
    if (*taken <= highest_seen_ || destroyed_.contains(*taken)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the key registry handed out key version ", *taken,
          ", but this key store has already seen version ", highest_seen_,
          ": a number is never taken twice (was the registry's sequence "
          "moved back?); nothing is sealed under it"));
    }
    version = *taken;
    const Info info{day, generation_};
    crypto::WrappedKek kek = ring_->NewKek(version, Binding(info));
    if (absl::Status s = store_->PutKek(
            {version, day, generation_, kek.wrapped, absl::Now()});
        !s.ok()) {
      ring_->Forget(version);
      return s;
    }
    keks_[version] = info;
    next_version_ = std::max(next_version_, version + 1);
    highest_seen_ = std::max(highest_seen_, version);
  }
  return version;
}

absl::Status PeriodKeys::ReadCountersLocked() {
  absl::StatusOr<std::string> counters = store_->Get(kCounters);
  if (!counters.ok()) return counters.status();
  std::vector<std::string> parts = absl::StrSplit(*counters, ':');
  uint32_t generation = 0, start = 0, next = 0;
  if (parts.size() != 3 || !absl::SimpleAtoi(parts[0], &generation) ||
      !absl::SimpleAtoi(parts[1], &start) ||
      !absl::SimpleAtoi(parts[2], &next)) {
    return absl::DataLossError(absl::StrCat("key store ", store_->path(),
                                            ": its counters are damaged"));
  }
  // Counters only move forward; a replica's older write does not undo
  // another's newer one.
  if (generation > generation_) {
    generation_ = generation;
    generation_start_ = start;
  }
  next_version_ = std::max(next_version_, next);
  return absl::OkStatus();
}

absl::Status PeriodKeys::RefreshLocked() {
  absl::StatusOr<int64_t> now = store_->DataVersion();
  if (!now.ok()) return now.status();
  if (*now == seen_version_) return absl::OkStatus();
  if (absl::Status s = ReadCountersLocked(); !s.ok()) return s;
  if (absl::Status s = LoadRowsLocked(); !s.ok()) return s;
  seen_version_ = *now;
  return absl::OkStatus();
}

absl::Status PeriodKeys::Refresh() {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = RefreshLocked(); !s.ok()) return s;
  return SyncLocked(/*to_fetch=*/nullptr);
}

absl::Status PeriodKeys::RefreshAndFetch() {
  // One fetch at a time; whoever comes while one is in flight (a peer may
  // take a call's timeout to answer) takes in the rest and goes on, rather
  // than beat late. Not under mu_, which the peers' hand-overs and the
  // readers' refreshes need meanwhile.
  if (!fetch_mu_.TryLock()) return Refresh();
  std::vector<uint32_t> missing;
  absl::Status s;
  {
    absl::MutexLock lock(&mu_);
    s = RefreshLocked();
    if (s.ok()) s = SyncLocked(&missing);
  }
  if (s.ok()) FetchAndAccept(std::move(missing));
  fetch_mu_.Unlock();
  return s;
}

absl::StatusOr<bool> PeriodKeys::Initialized(KekStore& store) {
  absl::StatusOr<std::string> counters = store.Get(kCounters);
  if (absl::IsNotFound(counters.status())) return false;
  if (!counters.ok()) return counters.status();
  return true;
}

absl::Status PeriodKeys::SaveCounters() {
  return store_->Put(
      kCounters,
      absl::StrCat(generation_, ":", generation_start_, ":", next_version_));
}

absl::StatusOr<uint32_t> PeriodKeys::For(absl::Time deadline) {
  const int64_t day = DayOf(deadline);
  if (registry_ != nullptr) {
    {
      absl::MutexLock lock(&mu_);
      if (absl::Status s = RefreshLocked(); !s.ok()) return s;
      if (auto it = current_.find(day); it != current_.end()) {
        return it->second;
      }
    }
    return MakeShared(day);
  }
  absl::MutexLock lock(&mu_);
  if (absl::Status s = RefreshLocked(); !s.ok()) return s;
  // Replicas sharing the key store may race for a version number: the key
  // store's primary key decides, and the loser reloads and tries again.
  for (int attempt = 0; attempt < 8; ++attempt) {
    if (auto it = current_.find(day); it != current_.end()) return it->second;
    const uint32_t version = next_version_;
    Info info{day, generation_};
    crypto::WrappedKek kek = ring_->NewKek(version, Binding(info));
    // The counter first: a crash after it wastes a number, never reuses one.
    ++next_version_;
    if (absl::Status s = SaveCounters(); !s.ok()) {
      ring_->Forget(version);
      return s;
    }
    absl::Status put =
        store_->PutKek({version, day, generation_, kek.wrapped, absl::Now()});
    if (absl::IsAlreadyExists(put)) {
      ring_->Forget(version);
      if (absl::Status s = ReadCountersLocked(); !s.ok()) return s;
      if (absl::Status s = LoadRowsLocked(); !s.ok()) return s;
      continue;
    }
    if (!put.ok()) {
      ring_->Forget(version);
      return put;
    }
    keks_[version] = info;
    highest_seen_ = std::max(highest_seen_, version);
    current_[day] = version;
    return version;
  }
  return absl::UnavailableError(
      "could not take a key version in the key store (other processes keep "
      "taking them); try again");
}

absl::StatusOr<uint32_t> PeriodKeys::Rotate() {
  // Not while this process hands a new KEK over (see MakeShared).
  absl::MutexLock share(&share_mu_);
  absl::MutexLock lock(&mu_);
  if (absl::Status s = RefreshLocked(); !s.ok()) return s;
  if (registry_ != nullptr) {
    absl::StatusOr<KeyGeneration> next = registry_->Rotate();
    if (!next.ok()) return next.status();
    generation_ = next->generation;
    generation_start_ = next->start_version;
    next_version_ = std::max(next_version_, generation_start_);
    current_.clear();
    if (absl::Status s = SaveCounters(); !s.ok()) return s;
    return generation_;
  }
  const uint32_t old_generation = generation_;
  const uint32_t old_start = generation_start_;
  ++generation_;
  generation_start_ = next_version_;
  if (absl::Status s = SaveCounters(); !s.ok()) {
    generation_ = old_generation;
    generation_start_ = old_start;
    return s;
  }
  current_.clear();
  return generation_;
}

uint32_t PeriodKeys::generation() const {
  absl::MutexLock lock(&mu_);
  return generation_;
}

uint32_t PeriodKeys::first_current_version() const {
  absl::MutexLock lock(&mu_);
  return generation_start_;
}

std::vector<PeriodKeys::Candidate> PeriodKeys::Candidates(
    absl::Time now) const {
  absl::MutexLock lock(&mu_);
  std::vector<Candidate> out;
  for (const auto& [version, info] : keks_) {
    if (!DestroyableLocked(info, now)) continue;
    const bool stale = info.generation < generation_;
    const bool period = info.period_day != StoredKek::kNoPeriod;
    Candidate& c = out.emplace_back();
    c.version = version;
    c.info = info;
    c.stale = stale;
    c.from = period ? EndOfDay(info.period_day - 1) : absl::InfinitePast();
    c.to = period ? EndOfDay(info.period_day) : absl::InfiniteFuture();
  }
  std::sort(out.begin(), out.end(), [](const Candidate& a, const Candidate& b) {
    return a.version < b.version;
  });
  return out;
}

absl::Status PeriodKeys::Destroy(uint32_t version) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = store_->DestroyKek(version); !s.ok()) return s;
  ForgetLocked(version);
  return absl::OkStatus();
}

bool PeriodKeys::AwaitingFetch(uint32_t version) const {
  absl::MutexLock lock(&mu_);
  if (registry_ == nullptr || !shared_.contains(version) ||
      keks_.contains(version) || destroyed_.contains(version)) {
    return false;
  }
  auto since = missing_since_.find(version);
  return since != missing_since_.end() && Now() - since->second < kFetchGrace;
}

std::optional<PeriodKeys::Info> PeriodKeys::Describe(uint32_t version) const {
  absl::MutexLock lock(&mu_);
  auto it = keks_.find(version);
  if (it == keks_.end()) return std::nullopt;
  return it->second;
}

absl::Time PeriodKeys::NextPeriodEnd(absl::Time now) const {
  absl::MutexLock lock(&mu_);
  absl::Time next = absl::InfiniteFuture();
  for (const auto& [version, info] : keks_) {
    if (info.period_day == StoredKek::kNoPeriod) continue;
    const absl::Time end = EndOfDay(info.period_day);
    if (end > now) next = std::min(next, end);
  }
  return next;
}

}  // namespace lanevault::vault
