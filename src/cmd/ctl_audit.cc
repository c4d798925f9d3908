// lanevaultctl: the access log for auditors: query, export, verify without
// trusting the server.

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cmd/ctl_commands.h"
#include "cmd/ctl_common.h"
#include "common/files.h"
#include "common/program.h"
#include "lanevault/v1/audit_service.grpc.pb.h"
#include "rpc/audit_log_source.h"
#include "tlog/cosignature.h"
#include "tlog/log_verifier.h"

ABSL_DECLARE_FLAG(std::string, entries);
ABSL_DECLARE_FLAG(bool, full);
ABSL_DECLARE_FLAG(bool, json);
ABSL_DECLARE_FLAG(int, limit);
ABSL_DECLARE_FLAG(std::string, log_key);
ABSL_DECLARE_FLAG(std::string, offline);
ABSL_DECLARE_FLAG(std::string, previous_log_key);
ABSL_DECLARE_FLAG(std::string, out);
ABSL_DECLARE_FLAG(std::string, principal);
ABSL_DECLARE_FLAG(std::string, record);
ABSL_DECLARE_FLAG(std::string, state);
ABSL_DECLARE_FLAG(bool, all);
ABSL_DECLARE_FLAG(std::string, page_token);
ABSL_DECLARE_FLAG(double, timeout);

namespace lanevault::ctl {
using WitnessKeyFlag = RepeatedFlag<struct WitnessKeyTag>;
}  // namespace lanevault::ctl

ABSL_FLAG(lanevault::ctl::WitnessKeyFlag, witness_key, {},
          "'audit verify': a witness to count, as NAME=VKEY (or its VKEY "
          "alone, as 'lanevault-witness --print_key' prints it); repeat it "
          "for each witness.");
ABSL_FLAG(int, witness_quorum, -1,
          "'audit verify': how many distinct --witness_key witnesses must "
          "have cosigned the checkpoint (default: all given).");

namespace lanevault::ctl {
namespace {

// The witnesses the auditor trusts, and how many must have cosigned.
struct WitnessPolicy {
  std::vector<tlog::Cosigner> trusted;
  size_t quorum = 0;
};

WitnessPolicy WitnessPolicyFromFlags() {
  WitnessPolicy policy;
  for (const std::string& given : WitnessKeyFlag::Given()) {
    // NAME=VKEY: the name is the operator's label; the key decides.
    const size_t eq = given.find('=');
    const std::string vkey =
        eq == std::string::npos ? given : given.substr(eq + 1);
    auto c = tlog::ParseCosignerVerifierKey(vkey);
    if (!c.ok()) Fail(absl::StrCat("--witness_key: ", c.status().message()), 2);
    bool dup = false;
    for (const auto& t : policy.trusted) {
      dup |= t.public_key == c->public_key && t.name == c->name;
    }
    if (!dup) policy.trusted.push_back(*c);
  }
  const int quorum = absl::GetFlag(FLAGS_witness_quorum);
  if (quorum > static_cast<int>(policy.trusted.size())) {
    Fail(absl::StrCat("--witness_quorum ", quorum, " is more than the ",
                      policy.trusted.size(), " witness key(s) given"),
         2);
  }
  policy.quorum =
      quorum >= 0 ? static_cast<size_t>(quorum) : policy.trusted.size();
  return policy;
}

using ctl::Connect;
using ctl::FailRpc;
using ctl::FlagOrEnv;
using ctl::Prepare;
using ctl::PrintJson;
using ctl::When;

std::string StateFile() {
  std::string path = absl::GetFlag(FLAGS_state);
  if (!path.empty()) return path;
  const char* home = std::getenv("HOME");
  return absl::StrCat(home ? home : ".", "/.lanevault/audit-checkpoint");
}

// Reports how far a full verification has read, per batch of leaves: the
// verifier asks its source for leaves in order.
class ProgressSource : public tlog::AuditLogSource {
 public:
  explicit ProgressSource(std::unique_ptr<tlog::AuditLogSource> inner)
      : inner_(std::move(inner)) {}
  absl::StatusOr<v1::Checkpoint> Checkpoint() override {
    auto cp = inner_->Checkpoint();
    if (cp.ok()) size_ = cp->tree_size();
    return cp;
  }
  absl::StatusOr<std::vector<std::string>> ConsistencyProof(
      uint64_t from_size, uint64_t to_size) override {
    return inner_->ConsistencyProof(from_size, to_size);
  }
  absl::StatusOr<std::vector<std::string>> InclusionProof(
      uint64_t index, uint64_t tree_size) override {
    return inner_->InclusionProof(index, tree_size);
  }
  absl::StatusOr<std::vector<std::string>> LeafData(uint64_t start,
                                                    uint64_t end) override {
    auto leaves = inner_->LeafData(start, end);
    if (leaves.ok()) {
      Progress(absl::StrCat("verify: read entries up to ",
                            start + leaves->size(), " of ", size_));
    }
    return leaves;
  }
  bool proofs_from_stored_tree() const override {
    return inner_->proofs_from_stored_tree();
  }

 private:
  std::unique_ptr<tlog::AuditLogSource> inner_;
  uint64_t size_ = 0;
};

int AuditVerify() {
  tlog::VerifyOptions options;
  // A key given as itself or as @FILE.
  auto key_of = [](std::string key) {
    if (!key.empty() && key[0] == '@') {
      auto read = ReadFileToString(key.substr(1));
      if (!read.ok()) Fail(read.status());
      key = std::string(absl::StripAsciiWhitespace(*read));
    }
    return key;
  };
  options.verifier_key =
      key_of(FlagOrEnv(absl::GetFlag(FLAGS_log_key), "LANEVAULT_LOG_KEY", ""));
  options.previous_verifier_key = key_of(absl::GetFlag(FLAGS_previous_log_key));
  if (options.verifier_key.empty()) {
    Fail(
        "give the log key to trust with --log_key (an operator prints it with "
        "'lanevaultd --print_log_key'; pin it, do not fetch it each time)",
        2);
  }
  options.full = absl::GetFlag(FLAGS_full);
  const WitnessPolicy witnesses = WitnessPolicyFromFlags();
  for (absl::string_view part :
       absl::StrSplit(absl::GetFlag(FLAGS_entries), ',', absl::SkipEmpty())) {
    uint64_t index = 0;
    if (!absl::SimpleAtoi(part, &index)) {
      Fail(absl::StrCat("--entries: '", part, "' is not an index"), 2);
    }
    options.entries.push_back(index);
  }
  const std::string state = StateFile();
  if (auto previous = ReadFileToString(state); previous.ok()) {
    options.previous_checkpoint = *previous;
  }
  std::unique_ptr<tlog::AuditLogSource> source;
  const std::string offline = absl::GetFlag(FLAGS_offline);
  if (!offline.empty()) {
    auto bytes = ReadFileToString(offline);
    if (!bytes.ok()) Fail(bytes.status());
    v1::AuditExport exported;
    if (!exported.ParseFromString(*bytes))
      Fail(offline + " is not an audit export");
    auto src = tlog::ExportAuditLogSource(exported);
    if (!src.ok()) Fail(src.status());
    source = std::move(*src);
  } else {
    source = rpc::RpcAuditLogSource(
        Connect(), absl::Seconds(absl::GetFlag(FLAGS_timeout)));
  }
  if (options.full)
    source = std::make_unique<ProgressSource>(std::move(source));
  absl::StatusOr<tlog::VerifyReport> report =
      tlog::VerifyAuditLog(*source, options);
  if (offline.empty() && absl::IsUnavailable(report.status()) &&
      ServerAddresses().size() > 1) {
    // The replica went away mid-verification. Verifying reads the log and
    // changes nothing, so it starts again, whole, on the next replica: the
    // log is one log, whichever replica serves it.
    const std::string first = Replicas().current_address();
    if (auto next = Replicas().Failover(); next.ok()) {
      Progress(absl::StrCat(first, " went away during verification (",
                            report.status().message(), "); verifying again on ",
                            Replicas().current_address()));
      source = rpc::RpcAuditLogSource(
          *next, absl::Seconds(absl::GetFlag(FLAGS_timeout)));
      if (options.full)
        source = std::make_unique<ProgressSource>(std::move(source));
      report = tlog::VerifyAuditLog(*source, options);
    }
  }
  if (!report.ok()) {
    if (absl::IsDataLoss(report.status())) {
      Fail(absl::StrCat("AUDIT LOG VERIFICATION FAILED: ",
                        report.status().message()));
    }
    if (absl::IsUnavailable(report.status()) ||
        absl::IsPermissionDenied(report.status())) {
      FailRpc(
          grpc::Status(static_cast<grpc::StatusCode>(report.status().code()),
                       std::string(report.status().message())));
    }
    Fail(report.status());
  }
  // The log's own signature is not enough against root on the vault host:
  // its key is there too. Witnesses that refuse forks vouch for the head.
  size_t cosigned = 0;
  if (!witnesses.trusted.empty()) {
    auto valid =
        tlog::VerifyCosignatures(report->checkpoint, witnesses.trusted);
    if (valid.ok()) cosigned = valid->size();
    if (cosigned < witnesses.quorum) {
      Fail(absl::StrCat("AUDIT LOG VERIFICATION FAILED: the checkpoint of ",
                        report->tree_size, " entries is cosigned by ", cosigned,
                        " of the ", witnesses.trusted.size(),
                        " witnesses given; ", witnesses.quorum,
                        " required (--witness_quorum)"));
    }
  }
  if (absl::Status s = MakeParentDirectories(state); !s.ok()) Fail(s);
  if (absl::Status s = WriteFileAtomically(state, report->checkpoint, 0600);
      !s.ok()) {
    Fail(s);
  }
  std::printf("verified: signed checkpoint of %llu entries",
              static_cast<unsigned long long>(report->tree_size));
  if (!options.previous_checkpoint.empty()) {
    std::printf(", consistent with the %llu verified before",
                static_cast<unsigned long long>(report->previous_size));
  }
  if (report->entries_proved > 0) {
    std::printf(", %zu inclusion proof(s)", report->entries_proved);
  }
  if (report->full) std::printf(", every entry recomputed into the root");
  if (!witnesses.trusted.empty()) {
    std::printf(", cosigned by %zu of %zu witnesses (quorum %zu)", cosigned,
                witnesses.trusted.size(), witnesses.quorum);
  }
  std::printf("\n");
  return 0;
}

// audit tail: the log's entries from sequence --page_token (default 0),
// then each as it is appended (StreamEntries with follow), filtered by
// --principal / --record. A dropped stream is opened again from the entry
// after the last one shown.
int AuditTail() {
  auto stub = v1::AuditService::NewStub(Connect());
  const bool json = absl::GetFlag(FLAGS_json);
  v1::QueryEntriesRequest req;
  req.set_principal(absl::GetFlag(FLAGS_principal));
  req.set_record_id(absl::GetFlag(FLAGS_record));
  SetWindowFromFlags(req);
  req.set_page_token(absl::GetFlag(FLAGS_page_token));
  req.set_follow(true);
  while (true) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Hours(24)));
    auto stream = stub->StreamEntries(&ctx, req);
    v1::AuditEntry e;
    while (stream->Read(&e)) {
      if (json) {
        PrintJson(e);
        std::printf("\n");
      } else {
        std::printf("%6llu  %-23s %-16s %-22s %-6s %-24s %-44s %s\n",
                    static_cast<unsigned long long>(e.sequence()),
                    When(e.time()).c_str(), e.principal().c_str(),
                    v1::Action_Name(e.action()).substr(7).c_str(),
                    e.verdict() == v1::VERDICT_ALLOW ? "allow" : "deny",
                    e.reason_code().c_str(), e.record_id().c_str(),
                    e.detail().c_str());
      }
      std::fflush(stdout);
      req.set_page_token(absl::StrCat(e.sequence() + 1));
    }
    const grpc::Status s = stream->Finish();
    if (s.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED &&
        s.error_code() != grpc::StatusCode::UNAVAILABLE) {
      FailRpc(s);
    }
    absl::SleepFor(absl::Seconds(1));
    if (s.error_code() == grpc::StatusCode::UNAVAILABLE &&
        ServerAddresses().size() > 1) {
      // The replica went away: the stream opens again on the next one that
      // answers, from the entry after the last shown (a read of the log,
      // so nothing is done twice).
      if (auto next = Replicas().Failover(); next.ok()) {
        stub = v1::AuditService::NewStub(*next);
      }
    }
  }
}

int Audit_(const std::vector<std::string>& args) {
  if (args.size() == 2 && args[1] == "verify") return AuditVerify();
  if (args.size() == 2 && args[1] == "tail") return AuditTail();
  auto stub = v1::AuditService::NewStub(Connect());
  if (args.size() == 2 && args[1] == "pubkey") {
    v1::GetPublicKeyResponse resp;
    if (auto s = Ask<v1::AuditService>(
            rpc::RetrySafety::kIdempotent,
            [&](auto& service, grpc::ClientContext& ctx) {
              return service.GetPublicKey(&ctx, {}, &resp);
            });
        !s.ok()) {
      FailRpc(s);
    }
    std::printf("%s\n", resp.verifier_key().c_str());
    return 0;
  }
  if (args.size() == 3 && args[1] == "trace") {
    absl::StatusOr<std::string> image = ReadFileToString(args[2]);
    if (!image.ok()) Fail(image.status());
    grpc::ClientContext ctx;
    Prepare(ctx);
    v1::TraceImageRequest req;
    req.set_image(*std::move(image));
    v1::TraceImageResponse resp;
    if (auto s = stub->TraceImage(&ctx, req, &resp); !s.ok()) FailRpc(s);
    if (absl::GetFlag(FLAGS_json)) {
      PrintJson(resp);
      std::printf("\n");
      return resp.found() ? 0 : 1;
    }
    if (!resp.found()) {
      std::printf("no watermark of this vault names a read (%s)\n",
                  resp.detail().c_str());
      return 1;
    }
    if (resp.candidate_sequences_size() == 1) {
      const v1::AuditEntry& e = resp.entry();
      std::printf(
          "read by %s (%s) at %s for purpose %s%s%s: access-log entry %llu, "
          "%s\n",
          e.principal().c_str(), e.role().c_str(), When(e.time()).c_str(),
          e.purpose().c_str(), e.case_id().empty() ? "" : ", case ",
          e.case_id().c_str(), static_cast<unsigned long long>(e.sequence()),
          v1::Action_Name(e.action()).c_str());
      std::printf("  record %s  (mark: %u bits; %s)\n", e.record_id().c_str(),
                  resp.token_bits(), resp.detail().c_str());
      return 0;
    }
    std::printf(
        "the mark carries %u bits of its token: %d reads match; fetch each "
        "with 'audit query' or GetEntries:\n",
        resp.token_bits(), resp.candidate_sequences_size());
    for (uint64_t seq : resp.candidate_sequences()) {
      std::printf("  entry %llu\n", static_cast<unsigned long long>(seq));
    }
    return 0;
  }
  if (args.size() == 2 && args[1] == "checkpoint") {
    v1::Checkpoint cp;
    if (auto s =
            Ask<v1::AuditService>(rpc::RetrySafety::kIdempotent,
                                  [&](auto& service, grpc::ClientContext& ctx) {
                                    return service.GetCheckpoint(&ctx, {}, &cp);
                                  });
        !s.ok()) {
      FailRpc(s);
    }
    std::printf("%s", cp.signed_note().c_str());
    return 0;
  }
  if (args.size() == 2 && args[1] == "export") {
    const std::string out = absl::GetFlag(FLAGS_out);
    if (out.empty()) Fail("audit export needs --out FILE", 2);
    v1::AuditExport exported;
    if (auto s = Ask<v1::AuditService>(
            rpc::RetrySafety::kIdempotent,
            [&](auto& service, grpc::ClientContext& ctx) {
              return service.GetCheckpoint(&ctx, {},
                                           exported.mutable_checkpoint());
            });
        !s.ok()) {
      FailRpc(s);
    }
    const uint64_t size = exported.checkpoint().tree_size();
    while (static_cast<uint64_t>(exported.leaf_data_size()) < size) {
      v1::GetEntriesRequest req;
      req.set_start(exported.leaf_data_size());
      req.set_end(size);
      v1::GetEntriesResponse resp;
      if (auto s = Ask<v1::AuditService>(
              rpc::RetrySafety::kIdempotent,
              [&](auto& service, grpc::ClientContext& ctx) {
                resp.Clear();
                return service.GetEntries(&ctx, req, &resp);
              });
          !s.ok()) {
        FailRpc(s);
      }
      if (resp.leaf_data().empty()) break;
      for (const auto& l : resp.leaf_data()) exported.add_leaf_data(l);
      Progress(absl::StrCat("export: ", exported.leaf_data_size(), " of ", size,
                            " entries"));
    }
    if (absl::Status s =
            WriteFileAtomically(out, exported.SerializeAsString(), 0600);
        !s.ok()) {
      Fail(s);
    }
    std::printf("exported checkpoint and %d entries to %s\n",
                exported.leaf_data_size(), out.c_str());
    return 0;
  }
  if (args.size() == 2 && args[1] == "query") {
    const bool json = absl::GetFlag(FLAGS_json);
    v1::QueryEntriesRequest req;
    req.set_principal(absl::GetFlag(FLAGS_principal));
    req.set_record_id(absl::GetFlag(FLAGS_record));
    SetWindowFromFlags(req);
    req.set_page_size(absl::GetFlag(FLAGS_limit));
    req.set_page_token(absl::GetFlag(FLAGS_page_token));
    v1::QueryEntriesResponse resp;
    size_t entries = 0;
    for (int page = 1;; ++page) {
      if (auto s = Ask<v1::AuditService>(
              rpc::RetrySafety::kIdempotent,
              [&](auto& service, grpc::ClientContext& ctx) {
                resp.Clear();
                return service.QueryEntries(&ctx, req, &resp);
              });
          !s.ok()) {
        FailRpc(s);
      }
      entries += resp.entries_size();
      if (!json && page == 1) {
        // Only once the server answered: a refusal prints no table.
        std::printf("%6s  %-23s %-16s %-22s %-6s %-24s %-44s %s\n", "SEQ",
                    "TIME", "PRINCIPAL", "ACTION", "VERDICT", "REASON",
                    "RECORD", "DETAIL");
      }
      // A page may come back empty with a token: the server walked as far
      // as one call may without finding a match. It is not shown; the walk
      // goes on from there.
      const bool walked_on =
          resp.entries_size() == 0 && !resp.next_page_token().empty();
      if (json && !walked_on) {
        // With --all, one JSON document per page, one after another.
        PrintJson(resp);
        std::printf("\n");
      }
      for (const auto& e : resp.entries()) {
        if (json) break;
        std::printf("%6llu  %-23s %-16s %-22s %-6s %-24s %-44s %s\n",
                    static_cast<unsigned long long>(e.sequence()),
                    When(e.time()).c_str(), e.principal().c_str(),
                    v1::Action_Name(e.action()).substr(7).c_str(),
                    e.verdict() == v1::VERDICT_ALLOW ? "allow" : "deny",
                    e.reason_code().c_str(), e.record_id().c_str(),
                    e.detail().c_str());
      }
      if (resp.next_page_token().empty()) break;
      if (!absl::GetFlag(FLAGS_all) && !walked_on) break;
      if (resp.next_page_token() == req.page_token()) {
        Fail(absl::StrCat("the server gave the same page token twice (",
                          resp.next_page_token(), "): stopped"),
             1);
      }
      Progress(absl::StrCat("page ", page, ": ", entries,
                            " entries so far, next from sequence ",
                            resp.next_page_token()));
      req.set_page_token(resp.next_page_token());
    }
    if (!json && !resp.next_page_token().empty()) {
      std::printf("(more: --page_token %s, or --all)\n",
                  resp.next_page_token().c_str());
    }
    return 0;
  }
  Fail(
      "usage: lanevaultctl audit pubkey | checkpoint | verify | export | "
      "query | trace IMAGE",
      2);
}

}  // namespace

int AuditCommand(const std::vector<std::string>& args) { return Audit_(args); }

}  // namespace lanevault::ctl
