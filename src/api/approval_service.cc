// ApprovalService: officers of a permit's approver role decide requests
// that wait for approval (approvals.h). Every call goes through the gate
// as ACTION_APPROVE, so it is authenticated, allowed only where a permit
// grants the caller's role ACTION_APPROVE, and logged. An approval or
// denial is logged, naming the request (AuditEntry.approval_id), before it
// takes effect; a refused one is logged as a refusal.
//
// Listing shows the requests the caller's role decides and the caller's
// own requests (an officer who asked for something sees how it stands);
// a requester whose role may not approve learns where its request stands
// from the refusal of its next call, which names the count.

#include "absl/strings/str_cat.h"
#include "api/services.h"
#include "common/logging.h"
#include "common/time_util.h"

namespace lanevault::api {
namespace {

// Ids are NewId("apr_"): 4 + 32 characters. Reasons are logged.
constexpr size_t kMaxApprovalIdBytes = 64;
constexpr size_t kMaxReasonBytes = 400;

CallSpec ApproverCall() {
  CallSpec spec;
  spec.action = v1::ACTION_APPROVE;
  return spec;
}

// Refusals that say something about the caller count towards its
// lockout; a request someone else closed first does not.
v1::RefusalCount CountsOf(absl::string_view refusal) {
  return refusal == "not_pending" ? v1::REFUSAL_COUNT_NONE
                                  : v1::REFUSAL_COUNT_CALLER;
}

}  // namespace

grpc::Status ApprovalService::ListApprovals(
    grpc::ServerContext* ctx, const v1::ListApprovalsRequest* request,
    v1::ListApprovalsResponse* response) {
  CallSpec spec = ApproverCall();
  spec.detail = request->include_closed() ? "list approvals, closed too"
                                          : "list approvals";
  return gate_->Run(ctx, *request, spec, [&](Admission& a) {
    for (v1::ApprovalRequest& r : gate_->approvals().List(
             a.caller.principal, policy::RoleName(a.caller.role),
             request->include_closed())) {
      *response->add_requests() = std::move(r);
    }
    return grpc::Status::OK;
  });
}

grpc::Status ApprovalService::Approve(grpc::ServerContext* ctx,
                                      const v1::DecideApprovalRequest* request,
                                      v1::ApprovalRequest* response) {
  return Decide(ctx, *request, /*approve=*/true, response);
}

grpc::Status ApprovalService::Deny(grpc::ServerContext* ctx,
                                   const v1::DecideApprovalRequest* request,
                                   v1::ApprovalRequest* response) {
  return Decide(ctx, *request, /*approve=*/false, response);
}

grpc::Status ApprovalService::Decide(grpc::ServerContext* ctx,
                                     const v1::DecideApprovalRequest& request,
                                     bool approve,
                                     v1::ApprovalRequest* response) {
  const char* verb = approve ? "approve" : "deny";
  CallSpec spec = ApproverCall();
  // Logged by this handler: the step's entry names the request and what
  // became of it, and is written before the step takes effect.
  spec.vault_logs = true;
  spec.detail =
      absl::StrCat(verb, " ", request.approval_id(), ": ", request.reason());
  spec.check = [&request] {
    if (request.approval_id().empty() ||
        request.approval_id().size() > kMaxApprovalIdBytes) {
      return absl::InvalidArgumentError("name the request (approval_id)");
    }
    if (request.reason().empty()) {
      return absl::InvalidArgumentError(
          "say why (--reason): the reason is logged with the decision");
    }
    if (request.reason().size() > kMaxReasonBytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "a reason of at most ", kMaxReasonBytes, " bytes, please"));
    }
    return absl::OkStatus();
  };
  return gate_->Run(ctx, request, spec, [&](Admission& a) {
    a.entry.set_approval_id(request.approval_id());
    const std::string& me = a.caller.principal;
    const std::string role(policy::RoleName(a.caller.role));
    auto log = [&](const v1::ApprovalRequest& after) -> absl::Status {
      v1::AuditEntry e = a.entry;
      e.set_detail(absl::StrCat(
          e.detail(), " -> ", v1::ApprovalState_Name(after.state()), " (",
          after.approved_by_size(), " of ", after.required(), " by ",
          after.approver_role(), ")"));
      BoundAuditEntry(e);
      absl::StatusOr<uint64_t> seq = gate_->vault().log().Append(std::move(e));
      return seq.status();
    };
    std::string refusal;
    absl::StatusOr<v1::ApprovalRequest> done =
        approve ? gate_->approvals().Approve(request.approval_id(), me, role,
                                             request.reason(), log, &refusal)
                : gate_->approvals().Deny(request.approval_id(), me, role,
                                          request.reason(), log, &refusal);
    if (done.ok()) {
      spdlog::info("{} {}d {}", me, verb, request.approval_id());
      *response = *std::move(done);
      return grpc::Status::OK;
    }
    if (refusal == "log_failed") {
      spdlog::error("cannot log an approval step: {}", done.status().message());
      return ToGrpc(absl::UnavailableError(
          "the access log cannot be written; nothing is decided until it "
          "can"));
    }
    // Refused by the book: logged as a refusal, counted where it says
    // something about the caller.
    v1::AuditEntry e = std::move(a.entry);
    e.set_verdict(v1::VERDICT_DENY);
    e.set_reason_code(refusal);
    e.set_refusal_count(CountsOf(refusal));
    e.set_detail(absl::StrCat(e.detail(), ": ", done.status().message()));
    *e.mutable_time() = ToProto(gate_->vault().clock()->Now());
    BoundAuditEntry(e);
    const v1::AuditEntry logged = e;
    spdlog::info("refused {} {} ({}): {}", me, verb, refusal,
                 done.status().message());
    if (absl::StatusOr<uint64_t> seq =
            gate_->vault().log().Append(std::move(e));
        !seq.ok()) {
      spdlog::error("cannot log a refused approval step: {}",
                    seq.status().message());
      return ToGrpc(absl::UnavailableError(
          "the access log cannot be written; nothing is served until it can"));
    }
    if (logged.refusal_count() != v1::REFUSAL_COUNT_NONE) {
      gate_->CountTowardsLockout(logged);
    }
    return ToGrpc(done.status());
  });
}

}  // namespace lanevault::api
