// Gate::Run: the decision path, as a chain of steps (see the top of
// gate.h). Each step does one job and lets the call on or refuses it; the
// chain logs every refusal in one place.

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "api/gate.h"
#include "api/refusal_limiter.h"
#include "api/scoped_answers.h"
#include "common/logging.h"
#include "common/time_util.h"

namespace lanevault::api {
namespace {

// How a step of the chain stops a call. Steps only say so; the chain logs
// every refusal in one place (Gate::Call::Refused).
struct Refusal {
  enum class Log {
    kEntry,    // one entry (Gate::Refuse), counted towards `counts`
    kLimited,  // rate-limited into summaries (Gate::RefuseLimited)
    kNone,     // not logged: the vault cannot answer, so nothing is served
  };
  Log log = Log::kEntry;
  std::string reason_code;
  grpc::StatusCode code = grpc::StatusCode::PERMISSION_DENIED;
  std::string message;
  v1::RefusalCount counts = v1::REFUSAL_COUNT_CALLER;
  // The policy's decision: its rules and reason are stamped on the entry.
  std::optional<v1::Decision> decision;
  // kLimited: what the limiter counts it as, and by whom.
  std::string kind;
  std::string key;
  // A canary touched: the caller is locked out once the refusal is logged.
  std::string lockout_kind;
  std::string lockout_reason;
};

// What a step answers: a refusal, or nothing to let the call on.
using StepResult = std::optional<Refusal>;
constexpr std::nullopt_t kContinue = std::nullopt;

grpc::StatusCode CodeOf(const absl::Status& status) {
  return static_cast<grpc::StatusCode>(status.code());
}

Refusal Logged(absl::string_view reason_code, grpc::StatusCode code,
               absl::string_view message,
               v1::RefusalCount counts = v1::REFUSAL_COUNT_CALLER) {
  Refusal r;
  r.reason_code = std::string(reason_code);
  r.code = code;
  r.message = std::string(message);
  r.counts = counts;
  return r;
}

Refusal Limited(absl::string_view reason_code, absl::string_view kind,
                absl::string_view key, grpc::StatusCode code,
                absl::string_view message, v1::RefusalCount counts) {
  Refusal r = Logged(reason_code, code, message, counts);
  r.log = Refusal::Log::kLimited;
  r.kind = std::string(kind);
  r.key = std::string(key);
  return r;
}

// The policy's refusal, with its rules and reason.
Refusal Denied(const v1::Decision& decision, grpc::StatusCode code) {
  Refusal r = Logged(decision.reason_code(), code, decision.reason());
  r.decision = decision;
  return r;
}

// Fail closed without an entry: what would be logged cannot be decided,
// or the log itself cannot be written.
Refusal Unlogged(const absl::Status& status) {
  Refusal r;
  r.log = Refusal::Log::kNone;
  r.code = CodeOf(status);
  r.message = std::string(status.message());
  return r;
}

// Fills `ask` with what the policy must know of the record `spec` opens:
// the categories it holds now (past their deadline only when a hold keeps
// them for the call's case) and those asked for.
absl::Status DescribeRecord(vault::Vault& vault, const CallSpec& spec,
                            policy::AccessRequest& ask,
                            std::optional<vault::StoredRecord>* fetched) {
  const RecordFacts& facts = *spec.record_facts;
  absl::StatusOr<v1::RecordSummary> summary = vault.Describe(
      spec.record_id, spec.case_id, facts.item_id, ask.principal, fetched);
  if (!summary.ok()) return summary.status();
  const std::vector<v1::DataCategory>& asked = facts.categories;
  ask.categories = asked;
  for (int c : summary->categories()) {
    ask.available.push_back(static_cast<v1::DataCategory>(c));
  }
  // One item: the question is about its category alone.
  if (!facts.item_id.empty()) ask.categories = ask.available;
  const bool any_asked_left =
      asked.empty() ||
      std::any_of(asked.begin(), asked.end(), [&](v1::DataCategory c) {
        return std::find(ask.available.begin(), ask.available.end(), c) !=
               ask.available.end();
      });
  if (!any_asked_left) {
    // What was asked for is past its deadline (or was never kept): the
    // answer an expired record gets, not a refusal the caller caused.
    return vault::GoneError(
        absl::StrCat("record ", spec.record_id,
                     " holds no item of the categories asked for"));
  }
  return absl::OkStatus();
}

}  // namespace

// One of a principal's concurrent calls, held while its handler runs.
class Gate::CallSlot {
 public:
  explicit CallSlot(Gate* gate) : gate_(gate) {}
  ~CallSlot() {
    if (principal_.empty()) return;
    absl::MutexLock lock(&gate_->mu_);
    if (--gate_->in_flight_[principal_] <= 0) {
      gate_->in_flight_.erase(principal_);
    }
  }
  // False when the principal already has its maximum in flight.
  bool Acquire(const std::string& principal) {
    absl::MutexLock lock(&gate_->mu_);
    int& n = gate_->in_flight_[principal];
    if (n >= gate_->limits_.max_calls_per_principal) return false;
    ++n;
    principal_ = principal;
    return true;
  }

 private:
  Gate* gate_;
  std::string principal_;
};

// One call on its way down the chain (see Run). Each step does one job and
// answers kContinue or a refusal. The members outlive the steps: the slot
// and the quota reservation are held until the handler has returned, and
// released in reverse order (the reservation first).
class Gate::Call {
 public:
  using Step = StepResult (Call::*)();

  Call(Gate* gate, grpc::ServerContext* ctx,
       const google::protobuf::MessageLite& request, const CallSpec& spec,
       std::string method)
      : gate_(gate),
        ctx_(ctx),
        request_(request),
        spec_(spec),
        named_record_(spec.record_id),
        named_item_(spec.record_facts.has_value() ? spec.record_facts->item_id
                                                  : ""),
        method_(std::move(method)),
        slot_(gate) {}

  // authenticate
  StepResult Authenticate();
  // bound: the caller and the request, before anything is looked up
  StepResult RequireDeadline();
  StepResult RefuseLockedOut();
  StepResult LimitSize();
  StepResult CopyRequestFields();
  StepResult RequireRole();
  StepResult RequirePermit();
  StepResult TakeSlot();
  StepResult LimitRate();
  StepResult RequirePurpose();
  StepResult ResolveHandles();
  StepResult RefuseCanary();
  StepResult CheckRequest();
  // facts
  StepResult GatherFacts();
  // decide
  StepResult Decide();
  StepResult RequireApproval();
  // log
  StepResult Log();
  // handle
  grpc::Status Handle(absl::FunctionRef<grpc::Status(Admission&)> handler);

  // Logs `refusal` (unless it cannot be) and returns what to answer.
  grpc::Status Refused(Refusal refusal);

 private:
  Gate* const gate_;
  grpc::ServerContext* const ctx_;
  const google::protobuf::MessageLite& request_;
  // A copy: ResolveHandles puts the ids its handles name in place of them.
  CallSpec spec_;
  // The record as the caller named it (a handle), for approval requests.
  const std::string named_record_;
  const std::string named_item_;
  const std::string method_;
  CallSlot slot_;
  Admission admission_;  // the caller, then the decision
  // The call's entry, growing step by step: the request's fields only once
  // it is within size, the group once the policy is asked.
  v1::AuditEntry entry_;
  policy::AccessRequest ask_;  // the policy's question
  wiring::QuotaLedger::Reservation reservation_;
};

grpc::Status Gate::Run(grpc::ServerContext* ctx,
                       const google::protobuf::MessageLite& request,
                       const CallSpec& spec,
                       absl::FunctionRef<grpc::Status(Admission&)> handler) {
  absl::StatusOr<std::string> method = Announce(ctx);
  if (!method.ok()) return ToGrpc(method.status());
  // Before anything is decided: by the contract the vault holds in force.
  if (follower_ != nullptr) follower_->CatchUp();
  Call call(this, ctx, request, spec, *std::move(method));
  // The order is the contract (gate.h): a step runs only if every step
  // before it let the call on, so a refusal reveals nothing a later one
  // would have looked up.
  static constexpr Call::Step kChain[] = {
      // authenticate
      &Call::Authenticate,
      // bound: the locked out and the too frequent first, so no later
      // refusal (a missing deadline, say) is a way to log without bound
      &Call::RefuseLockedOut,
      &Call::LimitRate,
      &Call::RequireDeadline,
      &Call::LimitSize,
      &Call::CopyRequestFields,
      &Call::RequireRole,
      &Call::RequirePermit,
      &Call::TakeSlot,
      &Call::RequirePurpose,
      &Call::ResolveHandles,
      &Call::RefuseCanary,
      &Call::CheckRequest,
      // facts
      &Call::GatherFacts,
      // decide
      &Call::Decide,
      &Call::RequireApproval,
      // log
      &Call::Log,
  };
  for (Call::Step step : kChain) {
    if (StepResult refusal = (call.*step)(); refusal.has_value()) {
      return call.Refused(*std::move(refusal));
    }
  }
  return call.Handle(handler);
}

StepResult Gate::Call::Authenticate() {
  absl::StatusOr<Caller> caller = gate_->Authenticate(*ctx_);
  if (!caller.ok()) {
    // Refusals of nobody count towards nothing: rate-limited by peer.
    entry_ = gate_->UnauthenticatedEntry(*ctx_, method_, spec_.action,
                                         caller.status());
    return Limited("unauthenticated", "unauthenticated",
                   PeerAddress(ctx_->peer()), CodeOf(caller.status()),
                   caller.status().message(), v1::REFUSAL_COUNT_NONE);
  }
  admission_.caller = *std::move(caller);
  // Nothing of the request until it is known to be within size.
  entry_ = gate_->Entry(admission_.caller, spec_.action, method_);
  return kContinue;
}

StepResult Gate::Call::RequireDeadline() {
  if (ctx_->deadline() != std::chrono::system_clock::time_point::max()) {
    return kContinue;
  }
  return Logged("no_deadline", grpc::StatusCode::INVALID_ARGUMENT,
                "every call must carry a deadline (e.g. 30 s); calls "
                "without one are refused");
}

StepResult Gate::Call::RefuseLockedOut() {
  const std::string& principal = admission_.caller.principal;
  absl::StatusOr<vault::LockoutRow> lockout =
      gate_->vault_->oversight().Lockout(principal);
  if (absl::IsNotFound(lockout.status())) return kContinue;
  if (!lockout.ok()) {
    return Unlogged(absl::UnavailableError(absl::StrCat(
        "cannot check lockouts, refusing: ", lockout.status().message())));
  }
  // Counts towards nothing (it is locked out already): rate-limited.
  return Limited("locked_out", "locked_out", principal,
                 grpc::StatusCode::PERMISSION_DENIED,
                 absl::StrCat(principal, " is locked out since ",
                              FormatTime(lockout->since), " (", lockout->reason,
                              "); a compliance officer must lift it"),
                 v1::REFUSAL_COUNT_NONE);
}

StepResult Gate::Call::LimitSize() {
  const size_t bytes = request_.ByteSizeLong();
  const size_t max = gate_->limits_.max_request_bytes;
  if (bytes <= max) return kContinue;
  // Its size, and none of its bytes.
  const std::string why = absl::StrCat(
      "the request is ", bytes, " bytes; at most ", max, " are accepted");
  entry_.set_detail(why);
  return Logged("too_large", grpc::StatusCode::RESOURCE_EXHAUSTED, why);
}

StepResult Gate::Call::CopyRequestFields() {
  // Within size: from here on the entry holds the request's fields, capped.
  gate_->AddRequestFields(entry_, spec_);
  return kContinue;
}

StepResult Gate::Call::RequireRole() {
  if (admission_.caller.role != policy::Role::kUnknown) return kContinue;
  // Nothing about the request is looked at for a caller no role binds.
  return Logged("unbound", grpc::StatusCode::PERMISSION_DENIED,
                absl::StrCat("the contract binds ", admission_.caller.principal,
                             " to no role"));
}

StepResult Gate::Call::RequirePermit() {
  const policy::Role role = admission_.caller.role;
  if (gate_->policy_->MayEver(role, spec_.action)) return kContinue;
  // One answer, whatever the call names, before anything is looked up:
  // a role that may never do this learns nothing of the records.
  return Denied(policy::MakeDecision(
                    v1::VERDICT_DENY, {"default-deny"}, "default_deny",
                    absl::StrCat("no permit lets role ", policy::RoleName(role),
                                 " do ", v1::Action_Name(spec_.action))),
                grpc::StatusCode::PERMISSION_DENIED);
}

StepResult Gate::Call::TakeSlot() {
  const std::string& principal = admission_.caller.principal;
  if (slot_.Acquire(principal)) return kContinue;
  return Logged("too_many_calls", grpc::StatusCode::RESOURCE_EXHAUSTED,
                absl::StrCat(principal, " already has ",
                             gate_->limits_.max_calls_per_principal,
                             " calls in flight; wait for them"));
}

StepResult Gate::Call::LimitRate() {
  const std::string& principal = admission_.caller.principal;
  if (gate_->TakeCallToken(principal)) return kContinue;
  const std::string why = absl::StrCat(
      principal, " is calling more than ", gate_->limits_.calls_per_second,
      " times a second (", gate_->limits_.call_burst, " at once); slow down");
  // Loud once, then counted: each refusal logged would be the flood.
  gate_->AlertQuotaReached(admission_.caller, "call rate exceeded");
  return Limited("rate_limited", "rate_limited", principal,
                 grpc::StatusCode::RESOURCE_EXHAUSTED, why,
                 v1::REFUSAL_COUNT_NONE);
}

StepResult Gate::Call::RequirePurpose() {
  if (!spec_.needs_purpose || !spec_.purpose.empty()) return kContinue;
  return Logged("no_purpose", grpc::StatusCode::INVALID_ARGUMENT,
                "this call must state its purpose (--purpose)");
}

StepResult Gate::Call::ResolveHandles() {
  if (!spec_.scoped) return kContinue;
  absl::StatusOr<policy::PurposeView> view =
      gate_->policy_->ViewOf(spec_.purpose);
  if (!view.ok()) {
    return Logged("unknown_purpose", grpc::StatusCode::INVALID_ARGUMENT,
                  view.status().message());
  }
  admission_.view = *std::move(view);
  const std::string& scope = admission_.view.scope;
  const crypto::HandleKey& handles = gate_->vault_->handles();
  // A handle of another scope is refused here, before anything is looked
  // up, and counts towards the caller's lockout: carrying a handle from
  // one purpose to another is how two readers would join their answers.
  if (!spec_.record_id.empty()) {
    absl::StatusOr<std::string> id =
        handles.Open(crypto::HandleKey::Kind::kRecord, scope, spec_.record_id);
    if (!id.ok())
      return Logged("bad_handle", CodeOf(id.status()), id.status().message());
    admission_.record_handle = spec_.record_id;
    spec_.record_id = *id;
    admission_.record_id = *id;
    entry_.set_record_id(*id);
  }
  if (spec_.record_facts.has_value() && !spec_.record_facts->item_id.empty()) {
    absl::StatusOr<std::string> id = handles.Open(
        crypto::HandleKey::Kind::kItem, scope, spec_.record_facts->item_id);
    if (!id.ok())
      return Logged("bad_handle", CodeOf(id.status()), id.status().message());
    spec_.record_facts->item_id = *id;
    admission_.item_id = *id;
    entry_.clear_item_ids();
    entry_.add_item_ids(*id);
  }
  return kContinue;
}

StepResult Gate::Call::RefuseCanary() {
  if (spec_.record_id.empty()) return kContinue;
  absl::StatusOr<bool> canary = gate_->vault_->IsCanary(spec_.record_id);
  if (!canary.ok()) return Unlogged(canary.status());
  if (!*canary) return kContinue;
  // A decoy (wiring/canary.h) nobody has a reason to read: the reader is
  // locked out at once, and the refusal itself counts towards nothing.
  Refusal r = Logged("canary", grpc::StatusCode::PERMISSION_DENIED,
                     "access refused and reported to compliance",
                     v1::REFUSAL_COUNT_NONE);
  r.lockout_kind = "canary_read";
  r.lockout_reason = absl::StrCat("touched canary record ", spec_.record_id,
                                  " with ", v1::Action_Name(spec_.action));
  return r;
}

StepResult Gate::Call::CheckRequest() {
  if (!spec_.check) return kContinue;
  absl::Status s = spec_.check();
  if (s.ok()) return kContinue;
  return Logged("bad_request", CodeOf(s), s.message(), spec_.check_counts);
}

StepResult Gate::Call::GatherFacts() {
  // The entry names the group from here, as the policy's question does.
  entry_.set_group(admission_.caller.group);
  ask_ = gate_->Request(admission_.caller, spec_);
  if (!spec_.record_facts.has_value()) return kContinue;
  absl::Status s =
      DescribeRecord(*gate_->vault_, spec_, ask_, &admission_.fetched);
  if (s.ok()) {
    admission_.available = ask_.available;
    return kContinue;
  }
  const absl::string_view reason =
      absl::IsNotFound(s) ? "not_found" : "vault_error";
  const v1::RefusalCount counts = Blame(s);
  // The vault's words name records and items by id; a scoped caller hears
  // what happened, in words that name nothing (ids would join answers).
  if (spec_.scoped) s = ScopedFailure(s);
  if (counts == v1::REFUSAL_COUNT_NONE) {
    // Counted towards nothing, so rate-limited into summaries instead:
    // otherwise asking again and again for a purged item would be a free
    // way to grow the log.
    return Limited(reason, "uncounted", admission_.caller.principal, CodeOf(s),
                   s.message(), counts);
  }
  return Logged(reason, CodeOf(s), s.message(), counts);
}

StepResult Gate::Call::Decide() {
  const Caller& caller = admission_.caller;
  // Decided with the quota ledger locked; an admitted read, lookup or
  // search stays reserved until its handler has logged it (quota_ledger.h).
  reservation_ = gate_->ledger_.Admit(
      caller.principal, caller.group, spec_.action, spec_.record_id,
      [&]() -> const policy::AccessDecision& {
        admission_.decision = gate_->policy_->DecideAccess(ask_);
        return admission_.decision;
      });
  const v1::Decision& d = admission_.decision.decision;
  if (admission_.decision.allowed()) {
    for (const policy::NearQuota& near : admission_.decision.near_quota) {
      gate_->NoteNearQuota(caller, near);
    }
    return kContinue;
  }
  if (d.reason_code() == "quota") {
    gate_->AlertQuotaReached(caller, d.reason());
    return Denied(d, grpc::StatusCode::RESOURCE_EXHAUSTED);
  }
  if (d.reason_code() == "nothing_readable") {
    // A record that holds nothing this purpose may read (its face was
    // purged, say) is what happened to the record, not the caller's doing.
    Refusal r = Limited(d.reason_code(), "uncounted", caller.principal,
                        grpc::StatusCode::PERMISSION_DENIED, d.reason(),
                        v1::REFUSAL_COUNT_NONE);
    r.decision = d;
    return r;
  }
  if (admission_.decision.linkage_by_history) {
    // Told apart in the log from a call that asked for both sides: this
    // refusal tells the caller what it or its group has seen.
    constexpr absl::string_view kProbe =
        "refused for what the caller or its group has seen of the crossing's "
        "other side";
    entry_.set_detail(entry_.detail().empty()
                          ? std::string(kProbe)
                          : absl::StrCat(entry_.detail(), "; ", kProbe));
    gate_->AlertLinkageProbe(
        caller,
        absl::StrCat("was refused as linkage (", v1::Action_Name(spec_.action),
                     "): they or their group have seen the crossing's "
                     "other side (the refusal is in the access log, "
                     "its detail says so)"));
  }
  return Denied(d, grpc::StatusCode::PERMISSION_DENIED);
}

StepResult Gate::Call::RequireApproval() {
  const std::optional<policy::ApprovalRule>& rule =
      admission_.decision.approval;
  if (!rule.has_value()) return kContinue;
  ApprovalAsk asked;
  asked.requester = ask_.principal;
  asked.action = spec_.action;
  asked.record_id = ask_.record_id;
  asked.record_handle = named_record_;
  if (spec_.record_facts.has_value()) {
    asked.item_id = spec_.record_facts->item_id;
    asked.item_handle = named_item_;
  }
  asked.purpose = ask_.purpose;
  asked.case_id = ask_.case_id;
  asked.categories = admission_.decision.categories;
  asked.rule = *rule;
  ApprovalBook::Answer answer = gate_->approvals_.Take(asked);
  const v1::ApprovalRequest& r = answer.request;
  if (answer.outcome == ApprovalBook::Outcome::kUse) {
    // The read's own entry names the approval it used.
    entry_.set_approval_id(r.approval_id());
    return kContinue;
  }
  // Not let through: nothing is handed over, so the quota reservation and
  // what it counted as seen go now, before the refusal is logged.
  reservation_ = wiring::QuotaLedger::Reservation();
  const std::string& principal = admission_.caller.principal;
  if (answer.outcome == ApprovalBook::Outcome::kFull) {
    // Counts towards nothing, and rate-limited: the book's bound is what
    // stops a caller growing it, the limiter what stops it growing the log.
    return Limited("approval_book_full", "uncounted", principal,
                   grpc::StatusCode::RESOURCE_EXHAUSTED,
                   absl::StrCat("approval required, and no request can be "
                                "opened: ",
                                answer.why),
                   v1::REFUSAL_COUNT_NONE);
  }
  entry_.set_approval_id(r.approval_id());
  ctx_->AddTrailingMetadata("lanevault-approval-id", r.approval_id());
  const std::string message = absl::StrCat(
      "approval required: request ", r.approval_id(), " is pending (",
      r.approved_by_size(), " of ", r.required(), " approvals by ",
      r.approver_role(), ", until ",
      absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", FromProto(r.expires()),
                       absl::UTCTimeZone()),
      "); ask an approver to run `lanevaultctl approvals approve ",
      r.approval_id(), " --reason ...`, then repeat this call");
  // Waiting is no offence: counted towards nothing. The call that opens a
  // request is always logged; asking again about the same one is
  // rate-limited into summaries, so repeating it cannot grow the log.
  if (answer.outcome == ApprovalBook::Outcome::kOpened) {
    return Logged("approval_pending", grpc::StatusCode::FAILED_PRECONDITION,
                  message, v1::REFUSAL_COUNT_NONE);
  }
  return Limited("approval_pending", "uncounted", principal,
                 grpc::StatusCode::FAILED_PRECONDITION, message,
                 v1::REFUSAL_COUNT_NONE);
}

StepResult Gate::Call::Log() {
  Stamp(entry_, v1::VERDICT_ALLOW, admission_.decision.decision);
  for (v1::DataCategory c : admission_.decision.categories) {
    entry_.add_categories(c);
  }
  BoundAuditEntry(entry_);
  // Left to the vault, which logs it in the transaction that acts.
  if (spec_.vault_logs) return kContinue;
  absl::StatusOr<uint64_t> seq = gate_->vault_->log().Append(entry_);
  if (!seq.ok()) return Unlogged(seq.status());  // nothing runs unlogged
  admission_.logged_sequence = *seq;
  return kContinue;
}

grpc::Status Gate::Call::Handle(
    absl::FunctionRef<grpc::Status(Admission&)> handler) {
  admission_.entry = std::move(entry_);
  admission_.reservation = &reservation_;
  // Logged and released in one hold of the ledger: exact, not early.
  grpc::Status answer;
  gate_->ledger_.Settle(reservation_, [&](absl::FunctionRef<void()> logged) {
    admission_.logged = [logged] { logged(); };
    // Never left naming a callback that Settle's return ends.
    absl::Cleanup forget = [this] { admission_.logged = [] {}; };
    // The gate's Log step wrote the entry already.
    if (!spec_.vault_logs) logged();
    answer = handler(admission_);
  });
  return answer;
}

grpc::Status Gate::Call::Refused(Refusal refusal) {
  if (refusal.log == Refusal::Log::kNone) {
    return grpc::Status(refusal.code, refusal.message);
  }
  if (refusal.decision.has_value()) {
    Stamp(entry_, v1::VERDICT_DENY, *refusal.decision);
  }
  // A lockout names the call as it came, before the refusal is stamped.
  std::optional<v1::AuditEntry> cause;
  if (!refusal.lockout_kind.empty()) cause = entry_;
  grpc::Status answer =
      refusal.log == Refusal::Log::kLimited
          ? gate_->RefuseLimited(std::move(entry_), refusal.reason_code,
                                 refusal.kind, refusal.key, refusal.code,
                                 refusal.message, refusal.counts)
          : gate_->Refuse(std::move(entry_), refusal.reason_code, refusal.code,
                          refusal.message, refusal.counts);
  if (!cause.has_value()) return answer;
  grpc::Status locked =
      gate_->LockOutNow(*cause, refusal.lockout_kind, refusal.lockout_reason);
  return locked.ok() ? answer : locked;
}

}  // namespace lanevault::api
