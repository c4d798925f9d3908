#include "api/gate.h"

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/time_util.h"

namespace lanevault::api {

grpc::Status ToGrpc(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

absl::StatusOr<Caller> Gate::Authenticate(
    const grpc::ServerContext& ctx) const {
  std::string principal;
  if (auto auth = ctx.auth_context(); auth && auth->IsPeerAuthenticated()) {
    for (const auto& cn : auth->FindPropertyValues("x509_common_name")) {
      principal.assign(cn.data(), cn.size());
      break;
    }
  }
  if (principal.empty() && dev_insecure_) {
    // Development plain text on loopback only: the caller names itself.
    const auto& md = ctx.client_metadata();
    if (auto it = md.find("lanevault-dev-principal"); it != md.end()) {
      principal.assign(it->second.data(), it->second.size());
    }
  }
  if (principal.empty()) {
    return absl::UnauthenticatedError("no verified client certificate");
  }
  return Caller{principal, policy_->RoleOf(principal)};
}

v1::AuditEntry Gate::Entry(const Caller& caller, const grpc::ServerContext& ctx,
                           v1::Action action, absl::string_view purpose,
                           absl::string_view case_id,
                           absl::string_view record_id) const {
  v1::AuditEntry e;
  *e.mutable_time() = ToProto(vault_->clock()->Now());
  e.set_principal(caller.principal);
  e.set_role(std::string(policy::RoleName(caller.role)));
  e.set_action(action);
  e.set_purpose(std::string(purpose));
  e.set_case_id(std::string(case_id));
  e.set_record_id(std::string(record_id));
  (void)ctx;
  return e;
}

policy::AccessRequest Gate::Request(const Caller& caller, v1::Action action,
                                    absl::string_view purpose,
                                    absl::string_view case_id) const {
  policy::AccessRequest r;
  r.principal = caller.principal;
  r.role = caller.role;
  r.action = action;
  r.purpose = std::string(purpose);
  r.case_id = std::string(case_id);
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

grpc::Status Gate::Refuse(v1::AuditEntry entry, const v1::Decision& decision,
                          grpc::StatusCode code,
                          absl::string_view message) const {
  Stamp(entry, v1::VERDICT_DENY, decision);
  spdlog::info("refused {} {} for {}: {}", entry.principal(),
               v1::Action_Name(entry.action()), entry.purpose(),
               decision.reason_code());
  if (auto seq = vault_->Audit(std::move(entry)); !seq.ok()) {
    spdlog::error("cannot log a refusal: {}", seq.status().message());
    return ToGrpc(seq.status());
  }
  return grpc::Status(code, std::string(message));
}

grpc::Status Gate::RefuseAccess(v1::AuditEntry entry,
                                const v1::Decision& decision) const {
  return Refuse(std::move(entry), decision,
                decision.reason_code() == "quota"
                    ? grpc::StatusCode::RESOURCE_EXHAUSTED
                    : grpc::StatusCode::PERMISSION_DENIED,
                decision.reason());
}

grpc::Status Gate::Allow(v1::AuditEntry entry,
                         const v1::Decision& decision) const {
  Stamp(entry, v1::VERDICT_ALLOW, decision);
  return Log(std::move(entry));
}

grpc::Status Gate::Log(v1::AuditEntry entry) const {
  if (auto seq = vault_->Audit(std::move(entry)); !seq.ok()) {
    return ToGrpc(seq.status());
  }
  return grpc::Status::OK;
}

grpc::Status Gate::Admit(const grpc::ServerContext& ctx, v1::Action action,
                         Caller* caller) const {
  v1::AuditEntry entry;
  if (grpc::Status s = Decide(ctx, action, "", "", caller, &entry); !s.ok()) {
    return s;
  }
  return Log(std::move(entry));
}

grpc::Status Gate::Decide(const grpc::ServerContext& ctx, v1::Action action,
                          absl::string_view purpose, absl::string_view case_id,
                          Caller* caller, v1::AuditEntry* entry) const {
  absl::StatusOr<Caller> who = Authenticate(ctx);
  if (!who.ok()) return ToGrpc(who.status());
  *caller = *who;
  *entry = Entry(*who, ctx, action, purpose, case_id, "");
  policy::AccessDecision d =
      policy_->DecideAccess(Request(*who, action, purpose, case_id));
  if (!d.allowed()) {
    return Refuse(std::move(*entry), d.decision,
                  grpc::StatusCode::PERMISSION_DENIED, d.decision.reason());
  }
  Stamp(*entry, v1::VERDICT_ALLOW, d.decision);
  return grpc::Status::OK;
}

}  // namespace lanevault::api
