#include "vault/period_keys.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

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
    const std::vector<crypto::WrappedKek>& legacy, absl::Time now) {
  std::unique_ptr<PeriodKeys> keys(new PeriodKeys(ring, store));
  absl::MutexLock lock(&keys->mu_);
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
  return keys;
}

absl::Status PeriodKeys::LoadRowsLocked() {
  absl::StatusOr<std::vector<StoredKek>> rows = store_->Keks();
  if (!rows.ok()) return rows.status();
  absl::flat_hash_map<uint32_t, Info> keks;
  current_.clear();
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
    if (row.generation == generation_ &&
        row.period_day != StoredKek::kNoPeriod) {
      // Two replicas may each have made one for a day: the first is used.
      auto [it, fresh] = current_.try_emplace(row.period_day, row.version);
      if (!fresh) it->second = std::min(it->second, row.version);
    }
    next_version_ = std::max(next_version_, row.version + 1);
  }
  // A KEK another process destroyed leaves this ring too.
  for (const auto& [version, info] : keks_) {
    if (!keks.contains(version)) ring_->Forget(version);
  }
  keks_ = std::move(keks);
  return absl::OkStatus();
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
  return RefreshLocked();
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
    current_[day] = version;
    return version;
  }
  return absl::UnavailableError(
      "could not take a key version in the key store (other processes keep "
      "taking them); try again");
}

absl::StatusOr<uint32_t> PeriodKeys::Rotate() {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = RefreshLocked(); !s.ok()) return s;
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
    const bool stale = info.generation < generation_;
    const bool period = info.period_day != StoredKek::kNoPeriod;
    if (!stale && !(period && now >= EndOfDay(info.period_day))) continue;
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
  ring_->Forget(version);
  auto it = keks_.find(version);
  if (it != keks_.end()) {
    auto cur = current_.find(it->second.period_day);
    if (cur != current_.end() && cur->second == version) current_.erase(cur);
    keks_.erase(it);
  }
  return absl::OkStatus();
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
