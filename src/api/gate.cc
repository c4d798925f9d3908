#include "api/gate.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "api/peer_certificates.h"
#include "common/logging.h"
#include "common/time_util.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace lanevault::api {

grpc::Status ToGrpc(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

namespace {

constexpr char kUnauthenticated[] = "(unauthenticated)";
// The sequence number is set by the vault at append: room for its tag and
// the longest varint.
constexpr size_t kSequenceRoom = 11;
// Per field, in bytes. Ids the server makes are far shorter than these;
// purposes and case ids are a few words; the rest is the gate's own text.
constexpr size_t kIdCap = 64;          // record_id
constexpr size_t kShortTextCap = 128;  // purpose, case_id, method, group
constexpr size_t kDetailCap = 512;
constexpr size_t kReasonCap = 200;   // a refusal's reason quoted in detail
constexpr size_t kOtherCap = 256;    // any string field not named here
constexpr size_t kElementCap = 128;  // each of a repeated string field
constexpr int kMaxElements = 64;     // of any repeated field
// When the caps above still leave an entry too large (many long ids), every
// string but the principal is cut to this before elements are dropped.
constexpr size_t kTightCap = 64;

size_t CapFor(absl::string_view field) {
  if (field == "principal") return kMaxPrincipalBytes;
  if (field == "record_id") return kIdCap;
  if (field == "purpose" || field == "case_id" || field == "method" ||
      field == "group" || field == "role" || field == "reason_code") {
    return kShortTextCap;
  }
  if (field == "detail") return kDetailCap;
  return kOtherCap;
}

// `s` whole if it fits in `cap` bytes; otherwise its start, cut on a UTF-8
// character boundary (proto3 strings must stay valid UTF-8), marked with
// the number of bytes cut, `cap` bytes in all.
std::string Capped(absl::string_view s, size_t cap) {
  if (s.size() <= cap) return std::string(s);
  const std::string mark = absl::StrCat("...[", s.size(), "B cut]");
  size_t keep = cap > mark.size() ? cap - mark.size() : 0;
  while (keep > 0 && (static_cast<unsigned char>(s[keep]) & 0xC0) == 0x80) {
    --keep;
  }
  return absl::StrCat(s.substr(0, keep), mark.size() <= cap ? mark : "");
}

bool Fits(const v1::AuditEntry& e) {
  return e.ByteSizeLong() + kSequenceRoom <= kMaxAuditEntryBytes;
}

// Cuts every string and bytes field of `e` (repeated ones element by
// element) to `cap_of(field)`, and every repeated field to kMaxElements.
// Generic over the message, so fields added to AuditEntry later are
// bounded too.
template <typename CapOf>
void CapFields(v1::AuditEntry& e, CapOf cap_of) {
  using google::protobuf::FieldDescriptor;
  const google::protobuf::Descriptor* d = e.GetDescriptor();
  const google::protobuf::Reflection* r = e.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    const bool text = f->type() == FieldDescriptor::TYPE_STRING;
    const bool bytes = f->type() == FieldDescriptor::TYPE_BYTES;
    if (f->is_repeated()) {
      while (r->FieldSize(e, f) > kMaxElements) r->RemoveLast(&e, f);
      if (!text && !bytes) continue;
      const size_t cap = std::min(cap_of(f->name()), kElementCap);
      for (int j = 0; j < r->FieldSize(e, f); ++j) {
        const std::string v = r->GetRepeatedString(e, f, j);
        if (v.size() <= cap) continue;
        r->SetRepeatedString(&e, f, j,
                             text ? Capped(v, cap) : v.substr(0, cap));
      }
      continue;
    }
    if (!text && !bytes) continue;
    const std::string v = r->GetString(e, f);
    const size_t cap = cap_of(f->name());
    if (v.size() <= cap) continue;
    r->SetString(&e, f, text ? Capped(v, cap) : v.substr(0, cap));
  }
}

// Drops the last elements of repeated fields until `e` fits, and says how
// many in its detail (dropping more if saying so took the room).
void DropElements(v1::AuditEntry& e) {
  using google::protobuf::FieldDescriptor;
  const google::protobuf::Descriptor* d = e.GetDescriptor();
  const google::protobuf::Reflection* r = e.GetReflection();
  int dropped = 0;
  while (!Fits(e)) {
    const int before = dropped;
    for (int i = d->field_count() - 1; i >= 0 && !Fits(e); --i) {
      const FieldDescriptor* f = d->field(i);
      if (!f->is_repeated()) continue;
      while (r->FieldSize(e, f) > 0 && !Fits(e)) {
        r->RemoveLast(&e, f);
        ++dropped;
      }
    }
    if (dropped == before) break;  // nothing left to drop
    e.set_detail(
        Capped(absl::StrCat("[entry cut: ", dropped, " list elements dropped]"),
               kTightCap));
  }
}

}  // namespace

void BoundAuditEntry(v1::AuditEntry& entry) {
  CapFields(entry, CapFor);
  if (Fits(entry)) return;
  CapFields(entry, [](absl::string_view field) {
    return field == "principal" ? kMaxPrincipalBytes : kTightCap;
  });
  if (!Fits(entry)) DropElements(entry);
}

Gate::Gate(const policy::Policy* policy, vault::Vault* vault,
           const PeerVerifier* peers, GateLimits limits)
    : policy_(policy),
      vault_(vault),
      peers_(peers),
      limits_(limits),
      history_(vault, &ledger_),
      approvals_(vault->clock(), limits.approvals),
      refusal_limiter_(vault->clock(), limits.refusals) {
  // Replicas of one vault count each other's quota-counted calls exactly.
  ledger_.SetReplicaMutex(vault->quota_mutex());
  flusher_ = std::thread([this] {
    const absl::Duration every =
        std::max(limits_.refusals.flush_every, absl::Milliseconds(10));
    while (!stop_flusher_.WaitForNotificationWithTimeout(every)) {
      LogSummaries(refusal_limiter_.TakeDue(false)).IgnoreError();
    }
  });
}

Gate::~Gate() {
  stop_flusher_.Notify();
  flusher_.join();
  // Counted refusals are not lost at shutdown; the daemon's next
  // checkpoint covers them.
  LogSummaries(refusal_limiter_.TakeDue(true)).IgnoreError();
}

void Gate::NoteNearQuota(const Caller& caller, const policy::NearQuota& near) {
  // Windows are counted from the epoch: "near in each of the last N" is
  // near in window w, w-1, ... w-N+1. One alert a window at most.
  const absl::Time now = vault_->clock()->Now();
  const int64_t window =
      absl::ToUnixSeconds(now) /
      std::max<int64_t>(1, absl::ToInt64Seconds(near.window));
  const std::string key =
      absl::StrCat(near.group ? "g:" : "p:", near.who, " ", near.limit);
  bool alert = false;
  {
    absl::MutexLock lock(&mu_);
    NearHistory& h = near_quota_[key];
    if (h.windows.empty() || h.windows.back() != window) {
      h.windows.push_back(window);
      while (h.windows.size() > near.sustained_windows) h.windows.pop_front();
    }
    const bool consecutive =
        h.windows.size() == near.sustained_windows &&
        h.windows.back() - h.windows.front() ==
            static_cast<int64_t>(near.sustained_windows) - 1;
    if (consecutive && h.alerted_window != window) {
      h.alerted_window = window;
      alert = true;
    }
  }
  if (!alert) return;
  vault_->oversight().RaiseAlert(
      "warning", "quota_sustained", caller.principal,
      absl::StrCat(near.group ? absl::StrCat("group ", near.who) : near.who,
                   " has used most of its quota of ", near.limit,
                   " in each of ", near.sustained_windows,
                   " windows in a row: a steady harvest looks like this"));
}

bool Gate::TakeCallToken(const std::string& principal) {
  if (limits_.calls_per_second <= 0) return true;
  const double burst = std::max(1, limits_.call_burst);
  absl::MutexLock lock(&mu_);
  const absl::Time now = vault_->clock()->Now();
  CallBucket& b = call_buckets_.try_emplace(principal, CallBucket{burst, now})
                      .first->second;
  // A clock set back refills nothing, and takes nothing either.
  const double elapsed = std::max(0.0, absl::ToDoubleSeconds(now - b.last));
  b.tokens = std::min(burst, b.tokens + elapsed * limits_.calls_per_second);
  b.last = std::max(b.last, now);
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

bool Gate::FirstAlertThisHour(const std::string& key) {
  const absl::Time now = vault_->clock()->Now();
  absl::MutexLock lock(&mu_);
  absl::Time& last = quota_alerted_[key];
  if (now - last < absl::Hours(1)) return false;
  last = now;
  return true;
}

void Gate::AlertQuotaReached(const Caller& caller, absl::string_view why) {
  // One alert a principal and limit an hour: an officer needs to know it
  // happened, not every refused call after it.
  if (!FirstAlertThisHour(absl::StrCat(caller.principal, "\n", why))) return;
  vault_->oversight().RaiseAlert(
      "warning", "quota_reached", caller.principal,
      absl::StrCat(caller.principal,
                   caller.group.empty()
                       ? ""
                       : absl::StrCat(" (group ", caller.group, ")"),
                   ": ", why));
}

void Gate::BeginCall(const void* ctx, absl::string_view method) {
  absl::MutexLock lock(&mu_);
  calls_[ctx] = CallState{std::string(method), false};
}

bool Gate::Gated(const void* ctx) {
  absl::MutexLock lock(&mu_);
  auto it = calls_.find(ctx);
  return it != calls_.end() && it->second.gated;
}

void Gate::EndCall(const void* ctx) {
  absl::MutexLock lock(&mu_);
  calls_.erase(ctx);
}

absl::StatusOr<std::string> Gate::Announce(const void* ctx) {
  absl::MutexLock lock(&mu_);
  auto it = calls_.find(ctx);
  if (it == calls_.end()) {
    // Without the interceptor nothing would check the way out: refuse.
    spdlog::error("a call reached Gate::Run without the gate interceptor");
    return absl::InternalError("server misconfigured: call not announced");
  }
  it->second.gated = true;
  return it->second.method;
}

std::vector<std::string> Gate::RevealPlates(Admission& admission,
                                            std::vector<std::string> ids,
                                            size_t max, bool* more,
                                            size_t* withheld) {
  const Caller& caller = admission.caller;
  auto faces_seen = [&](const std::vector<v1::DataCategory>& seen) {
    return std::find(seen.begin(), seen.end(), v1::DATA_CATEGORY_FACE_IMAGE) !=
           seen.end();
  };
  *withheld = 0;
  // A lookup names a record only if its caller (and the caller's group)
  // has not seen its faces: naming it would join the plate to them.
  return ledger_.Reveal(
      *admission.reservation, std::move(ids), v1::DATA_CATEGORY_PLATE_TEXT, max,
      more, [&](const std::string& id) {
        const bool seen =
            faces_seen(history_.CategoriesRead(caller.principal, id)) ||
            (!caller.group.empty() &&
             faces_seen(history_.GroupCategoriesRead(caller.group, id)));
        *withheld += seen;
        return !seen;
      });
}

void Gate::AlertLinkageProbe(const Caller& caller, absl::string_view what) {
  if (!FirstAlertThisHour(absl::StrCat(caller.principal, "\nlinkage_probe"))) {
    return;
  }
  vault_->oversight().RaiseAlert(
      "warning", "linkage_probe", caller.principal,
      absl::StrCat(
          caller.principal,
          caller.group.empty() ? ""
                               : absl::StrCat(" (group ", caller.group, ")"),
          " ", what,
          ". Asking for one side of a crossing after its other side was seen "
          "is how a plate is linked to a face; further ones this hour are in "
          "the access log only"));
}

void Gate::LogUngated(const grpc::ServerContextBase& ctx,
                      absl::string_view method, const grpc::Status& status) {
  const std::string why = absl::StrCat(
      "refused before the gate: ", Capped(status.error_message(), kReasonCap));
  absl::StatusOr<Caller> caller = Authenticate(ctx);
  if (!caller.ok()) {
    const absl::Status both(
        caller.status().code(),
        absl::StrCat(why, "; and ", caller.status().message()));
    RefuseLimited(
        UnauthenticatedEntry(ctx, method, v1::ACTION_UNSPECIFIED, both),
        "transport", "unauthenticated", PeerAddress(ctx.peer()),
        static_cast<grpc::StatusCode>(both.code()), both.message(),
        v1::REFUSAL_COUNT_NONE)
        .IgnoreError();
    return;
  }
  v1::AuditEntry e = Entry(*caller, v1::ACTION_UNSPECIFIED, method);
  e.set_detail(why);
  if (vault_->oversight().Lockout(caller->principal).ok()) {
    // Already locked out: counts towards nothing, so it is rate-limited
    // like the gate's own refusals of the locked out.
    RefuseLimited(std::move(e), "transport", "locked_out", caller->principal,
                  status.error_code(), status.error_message(),
                  v1::REFUSAL_COUNT_NONE)
        .IgnoreError();
    return;
  }
  Refuse(std::move(e), "transport", status.error_code(), status.error_message())
      .IgnoreError();
}

bool Gate::PeerVerified(const grpc::ServerContextBase& ctx) const {
  return Authenticate(ctx).ok();
}

absl::StatusOr<Caller> Gate::Authenticate(
    const grpc::ServerContextBase& ctx) const {
  std::string principal;
  auto auth = ctx.auth_context();
  if (peers_ == nullptr) {
    // Development plain text on loopback only: the caller names itself.
    const auto& md = ctx.client_metadata();
    if (auto it = md.find("lanevault-dev-principal"); it != md.end()) {
      principal.assign(it->second.data(), it->second.size());
    }
    if (principal.empty()) {
      return absl::UnauthenticatedError(
          "development mode: name yourself with lanevault-dev-principal");
    }
    if (principal.size() > kMaxPrincipalBytes) {
      return absl::UnauthenticatedError(absl::StrCat(
          "a principal name is at most ", kMaxPrincipalBytes, " bytes"));
    }
    return Caller{principal, policy_->RoleOf(principal),
                  policy_->GroupOf(principal)};
  }
  absl::StatusOr<PeerIdentity> id = VerifyPeerCertificate(*peers_, auth.get());
  if (!id.ok()) return id.status();
  if (id->principal.size() > kMaxPrincipalBytes) {
    // Logged whole or not at all: a cut name could not be locked out.
    return absl::UnauthenticatedError(
        absl::StrCat("the certificate's principal name is over ",
                     kMaxPrincipalBytes, " bytes"));
  }
  return Caller{id->principal, policy_->RoleOf(id->principal),
                policy_->GroupOf(id->principal)};
}

v1::AuditEntry Gate::Entry(const Caller& caller, v1::Action action,
                           absl::string_view method) const {
  v1::AuditEntry e;
  *e.mutable_time() = ToProto(vault_->clock()->Now());
  e.set_principal(Capped(caller.principal, kMaxPrincipalBytes));
  e.set_role(std::string(policy::RoleName(caller.role)));
  e.set_action(action);
  e.set_method(Capped(method, kShortTextCap));
  return e;
}

void Gate::AddRequestFields(v1::AuditEntry& e, const CallSpec& spec) const {
  e.set_purpose(Capped(spec.purpose, kShortTextCap));
  e.set_case_id(Capped(spec.case_id, kShortTextCap));
  e.set_record_id(Capped(spec.record_id, kIdCap));
  e.set_detail(Capped(spec.detail, kDetailCap));
  if (!spec.plate.empty()) {
    e.set_plate_blind_index(vault_->PlateBlindIndex(spec.plate));
  }
}

policy::AccessRequest Gate::Request(const Caller& caller,
                                    const CallSpec& spec) const {
  policy::AccessRequest r;
  r.principal = caller.principal;
  r.role = caller.role;
  r.group = caller.group;
  r.action = spec.action;
  r.purpose = spec.purpose;
  r.case_id = spec.case_id;
  r.record_id = spec.record_id;
  r.lane = spec.lane;
  r.record_checkpoint = spec.record_checkpoint;
  r.history = &history_;
  r.now = vault_->clock()->Now();
  return r;
}

void Gate::Stamp(v1::AuditEntry& entry, v1::Verdict verdict,
                 const v1::Decision& decision) {
  entry.set_verdict(verdict);
  entry.mutable_rule_ids()->CopyFrom(decision.rule_ids());
  entry.set_reason_code(decision.reason_code());
}

v1::RefusalCount Gate::Blame(const absl::Status& failure) {
  if (absl::IsNotFound(failure)) {
    return vault::IsGone(failure) ? v1::REFUSAL_COUNT_NONE
                                  : v1::REFUSAL_COUNT_CALLER;
  }
  if (absl::IsInvalidArgument(failure) || absl::IsPermissionDenied(failure)) {
    return v1::REFUSAL_COUNT_CALLER;
  }
  return v1::REFUSAL_COUNT_NONE;  // damage, a full disk, an I/O error
}

grpc::Status Gate::Refuse(v1::AuditEntry entry, absl::string_view reason_code,
                          grpc::StatusCode code, absl::string_view message,
                          v1::RefusalCount counts) {
  // A policy refusal arrives stamped with its rules (Call::Refused).
  entry.set_verdict(v1::VERDICT_DENY);
  entry.set_reason_code(std::string(reason_code));
  entry.set_refusal_count(counts);
  BoundAuditEntry(entry);
  spdlog::info("refused {} {} ({}): {}", entry.principal(), entry.method(),
               reason_code, Capped(message, kReasonCap));
  if (auto seq = vault_->log().Append(entry); !seq.ok()) {
    spdlog::error("cannot log a refusal: {}", seq.status().message());
    return ToGrpc(absl::UnavailableError(
        "the access log cannot be written; nothing is served until it can"));
  }
  if (counts != v1::REFUSAL_COUNT_NONE) CountTowardsLockout(entry);
  return grpc::Status(code, std::string(message));
}

grpc::Status Gate::RefuseLimited(v1::AuditEntry entry,
                                 absl::string_view reason_code,
                                 absl::string_view kind, absl::string_view key,
                                 grpc::StatusCode code,
                                 absl::string_view message,
                                 v1::RefusalCount counts) {
  entry.set_verdict(v1::VERDICT_DENY);
  entry.set_reason_code(std::string(reason_code));
  entry.set_refusal_count(counts);
  BoundAuditEntry(entry);
  std::vector<RefusalLimiter::Summary> due;
  const bool logged = refusal_limiter_.Admit(kind, key, entry, &due);
  // The window before this one is summarised first, keeping the log in
  // order; if that cannot be written, nothing is served, as for a refusal.
  if (!LogSummaries(std::move(due)).ok()) {
    return ToGrpc(absl::UnavailableError(
        "the access log cannot be written; nothing is served until it can"));
  }
  if (logged) {
    return Refuse(std::move(entry), reason_code, code, message, counts);
  }
  spdlog::debug("refused {} {} ({}), counted for the summary", key,
                entry.method(), reason_code);
  return grpc::Status(code, std::string(message));
}

v1::AuditEntry Gate::UnauthenticatedEntry(const grpc::ServerContextBase& ctx,
                                          absl::string_view method,
                                          v1::Action action,
                                          const absl::Status& why) const {
  // Who sent the request is unknown: the entry holds none of it, only
  // where it came from and why it was refused.
  v1::AuditEntry entry = Entry(Caller{kUnauthenticated}, action, method);
  entry.set_detail(absl::StrCat("peer ", Capped(ctx.peer(), kShortTextCap),
                                ": ", Capped(why.message(), kReasonCap)));
  return entry;
}

absl::Status Gate::LogSummaries(std::vector<RefusalLimiter::Summary> due) {
  absl::Status status;
  const RefusalLimits& limits = refusal_limiter_.limits();
  for (RefusalLimiter::Summary& s : due) {
    // Who and what, as the first refusal counted; the count and the window
    // instead of its detail.
    v1::AuditEntry e = std::move(s.sample);
    e.set_sequence(0);
    *e.mutable_time() = ToProto(vault_->clock()->Now());
    e.set_verdict(v1::VERDICT_DENY);
    e.set_reason_code("refusals_summarised");
    e.set_refusal_count(v1::REFUSAL_COUNT_NONE);
    e.clear_rule_ids();
    e.clear_categories();
    e.set_detail(absl::StrCat(
        s.suppressed, " more refusals (", s.kind, ") of ", s.key,
        " suppressed from ", FormatTime(s.from), " to ", FormatTime(s.until),
        "; at most ", limits.logged_per_window, " a key per ",
        absl::FormatDuration(limits.window), " are logged one by one"));
    BoundAuditEntry(e);
    spdlog::warn("{} more refusals ({}) of {} suppressed in the log", s.key,
                 s.suppressed, s.kind);
    if (auto seq = vault_->log().Append(std::move(e)); !seq.ok()) {
      spdlog::error("cannot log a summary of {} refusals of {}: {}",
                    s.suppressed, s.key, seq.status().message());
      status = seq.status();
    }
  }
  return status;
}

void Gate::CountTowardsLockout(const v1::AuditEntry& refusal) {
  const bool malformed =
      refusal.refusal_count() == v1::REFUSAL_COUNT_MALFORMED_SUBMISSION;
  const int threshold = malformed ? limits_.lockout_malformed_submissions
                                  : limits_.lockout_refusals;
  if (threshold <= 0) return;
  const absl::Time since = vault_->clock()->Now() - limits_.lockout_window;
  absl::StatusOr<uint32_t> n = vault_->oversight().CountRefusals(
      refusal.principal(), refusal.refusal_count(), since);
  if (!n.ok()) {
    spdlog::error("cannot count refusals of {}: {}", refusal.principal(),
                  n.status().message());
    return;
  }
  if (*n < static_cast<uint32_t>(threshold)) return;
  LockOutNow(
      refusal, malformed ? "malformed_submissions" : "refusals",
      absl::StrCat(*n, malformed ? " malformed submissions" : " refused calls",
                   " within ", absl::FormatDuration(limits_.lockout_window)))
      .IgnoreError();
}

grpc::Status Gate::LockOutNow(const v1::AuditEntry& cause,
                              absl::string_view kind,
                              absl::string_view reason) {
  v1::AuditEntry e = cause;
  e.set_sequence(0);
  *e.mutable_time() = ToProto(vault_->clock()->Now());
  e.set_verdict(v1::VERDICT_DENY);
  e.set_reason_code("locked_out");
  e.set_refusal_count(v1::REFUSAL_COUNT_NONE);
  e.clear_rule_ids();
  e.clear_categories();
  BoundAuditEntry(e);
  absl::Status s = vault_->oversight().LockOut(cause.principal(), kind, reason,
                                               std::move(e));
  if (!s.ok()) {
    spdlog::error("cannot lock out {}: {}", cause.principal(), s.message());
    return ToGrpc(absl::UnavailableError("cannot record a lockout"));
  }
  return grpc::Status::OK;
}

namespace {

using grpc::experimental::InterceptionHookPoints;

// See the top of gate.h.
class GateInterceptor final : public grpc::experimental::Interceptor {
 public:
  GateInterceptor(Gate* gate, grpc::experimental::ServerRpcInfo* info)
      : gate_(gate),
        info_(info),
        ours_(absl::StartsWith(info->method(), "/lanevault.")) {
    gate_->BeginCall(info_->server_context(), info_->method());
  }
  ~GateInterceptor() override { gate_->EndCall(info_->server_context()); }

  void Intercept(grpc::experimental::InterceptorBatchMethods* m) override {
    if (!ours_ && m->QueryInterceptionHookPoint(
                      InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      // Health and reflection carry no evidence, but still only for
      // callers with a valid certificate.
      if (!gate_->PeerVerified(*info_->server_context())) {
        info_->server_context()->TryCancel();
      }
    }
    if (ours_ && !Gated() &&
        m->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_MESSAGE)) {
      if (grpc::ByteBuffer* b = m->GetSerializedSendMessage(); b != nullptr) {
        b->Clear();
      } else {
        info_->server_context()->TryCancel();
      }
    }
    if (ours_ && !Gated() &&
        m->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_STATUS)) {
      grpc::Status status = m->GetSendStatus();
      if (status.ok()) {
        spdlog::critical(
            "{} answered without passing the gate; answer replaced",
            info_->method());
        status =
            grpc::Status(grpc::StatusCode::INTERNAL,
                         "this call did not pass the decision path; refused");
        m->ModifySendStatus(status);
      }
      // Refused before any handler ran (an oversized or malformed
      // message): logged like any refusal.
      gate_->LogUngated(*info_->server_context(), info_->method(), status);
    }
    m->Proceed();
  }

 private:
  bool Gated() const { return gate_->Gated(info_->server_context()); }

  Gate* gate_;
  grpc::experimental::ServerRpcInfo* info_;
  const bool ours_;
};

}  // namespace

grpc::experimental::Interceptor*
GateInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  return new GateInterceptor(gate_, info);
}

}  // namespace lanevault::api
