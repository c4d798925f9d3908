#include "api/approvals.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/logging.h"
#include "common/time_util.h"

namespace lanevault::api {
namespace {

// Each field length-prefixed, so no two asks share a key by accident.
void AddField(std::string& key, absl::string_view field) {
  absl::StrAppend(&key, field.size(), ":", field, ";");
}

}  // namespace

ApprovalBook::ApprovalBook(const Clock* clock, ApprovalLimits limits)
    : clock_(clock), limits_(limits) {}

std::string ApprovalBook::KeyOf(const ApprovalAsk& ask) {
  std::vector<int> categories(ask.categories.begin(), ask.categories.end());
  std::sort(categories.begin(), categories.end());
  categories.erase(std::unique(categories.begin(), categories.end()),
                   categories.end());
  std::string key;
  AddField(key, ask.requester);
  AddField(key, absl::StrCat(static_cast<int>(ask.action)));
  AddField(key, ask.record_id);
  AddField(key, ask.item_id);
  AddField(key, ask.purpose);
  AddField(key, ask.case_id);
  for (int c : categories) AddField(key, absl::StrCat(c));
  return key;
}

bool ApprovalBook::Open(const Entry& e) {
  return e.request.state() == v1::APPROVAL_STATE_PENDING ||
         e.request.state() == v1::APPROVAL_STATE_APPROVED;
}

void ApprovalBook::CloseLocked(Entry& e, v1::ApprovalState state,
                               absl::Time now) {
  e.request.set_state(state);
  e.closed = now;
}

void ApprovalBook::SweepLocked(absl::Time now) {
  for (auto& [id, e] : requests_) {
    if (Open(e) && now >= e.expires) {
      CloseLocked(e, v1::APPROVAL_STATE_EXPIRED, e.expires);
    }
  }
  absl::erase_if(requests_, [&](const auto& kv) {
    return !Open(kv.second) && now - kv.second.closed >= limits_.keep_closed;
  });
  // Over the bound: the oldest closed go first.
  if (requests_.size() <= limits_.max_kept) return;
  std::vector<std::pair<absl::Time, std::string>> closed;
  for (const auto& [id, e] : requests_) {
    if (!Open(e)) closed.emplace_back(e.closed, id);
  }
  std::sort(closed.begin(), closed.end());
  for (const auto& [when, id] : closed) {
    if (requests_.size() <= limits_.max_kept) break;
    requests_.erase(id);
  }
}

ApprovalBook::Answer ApprovalBook::Take(const ApprovalAsk& ask) {
  const std::string key = KeyOf(ask);
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  SweepLocked(now);
  size_t open = 0, mine = 0;
  for (auto& [id, e] : requests_) {
    if (!Open(e)) continue;
    ++open;
    const bool waiting = e.request.state() == v1::APPROVAL_STATE_PENDING;
    if (waiting && e.request.requester() == ask.requester) ++mine;
    if (e.key != key) continue;
    if (waiting) return {Outcome::kPending, e.request, ""};
    // Approved and within its time: used, exactly once.
    CloseLocked(e, v1::APPROVAL_STATE_USED, now);
    return {Outcome::kUse, e.request, ""};
  }
  Answer full;
  if (mine >= limits_.max_pending_per_requester) {
    full.why = absl::StrCat(ask.requester, " already has ", mine,
                            " requests waiting for approval (at most ",
                            limits_.max_pending_per_requester,
                            "); wait for them to be decided or expire");
  } else if (open >= limits_.max_open) {
    full.why = absl::StrCat("the vault holds ", open,
                            " open approval requests, its most; try later");
    spdlog::warn("approval book full: {} open requests", open);
  }
  if (!full.why.empty()) return full;

  Entry e;
  e.key = key;
  e.ttl = ask.rule.ttl;
  e.created = now;
  e.expires = now + ask.rule.ttl;
  v1::ApprovalRequest& r = e.request;
  r.set_approval_id(NewId("apr_"));
  r.set_state(v1::APPROVAL_STATE_PENDING);
  r.set_requester(ask.requester);
  r.set_action(ask.action);
  r.set_record_handle(ask.record_handle);
  r.set_item_handle(ask.item_handle);
  r.set_purpose(ask.purpose);
  r.set_case_id(ask.case_id);
  for (v1::DataCategory c : ask.categories) r.add_categories(c);
  r.set_permit_id(ask.rule.permit_id);
  r.set_required(ask.rule.required);
  r.set_approver_role(ask.rule.approver_role);
  *r.mutable_created() = ToProto(now);
  *r.mutable_expires() = ToProto(e.expires);
  Answer answer{Outcome::kOpened, r, ""};
  requests_.emplace(r.approval_id(), std::move(e));
  return answer;
}

absl::StatusOr<ApprovalBook::Entry*> ApprovalBook::DecidableLocked(
    absl::string_view id, absl::string_view approver, absl::string_view role,
    absl::string_view reason, std::string* refusal) {
  auto refuse = [&](absl::string_view code, absl::Status s) {
    if (refusal != nullptr) *refusal = std::string(code);
    return s;
  };
  if (reason.empty()) {
    return refuse("no_reason", absl::InvalidArgumentError(
                                   "say why (--reason): it is logged"));
  }
  auto it = requests_.find(id);
  if (it == requests_.end()) {
    return refuse("unknown_approval",
                  absl::NotFoundError(absl::StrCat(
                      "no approval request ", id,
                      " (unknown, or closed long ago, or the daemon "
                      "restarted since: requests are not kept across "
                      "restarts)")));
  }
  Entry& e = it->second;
  if (e.request.requester() == approver) {
    return refuse(
        "own_request",
        absl::PermissionDeniedError(absl::StrCat(
            id, " is your own request: someone else must decide it")));
  }
  if (e.request.approver_role() != role) {
    return refuse("not_approver",
                  absl::PermissionDeniedError(
                      absl::StrCat(id, " is decided by role ",
                                   e.request.approver_role(), ", not ", role)));
  }
  if (e.request.state() != v1::APPROVAL_STATE_PENDING) {
    return refuse("not_pending",
                  absl::FailedPreconditionError(absl::StrCat(
                      id, " is no longer pending (",
                      v1::ApprovalState_Name(e.request.state()), ")")));
  }
  return &e;
}

absl::StatusOr<v1::ApprovalRequest> ApprovalBook::Approve(
    absl::string_view id, absl::string_view approver, absl::string_view role,
    absl::string_view reason, LogStep log, std::string* refusal) {
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  SweepLocked(now);
  absl::StatusOr<Entry*> found =
      DecidableLocked(id, approver, role, reason, refusal);
  if (!found.ok()) return found.status();
  Entry& e = **found;
  const auto& by = e.request.approved_by();
  if (std::find(by.begin(), by.end(), approver) != by.end()) {
    if (refusal != nullptr) *refusal = "already_approved";
    return absl::PermissionDeniedError(absl::StrCat(
        "you approved ", id, " already: each approver counts once; another ",
        e.request.approver_role(), " officer must approve"));
  }
  v1::ApprovalRequest after = e.request;
  after.add_approved_by(std::string(approver));
  after.set_reason(std::string(reason));
  absl::Time expires = e.expires;
  if (static_cast<uint32_t>(after.approved_by_size()) >= after.required()) {
    // Complete: the requester has `ttl` from now to use it, once.
    after.set_state(v1::APPROVAL_STATE_APPROVED);
    expires = now + e.ttl;
    *after.mutable_expires() = ToProto(expires);
  }
  if (absl::Status s = log(after); !s.ok()) {
    if (refusal != nullptr) *refusal = "log_failed";
    return s;
  }
  e.request = after;
  e.expires = expires;
  return after;
}

absl::StatusOr<v1::ApprovalRequest> ApprovalBook::Deny(
    absl::string_view id, absl::string_view approver, absl::string_view role,
    absl::string_view reason, LogStep log, std::string* refusal) {
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  SweepLocked(now);
  absl::StatusOr<Entry*> found =
      DecidableLocked(id, approver, role, reason, refusal);
  if (!found.ok()) return found.status();
  Entry& e = **found;
  v1::ApprovalRequest after = e.request;
  after.set_state(v1::APPROVAL_STATE_DENIED);
  after.set_denied_by(std::string(approver));
  after.set_reason(std::string(reason));
  if (absl::Status s = log(after); !s.ok()) {
    if (refusal != nullptr) *refusal = "log_failed";
    return s;
  }
  e.request = after;
  e.closed = now;
  return after;
}

std::vector<v1::ApprovalRequest> ApprovalBook::List(absl::string_view principal,
                                                    absl::string_view role,
                                                    bool include_closed) {
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  SweepLocked(now);
  std::vector<const Entry*> shown;
  for (const auto& [id, e] : requests_) {
    if (e.request.approver_role() != role &&
        e.request.requester() != principal) {
      continue;
    }
    if (!include_closed && !Open(e)) continue;
    shown.push_back(&e);
  }
  auto rank = [](const Entry* e) {
    switch (e->request.state()) {
      case v1::APPROVAL_STATE_PENDING:
        return 0;
      case v1::APPROVAL_STATE_APPROVED:
        return 1;
      default:
        return 2;
    }
  };
  std::sort(shown.begin(), shown.end(), [&](const Entry* a, const Entry* b) {
    if (rank(a) != rank(b)) return rank(a) < rank(b);
    if (rank(a) < 2) return a->created < b->created;  // oldest waits longest
    return a->closed > b->closed;
  });
  std::vector<v1::ApprovalRequest> out;
  out.reserve(shown.size());
  for (const Entry* e : shown) out.push_back(e->request);
  return out;
}

absl::StatusOr<v1::ApprovalRequest> ApprovalBook::Get(absl::string_view id) {
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  SweepLocked(now);
  auto it = requests_.find(id);
  if (it == requests_.end()) {
    return absl::NotFoundError(absl::StrCat("no approval request ", id));
  }
  return it->second.request;
}

}  // namespace lanevault::api
