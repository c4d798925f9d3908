#ifndef LANEVAULT_API_GATE_H_
#define LANEVAULT_API_GATE_H_

// The decision path every RPC takes: authenticate (the principal comes from
// the verified client certificate), decide (policy), audit (before acting;
// fail closed), then the handler acts. Refusals are audited too.

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "api/vault_history.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/status.h"
#include "lanevault/v1/audit.pb.h"
#include "policy/policy.h"
#include "vault/vault.h"

namespace lanevault::api {

struct Caller {
  std::string principal;
  policy::Role role = policy::Role::kUnknown;
};

grpc::Status ToGrpc(const absl::Status& status);

class Gate {
 public:
  Gate(const policy::Policy* policy, vault::Vault* vault, bool dev_insecure)
      : policy_(policy),
        vault_(vault),
        history_(vault),
        dev_insecure_(dev_insecure) {}

  // The caller named by its certificate's common name. UNAUTHENTICATED when
  // there is none (only possible in the development plain-text mode).
  absl::StatusOr<Caller> Authenticate(const grpc::ServerContext& ctx) const;

  // An audit entry for this call, filled with who, what and why.
  v1::AuditEntry Entry(const Caller& caller, const grpc::ServerContext& ctx,
                       v1::Action action, absl::string_view purpose,
                       absl::string_view case_id,
                       absl::string_view record_id) const;

  // The policy question for this caller: who, acting how, why, under which
  // case, now, with their history.
  policy::AccessRequest Request(const Caller& caller, v1::Action action,
                                absl::string_view purpose,
                                absl::string_view case_id) const;

  // Logs a refusal and returns what to send: `code` with `message`, or
  // UNAVAILABLE when even the refusal cannot be logged.
  grpc::Status Refuse(v1::AuditEntry entry, const v1::Decision& decision,
                      grpc::StatusCode code, absl::string_view message) const;

  // Refuses a policy denial: RESOURCE_EXHAUSTED for a quota, otherwise
  // PERMISSION_DENIED, with the decision's reason.
  grpc::Status RefuseAccess(v1::AuditEntry entry,
                            const v1::Decision& decision) const;

  // Writes the verdict and the deciding rules into an entry.
  static void Stamp(v1::AuditEntry& entry, v1::Verdict verdict,
                    const v1::Decision& decision);

  // Logs an allowed action that returns no evidence (searches, status).
  // UNAVAILABLE when the log cannot be written: then the action must not run.
  grpc::Status Allow(v1::AuditEntry entry, const v1::Decision& decision) const;

  // Authenticates and decides a call that touches no record; on refusal the
  // returned status is what to send.
  grpc::Status Admit(const grpc::ServerContext& ctx, v1::Action action,
                     Caller* caller) const;

  // Authenticates and decides a call whose action the vault logs itself, in
  // the same transaction as the change (a hold, a key rotation). On refusal
  // the refusal is logged and returned; on allow `entry` is filled (verdict,
  // rules) but not yet appended: the handler hands it to the vault.
  grpc::Status Decide(const grpc::ServerContext& ctx, v1::Action action,
                      absl::string_view purpose, absl::string_view case_id,
                      Caller* caller, v1::AuditEntry* entry) const;

  const policy::Policy& policy() const { return *policy_; }
  vault::Vault& vault() const { return *vault_; }

 private:
  // Appends an entry; UNAVAILABLE when the log cannot be written.
  grpc::Status Log(v1::AuditEntry entry) const;

  const policy::Policy* policy_;
  vault::Vault* vault_;
  VaultAccessHistory history_;
  bool dev_insecure_;
};

}  // namespace lanevault::api

#endif  // LANEVAULT_API_GATE_H_
