// A compliance officer resolves a purpose-scoped handle to its record for an
// investigation: with a reason, and logged naming the record, so that the
// one way around handles is itself on the record.

#include "absl/strings/str_cat.h"
#include "api/services.h"

namespace lanevault::api {

grpc::Status ComplianceService::ResolveHandle(
    grpc::ServerContext* ctx, const v1::ResolveHandleRequest* request,
    v1::ResolveHandleResponse* response) {
  using Kind = crypto::HandleKey::Kind;
  const bool item =
      crypto::HandleKey::LooksLikeHandle(Kind::kItem, request->handle());
  CallSpec spec;
  spec.action = v1::ACTION_RESOLVE_HANDLE;
  spec.case_id = request->case_id();
  spec.vault_logs = true;
  spec.detail = absl::StrCat("handle ", request->handle(),
                             " reason: ", request->reason());
  spec.check = [&] {
    if (request->reason().empty()) {
      return absl::InvalidArgumentError(
          "say why the handle must be resolved (--reason)");
    }
    if (!item &&
        !crypto::HandleKey::LooksLikeHandle(Kind::kRecord, request->handle())) {
      return absl::InvalidArgumentError(
          "not a handle: give an rh_… or ih_… string as an answer named it");
    }
    return absl::OkStatus();
  };
  return gate_->Run(ctx, *request, spec, [&](Admission& a) {
    const policy::Policy& policy = gate_->policy();
    const Kind kind = item ? Kind::kItem : Kind::kRecord;
    for (const std::string& scope : policy.Scopes()) {
      absl::StatusOr<std::string> id =
          gate_->vault().handles().Open(kind, scope, request->handle());
      if (!id.ok()) continue;
      // Logged, naming what it resolved, before it is answered.
      if (item) {
        a.entry.add_item_ids(*id);
      } else {
        a.entry.set_record_id(*id);
      }
      a.entry.set_detail(absl::StrCat(a.entry.detail(), " scope ", scope));
      BoundAuditEntry(a.entry);
      if (auto seq = gate_->vault().log().Append(a.entry); !seq.ok()) {
        return ToGrpc(seq.status());
      }
      (item ? *response->mutable_item_id() : *response->mutable_record_id()) =
          *id;
      response->set_scope(scope);
      for (const std::string& p : policy.PurposesOf(scope)) {
        response->add_purposes(p);
      }
      return grpc::Status::OK;
    }
    a.entry.set_verdict(v1::VERDICT_DENY);
    a.entry.set_reason_code("not_found");
    if (auto seq = gate_->vault().log().Append(a.entry); !seq.ok()) {
      return ToGrpc(seq.status());
    }
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        "no scope of the contract in force issued this "
                        "handle (made up, or issued under an older contract)");
  });
}

}  // namespace lanevault::api
