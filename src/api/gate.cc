#include "api/gate.h"

#include <chrono>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/time_util.h"

namespace lanevault::api {

grpc::Status ToGrpc(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

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

Gate::Gate(const policy::Policy* policy, vault::Vault* vault,
           const PeerVerifier* peers, GateLimits limits)
    : policy_(policy),
      vault_(vault),
      peers_(peers),
      limits_(limits),
      history_(vault) {}

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

grpc::Status Gate::Run(grpc::ServerContext* ctx,
                       const google::protobuf::MessageLite& request,
                       const CallSpec& spec,
                       absl::FunctionRef<grpc::Status(Admission&)> handler) {
  std::string method;
  {
    absl::MutexLock lock(&mu_);
    auto it = calls_.find(ctx);
    if (it == calls_.end()) {
      // Without the interceptor nothing would check the way out: refuse.
      spdlog::error("a call reached Gate::Run without the gate interceptor");
      return grpc::Status(grpc::StatusCode::INTERNAL,
                          "server misconfigured: call not announced");
    }
    it->second.gated = true;
    method = it->second.method;
  }
  CallSlot slot(this);
  Admission admission;
  absl::StatusOr<Caller> caller = Authenticate(*ctx);
  if (!caller.ok()) {
    v1::AuditEntry entry = Entry(Caller{"(unauthenticated)"}, spec, method);
    entry.set_detail(
        absl::StrCat("peer ", ctx->peer(), ": ", caller.status().message()));
    return Refuse(std::move(entry), "unauthenticated",
                  static_cast<grpc::StatusCode>(caller.status().code()),
                  caller.status().message(), v1::REFUSAL_COUNT_NONE);
  }
  admission.caller = *caller;
  v1::AuditEntry entry = Entry(*caller, spec, method);

  if (ctx->deadline() == std::chrono::system_clock::time_point::max()) {
    return Refuse(std::move(entry), "no_deadline",
                  grpc::StatusCode::INVALID_ARGUMENT,
                  "every call must carry a deadline (e.g. 30 s); calls "
                  "without one are refused");
  }
  absl::StatusOr<vault::LockoutRow> lockout =
      vault_->Lockout(caller->principal);
  if (lockout.ok()) {
    return Refuse(
        std::move(entry), "locked_out", grpc::StatusCode::PERMISSION_DENIED,
        absl::StrCat(caller->principal, " is locked out since ",
                     FormatTime(lockout->since), " (", lockout->reason,
                     "); a compliance officer must lift it"),
        v1::REFUSAL_COUNT_NONE);
  }
  if (!absl::IsNotFound(lockout.status())) {
    return ToGrpc(absl::UnavailableError(absl::StrCat(
        "cannot check lockouts, refusing: ", lockout.status().message())));
  }
  if (const size_t bytes = request.ByteSizeLong();
      bytes > limits_.max_request_bytes) {
    return Refuse(std::move(entry), "too_large",
                  grpc::StatusCode::RESOURCE_EXHAUSTED,
                  absl::StrCat("the request is ", bytes, " bytes; at most ",
                               limits_.max_request_bytes, " are accepted"));
  }
  if (caller->role == policy::Role::kUnknown) {
    // Nothing about the request is looked at for a caller no role binds.
    return Refuse(
        std::move(entry), "unbound", grpc::StatusCode::PERMISSION_DENIED,
        absl::StrCat("the contract binds ", caller->principal, " to no role"));
  }
  if (!slot.Acquire(caller->principal)) {
    return Refuse(std::move(entry), "too_many_calls",
                  grpc::StatusCode::RESOURCE_EXHAUSTED,
                  absl::StrCat(caller->principal, " already has ",
                               limits_.max_calls_per_principal,
                               " calls in flight; wait for them"));
  }
  if (spec.needs_purpose && spec.purpose.empty()) {
    return Refuse(std::move(entry), "no_purpose",
                  grpc::StatusCode::INVALID_ARGUMENT,
                  "this call must state its purpose (--purpose)");
  }
  if (!spec.record_id.empty()) {
    absl::StatusOr<bool> canary = vault_->IsCanary(spec.record_id);
    if (!canary.ok()) return ToGrpc(canary.status());
    if (*canary) {
      const v1::AuditEntry cause = entry;
      grpc::Status refused = Refuse(
          std::move(entry), "canary", grpc::StatusCode::PERMISSION_DENIED,
          "access refused and reported to compliance", v1::REFUSAL_COUNT_NONE);
      grpc::Status locked =
          LockOutNow(cause, "canary_read",
                     absl::StrCat("touched canary record ", spec.record_id,
                                  " with ", v1::Action_Name(spec.action)));
      return locked.ok() ? refused : locked;
    }
  }
  if (spec.check) {
    if (absl::Status s = spec.check(); !s.ok()) {
      return Refuse(std::move(entry), "bad_request",
                    static_cast<grpc::StatusCode>(s.code()), s.message(),
                    spec.check_counts);
    }
  }
  policy::AccessRequest ask = Request(*caller, spec);
  if (spec.facts) {
    if (absl::Status s = spec.facts(ask); !s.ok()) {
      return Refuse(
          std::move(entry), absl::IsNotFound(s) ? "not_found" : "vault_error",
          static_cast<grpc::StatusCode>(s.code()), s.message(), Blame(s));
    }
  }
  admission.decision = policy_->DecideAccess(ask);
  const v1::Decision& d = admission.decision.decision;
  if (!admission.decision.allowed()) {
    const bool quota = d.reason_code() == "quota";
    return Refuse(std::move(entry), d.reason_code(),
                  quota ? grpc::StatusCode::RESOURCE_EXHAUSTED
                        : grpc::StatusCode::PERMISSION_DENIED,
                  d.reason(), v1::REFUSAL_COUNT_CALLER, &d);
  }
  Stamp(entry, v1::VERDICT_ALLOW, d);
  for (v1::DataCategory c : admission.decision.categories) {
    entry.add_categories(c);
  }
  if (!spec.vault_logs) {
    if (auto seq = vault_->Audit(entry); !seq.ok()) {
      return ToGrpc(seq.status());  // fail closed: nothing runs unlogged
    }
  }
  admission.entry = std::move(entry);
  return handler(admission);
}

void Gate::LogUngated(const grpc::ServerContextBase& ctx,
                      absl::string_view method, const grpc::Status& status) {
  absl::StatusOr<Caller> caller = Authenticate(ctx);
  CallSpec spec;
  v1::AuditEntry e =
      Entry(caller.ok() ? *caller : Caller{"(unauthenticated)"}, spec, method);
  e.set_detail(
      absl::StrCat("refused before the gate: ", status.error_message()));
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
    return Caller{principal, policy_->RoleOf(principal)};
  }
  std::string leaf, chain;
  if (auth != nullptr) {
    for (const auto& v : auth->FindPropertyValues("x509_pem_cert")) {
      leaf.assign(v.data(), v.size());
    }
    for (const auto& v : auth->FindPropertyValues("x509_pem_cert_chain")) {
      chain.assign(v.data(), v.size());
    }
  }
  absl::StatusOr<PeerIdentity> id = peers_->Verify(leaf, chain);
  if (!id.ok()) return id.status();
  return Caller{id->principal, policy_->RoleOf(id->principal)};
}

v1::AuditEntry Gate::Entry(const Caller& caller, const CallSpec& spec,
                           absl::string_view method) const {
  v1::AuditEntry e;
  *e.mutable_time() = ToProto(vault_->clock()->Now());
  e.set_principal(caller.principal);
  e.set_role(std::string(policy::RoleName(caller.role)));
  e.set_action(spec.action);
  e.set_purpose(spec.purpose);
  e.set_case_id(spec.case_id);
  e.set_record_id(spec.record_id);
  e.set_method(std::string(method));
  e.set_detail(spec.detail);
  if (!spec.plate.empty()) {
    e.set_plate_blind_index(vault_->PlateBlindIndex(spec.plate));
  }
  return e;
}

policy::AccessRequest Gate::Request(const Caller& caller,
                                    const CallSpec& spec) const {
  policy::AccessRequest r;
  r.principal = caller.principal;
  r.role = caller.role;
  r.action = spec.action;
  r.purpose = spec.purpose;
  r.case_id = spec.case_id;
  r.record_id = spec.record_id;
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
                          v1::RefusalCount counts,
                          const v1::Decision* decision) {
  if (decision != nullptr) {
    Stamp(entry, v1::VERDICT_DENY, *decision);
  } else {
    entry.set_verdict(v1::VERDICT_DENY);
    entry.set_reason_code(std::string(reason_code));
  }
  entry.set_refusal_count(counts);
  spdlog::info("refused {} {} ({}): {}", entry.principal(), entry.method(),
               reason_code, message);
  if (auto seq = vault_->Audit(entry); !seq.ok()) {
    spdlog::error("cannot log a refusal: {}", seq.status().message());
    return ToGrpc(absl::UnavailableError(
        "the access log cannot be written; nothing is served until it can"));
  }
  if (counts != v1::REFUSAL_COUNT_NONE) CountTowardsLockout(entry);
  return grpc::Status(code, std::string(message));
}

void Gate::CountTowardsLockout(const v1::AuditEntry& refusal) {
  const bool malformed =
      refusal.refusal_count() == v1::REFUSAL_COUNT_MALFORMED_SUBMISSION;
  const int threshold = malformed ? limits_.lockout_malformed_submissions
                                  : limits_.lockout_refusals;
  if (threshold <= 0) return;
  const absl::Time since = vault_->clock()->Now() - limits_.lockout_window;
  absl::StatusOr<uint32_t> n = vault_->CountRefusals(
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
  absl::Status s =
      vault_->LockOut(cause.principal(), kind, reason, std::move(e));
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
