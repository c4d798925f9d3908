// Two-person control for one request (Permit.approval): the approval book
// on its own, with a fake clock, and the whole path over a real server on
// real mutual TLS with a real vault: a face read under the pilot contract,
// edited to need two approvals by compliance, waits, is approved (or not)
// and then goes through once; every step is in the access log.

#include "api/approvals.h"

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/files.h"
#include "gtest/gtest.h"
#include "lanevault/v1/approvals.grpc.pb.h"
#include "lanevault/v1/evidence.grpc.pb.h"
#include "policy/contract.h"
#include "policy/policy.h"
#include "testing/api_fixture.h"
#include "testing/test_pki.h"

namespace lanevault::api {
namespace {

using ::lanevault::testing::WithDeadline;

constexpr char kIdentity[] = "identity-verification";
constexpr char kVehicle[] = "vehicle-inspection";
constexpr absl::Duration kTtl = absl::Minutes(10);

// ---- The contract ----

const std::string kContracts =
    std::string(LANEVAULT_SOURCE_DIR) + "/deploy/contracts/";

v1::Contract Strict() {
  auto text = ReadFileToString(kContracts + "strict-two-person.textproto");
  EXPECT_TRUE(text.ok()) << text.status();
  auto c = policy::ParseContract(*text);
  EXPECT_TRUE(c.ok()) << c.status();
  return *c;
}

policy::AccessRequest ReadOf(v1::DataCategory category, std::string purpose) {
  policy::AccessRequest r;
  r.principal = "inspector-7";
  r.role = policy::Role::kInspector;
  r.action = v1::ACTION_READ_RECORD;
  r.purpose = std::move(purpose);
  r.case_id = "case-17";
  r.categories = {category};
  r.available = {v1::DATA_CATEGORY_PLATE_TEXT, v1::DATA_CATEGORY_FACE_IMAGE};
  r.record_id = "rec_1";
  r.checkpoint = "demo-poe";
  r.now = absl::FromUnixSeconds(1'780'000'000);
  return r;
}

TEST(ApprovalContract, TheStrictContractNeedsTwoForAFace) {
  v1::Contract contract = Strict();
  for (const auto& i : policy::ValidateContract(contract)) {
    EXPECT_TRUE(i.warning) << i.field_path << ": " << i.message;
  }
  auto p = policy::NewContractPolicy(contract);
  ASSERT_TRUE(p.ok()) << p.status();
  policy::AccessDecision face =
      (*p)->DecideAccess(ReadOf(v1::DATA_CATEGORY_FACE_IMAGE, kIdentity));
  ASSERT_TRUE(face.allowed()) << face.decision.reason();
  ASSERT_TRUE(face.approval.has_value());
  EXPECT_EQ(face.approval->permit_id, "inspector-identity");
  EXPECT_EQ(face.approval->required, 2u);
  EXPECT_EQ(face.approval->approver_role, "compliance");
  EXPECT_EQ(face.approval->ttl, absl::Hours(1));
  policy::AccessDecision plate =
      (*p)->DecideAccess(ReadOf(v1::DATA_CATEGORY_PLATE_TEXT, kVehicle));
  ASSERT_TRUE(plate.allowed()) << plate.decision.reason();
  EXPECT_FALSE(plate.approval.has_value());
  EXPECT_TRUE((*p)->MayEver(policy::Role::kCompliance, v1::ACTION_APPROVE));
  EXPECT_FALSE((*p)->MayEver(policy::Role::kInspector, v1::ACTION_APPROVE));

  // Its cases file still passes.
  auto cases_text =
      ReadFileToString(kContracts + "strict-two-person.cases.textproto");
  ASSERT_TRUE(cases_text.ok());
  v1::PolicyCases cases;
  ASSERT_TRUE(ParseTextProto(*cases_text, "cases", &cases).ok());
  for (const std::string& miss : policy::RunPolicyCases(**p, contract, cases)) {
    ADD_FAILURE() << miss;
  }
}

TEST(ApprovalContract, ApprovalRulesAreValidated) {
  auto issues_of = [](const std::function<void(v1::Approval&)>& edit) {
    v1::Contract c = Strict();
    for (v1::Permit& p : *c.mutable_permits()) {
      if (p.id() == "inspector-identity") edit(*p.mutable_approval());
    }
    std::vector<std::string> out;
    for (const auto& i : policy::ValidateContract(c)) {
      if (absl::StrContains(i.field_path, "approval")) {
        out.push_back(absl::StrCat(i.warning ? "W " : "E ", i.field_path));
      }
    }
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(issues_of([](v1::Approval&) {}), V{});
  EXPECT_EQ(issues_of([](v1::Approval& a) { a.set_approver_role("boss"); }),
            V{"E permits[1].approval.approver_role"});
  EXPECT_EQ(issues_of([](v1::Approval& a) { a.set_required(6); }),
            V{"E permits[1].approval.required"});
  EXPECT_EQ(
      issues_of([](v1::Approval& a) { a.mutable_ttl()->set_seconds(-5); }),
      V{"E permits[1].approval.ttl"});
  // Nobody may approve: a warning (the permit never takes effect).
  EXPECT_EQ(issues_of([](v1::Approval& a) { a.set_approver_role("auditor"); }),
            V{"W permits[1].approval.approver_role"});
  // Approving may not itself wait for approval.
  {
    v1::Contract c = Strict();
    for (v1::Permit& p : *c.mutable_permits()) {
      if (p.id() != "compliance-approve") continue;
      p.mutable_approval()->set_required(1);
      p.mutable_approval()->set_approver_role("compliance");
    }
    EXPECT_FALSE(policy::FirstError(policy::ValidateContract(c)).ok());
  }
  // An approve permit bound to purposes lets nobody approve.
  {
    v1::Contract c = Strict();
    for (v1::Permit& p : *c.mutable_permits()) {
      if (p.id() == "compliance-approve") p.add_purposes(kIdentity);
    }
    bool warned = false;
    for (const auto& i : policy::ValidateContract(c)) {
      warned |=
          i.warning && i.field_path == "permits[1].approval.approver_role";
    }
    EXPECT_TRUE(warned);
  }
  // required 0: no approval, nothing to check.
  EXPECT_EQ(issues_of([](v1::Approval& a) {
              a.set_required(0);
              a.set_approver_role("");
            }),
            V{});
}

// ---- The book alone ----

absl::Status LogOk(const v1::ApprovalRequest&) { return absl::OkStatus(); }

class ApprovalBookTest : public ::testing::Test {
 protected:
  ApprovalAsk Ask(const std::string& requester = "inspector-1",
                  const std::string& record = "rec_1") {
    ApprovalAsk a;
    a.requester = requester;
    a.action = v1::ACTION_READ_RECORD;
    a.record_id = record;
    a.record_handle = "rh_" + record;
    a.purpose = kIdentity;
    a.categories = {v1::DATA_CATEGORY_FACE_IMAGE};
    a.rule.permit_id = "inspector-identity";
    a.rule.required = 2;
    a.rule.approver_role = "compliance";
    a.rule.ttl = kTtl;
    return a;
  }
  absl::StatusOr<v1::ApprovalRequest> Approve(
      const std::string& id, const std::string& who,
      const std::string& role = "compliance", std::string* code = nullptr) {
    std::string refusal;
    auto r = book_.Approve(id, who, role, "checked the case", LogOk, &refusal);
    if (code != nullptr) *code = refusal;
    return r;
  }

  FakeClock clock_{absl::FromUnixSeconds(1780000000)};
  ApprovalBook book_{&clock_, ApprovalLimits{2, 3, 100, absl::Hours(1)}};
};

TEST_F(ApprovalBookTest, OpensWaitsAndIsUsedOnceAfterEnoughApprovals) {
  ApprovalBook::Answer first = book_.Take(Ask());
  ASSERT_EQ(first.outcome, ApprovalBook::Outcome::kOpened);
  const std::string id = first.request.approval_id();
  EXPECT_TRUE(absl::StartsWith(id, "apr_"));
  // Asking again for the same thing answers the same request.
  ApprovalBook::Answer again = book_.Take(Ask());
  EXPECT_EQ(again.outcome, ApprovalBook::Outcome::kPending);
  EXPECT_EQ(again.request.approval_id(), id);

  // K-1 approvals open nothing.
  ASSERT_TRUE(Approve(id, "compliance-a").ok());
  EXPECT_EQ(book_.Take(Ask()).outcome, ApprovalBook::Outcome::kPending);
  // The same approver twice counts once.
  std::string code;
  auto twice = Approve(id, "compliance-a", "compliance", &code);
  EXPECT_TRUE(absl::IsPermissionDenied(twice.status())) << twice.status();
  EXPECT_EQ(code, "already_approved");
  EXPECT_EQ(book_.Take(Ask()).outcome, ApprovalBook::Outcome::kPending);

  auto done = Approve(id, "compliance-b");
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->state(), v1::APPROVAL_STATE_APPROVED);
  EXPECT_EQ(done->approved_by_size(), 2);

  ApprovalBook::Answer use = book_.Take(Ask());
  EXPECT_EQ(use.outcome, ApprovalBook::Outcome::kUse);
  EXPECT_EQ(use.request.approval_id(), id);
  // Used once: the next call opens a new request.
  ApprovalBook::Answer next = book_.Take(Ask());
  EXPECT_EQ(next.outcome, ApprovalBook::Outcome::kOpened);
  EXPECT_NE(next.request.approval_id(), id);
  EXPECT_EQ(book_.Get(id)->state(), v1::APPROVAL_STATE_USED);
}

TEST_F(ApprovalBookTest, WhoMayDecide) {
  const std::string id = book_.Take(Ask()).request.approval_id();
  std::string code;
  auto own = Approve(id, "inspector-1", "compliance", &code);
  EXPECT_TRUE(absl::IsPermissionDenied(own.status()));
  EXPECT_EQ(code, "own_request");
  auto other_role = Approve(id, "auditor-1", "auditor", &code);
  EXPECT_TRUE(absl::IsPermissionDenied(other_role.status()));
  EXPECT_EQ(code, "not_approver");
  auto unknown = Approve("apr_nope", "compliance-a", "compliance", &code);
  EXPECT_TRUE(absl::IsNotFound(unknown.status()));
  // Nor may the requester deny it.
  auto deny_own =
      book_.Deny(id, "inspector-1", "compliance", "no", LogOk, &code);
  EXPECT_TRUE(absl::IsPermissionDenied(deny_own.status()));
  // A reason is required.
  auto no_reason =
      book_.Approve(id, "compliance-a", "compliance", "", LogOk, &code);
  EXPECT_TRUE(absl::IsInvalidArgument(no_reason.status()));
  EXPECT_EQ(book_.Get(id)->approved_by_size(), 0);
}

TEST_F(ApprovalBookTest, DeniedNeverOpens) {
  const std::string id = book_.Take(Ask()).request.approval_id();
  ASSERT_TRUE(Approve(id, "compliance-a").ok());
  std::string code;
  auto denied =
      book_.Deny(id, "compliance-b", "compliance", "no case", LogOk, &code);
  ASSERT_TRUE(denied.ok()) << denied.status();
  EXPECT_EQ(denied->state(), v1::APPROVAL_STATE_DENIED);
  EXPECT_EQ(denied->denied_by(), "compliance-b");
  auto late = Approve(id, "compliance-c", "compliance", &code);
  EXPECT_TRUE(absl::IsFailedPrecondition(late.status()));
  EXPECT_EQ(code, "not_pending");
  ApprovalBook::Answer after = book_.Take(Ask());
  EXPECT_EQ(after.outcome, ApprovalBook::Outcome::kOpened);
  EXPECT_NE(after.request.approval_id(), id);
}

TEST_F(ApprovalBookTest, PendingAndApprovedExpire) {
  const std::string id = book_.Take(Ask()).request.approval_id();
  clock_.Advance(kTtl + absl::Seconds(1));
  std::string code;
  EXPECT_TRUE(absl::IsFailedPrecondition(
      Approve(id, "compliance-a", "compliance", &code).status()));
  EXPECT_EQ(book_.Get(id)->state(), v1::APPROVAL_STATE_EXPIRED);

  // Approved requests must be used within the ttl of the last approval.
  ApprovalBook::Answer second = book_.Take(Ask());
  ASSERT_EQ(second.outcome, ApprovalBook::Outcome::kOpened);
  const std::string id2 = second.request.approval_id();
  clock_.Advance(kTtl - absl::Minutes(1));
  ASSERT_TRUE(Approve(id2, "compliance-a").ok());
  ASSERT_TRUE(Approve(id2, "compliance-b").ok());
  clock_.Advance(absl::Minutes(5));  // past created + ttl, within approval
  EXPECT_EQ(book_.Get(id2)->state(), v1::APPROVAL_STATE_APPROVED);
  clock_.Advance(kTtl);
  EXPECT_EQ(book_.Get(id2)->state(), v1::APPROVAL_STATE_EXPIRED);
  EXPECT_EQ(book_.Take(Ask()).outcome, ApprovalBook::Outcome::kOpened);
}

TEST_F(ApprovalBookTest, KeyedByEverythingTheCallNames) {
  const std::string id = book_.Take(Ask()).request.approval_id();
  ASSERT_TRUE(Approve(id, "compliance-a").ok());
  ASSERT_TRUE(Approve(id, "compliance-b").ok());
  ApprovalBook book2(&clock_);
  std::vector<ApprovalAsk> others;
  others.push_back(Ask("inspector-2"));  // another requester
  others.push_back(Ask("inspector-1", "rec_2"));
  ApprovalAsk purpose = Ask();
  purpose.purpose = kVehicle;
  others.push_back(purpose);
  ApprovalAsk case_id = Ask();
  case_id.case_id = "case-9";
  others.push_back(case_id);
  ApprovalAsk categories = Ask();
  categories.categories.push_back(v1::DATA_CATEGORY_SCENE_IMAGE);
  others.push_back(categories);
  ApprovalAsk action = Ask();
  action.action = v1::ACTION_READ_ITEM;
  others.push_back(action);
  ApprovalAsk item = Ask();
  item.item_id = "itm_2";
  others.push_back(item);
  for (const ApprovalAsk& other : others) {
    ApprovalBook::Answer a = book2.Take(other);
    EXPECT_NE(a.request.approval_id(), id);
  }
  // In the same book none of them uses the approval.
  for (const ApprovalAsk& other : others) {
    ApprovalBook::Answer a = book_.Take(other);
    EXPECT_NE(a.outcome, ApprovalBook::Outcome::kUse);
    EXPECT_NE(a.request.approval_id(), id);
  }
  // The order of categories does not matter.
  ApprovalAsk reordered = Ask();
  reordered.categories = {v1::DATA_CATEGORY_FACE_IMAGE,
                          v1::DATA_CATEGORY_FACE_IMAGE};
  EXPECT_EQ(book_.Take(reordered).outcome, ApprovalBook::Outcome::kUse);
}

TEST_F(ApprovalBookTest, Bounded) {
  // At most 2 waiting per requester, 3 open in all (the fixture's limits).
  EXPECT_EQ(book_.Take(Ask("a", "rec_1")).outcome,
            ApprovalBook::Outcome::kOpened);
  EXPECT_EQ(book_.Take(Ask("a", "rec_2")).outcome,
            ApprovalBook::Outcome::kOpened);
  ApprovalBook::Answer third = book_.Take(Ask("a", "rec_3"));
  EXPECT_EQ(third.outcome, ApprovalBook::Outcome::kFull);
  EXPECT_TRUE(absl::StrContains(third.why, "at most 2")) << third.why;
  // Its pending ones are still answered.
  EXPECT_EQ(book_.Take(Ask("a", "rec_1")).outcome,
            ApprovalBook::Outcome::kPending);
  EXPECT_EQ(book_.Take(Ask("b", "rec_1")).outcome,
            ApprovalBook::Outcome::kOpened);
  EXPECT_EQ(book_.Take(Ask("c", "rec_1")).outcome,
            ApprovalBook::Outcome::kFull);
  // Expired ones make room again.
  clock_.Advance(kTtl);
  EXPECT_EQ(book_.Take(Ask("c", "rec_1")).outcome,
            ApprovalBook::Outcome::kOpened);
}

TEST_F(ApprovalBookTest, NothingChangesWhenTheStepCannotBeLogged) {
  const std::string id = book_.Take(Ask()).request.approval_id();
  std::string code;
  auto r = book_.Approve(
      id, "compliance-a", "compliance", "ok",
      [](const v1::ApprovalRequest&) {
        return absl::UnavailableError("disk full");
      },
      &code);
  EXPECT_TRUE(absl::IsUnavailable(r.status()));
  EXPECT_EQ(code, "log_failed");
  EXPECT_EQ(book_.Get(id)->approved_by_size(), 0);
  auto d = book_.Deny(
      id, "compliance-a", "compliance", "no",
      [](const v1::ApprovalRequest&) {
        return absl::UnavailableError("disk full");
      },
      &code);
  EXPECT_FALSE(d.ok());
  EXPECT_EQ(book_.Get(id)->state(), v1::APPROVAL_STATE_PENDING);
}

TEST_F(ApprovalBookTest, ListsWhatTheRoleDecidesAndOwnRequests) {
  const std::string a = book_.Take(Ask("inspector-1")).request.approval_id();
  ApprovalAsk by_inspectors = Ask("inspector-2");
  by_inspectors.rule.approver_role = "inspector";
  const std::string b = book_.Take(by_inspectors).request.approval_id();
  auto ids = [](const std::vector<v1::ApprovalRequest>& rs) {
    std::set<std::string> out;
    for (const auto& r : rs) out.insert(r.approval_id());
    return out;
  };
  EXPECT_EQ(ids(book_.List("compliance-a", "compliance", false)),
            std::set<std::string>{a});
  EXPECT_EQ(ids(book_.List("inspector-1", "inspector", false)),
            (std::set<std::string>{a, b}));
  std::string code;
  ASSERT_TRUE(
      book_.Deny(a, "compliance-a", "compliance", "no", LogOk, &code).ok());
  EXPECT_TRUE(book_.List("compliance-a", "compliance", false).empty());
  EXPECT_EQ(ids(book_.List("compliance-a", "compliance", true)),
            std::set<std::string>{a});
}

// ---- Over the API ----

class ApprovalsApiTest : public testing::ApiFixture {
 protected:
  static void SetUpTestSuite() {
    ApiFixture::SetUpTestSuite();
    for (const auto& [name, serial] : std::vector<std::pair<std::string, long>>{
             {"compliance-two", 7001}, {"inspector-two", 7002}}) {
      testing::CertSpec spec = testing::ClientCert(name, serial);
      spec.valid_until = absl::Hours(24 * 60);
      testing::IssueCert(dir_->Join("pki"), name, spec);
    }
  }

  // The pilot contract; the face read needs two compliance approvals;
  // compliance may approve, and so (to be refused by the book, not the
  // gate) may auditors and inspectors.
  std::unique_ptr<policy::Policy> MakePolicy() override {
    return testing::PilotPolicy([](v1::Contract& contract) {
      for (v1::Permit& p : *contract.mutable_permits()) {
        if (p.id() == "inspector-identity") {
          p.mutable_approval()->set_required(2);
          p.mutable_approval()->set_approver_role("compliance");
          *p.mutable_approval()->mutable_ttl() = ToProto(kTtl);
        }
        if (p.id() == "compliance-manage" || p.id() == "audit-read") {
          p.add_actions(v1::ACTION_APPROVE);
        }
      }
      v1::Permit* peer = contract.add_permits();
      peer->set_id("inspector-approve");
      peer->set_role("inspector");
      peer->add_actions(v1::ACTION_APPROVE);
    });
  }
  void ConfigureVault(vault::VaultOptions& vo) override { vo.clock = &clock_; }

  struct Answer {
    grpc::Status status;
    std::string approval_id;  // the trailing metadata's
    v1::GetRecordResponse response;
  };
  Answer ReadFace(const std::string& who = "inspector-dev",
                  const std::string& case_id = "",
                  const std::string& record_id = "") {
    auto stub = v1::EvidenceService::NewStub(Channel(who));
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    v1::GetRecordRequest req;
    req.set_record_id(
        Handle(record_id.empty() ? record_.record_id() : record_id, kIdentity));
    req.set_purpose(kIdentity);
    req.set_case_id(case_id);
    req.add_categories(v1::DATA_CATEGORY_FACE_IMAGE);
    Answer a;
    a.status = stub->GetRecord(&ctx, req, &a.response);
    const auto& md = ctx.GetServerTrailingMetadata();
    if (auto it = md.find("lanevault-approval-id"); it != md.end()) {
      a.approval_id = std::string(it->second.data(), it->second.size());
    }
    return a;
  }

  grpc::Status Decide(const std::string& who, const std::string& id,
                      bool approve, v1::ApprovalRequest* out = nullptr,
                      const std::string& reason = "case file checked") {
    auto stub = v1::ApprovalService::NewStub(Channel(who));
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    v1::DecideApprovalRequest req;
    req.set_approval_id(id);
    req.set_reason(reason);
    v1::ApprovalRequest resp;
    grpc::Status s = approve ? stub->Approve(&ctx, req, &resp)
                             : stub->Deny(&ctx, req, &resp);
    if (out != nullptr) *out = resp;
    return s;
  }

  std::vector<v1::ApprovalRequest> List(const std::string& who,
                                        bool closed = false) {
    auto stub = v1::ApprovalService::NewStub(Channel(who));
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    v1::ListApprovalsRequest req;
    req.set_include_closed(closed);
    v1::ListApprovalsResponse resp;
    grpc::Status s = stub->ListApprovals(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return {resp.requests().begin(), resp.requests().end()};
  }

  // Log entries naming `id`.
  std::vector<v1::AuditEntry> Steps(const std::string& id) {
    std::vector<v1::AuditEntry> out;
    for (const v1::AuditEntry& e : Log()) {
      if (e.approval_id() == id) out.push_back(e);
    }
    return out;
  }

  // A pending request for the fixture's record, opened by a first read.
  std::string Open() {
    Answer a = ReadFace();
    EXPECT_EQ(a.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
        << a.status.error_message();
    EXPECT_FALSE(a.approval_id.empty());
    return a.approval_id;
  }

  FakeClock clock_{absl::Now()};
};

TEST_F(ApprovalsApiTest, TwoApprovalsLetOneReadThrough) {
  Answer first = ReadFace();
  ASSERT_EQ(first.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
      << first.status.error_message();
  const std::string id = first.approval_id;
  ASSERT_TRUE(absl::StartsWith(id, "apr_"));
  EXPECT_TRUE(absl::StrContains(first.status.error_message(), id));
  EXPECT_TRUE(absl::StrContains(first.status.error_message(),
                                "0 of 2 approvals by compliance"))
      << first.status.error_message();

  // The approvers see it, with the handle the requester named.
  std::vector<v1::ApprovalRequest> listed = List("compliance-dev");
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].approval_id(), id);
  EXPECT_EQ(listed[0].requester(), "inspector-dev");
  EXPECT_EQ(listed[0].record_handle(), Handle(record_.record_id(), kIdentity));
  EXPECT_EQ(listed[0].permit_id(), "inspector-identity");
  EXPECT_EQ(listed[0].state(), v1::APPROVAL_STATE_PENDING);

  // One approval (K-1) opens nothing; asking again answers the same id.
  ASSERT_TRUE(Decide("compliance-dev", id, true).ok());
  Answer second = ReadFace();
  EXPECT_EQ(second.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(second.approval_id, id);
  EXPECT_TRUE(absl::StrContains(second.status.error_message(), "1 of 2"));

  // The same approver twice counts once.
  grpc::Status twice = Decide("compliance-dev", id, true);
  EXPECT_EQ(twice.error_code(), grpc::StatusCode::PERMISSION_DENIED)
      << twice.error_message();
  EXPECT_EQ(ReadFace().status.error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  v1::ApprovalRequest approved;
  grpc::Status s = Decide("compliance-two", id, true, &approved);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(approved.state(), v1::APPROVAL_STATE_APPROVED);
  EXPECT_EQ(approved.approved_by_size(), 2);

  // Once.
  Answer read = ReadFace();
  ASSERT_TRUE(read.status.ok()) << read.status.error_message();
  ASSERT_EQ(read.response.record().items_size(), 1);
  EXPECT_EQ(read.response.record().items(0).category(),
            v1::DATA_CATEGORY_FACE_IMAGE);
  Answer after = ReadFace();
  EXPECT_EQ(after.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_FALSE(after.approval_id.empty());
  EXPECT_NE(after.approval_id, id);

  // Every step is in the access log, naming the request.
  std::vector<v1::AuditEntry> steps = Steps(id);
  int opened = 0, approvals = 0, refused_approvals = 0, reads = 0;
  for (const v1::AuditEntry& e : steps) {
    if (e.action() == v1::ACTION_READ_RECORD &&
        e.verdict() == v1::VERDICT_DENY) {
      EXPECT_EQ(e.reason_code(), "approval_pending");
      EXPECT_EQ(e.refusal_count(), v1::REFUSAL_COUNT_NONE);
      ++opened;
    } else if (e.action() == v1::ACTION_READ_RECORD) {
      EXPECT_EQ(e.verdict(), v1::VERDICT_ALLOW);
      EXPECT_EQ(e.principal(), "inspector-dev");
      ++reads;
    } else if (e.action() == v1::ACTION_APPROVE &&
               e.verdict() == v1::VERDICT_ALLOW) {
      ++approvals;
    } else if (e.action() == v1::ACTION_APPROVE) {
      EXPECT_EQ(e.reason_code(), "already_approved");
      ++refused_approvals;
    }
  }
  EXPECT_GE(opened, 1);
  EXPECT_EQ(approvals, 2);
  EXPECT_EQ(refused_approvals, 1);
  EXPECT_EQ(reads, 1);
  // Only the read that went through counts as a read.
  int allowed_reads = 0;
  for (const v1::AuditEntry& e : Log()) {
    if (e.action() == v1::ACTION_READ_RECORD &&
        e.verdict() == v1::VERDICT_ALLOW) {
      ++allowed_reads;
    }
  }
  EXPECT_EQ(allowed_reads, 1);
}

TEST_F(ApprovalsApiTest, WhoMayApprove) {
  const std::string id = Open();
  // The requester never decides its own request, whatever its role may do.
  grpc::Status own = Decide("inspector-dev", id, true);
  EXPECT_EQ(own.error_code(), grpc::StatusCode::PERMISSION_DENIED)
      << own.error_message();
  EXPECT_EQ(Decide("inspector-dev", id, false).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // Approvers of another role than the permit names count for nothing.
  EXPECT_EQ(Decide("inspector-two", id, true).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Decide("auditor-dev", id, true).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // A role no permit lets approve is stopped at the gate.
  EXPECT_EQ(Decide("operator-dev", id, true).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // An unknown id; a missing reason.
  EXPECT_EQ(Decide("compliance-dev", "apr_0000", true).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Decide("compliance-dev", id, true, nullptr, "").error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  v1::ApprovalRequest now;
  ASSERT_TRUE(Decide("compliance-dev", id, true, &now).ok());
  EXPECT_EQ(now.approved_by_size(), 1);  // none of the above counted
  EXPECT_EQ(ReadFace().status.error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  std::map<std::string, int> refusals;
  for (const v1::AuditEntry& e : Steps(id)) {
    if (e.action() == v1::ACTION_APPROVE && e.verdict() == v1::VERDICT_DENY) {
      ++refusals[e.reason_code()];
    }
  }
  EXPECT_EQ(refusals["own_request"], 2);
  EXPECT_EQ(refusals["not_approver"], 2);

  // The inspector sees its own request when it lists.
  std::vector<v1::ApprovalRequest> mine = List("inspector-dev");
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(mine[0].approval_id(), id);
  EXPECT_TRUE(List("auditor-dev").empty());
}

TEST_F(ApprovalsApiTest, AnApprovalIsForExactlyWhatWasAsked) {
  const std::string id = Open();
  ASSERT_TRUE(Decide("compliance-dev", id, true).ok());
  ASSERT_TRUE(Decide("compliance-two", id, true).ok());

  // Another record.
  v1::Record other = record_;
  other.set_record_id(NewId("rec_"));
  for (v1::Item& item : *other.mutable_items()) item.set_item_id(NewId("itm_"));
  ASSERT_TRUE(vault_->Intake(other, {}).ok());
  Answer a = ReadFace("inspector-dev", "", other.record_id());
  EXPECT_EQ(a.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(a.approval_id, id);
  // Another case.
  Answer b = ReadFace("inspector-dev", "case-9");
  EXPECT_EQ(b.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(b.approval_id, id);
  // Another requester, even of the same group.
  Answer c = ReadFace("inspector-two");
  EXPECT_EQ(c.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(c.approval_id, id);
  // Another category set: the whole record under this purpose.
  {
    auto stub = v1::EvidenceService::NewStub(Channel("inspector-dev"));
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    v1::GetRecordRequest req;
    req.set_record_id(Handle(record_.record_id(), kIdentity));
    req.set_purpose(kIdentity);
    req.add_categories(v1::DATA_CATEGORY_FACE_IMAGE);
    req.add_categories(v1::DATA_CATEGORY_PLATE_TEXT);
    v1::GetRecordResponse resp;
    grpc::Status s = stub->GetRecord(&ctx, req, &resp);
    EXPECT_FALSE(s.ok());
  }
  // A purpose whose permit needs no approval reads without one (the other
  // record: a plate of this one would make its face a linkage).
  {
    auto stub = v1::EvidenceService::NewStub(Channel("inspector-two"));
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    v1::GetRecordRequest req;
    req.set_record_id(Handle(other.record_id(), kVehicle));
    req.set_purpose(kVehicle);
    req.add_categories(v1::DATA_CATEGORY_PLATE_TEXT);
    v1::GetRecordResponse resp;
    grpc::Status s = stub->GetRecord(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
  }
  // The approval is still there for exactly what it was for.
  Answer d = ReadFace();
  ASSERT_TRUE(d.status.ok()) << d.status.error_message();
  bool named = false;
  for (const v1::AuditEntry& e : Steps(id)) {
    named |= e.action() == v1::ACTION_READ_RECORD &&
             e.verdict() == v1::VERDICT_ALLOW;
  }
  EXPECT_TRUE(named);
}

TEST_F(ApprovalsApiTest, ADeniedRequestNeverOpens) {
  const std::string id = Open();
  ASSERT_TRUE(Decide("compliance-dev", id, true).ok());
  v1::ApprovalRequest denied;
  ASSERT_TRUE(Decide("compliance-two", id, false, &denied).ok());
  EXPECT_EQ(denied.state(), v1::APPROVAL_STATE_DENIED);
  EXPECT_EQ(denied.denied_by(), "compliance-two");
  grpc::Status late = Decide("compliance-two", id, true);
  EXPECT_EQ(late.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  Answer again = ReadFace();
  EXPECT_EQ(again.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(again.approval_id, id);
  EXPECT_TRUE(List("compliance-dev", false).size() == 1u);  // the new one
  bool logged_denial = false;
  for (const v1::AuditEntry& e : Steps(id)) {
    logged_denial |= e.action() == v1::ACTION_APPROVE &&
                     e.verdict() == v1::VERDICT_ALLOW &&
                     absl::StrContains(e.detail(), "APPROVAL_STATE_DENIED");
  }
  EXPECT_TRUE(logged_denial);
}

TEST_F(ApprovalsApiTest, RequestsAndApprovalsExpire) {
  const std::string id = Open();
  clock_.Advance(kTtl + absl::Seconds(1));
  EXPECT_EQ(Decide("compliance-dev", id, true).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  const std::string id2 = Open();
  EXPECT_NE(id2, id);
  ASSERT_TRUE(Decide("compliance-dev", id2, true).ok());
  ASSERT_TRUE(Decide("compliance-two", id2, true).ok());
  clock_.Advance(kTtl + absl::Seconds(1));
  Answer late = ReadFace();
  EXPECT_EQ(late.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(late.approval_id, id2);
  std::vector<v1::ApprovalRequest> all = List("compliance-dev", true);
  std::map<std::string, v1::ApprovalState> states;
  for (const auto& r : all) states[r.approval_id()] = r.state();
  EXPECT_EQ(states[id], v1::APPROVAL_STATE_EXPIRED);
  EXPECT_EQ(states[id2], v1::APPROVAL_STATE_EXPIRED);
}

}  // namespace
}  // namespace lanevault::api
