// The access log against a caller who wants to flood it or break it, and
// the holes an insider used to learn more than the contract allows: a real
// server over real TLS on loopback, a real vault on a fake clock, the pilot
// contract.

#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/gate.h"
#include "api/refusal_limiter.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/time_util.h"
#include "gtest/gtest.h"
#include "lanevault/v1/audit_service.grpc.pb.h"
#include "lanevault/v1/evidence.grpc.pb.h"
#include "policy/policy.h"
#include "rpc/audit_log_source.h"
#include "testing/api_fixture.h"
#include "testing/raw_tls.h"
#include "testing/test_util.h"
#include "tlog/log_verifier.h"

namespace lanevault::api {
namespace {

using ::lanevault::testing::WithDeadline;

constexpr char kGetRecord[] = "/lanevault.v1.EvidenceService/GetRecord";

std::vector<v1::AuditEntry> Parse(const std::vector<std::string>& leaves) {
  std::vector<v1::AuditEntry> out;
  for (const std::string& l : leaves) {
    v1::AuditEntry e;
    EXPECT_TRUE(e.ParseFromString(l));
    out.push_back(std::move(e));
  }
  return out;
}

// The pilot contract and the built-in allow-list.
std::vector<std::unique_ptr<policy::Policy>> BothPolicies() {
  std::vector<std::unique_ptr<policy::Policy>> out;
  out.push_back(testing::PilotPolicy());
  out.push_back(policy::NewBuiltinPolicy());
  return out;
}

class InsiderLogTest : public testing::ApiFixture {
 protected:
  static void SetUpTestSuite() {
    ApiFixture::SetUpTestSuite();
    // Outlives every vault and server of the suite (they keep a pointer).
    clock_ = new FakeClock(absl::Now());
  }
  static void TearDownTestSuite() {
    ApiFixture::TearDownTestSuite();
    delete clock_;
    clock_ = nullptr;
  }

  std::unique_ptr<policy::Policy> MakePolicy() override {
    return testing::PilotPolicy();
  }
  void ConfigureVault(vault::VaultOptions& vo) override {
    clock_->Set(absl::Now());
    vo.clock = clock_;
  }
  void Configure(ServerOptions& so) override {
    so.limits.refusals.flush_every = flush_every_;
    if (max_message_bytes_ > 0) {
      so.limits.max_request_bytes = max_message_bytes_;
    }
  }

  // Every entry's exact bytes, however many.
  std::vector<std::string> Leaves() {
    auto leaves = vault_->log().LeafData(0, vault_->log().Size());
    EXPECT_TRUE(leaves.ok()) << leaves.status();
    return leaves.ok() ? *leaves : std::vector<std::string>{};
  }
  std::vector<v1::AuditEntry> Entries() { return Parse(Leaves()); }

  grpc::Status Call(const std::string& who, const v1::GetRecordRequest& req,
                    v1::GetRecordResponse* resp = nullptr) {
    v1::GetRecordResponse ignored;
    auto stub = v1::EvidenceService::NewStub(Channel(who));
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    return stub->GetRecord(&ctx, req, resp != nullptr ? resp : &ignored);
  }
  grpc::Status Item(const std::string& who, const std::string& record_id,
                    const std::string& item_id) {
    auto stub = v1::EvidenceService::NewStub(Channel(who));
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    v1::GetItemRequest req;
    req.set_record_id(Handle(record_id, "vehicle-inspection"));
    req.set_item_id(Handle(item_id, "vehicle-inspection", /*item=*/true));
    req.set_purpose("vehicle-inspection");
    v1::GetItemResponse resp;
    grpc::Status s = stub->GetItem(&ctx, req, &resp);
    EXPECT_FALSE(resp.has_item());
    return s;
  }
  v1::GetRecordRequest Request(const std::string& purpose) {
    v1::GetRecordRequest req;
    req.set_record_id(Handle(record_.record_id(), purpose));
    req.set_purpose(purpose);
    return req;
  }

  // Waits (on the real clock) for the flusher to log a summary.
  std::vector<v1::AuditEntry> WaitForSummaries(size_t want) {
    std::vector<v1::AuditEntry> found;
    for (int i = 0; i < 100 && found.size() < want; ++i) {
      found.clear();
      for (v1::AuditEntry& e : Entries()) {
        if (e.reason_code() == "refusals_summarised") found.push_back(e);
      }
      if (found.size() < want) absl::SleepFor(absl::Milliseconds(50));
    }
    return found;
  }

  static uint64_t CountOf(const v1::AuditEntry& summary) {
    uint64_t n = 0;
    const std::string& d = summary.detail();
    EXPECT_TRUE(absl::SimpleAtoi(d.substr(0, d.find(' ')), &n)) << d;
    return n;
  }

  void ExpectAllBounded() {
    for (const std::string& leaf : Leaves()) {
      EXPECT_LE(leaf.size(), kMaxAuditEntryBytes);
    }
  }

  void ExpectFullVerify() {
    tlog::VerifyOptions options;
    options.verifier_key = vault_->log().VerifierKey();
    options.full = true;
    auto source =
        rpc::RpcAuditLogSource(Channel("auditor-dev"), absl::Seconds(30));
    auto report = tlog::VerifyAuditLog(*source, options);
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_TRUE(report->full);
  }

  static inline FakeClock* clock_ = nullptr;
  absl::Duration flush_every_ = absl::Milliseconds(50);
  size_t max_message_bytes_ = 0;
};

// --- 1. The log cannot be flooded or broken. ---

TEST_F(InsiderLogTest, CallWithoutCertificateLogsNothingOfItsRequest) {
  const size_t before = vault_->log().Size();
  v1::GetRecordRequest req = Request(std::string(3 << 20, 'P'));
  req.set_case_id("CASE-MARKER-1234");
  grpc::Status s = Call("", req);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  const std::vector<std::string> leaves = Leaves();
  ASSERT_EQ(leaves.size(), before + 1);
  const std::string& leaf = leaves.back();
  EXPECT_LE(leaf.size(), kMaxAuditEntryBytes);
  EXPECT_EQ(leaf.find("PPPP"), std::string::npos);
  EXPECT_EQ(leaf.find("CASE-MARKER"), std::string::npos);
  EXPECT_EQ(leaf.find(record_.record_id()), std::string::npos);
  v1::AuditEntry e;
  ASSERT_TRUE(e.ParseFromString(leaf));
  EXPECT_EQ(e.principal(), "(unauthenticated)");
  EXPECT_EQ(e.reason_code(), "unauthenticated");
  EXPECT_EQ(e.method(), kGetRecord);
  EXPECT_TRUE(e.purpose().empty());
  EXPECT_TRUE(e.case_id().empty());
  EXPECT_TRUE(e.record_id().empty());
  EXPECT_NE(e.detail().find("127.0.0.1"), std::string::npos) << e.detail();
  EXPECT_NE(e.detail().find("no client certificate"), std::string::npos)
      << e.detail();
}

TEST_F(InsiderLogTest, OversizedRequestLogsItsSizeOnly) {
  v1::GetRecordRequest req = Request(std::string(5 << 20, 'P'));
  req.set_case_id("CASE-MARKER-1234");
  grpc::Status s = Call("inspector-dev", req);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << s.error_message();
  const std::string leaf = Leaves().back();
  EXPECT_LE(leaf.size(), kMaxAuditEntryBytes);
  EXPECT_EQ(leaf.find("PPPP"), std::string::npos);
  EXPECT_EQ(leaf.find("CASE-MARKER"), std::string::npos);
  v1::AuditEntry e;
  ASSERT_TRUE(e.ParseFromString(leaf));
  EXPECT_EQ(e.reason_code(), "too_large");
  EXPECT_EQ(e.principal(), "inspector-dev");
  EXPECT_TRUE(e.purpose().empty());
  EXPECT_TRUE(e.case_id().empty());
  EXPECT_TRUE(e.record_id().empty());
  EXPECT_NE(e.detail().find(absl::StrCat(req.ByteSizeLong(), " bytes")),
            std::string::npos)
      << e.detail();
}

TEST_F(InsiderLogTest, RequestFieldsAreCutAndMarked) {
  // Within size, from an inspector: the entry keeps a marked start.
  v1::GetRecordRequest req = Request(std::string(100 << 10, 'p'));
  req.set_case_id(std::string(50 << 10, 'c'));
  req.set_record_id(std::string(20 << 10, 'r'));
  EXPECT_FALSE(Call("inspector-dev", req).ok());
  const std::string leaf = Leaves().back();
  EXPECT_LE(leaf.size(), kMaxAuditEntryBytes);
  v1::AuditEntry e;
  ASSERT_TRUE(e.ParseFromString(leaf));
  EXPECT_LE(e.purpose().size(), 128u);
  EXPECT_TRUE(absl::EndsWith(e.purpose(), "B cut]")) << e.purpose();
  EXPECT_TRUE(absl::StartsWith(e.purpose(), "ppp"));
  EXPECT_LE(e.case_id().size(), 128u);
  EXPECT_LE(e.record_id().size(), 64u);
  EXPECT_TRUE(absl::EndsWith(e.record_id(), "B cut]")) << e.record_id();
}

TEST(BoundAuditEntry, CutsEveryFieldAndTheWhole) {
  v1::AuditEntry e;
  e.set_principal("inspector-dev");
  // Two-byte characters: a cut must not split one.
  std::string accents;
  for (int i = 0; i < 500; ++i) accents += "\xc3\xa9";
  e.set_purpose(accents);
  e.set_detail(std::string(100000, 'd'));
  e.set_method(std::string(1000, 'm'));
  for (int i = 0; i < 500; ++i) {
    e.add_item_ids(std::string(300, 'i'));
    e.add_rule_ids(absl::StrCat("rule-", i, std::string(100, 'x')));
    e.add_categories(v1::DATA_CATEGORY_PLATE_TEXT);
  }
  BoundAuditEntry(e);
  EXPECT_LE(e.ByteSizeLong() + 11, kMaxAuditEntryBytes);
  EXPECT_EQ(e.principal(), "inspector-dev");
  v1::AuditEntry back;
  ASSERT_TRUE(back.ParseFromString(e.SerializeAsString()))
      << "a cut left invalid UTF-8";
  EXPECT_TRUE(absl::StrContains(back.purpose(), "B cut]"));
  EXPECT_TRUE(absl::StrContains(back.detail(), "cut")) << back.detail();
  // A small entry is left as it is.
  v1::AuditEntry small;
  small.set_purpose("vehicle-inspection");
  small.add_item_ids("itm_1");
  v1::AuditEntry copy = small;
  BoundAuditEntry(copy);
  EXPECT_EQ(copy.SerializeAsString(), small.SerializeAsString());
}

TEST(RefusalLimiter, LogsAFewPerKeyAndCountsTheRest) {
  FakeClock clock(absl::FromUnixSeconds(1800000000));
  RefusalLimits limits;
  limits.logged_per_window = 3;
  limits.max_keys = 2;
  RefusalLimiter limiter(&clock, limits);
  std::vector<RefusalLimiter::Summary> due;
  v1::AuditEntry e;
  int logged = 0;
  for (int i = 0; i < 10; ++i) logged += limiter.Admit("k", "a", e, &due);
  EXPECT_EQ(logged, 3);
  EXPECT_TRUE(due.empty());
  // Keys past max_keys share one.
  logged = 0;
  for (int i = 0; i < 10; ++i) {
    logged += limiter.Admit("k", absl::StrCat("other", i), e, &due);
  }
  EXPECT_EQ(logged, 1 + 3);  // "other0", then the overflow key's first
  EXPECT_TRUE(limiter.TakeDue(false).empty());  // no window has ended
  clock.Advance(absl::Minutes(1));
  EXPECT_TRUE(limiter.Admit("k", "a", e, &due));  // a new window
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].key, "a");
  EXPECT_EQ(due[0].suppressed, 7u);
  std::vector<RefusalLimiter::Summary> rest = limiter.TakeDue(false);
  ASSERT_EQ(rest.size(), 1u);  // the overflow key's
  EXPECT_EQ(rest[0].suppressed, 9u - 3u);
  EXPECT_TRUE(limiter.TakeDue(true).empty());  // "a" counted nothing yet
}

// A caller that varies its source address (127.0.0.0/8 is a whole host's;
// an IPv6 network has a /64) is a new key each time: one kind of refusal
// still has no more than its cap logged one by one a window, and summaries
// are at most one a tracked key.
TEST(RefusalLimiter, ManyAddressesGetNoMoreLoggedThanTheKindsCap) {
  FakeClock clock(absl::FromUnixSeconds(1800000000));
  const RefusalLimits limits;
  RefusalLimiter limiter(&clock, limits);
  std::vector<RefusalLimiter::Summary> due;
  v1::AuditEntry e;
  int logged = 0;
  for (int i = 0; i < 1000; ++i) {
    logged += limiter.Admit(
        "unauthenticated",
        absl::StrCat("ipv4:127.0.", i / 250, ".", i % 250 + 1), e, &due);
  }
  EXPECT_EQ(logged, limits.logged_per_window_all_keys);
  // Another kind has its cap and its keys of its own: a principal locked
  // out while the flood holds its kind's keys is still named, not counted
  // under an overflow key.
  int p_logged = 0;
  for (int i = 0; i < 10; ++i) {
    p_logged += limiter.Admit("locked_out", "p", e, &due);
  }
  EXPECT_EQ(p_logged, limits.logged_per_window);
  clock.Advance(limits.window);
  const std::vector<RefusalLimiter::Summary> summaries = limiter.TakeDue(false);
  EXPECT_LE(summaries.size(), limits.max_keys + 2);
  uint64_t suppressed = 0;
  bool p_named = false;
  for (const RefusalLimiter::Summary& s : summaries) {
    if (s.kind == "locked_out") {
      p_named |= s.key == "p" && s.suppressed == 5;
      continue;
    }
    suppressed += s.suppressed;
  }
  EXPECT_TRUE(p_named);
  EXPECT_EQ(suppressed, 1000u - limits.logged_per_window_all_keys);
  EXPECT_TRUE(limiter.Admit("unauthenticated", "ipv4:10.0.0.1", e, &due));
}

TEST(PeerAddress, DropsThePort) {
  EXPECT_EQ(PeerAddress("ipv4:10.0.0.7:53122"), "ipv4:10.0.0.7");
  EXPECT_EQ(PeerAddress("ipv6:[::1]:443"), "ipv6:[::1]");
  EXPECT_EQ(PeerAddress("ipv6:%5B::1%5D:443"), "ipv6:%5B::1%5D");
  EXPECT_EQ(PeerAddress("unix:/run/lanevault.sock"),
            "unix:/run/lanevault.sock");
}

TEST_F(InsiderLogTest, BurstWithoutCertificatesIsSummarisedOnceItStops) {
  const size_t before = vault_->log().Size();
  constexpr int kCalls = 200;
  auto stub = v1::EvidenceService::NewStub(Channel(""));
  for (int i = 0; i < kCalls; ++i) {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    v1::GetRecordResponse resp;
    ASSERT_EQ(stub->GetRecord(&ctx, Request("vehicle-inspection"), &resp)
                  .error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  const int per_window = RefusalLimits().logged_per_window;
  EXPECT_EQ(vault_->log().Size(), before + per_window);
  // The burst stopped; once its minute is over the flusher summarises it.
  clock_->Advance(absl::Minutes(1));
  std::vector<v1::AuditEntry> summaries = WaitForSummaries(1);
  ASSERT_EQ(summaries.size(), 1u);
  EXPECT_EQ(CountOf(summaries[0]), static_cast<uint64_t>(kCalls - per_window));
  EXPECT_EQ(summaries[0].principal(), "(unauthenticated)");
  EXPECT_EQ(summaries[0].verdict(), v1::VERDICT_DENY);
  EXPECT_EQ(summaries[0].refusal_count(), v1::REFUSAL_COUNT_NONE);
  EXPECT_NE(summaries[0].detail().find("ipv4:127.0.0.1"), std::string::npos)
      << summaries[0].detail();
  EXPECT_EQ(vault_->log().Size(), before + per_window + 1);
  ExpectAllBounded();
  ExpectFullVerify();
}

TEST_F(InsiderLogTest, NextRefusalAfterTheMinuteSummarisesTheOneBefore) {
  flush_every_ = absl::Hours(1);  // only the next refusal can do it
  StartServer();
  const size_t before = vault_->log().Size();
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(Call("", Request("vehicle-inspection")).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  clock_->Advance(absl::Seconds(61));
  EXPECT_EQ(Call("", Request("vehicle-inspection")).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  const std::vector<v1::AuditEntry> log = Entries();
  ASSERT_EQ(log.size(), before + 5 + 2);
  EXPECT_EQ(log[log.size() - 2].reason_code(), "refusals_summarised");
  EXPECT_EQ(CountOf(log[log.size() - 2]), 15u);
  EXPECT_EQ(log.back().reason_code(), "unauthenticated");
}

TEST_F(InsiderLogTest, LockedOutPrincipalsRefusalsAreSummarised) {
  v1::AuditEntry why;
  why.set_principal("inspector-dev");
  ASSERT_TRUE(vault_->oversight()
                  .LockOut("inspector-dev", "test", "for this test", why)
                  .ok());
  const size_t before = vault_->log().Size();
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(Call("inspector-dev", Request("vehicle-inspection")).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  std::vector<v1::AuditEntry> log = Entries();
  ASSERT_EQ(log.size(), before + 5);
  EXPECT_EQ(log.back().reason_code(), "locked_out");
  clock_->Advance(absl::Minutes(2));
  std::vector<v1::AuditEntry> summaries = WaitForSummaries(1);
  ASSERT_EQ(summaries.size(), 1u);
  EXPECT_EQ(CountOf(summaries[0]), 45u);
  EXPECT_EQ(summaries[0].principal(), "inspector-dev");
}

TEST_F(InsiderLogTest, FloodedLogStaysFetchableAndVerifies) {
  // Entries as large as a caller could make them, a full page of them.
  std::vector<v1::AuditEntry> big;
  for (int i = 0; i < 1000; ++i) {
    v1::AuditEntry e;
    *e.mutable_time() = ToProto(clock_->Now());
    e.set_principal("inspector-dev");
    e.set_purpose(std::string(1000, 'p'));
    e.set_case_id(std::string(1000, 'c'));
    e.set_detail(std::string(10000, 'd'));
    for (int j = 0; j < 40; ++j) e.add_item_ids(std::string(100, 'i'));
    BoundAuditEntry(e);
    EXPECT_GT(e.ByteSizeLong(), kMaxAuditEntryBytes / 2);
    big.push_back(std::move(e));
  }
  ASSERT_TRUE(vault_->log().AppendBatch(std::move(big)).ok());
  ExpectAllBounded();
  // One call fetches a whole page of them.
  auto stub = v1::AuditService::NewStub(Channel("auditor-dev"));
  grpc::ClientContext ctx;
  WithDeadline(ctx);
  v1::GetEntriesRequest req;
  req.set_start(1);
  req.set_end(1001);
  v1::GetEntriesResponse resp;
  grpc::Status s = stub->GetEntries(&ctx, req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.leaf_data_size(), 1000);
  ExpectFullVerify();
}

class SmallPagesTest : public InsiderLogTest {
 protected:
  void SetUp() override {
    max_message_bytes_ = 64 << 10;
    InsiderLogTest::SetUp();
  }
};

TEST_F(SmallPagesTest, EntriesAndQueriesPageByBytes) {
  std::vector<v1::AuditEntry> big;
  for (int i = 0; i < 100; ++i) {
    v1::AuditEntry e;
    *e.mutable_time() = ToProto(clock_->Now());
    e.set_principal("inspector-dev");
    e.set_detail(std::string(10000, 'd'));
    for (int j = 0; j < 40; ++j) e.add_item_ids(std::string(100, 'i'));
    BoundAuditEntry(e);
    big.push_back(std::move(e));
  }
  ASSERT_TRUE(vault_->log().AppendBatch(std::move(big)).ok());
  auto stub = v1::AuditService::NewStub(Channel("auditor-dev"));
  // By index: short pages, each under the limit, together the whole log.
  std::vector<std::string> fetched;
  while (fetched.size() < 101) {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    v1::GetEntriesRequest req;
    req.set_start(fetched.size());
    req.set_end(1000);
    v1::GetEntriesResponse resp;
    grpc::Status s = stub->GetEntries(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_GT(resp.leaf_data_size(), 0);
    EXPECT_LE(resp.ByteSizeLong(), max_message_bytes_);
    EXPECT_LT(resp.leaf_data_size(), 101);
    for (const auto& l : resp.leaf_data()) fetched.push_back(l);
  }
  std::vector<std::string> stored = Leaves();
  stored.resize(fetched.size());
  EXPECT_EQ(fetched, stored);
  // By query: a token where a page was cut.
  size_t queried = 0;
  std::string token;
  int pages = 0;
  do {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    v1::QueryEntriesRequest req;
    req.set_principal("inspector-dev");
    req.set_page_size(500);
    req.set_page_token(token);
    v1::QueryEntriesResponse resp;
    grpc::Status s = stub->QueryEntries(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_LE(resp.ByteSizeLong(), max_message_bytes_);
    queried += resp.entries_size();
    token = resp.next_page_token();
    ++pages;
  } while (!token.empty() && pages < 100);
  EXPECT_EQ(queried, 100u);
  EXPECT_GT(pages, 1);
}

// --- 2b. Enum values past what a bit can stand for. ---

TEST_F(InsiderLogTest, CategoryPast31IsRefusedNotReadAsAnother) {
  // 35 would shift as 3 (face image), which identity verification reads.
  v1::GetRecordRequest req = Request("identity-verification");
  req.add_categories(static_cast<v1::DataCategory>(35));
  v1::GetRecordResponse resp;
  grpc::Status s = Call("inspector-dev", req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << s.error_message();
  EXPECT_FALSE(resp.has_record());
  EXPECT_EQ(Entries().back().reason_code(), "bad_request");
}

TEST_F(InsiderLogTest, QueryWithAnUnknownActionOrVerdictIsRefused) {
  auto stub = v1::AuditService::NewStub(Channel("auditor-dev"));
  for (int bad : {0, 1}) {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    v1::QueryEntriesRequest req;
    if (bad == 0) req.set_action(static_cast<v1::Action>(40));
    if (bad == 1) req.set_verdict(static_cast<v1::Verdict>(9));
    v1::QueryEntriesResponse resp;
    EXPECT_EQ(stub->QueryEntries(&ctx, req, &resp).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(resp.entries_size(), 0);
  }
}

TEST(PolicyBits, CategoriesPast31AreRefused) {
  for (const auto& p : BothPolicies()) {
    policy::AccessRequest r;
    r.principal = "inspector-dev";
    r.role = policy::Role::kInspector;
    r.action = v1::ACTION_READ_RECORD;
    r.purpose = "identity-verification";
    r.now = absl::Now();
    r.available = {v1::DATA_CATEGORY_FACE_IMAGE};
    r.categories = {static_cast<v1::DataCategory>(35)};
    const policy::AccessDecision d = p->DecideAccess(r);
    EXPECT_FALSE(d.allowed()) << p->contract_id();
    EXPECT_TRUE(d.categories.empty());
    r.categories.clear();
    r.action = static_cast<v1::Action>(40);
    EXPECT_FALSE(p->DecideAccess(r).allowed()) << p->contract_id();
  }
}

// --- 2a. After the contract's window, only oversight reads the log. ---

TEST(OutOfWindow, OnlyAuditorsAndComplianceReadTheLogAndNobodyPurges) {
  auto pilot = testing::PilotPolicy();
  const absl::Time after = absl::FromUnixSeconds(1830297600);  // until
  const absl::Time before = absl::FromUnixSeconds(1767225600) - absl::Hours(1);
  using policy::Role;
  for (Role role : {Role::kLane, Role::kOperator, Role::kInspector,
                    Role::kAuditor, Role::kCompliance, Role::kContractor}) {
    for (absl::Time at : {after, before}) {
      policy::AccessRequest r;
      r.principal = absl::StrCat(policy::RoleName(role), "-dev");
      r.role = role;
      r.now = at;
      r.action = v1::ACTION_READ_AUDIT;
      const bool oversight =
          role == Role::kAuditor || role == Role::kCompliance;
      EXPECT_EQ(pilot->DecideAccess(r).allowed(), oversight)
          << policy::RoleName(role);
      r.action = v1::ACTION_PURGE;
      EXPECT_FALSE(pilot->DecideAccess(r).allowed()) << policy::RoleName(role);
    }
  }
}

class ExpiredContractTest : public InsiderLogTest {
 protected:
  std::unique_ptr<policy::Policy> MakePolicy() override {
    return testing::PilotPolicy([](v1::Contract& c) {
      c.mutable_effective_until()->set_seconds(
          absl::ToUnixSeconds(absl::Now() - absl::Hours(1)));
      // So that the log's readers are not told apart by their permits.
      for (v1::Permit& p : *c.mutable_permits()) {
        if (p.role() == "operator") p.add_actions(v1::ACTION_READ_AUDIT);
      }
    });
  }
};

TEST_F(ExpiredContractTest, OnlyOversightReadsTheLog) {
  for (const char* who : {"operator-dev", "auditor-dev", "compliance-dev"}) {
    auto stub = v1::AuditService::NewStub(Channel(who));
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    v1::Checkpoint cp;
    grpc::Status s = stub->GetCheckpoint(&ctx, {}, &cp);
    if (std::string(who) == "operator-dev") {
      EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
      EXPECT_EQ(Entries().back().reason_code(), "outside_effective_window");
    } else {
      EXPECT_TRUE(s.ok()) << who << ": " << s.error_message();
    }
  }
}

// --- 2c. Roles that may never read evidence learn nothing of records. ---

TEST_F(InsiderLogTest, RolesThatMayNeverReadGetOneAnswerForAnyRecord) {
  const std::string real_item = record_.items(0).item_id();
  for (const char* who : {"lane-dev", "operator-dev", "auditor-dev"}) {
    const grpc::Status existing = Item(who, record_.record_id(), real_item);
    const grpc::Status missing = Item(who, NewId("rec_"), NewId("itm_"));
    const grpc::Status wrong_item = Item(who, record_.record_id(), "itm_x");
    for (const grpc::Status* s : {&existing, &missing, &wrong_item}) {
      EXPECT_EQ(s->error_code(), grpc::StatusCode::PERMISSION_DENIED)
          << who << ": " << s->error_message();
      EXPECT_EQ(s->error_message(), existing.error_message()) << who;
    }
    v1::GetRecordRequest real = Request("vehicle-inspection");
    v1::GetRecordRequest made_up = real;
    made_up.set_record_id(NewId("rec_"));
    const grpc::Status a = Call(who, real);
    const grpc::Status b = Call(who, made_up);
    EXPECT_EQ(a.error_code(), grpc::StatusCode::PERMISSION_DENIED) << who;
    EXPECT_EQ(b.error_code(), a.error_code()) << who;
    EXPECT_EQ(b.error_message(), a.error_message()) << who;
    EXPECT_EQ(Entries().back().reason_code(), "default_deny");
  }
}

// Whatever MayEver rules out, DecideAccess never allows.
TEST(MayEver, NeverRulesOutWhatADecisionAllows) {
  using policy::Role;
  for (const auto& p : BothPolicies()) {
    for (Role role : {Role::kLane, Role::kOperator, Role::kInspector,
                      Role::kAuditor, Role::kCompliance, Role::kContractor}) {
      for (int a = v1::Action_MIN; a <= v1::Action_MAX; ++a) {
        const auto action = static_cast<v1::Action>(a);
        if (p->MayEver(role, action)) continue;
        for (const char* purpose :
             {"", "identity-verification", "vehicle-inspection", "oversight",
              "lane-operations"}) {
          for (absl::Time at :
               {absl::Now(), absl::FromUnixSeconds(1830297600)}) {
            for (const std::vector<v1::DataCategory>& asked :
                 std::vector<std::vector<v1::DataCategory>>{
                     {},
                     {v1::DATA_CATEGORY_PLATE_TEXT},
                     {v1::DATA_CATEGORY_FACE_IMAGE}}) {
              policy::AccessRequest r;
              r.principal = absl::StrCat(policy::RoleName(role), "-dev");
              r.role = role;
              r.action = action;
              r.purpose = purpose;
              r.case_id = "case-1";
              r.now = at;
              r.categories = asked;
              r.available = {v1::DATA_CATEGORY_PLATE_TEXT,
                             v1::DATA_CATEGORY_FACE_IMAGE};
              EXPECT_FALSE(p->DecideAccess(r).allowed())
                  << p->contract_id() << " " << policy::RoleName(role) << " "
                  << v1::Action_Name(action) << " " << purpose;
            }
          }
        }
      }
    }
    EXPECT_TRUE(p->MayEver(Role::kInspector, v1::ACTION_READ_RECORD));
    EXPECT_FALSE(p->MayEver(Role::kLane, v1::ACTION_READ_ITEM));
    EXPECT_FALSE(p->MayEver(Role::kAuditor, v1::ACTION_READ_RECORD));
    EXPECT_FALSE(p->MayEver(Role::kInspector, v1::ACTION_EXPORT));
  }
}

// --- 2e. Without a certificate the handshake completes; the call is
// refused (and logged, see above). ---

TEST_F(InsiderLogTest, HandshakeCompletesWithoutACertificate) {
  EXPECT_TRUE(testing::RawTlsHandshake(server_->port()));
  EXPECT_EQ(Call("", Request("vehicle-inspection")).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

// --- 2d. The unsigned built-in policy only when asked for by name. ---

// Runs `command` with a shell; its output (both streams) and exit code.
int RunShell(const std::string& command, std::string* output) {
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) output->append(buf, n);
  const int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_F(InsiderLogTest, DaemonWithoutContractNeedsTheDevFlag) {
  const std::string daemon =
      std::string(LANEVAULT_BINARY_DIR) + "/src/cmd/lanevaultd";
  if (access(daemon.c_str(), X_OK) != 0) {
    GTEST_SKIP() << "lanevaultd is not built";
  }
  const std::string d = work_.Join("daemon");
  ASSERT_EQ(system(absl::StrCat("mkdir -m 700 ", d).c_str()), 0);
  const std::string config = d + "/lanevaultd.textproto";
  std::ofstream(config) << "listen: \"127.0.0.1:0\"\n"
                        << "tls { ca_cert: \"" << dir_->Join("pki/ca.pem")
                        << "\" server_cert: \"" << dir_->Join("pki/server.pem")
                        << "\" server_key: \"" << dir_->Join("pki/server.key")
                        << "\" }\n"
                        << "vault { database: \"" << d << "/vault.db\" "
                        << "master_key: \"" << d << "/master.key\" }\n";
  // A key file (development only, so its flag) keeps this about contracts.
  const std::string run =
      absl::StrCat("timeout 60 ", daemon, " --config ", config,
                   " --exit_when_lanes_done --dev_master_key_file");
  std::string out;
  ASSERT_EQ(RunShell(run + " --init_master_key", &out), 0) << out;
  out.clear();
  EXPECT_NE(RunShell(run, &out), 0) << out;
  EXPECT_NE(out.find("no contract configured"), std::string::npos) << out;
  EXPECT_NE(out.find("--dev_builtin_policy"), std::string::npos) << out;
  out.clear();
  EXPECT_EQ(RunShell(run + " --dev_builtin_policy", &out), 0) << out;
  EXPECT_NE(out.find("DEVELOPMENT POLICY"), std::string::npos) << out;
}

}  // namespace
}  // namespace lanevault::api
