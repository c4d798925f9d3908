#include "wiring/quota_ledger.h"

#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace lanevault::wiring {
namespace {

std::string Key(int kind, bool group, absl::string_view name) {
  return absl::StrCat(kind, group ? "g" : "p", name);
}

}  // namespace

bool QuotaLedger::Counted(v1::Action action) { return KindOf(action) >= 0; }

int QuotaLedger::KindOf(v1::Action action) {
  switch (action) {
    case v1::ACTION_READ_RECORD:
    case v1::ACTION_READ_ITEM:
      return 0;
    case v1::ACTION_SEARCH_PLATE:
      return 1;
    case v1::ACTION_SEARCH_METADATA:
      return 2;
    default:
      return -1;
  }
}

QuotaLedger::Reservation& QuotaLedger::Reservation::operator=(
    Reservation&& o) noexcept {
  if (this != &o) {
    if (ledger_ != nullptr) ledger_->Release(*this);
    ledger_ = o.ledger_;
    principal_ = std::move(o.principal_);
    group_ = std::move(o.group_);
    action_ = o.action_;
    counted_ = o.counted_;
    exact_ = o.exact_;
    replica_held_ = o.replica_held_;
    seen_ = std::move(o.seen_);
    o.ledger_ = nullptr;
  }
  return *this;
}

QuotaLedger::Reservation::~Reservation() {
  if (ledger_ != nullptr) ledger_->Release(*this);
}

QuotaLedger::Reservation QuotaLedger::Admit(
    const std::string& principal, const std::string& group, v1::Action action,
    const std::string& record_id,
    absl::FunctionRef<const policy::AccessDecision&()> decide) {
  absl::MutexLock lock(&mu_);
  Reservation r;
  const policy::AccessDecision* counted = &decide();
  if (!counted->allowed()) return r;
  if (replicas_ != nullptr && Counted(action) && counted->quota_counted) {
    if (replica_holds_ == 0) {
      if (absl::Status s = replicas_->Lock(); !s.ok()) {
        // Counted from the log alone: exact but for other replicas' calls
        // in flight this moment. Refusing every read instead would make a
        // database hiccup an outage.
        spdlog::warn("quota decided without the other replicas: {}",
                     s.message());
      } else {
        ++replica_holds_;
        r.replica_held_ = true;
        // Every other replica's counted call is in the log now: decide
        // again on that.
        counted = &decide();
      }
    } else {
      ++replica_holds_;
      r.replica_held_ = true;
    }
    if (!counted->allowed()) {
      ReleaseReplicaLocked(r);
      return r;
    }
  }
  const policy::AccessDecision& decision = *counted;
  r.ledger_ = this;
  r.principal_ = principal;
  r.group_ = group;
  r.action_ = action;
  // Only a call some quota counts needs exact counting; the rest (no quota
  // applies) is still reserved, so a ledger-level count stays complete.
  r.counted_ = Counted(action);
  r.exact_ = r.counted_ && decision.quota_counted;
  if (r.counted_) Add(principal, group, action, 1);
  if (!record_id.empty()) {
    for (v1::DataCategory c : decision.categories) {
      AddSeen(r, record_id, c, 1);
      r.seen_.push_back({record_id, c});
    }
  }
  return r;
}

void QuotaLedger::Settle(
    Reservation& reservation,
    absl::FunctionRef<void(absl::FunctionRef<void()> logged)> log_and_act) {
  if (reservation.ledger_ != this || !reservation.exact_) {
    // No quota counts it (intake, a log stream, a read no quota limits):
    // it must not hold every other decision while it commits or streams,
    // and is released when it goes. What it hands over may show as seen
    // both pending and logged for a moment, which for linkage is the same
    // thing: seen.
    log_and_act([] {});
    return;
  }
  // Held from here until the call is logged: released by `logged`, or by
  // the guard when the handler returns without calling it.
  class Hold {
   public:
    Hold(QuotaLedger& ledger, Reservation& r) ABSL_NO_THREAD_SAFETY_ANALYSIS
        : ledger_(ledger),
          r_(r) {
      ledger_.mu_.Lock();
      r_.settling_ = true;
    }
    ~Hold() { Release(); }
    void Release() ABSL_NO_THREAD_SAFETY_ANALYSIS {
      if (released_) return;
      released_ = true;
      r_.settling_ = false;
      ledger_.ReleaseLocked(r_);
      r_.ledger_ = nullptr;
      ledger_.mu_.Unlock();
    }

   private:
    QuotaLedger& ledger_;
    Reservation& r_;
    bool released_ = false;
  } hold(*this, reservation);
  log_and_act([&hold] { hold.Release(); });
}

std::vector<std::string> QuotaLedger::Reveal(
    Reservation& reservation, std::vector<std::string> ids,
    v1::DataCategory category, size_t max, bool* more,
    absl::FunctionRef<bool(const std::string&)> keep) {
  if (reservation.settling_) {
    mu_.AssertHeld();
    return RevealLocked(reservation, std::move(ids), category, max, more, keep);
  }
  absl::MutexLock lock(&mu_);
  return RevealLocked(reservation, std::move(ids), category, max, more, keep);
}

std::vector<std::string> QuotaLedger::RevealLocked(
    Reservation& reservation, std::vector<std::string> ids,
    v1::DataCategory category, size_t max, bool* more,
    absl::FunctionRef<bool(const std::string&)> keep) {
  std::vector<std::string> kept;
  *more = false;
  for (std::string& id : ids) {
    if (!keep(id)) continue;
    if (kept.size() == max) {
      *more = true;
      break;
    }
    if (reservation.ledger_ == this) {
      AddSeen(reservation, id, category, 1);
      reservation.seen_.push_back({id, category});
    }
    kept.push_back(std::move(id));
  }
  return kept;
}

std::vector<v1::DataCategory> QuotaLedger::PendingSeen(
    absl::string_view who, bool group, absl::string_view record_id) const {
  mu_.AssertHeld();
  std::vector<v1::DataCategory> out;
  auto it = seen_.find(absl::StrCat(group ? "g" : "p", who, "\n", record_id));
  if (it == seen_.end()) return out;
  for (const auto& [category, n] : it->second) {
    if (n > 0) out.push_back(static_cast<v1::DataCategory>(category));
  }
  return out;
}

void QuotaLedger::AddSeen(const Reservation& r, const std::string& record_id,
                          v1::DataCategory category, int delta) {
  auto bump = [&](const std::string& key) {
    int& n = seen_[key][static_cast<int>(category)];
    n += delta;
    if (n <= 0) {
      seen_[key].erase(static_cast<int>(category));
      if (seen_[key].empty()) seen_.erase(key);
    }
  };
  bump(absl::StrCat("p", r.principal_, "\n", record_id));
  if (!r.group_.empty()) bump(absl::StrCat("g", r.group_, "\n", record_id));
}

uint32_t QuotaLedger::Pending(absl::string_view who, bool group,
                              v1::Action action) const {
  mu_.AssertHeld();  // only a decision inside Admit may ask
  const int kind = KindOf(action);
  if (kind < 0) return 0;
  auto it = pending_.find(Key(kind, group, who));
  return it == pending_.end() ? 0 : it->second;
}

void QuotaLedger::Release(Reservation& r) {
  absl::MutexLock lock(&mu_);
  ReleaseLocked(r);
}

void QuotaLedger::ReleaseReplicaLocked(Reservation& r) {
  if (!r.replica_held_) return;
  r.replica_held_ = false;
  if (--replica_holds_ == 0) replicas_->Unlock();
}

void QuotaLedger::ReleaseLocked(Reservation& r) {
  ReleaseReplicaLocked(r);
  if (r.counted_) Add(r.principal_, r.group_, r.action_, -1);
  for (const auto& [record_id, category] : r.seen_) {
    AddSeen(r, record_id, category, -1);
  }
}

void QuotaLedger::Add(const std::string& principal, const std::string& group,
                      v1::Action action, int delta) {
  const int kind = KindOf(action);
  auto bump = [&](const std::string& key) {
    uint32_t& n = pending_[key];
    n = static_cast<uint32_t>(static_cast<int64_t>(n) + delta);
    if (n == 0) pending_.erase(key);
  };
  bump(Key(kind, false, principal));
  if (!group.empty()) bump(Key(kind, true, group));
}

}  // namespace lanevault::wiring
