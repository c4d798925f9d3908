// lanevaultctl approvals: officers of a permit's approver role list the
// requests waiting for them (a read a permit lets happen only with
// approval; Permit.approval) and approve or deny them, one at a time, with
// a reason that is logged. The requester's own call, refused while it
// waits, names the request id in its message.

#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cmd/ctl_commands.h"
#include "cmd/ctl_common.h"
#include "common/program.h"
#include "lanevault/v1/approvals.grpc.pb.h"

ABSL_DECLARE_FLAG(bool, all);
ABSL_DECLARE_FLAG(bool, json);
ABSL_DECLARE_FLAG(std::string, reason);

namespace lanevault::ctl {
namespace {

constexpr char kUsage[] =
    "usage: lanevaultctl approvals list [--all] [--json]\n"
    "       lanevaultctl approvals approve APPROVAL_ID --reason TEXT\n"
    "       lanevaultctl approvals deny APPROVAL_ID --reason TEXT\n"
    "  list: the requests your role decides, and your own (--all: denied,\n"
    "  used and expired ones too). approve: one approval of yours; the\n"
    "  request opens once the permit's number of approvers (never the\n"
    "  requester, each counted once) have approved. deny: closes it for\n"
    "  good. The reason is logged with the request's id.";

std::string StateName(v1::ApprovalState state) {
  switch (state) {
    case v1::APPROVAL_STATE_PENDING:
      return "PENDING";
    case v1::APPROVAL_STATE_APPROVED:
      return "APPROVED";
    case v1::APPROVAL_STATE_DENIED:
      return "DENIED";
    case v1::APPROVAL_STATE_USED:
      return "USED";
    case v1::APPROVAL_STATE_EXPIRED:
      return "EXPIRED";
    default:
      return "?";
  }
}

void PrintRequest(const v1::ApprovalRequest& r) {
  std::vector<std::string> categories;
  for (int c : r.categories()) categories.push_back(CategoryName(c));
  // What the call names: a record (and item) for reads, nothing for a
  // lookup or search.
  std::string what;
  if (!r.record_handle().empty()) {
    what = absl::StrCat(" record ", r.record_handle());
  }
  if (!r.item_handle().empty()) {
    absl::StrAppend(&what, " item ", r.item_handle());
  }
  if (!categories.empty()) {
    absl::StrAppend(&what, " [", absl::StrJoin(categories, ", "), "]");
  }
  std::printf(
      "%s  %s  %d of %u approvals by %s (permit %s)\n"
      "    %s asks: %s%s for %s%s%s\n"
      "    opened %s, %s %s\n",
      r.approval_id().c_str(), StateName(r.state()).c_str(),
      r.approved_by_size(), r.required(), r.approver_role().c_str(),
      r.permit_id().c_str(), r.requester().c_str(),
      v1::Action_Name(r.action()).c_str(), what.c_str(), r.purpose().c_str(),
      r.case_id().empty() ? "" : ", case ", r.case_id().c_str(),
      When(r.created()).c_str(),
      r.state() == v1::APPROVAL_STATE_APPROVED ? "to be used by" : "expires",
      When(r.expires()).c_str());
  if (r.approved_by_size() > 0) {
    std::printf("    approved by: %s\n",
                absl::StrJoin(r.approved_by(), ", ").c_str());
  }
  if (!r.denied_by().empty()) {
    std::printf("    denied by: %s\n", r.denied_by().c_str());
  }
  if (!r.reason().empty()) std::printf("    reason: %s\n", r.reason().c_str());
}

int List() {
  auto stub = v1::ApprovalService::NewStub(Connect());
  grpc::ClientContext ctx;
  Prepare(ctx);
  v1::ListApprovalsRequest req;
  req.set_include_closed(absl::GetFlag(FLAGS_all));
  v1::ListApprovalsResponse resp;
  if (grpc::Status s = stub->ListApprovals(&ctx, req, &resp); !s.ok()) {
    FailRpc(s);
  }
  if (absl::GetFlag(FLAGS_json)) {
    PrintJson(resp);
    std::printf("\n");
    return 0;
  }
  if (resp.requests().empty()) {
    std::printf("no approval requests%s\n",
                absl::GetFlag(FLAGS_all) ? "" : " waiting (--all for closed)");
  }
  for (const v1::ApprovalRequest& r : resp.requests()) PrintRequest(r);
  return 0;
}

int Decide(const std::string& id, bool approve) {
  const std::string reason = absl::GetFlag(FLAGS_reason);
  if (reason.empty()) {
    Fail(absl::StrCat("approvals ", approve ? "approve" : "deny",
                      " needs --reason (it is logged)"),
         2);
  }
  auto stub = v1::ApprovalService::NewStub(Connect());
  grpc::ClientContext ctx;
  Prepare(ctx);
  v1::DecideApprovalRequest req;
  req.set_approval_id(id);
  req.set_reason(reason);
  v1::ApprovalRequest resp;
  grpc::Status s =
      approve ? stub->Approve(&ctx, req, &resp) : stub->Deny(&ctx, req, &resp);
  if (!s.ok()) FailRpc(s);
  if (absl::GetFlag(FLAGS_json)) {
    PrintJson(resp);
    std::printf("\n");
    return 0;
  }
  PrintRequest(resp);
  if (resp.state() == v1::APPROVAL_STATE_APPROVED) {
    std::printf("Approved: %s may now make that one call, once.\n",
                resp.requester().c_str());
  } else if (resp.state() == v1::APPROVAL_STATE_PENDING) {
    std::printf("Your approval is recorded; %u more needed.\n",
                resp.required() - resp.approved_by_size());
  }
  return 0;
}

}  // namespace

int ApprovalsCommand(const std::vector<std::string>& args) {
  if (args.size() == 2 && args[1] == "list") return List();
  if (args.size() == 3 && (args[1] == "approve" || args[1] == "deny")) {
    return Decide(args[2], args[1] == "approve");
  }
  Fail(kUsage, 2);
}

}  // namespace lanevault::ctl
