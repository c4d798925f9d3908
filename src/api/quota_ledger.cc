#include "api/quota_ledger.h"

#include "absl/strings/str_cat.h"

namespace lanevault::api {
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
    o.ledger_ = nullptr;
  }
  return *this;
}

QuotaLedger::Reservation::~Reservation() {
  if (ledger_ != nullptr) ledger_->Release(*this);
}

QuotaLedger::Reservation QuotaLedger::Admit(const std::string& principal,
                                            const std::string& group,
                                            v1::Action action,
                                            absl::FunctionRef<bool()> decide) {
  absl::MutexLock lock(&mu_);
  Reservation r;
  if (!decide() || !Counted(action)) return r;
  Add(principal, group, action, 1);
  r.ledger_ = this;
  r.principal_ = principal;
  r.group_ = group;
  r.action_ = action;
  return r;
}

uint32_t QuotaLedger::Pending(absl::string_view who, bool group,
                              v1::Action action) const {
  mu_.AssertHeld();  // only a decision inside Admit may ask
  const int kind = KindOf(action);
  if (kind < 0) return 0;
  auto it = pending_.find(Key(kind, group, who));
  return it == pending_.end() ? 0 : it->second;
}

void QuotaLedger::Release(const Reservation& r) {
  absl::MutexLock lock(&mu_);
  Add(r.principal_, r.group_, r.action_, -1);
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

}  // namespace lanevault::api
