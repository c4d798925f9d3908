// lanevaultctl: the command-line client for every role.

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "cmd/ctl_common.h"
#include "cmd/ctl_compliance.h"
#include "common/config.h"
#include "common/files.h"
#include "common/program.h"
#include "common/time_util.h"
#include "crypto/signing.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/create_channel.h"
#include "lanevault/v1/audit_service.grpc.pb.h"
#include "lanevault/v1/evidence.grpc.pb.h"
#include "lanevault/v1/lanes.grpc.pb.h"
#include "policy/contract.h"
#include "policy/policy.h"
#include "rpc/audit_log_source.h"
#include "rpc/tls.h"
#include "tlog/log_verifier.h"

ABSL_FLAG(
    std::string, server, "",
    "host:port of lanevaultd (env LANEVAULT_SERVER; default 127.0.0.1:7443).");
ABSL_FLAG(std::string, ca, "",
          "CA certificate PEM (env LANEVAULT_CA; default var/pki/ca.pem).");
ABSL_FLAG(std::string, cert, "",
          "Your client certificate PEM (env LANEVAULT_CERT).");
ABSL_FLAG(std::string, key, "", "Your client key PEM (env LANEVAULT_KEY).");
ABSL_FLAG(std::string, purpose, "",
          "Why you read: e.g. vehicle-inspection, identity-verification.");
ABSL_FLAG(std::string, case_id, "",
          "Case id, where the contract requires one.");
ABSL_FLAG(std::string, categories, "",
          "Comma-separated: plate_text, plate_image, face_image, scene_image.");
ABSL_FLAG(std::string, out_dir, "",
          "Write the images of a record here (record get).");
ABSL_FLAG(std::string, lane, "", "Lane id (record search).");
ABSL_FLAG(int, limit, 20,
          "Most results to ask for (record search; the server caps it).");
ABSL_FLAG(std::string, log_key, "",
          "The access log's verifier key to trust (env LANEVAULT_LOG_KEY; see "
          "'audit pubkey').");
ABSL_FLAG(std::string, state, "",
          "Where 'audit verify' keeps the last verified checkpoint (default "
          "~/.lanevault/audit-checkpoint).");
ABSL_FLAG(
    std::string, entries, "",
    "Comma-separated entry indexes whose inclusion 'audit verify' proves.");
ABSL_FLAG(bool, full, false,
          "'audit verify': recompute every entry into the signed root.");
ABSL_FLAG(std::string, offline, "",
          "'audit verify': check an export file instead of the server.");
ABSL_FLAG(std::string, out, "", "'audit export': the file to write.");
ABSL_FLAG(std::string, principal, "", "'audit query': only this principal.");
ABSL_FLAG(std::string, record, "", "'audit query': only this record.");
ABSL_FLAG(std::string, contract, "", "'policy explain': the contract file.");
ABSL_FLAG(std::string, role, "",
          "'policy explain': lane, operator, inspector, auditor, compliance, "
          "contractor.");
ABSL_FLAG(std::string, action, "read_record",
          "'policy explain': e.g. read_record, search_plate, export, link.");
ABSL_FLAG(std::string, signing_key, "",
          "'policy sign': your Ed25519 key file (made by 'policy keygen').");
ABSL_FLAG(std::string, key_name, "",
          "'policy sign': your name, recorded with the signature.");
ABSL_FLAG(double, timeout, 10, "Seconds to wait for the server.");
ABSL_FLAG(std::string, config, "",
          "A file of 'name = value' lines for server, ca, cert, key "
          "(env LANEVAULTCTL_CONFIG; default ~/.config/lanevault/ctl.conf).");
ABSL_FLAG(bool, json, false, "Print JSON for scripts instead of tables.");

namespace lanevault {
namespace {

constexpr char kUsage[] =
    "The lanevault command-line client.\n\n"
    "  lanevaultctl record get RECORD_ID --purpose P [--case_id C] "
    "[--categories ...] [--out_dir DIR]\n"
    "  lanevaultctl record search --purpose P [--lane L] [--limit N]\n"
    "  lanevaultctl record lookup-plate PLATE --purpose P [--case_id C]\n"
    "  lanevaultctl lanes list\n"
    "  lanevaultctl lanes status LANE_ID\n"
    "  lanevaultctl audit pubkey | checkpoint\n"
    "  lanevaultctl audit verify --log_key KEY [--entries 3,9] [--full] "
    "[--offline FILE] [--state FILE]\n"
    "  lanevaultctl audit export --out FILE\n"
    "  lanevaultctl audit query [--principal P] [--record R] [--limit N]\n"
    "  lanevaultctl policy validate FILE\n"
    "  lanevaultctl policy explain --contract FILE --role R --purpose P "
    "--action A [--categories ...] [--case_id C]\n"
    "  lanevaultctl policy test FILE CASES\n"
    "  lanevaultctl policy keygen --out KEYFILE\n"
    "  lanevaultctl holds place RECORD... --case_id C --reason R\n"
    "  lanevaultctl holds lift HOLD_ID --reason R | holds list [--all]\n"
    "  lanevaultctl alerts list [--all] | alerts ack ALERT_ID\n"
    "  lanevaultctl retention report\n"
    "  lanevaultctl keys rotate\n"
    "  lanevaultctl lockouts list | lockouts lift PRINCIPAL --reason R\n"
    "  lanevaultctl contract get [VERSION] | versions\n"
    "  lanevaultctl contract propose SIGNED | activate VERSION [SIGNED]\n"
    "  lanevaultctl policy sign FILE --signing_key KEYFILE --key_name NAME "
    "--out SIGNED\n\n"
    "Connection: --server, --ca, --cert, --key, or LANEVAULT_SERVER,\n"
    "LANEVAULT_CA, LANEVAULT_CERT, LANEVAULT_KEY, or 'server = …' lines\n"
    "in a config file (--config, LANEVAULTCTL_CONFIG, default\n"
    "~/.config/lanevault/ctl.conf), in that order. Exit codes: 0 done,\n"
    "1 refused or failed, 2 bad usage.";

using ctl::CategoryName;
using ctl::Connect;
using ctl::FailRpc;
using ctl::FlagOrEnv;
using ctl::ParseCategories;
using ctl::Prepare;
using ctl::PrintJson;
using ctl::Server;
using ctl::When;

int RecordGet(const std::string& record_id) {
  v1::GetRecordRequest req;
  req.set_record_id(record_id);
  req.set_purpose(absl::GetFlag(FLAGS_purpose));
  req.set_case_id(absl::GetFlag(FLAGS_case_id));
  for (auto c : ParseCategories(absl::GetFlag(FLAGS_categories)))
    req.add_categories(c);
  auto stub = v1::EvidenceService::NewStub(Connect());
  grpc::ClientContext ctx;
  Prepare(ctx);
  v1::GetRecordResponse resp;
  if (grpc::Status s = stub->GetRecord(&ctx, req, &resp); !s.ok()) FailRpc(s);
  const std::string out_dir = absl::GetFlag(FLAGS_out_dir);
  if (absl::Status s = MakeDirectories(out_dir); !s.ok()) Fail(s);
  if (absl::GetFlag(FLAGS_json)) {
    PrintJson(resp);
    std::printf("\n");
  } else {
    const v1::Record& r = resp.record();
    std::printf(
        "record    %s\nlane      %s (checkpoint %s)\nseen      %s\n"
        "contract  %s v%llu\nallowed   by %s: %s\n",
        r.record_id().c_str(), r.lane_id().c_str(), r.checkpoint_id().c_str(),
        When(r.first_seen()).c_str(), r.contract_id().c_str(),
        static_cast<unsigned long long>(r.contract_version()),
        resp.decision().rule_ids_size() > 0
            ? resp.decision().rule_ids(0).c_str()
            : "-",
        resp.decision().reason().c_str());
    std::printf("%-38s %-12s %8s  %s\n", "ITEM", "CATEGORY", "BYTES",
                "CONTENT");
    for (const v1::Item& item : r.items()) {
      std::string shown = item.category() == v1::DATA_CATEGORY_PLATE_TEXT
                              ? item.content()
                              : item.media_type();
      std::printf("%-38s %-12s %8zu  %s\n", item.item_id().c_str(),
                  CategoryName(item.category()).c_str(), item.content().size(),
                  shown.c_str());
    }
  }
  if (!out_dir.empty()) {
    for (const v1::Item& item : resp.record().items()) {
      if (item.media_type() != "image/jpeg") continue;
      const auto path =
          std::filesystem::path(out_dir) / (item.item_id() + ".jpg");
      // Evidence the reader chose to save: readable by them alone.
      if (absl::Status s =
              WriteFileAtomically(path.string(), item.content(), 0600);
          !s.ok()) {
        Fail(s);
      }
    }
  }
  return 0;
}

int RecordSearch() {
  v1::SearchRecordsRequest req;
  req.set_purpose(absl::GetFlag(FLAGS_purpose));
  req.set_case_id(absl::GetFlag(FLAGS_case_id));
  req.set_lane_id(absl::GetFlag(FLAGS_lane));
  req.set_page_size(absl::GetFlag(FLAGS_limit));
  auto stub = v1::EvidenceService::NewStub(Connect());
  grpc::ClientContext ctx;
  Prepare(ctx);
  v1::SearchRecordsResponse resp;
  if (grpc::Status s = stub->SearchRecords(&ctx, req, &resp); !s.ok())
    FailRpc(s);
  if (absl::GetFlag(FLAGS_json)) {
    PrintJson(resp);
    std::printf("\n");
    return 0;
  }
  std::printf("%-38s %-10s %s\n", "RECORD", "LANE", "FIRST SEEN");
  for (const auto& r : resp.records()) {
    std::printf("%-38s %-10s %s\n", r.record_id().c_str(), r.lane_id().c_str(),
                When(r.first_seen()).c_str());
  }
  if (!resp.next_page_token().empty())
    std::printf("(more: results were capped)\n");
  return 0;
}

void PrintLane(const v1::LaneStatus& l) {
  const auto& c = l.counters();
  std::printf(
      "%-10s %-12s %-12s %8llu %8llu %9llu %7llu %6llu  %s\n",
      l.lane_id().c_str(), l.checkpoint_id().c_str(),
      absl::AsciiStrToLower(v1::LaneState_Name(l.state()).substr(11)).c_str(),
      static_cast<unsigned long long>(c.frames_read()),
      static_cast<unsigned long long>(c.frames_dropped()),
      static_cast<unsigned long long>(c.crossings()),
      static_cast<unsigned long long>(c.records_stored()),
      static_cast<unsigned long long>(c.records_failed()),
      l.last_error().c_str());
}

int Lanes(const std::vector<std::string>& args) {
  auto stub = v1::LaneService::NewStub(Connect());
  grpc::ClientContext ctx;
  Prepare(ctx);
  std::vector<v1::LaneStatus> lanes;
  if (args.size() == 2 && args[1] == "list") {
    v1::ListLanesResponse resp;
    if (auto s = stub->ListLanes(&ctx, {}, &resp); !s.ok()) FailRpc(s);
    if (absl::GetFlag(FLAGS_json)) {
      PrintJson(resp);
      std::printf("\n");
      return 0;
    }
    lanes.assign(resp.lanes().begin(), resp.lanes().end());
  } else if (args.size() == 3 && args[1] == "status") {
    v1::GetLaneStatusRequest req;
    req.set_lane_id(args[2]);
    v1::LaneStatus resp;
    if (auto s = stub->GetLaneStatus(&ctx, req, &resp); !s.ok()) FailRpc(s);
    if (absl::GetFlag(FLAGS_json)) {
      PrintJson(resp);
      std::printf("\n");
      return 0;
    }
    lanes.push_back(resp);
  } else {
    Fail("usage: lanevaultctl lanes list | lanes status LANE_ID", 2);
  }
  std::printf("%-10s %-12s %-12s %8s %8s %9s %7s %6s  %s\n", "LANE",
              "CHECKPOINT", "STATE", "FRAMES", "DROPPED", "CROSSINGS", "STORED",
              "FAILED", "LAST ERROR");
  for (const auto& l : lanes) PrintLane(l);
  return 0;
}

std::string StateFile() {
  std::string path = absl::GetFlag(FLAGS_state);
  if (!path.empty()) return path;
  const char* home = std::getenv("HOME");
  return absl::StrCat(home ? home : ".", "/.lanevault/audit-checkpoint");
}

int AuditVerify() {
  tlog::VerifyOptions options;
  options.verifier_key =
      FlagOrEnv(absl::GetFlag(FLAGS_log_key), "LANEVAULT_LOG_KEY", "");
  if (!options.verifier_key.empty() && options.verifier_key[0] == '@') {
    auto key = ReadFileToString(options.verifier_key.substr(1));
    if (!key.ok()) Fail(key.status());
    options.verifier_key = std::string(absl::StripAsciiWhitespace(*key));
  }
  if (options.verifier_key.empty()) {
    Fail(
        "give the log key to trust with --log_key (an operator prints it with "
        "'lanevaultd --print_log_key'; pin it, do not fetch it each time)",
        2);
  }
  options.full = absl::GetFlag(FLAGS_full);
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
  absl::StatusOr<tlog::VerifyReport> report =
      tlog::VerifyAuditLog(*source, options);
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
  std::printf("\n");
  return 0;
}

int Audit(const std::vector<std::string>& args) {
  if (args.size() == 2 && args[1] == "verify") return AuditVerify();
  auto stub = v1::AuditService::NewStub(Connect());
  if (args.size() == 2 && args[1] == "pubkey") {
    grpc::ClientContext ctx;
    Prepare(ctx);
    v1::GetPublicKeyResponse resp;
    if (auto s = stub->GetPublicKey(&ctx, {}, &resp); !s.ok()) FailRpc(s);
    std::printf("%s\n", resp.verifier_key().c_str());
    return 0;
  }
  if (args.size() == 2 && args[1] == "checkpoint") {
    grpc::ClientContext ctx;
    Prepare(ctx);
    v1::Checkpoint cp;
    if (auto s = stub->GetCheckpoint(&ctx, {}, &cp); !s.ok()) FailRpc(s);
    std::printf("%s", cp.signed_note().c_str());
    return 0;
  }
  if (args.size() == 2 && args[1] == "export") {
    const std::string out = absl::GetFlag(FLAGS_out);
    if (out.empty()) Fail("audit export needs --out FILE", 2);
    v1::AuditExport exported;
    {
      grpc::ClientContext ctx;
      Prepare(ctx);
      if (auto s = stub->GetCheckpoint(&ctx, {}, exported.mutable_checkpoint());
          !s.ok()) {
        FailRpc(s);
      }
    }
    const uint64_t size = exported.checkpoint().tree_size();
    while (static_cast<uint64_t>(exported.leaf_data_size()) < size) {
      grpc::ClientContext ctx;
      Prepare(ctx);
      v1::GetEntriesRequest req;
      req.set_start(exported.leaf_data_size());
      req.set_end(size);
      v1::GetEntriesResponse resp;
      if (auto s = stub->GetEntries(&ctx, req, &resp); !s.ok()) FailRpc(s);
      if (resp.leaf_data().empty()) break;
      for (const auto& l : resp.leaf_data()) exported.add_leaf_data(l);
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
    grpc::ClientContext ctx;
    Prepare(ctx);
    v1::QueryEntriesRequest req;
    req.set_principal(absl::GetFlag(FLAGS_principal));
    req.set_record_id(absl::GetFlag(FLAGS_record));
    req.set_page_size(absl::GetFlag(FLAGS_limit));
    v1::QueryEntriesResponse resp;
    if (auto s = stub->QueryEntries(&ctx, req, &resp); !s.ok()) FailRpc(s);
    if (absl::GetFlag(FLAGS_json)) {
      PrintJson(resp);
      std::printf("\n");
      return 0;
    }
    std::printf("%6s  %-23s %-16s %-22s %-6s %-24s %s\n", "SEQ", "TIME",
                "PRINCIPAL", "ACTION", "VERDICT", "REASON", "RECORD");
    for (const auto& e : resp.entries()) {
      std::printf("%6llu  %-23s %-16s %-22s %-6s %-24s %s\n",
                  static_cast<unsigned long long>(e.sequence()),
                  When(e.time()).c_str(), e.principal().c_str(),
                  v1::Action_Name(e.action()).substr(7).c_str(),
                  e.verdict() == v1::VERDICT_ALLOW ? "allow" : "deny",
                  e.reason_code().c_str(), e.record_id().c_str());
    }
    if (!resp.next_page_token().empty()) std::printf("(more: raise --limit)\n");
    return 0;
  }
  Fail(
      "usage: lanevaultctl audit pubkey | checkpoint | verify | export | query",
      2);
}

v1::Contract LoadContractOrFail(const std::string& path) {
  auto text = ReadFileToString(path);
  if (!text.ok()) Fail(text.status());
  // A signed contract file holds the contract's text; accept either.
  v1::SignedContract signed_contract;
  if (ParseTextProto(*text, path, &signed_contract).ok() &&
      !signed_contract.text().empty()) {
    text = signed_contract.text();
  }
  auto contract = policy::ParseContract(*text);
  if (!contract.ok())
    Fail(absl::StrCat(path, ":", contract.status().message()));
  return *contract;
}

int PolicyValidate(const std::string& path) {
  const v1::Contract contract = LoadContractOrFail(path);
  const auto issues = policy::ValidateContract(contract);
  for (const auto& i : issues) {
    std::printf("%s: %s: %s: %s\n", path.c_str(),
                i.warning ? "warning" : "error", i.field_path.c_str(),
                i.message.c_str());
  }
  if (policy::HasErrors(issues)) return 1;
  std::printf("%s: contract %s v%llu is valid (%d permits, %d prohibitions)\n",
              path.c_str(), contract.id().c_str(),
              static_cast<unsigned long long>(contract.version()),
              contract.permits_size(), contract.prohibitions_size());
  // What the read quotas let one insider, or a group of them, take.
  for (const policy::HarvestBudget& b : policy::HarvestBudgets(contract)) {
    std::printf(
        "  permit %s: %s may obtain at most %llu records over six weeks, "
        "%llu over the contract's life\n",
        b.permit_id.c_str(),
        b.group.empty() ? "one principal"
                        : absl::StrCat("group ", b.group).c_str(),
        static_cast<unsigned long long>(b.records_over_six_weeks),
        static_cast<unsigned long long>(b.records_over_life));
  }
  return 0;
}

int PolicyExplain() {
  const std::string path = absl::GetFlag(FLAGS_contract);
  if (path.empty()) Fail("policy explain needs --contract FILE", 2);
  auto engine = policy::NewContractPolicy(LoadContractOrFail(path));
  if (!engine.ok()) Fail(engine.status());
  policy::AccessRequest r;
  r.role = policy::RoleFromName(absl::GetFlag(FLAGS_role));
  if (r.role == policy::Role::kUnknown) {
    Fail(
        "--role must be lane, operator, inspector, auditor, compliance or "
        "contractor",
        2);
  }
  r.principal = absl::GetFlag(FLAGS_principal).empty()
                    ? absl::StrCat(absl::GetFlag(FLAGS_role), "-explain")
                    : absl::GetFlag(FLAGS_principal);
  v1::Action action;
  if (!v1::Action_Parse(
          absl::StrCat("ACTION_",
                       absl::AsciiStrToUpper(absl::GetFlag(FLAGS_action))),
          &action)) {
    Fail(absl::StrCat("unknown --action '", absl::GetFlag(FLAGS_action), "'"),
         2);
  }
  r.action = action;
  r.purpose = absl::GetFlag(FLAGS_purpose);
  r.case_id = absl::GetFlag(FLAGS_case_id);
  r.categories = ParseCategories(absl::GetFlag(FLAGS_categories));
  r.available = r.categories;
  r.now = absl::Now();
  const policy::AccessDecision d = (*engine)->DecideAccess(r);
  if (absl::GetFlag(FLAGS_json)) {
    PrintJson(d.decision);
    std::printf("\n");
  } else {
    std::printf("%s  (%s)\nrules: %s\nwhy:   %s\n",
                d.allowed() ? "ALLOW" : "DENY",
                d.decision.reason_code().c_str(),
                absl::StrJoin(d.decision.rule_ids(), ", ").c_str(),
                d.decision.reason().c_str());
  }
  return d.allowed() ? 0 : 1;
}

int PolicyTest(const std::string& contract_path,
               const std::string& cases_path) {
  const v1::Contract contract = LoadContractOrFail(contract_path);
  auto engine = policy::NewContractPolicy(contract);
  if (!engine.ok())
    Fail(absl::StrCat(contract_path, ": ", engine.status().message()));
  auto text = ReadFileToString(cases_path);
  if (!text.ok()) Fail(text.status());
  v1::PolicyCases cases;
  if (absl::Status s = ParseTextProto(*text, cases_path, &cases); !s.ok())
    Fail(s);
  const auto failures = policy::RunPolicyCases(**engine, contract, cases);
  for (const auto& f : failures) std::printf("FAIL %s\n", f.c_str());
  std::printf("%zu passed, %zu failed\n", cases.cases_size() - failures.size(),
              failures.size());
  return failures.empty() ? 0 : 1;
}

int PolicyKeygen() {
  const std::string out = absl::GetFlag(FLAGS_out);
  if (out.empty()) Fail("policy keygen needs --out KEYFILE", 2);
  if (absl::Status s = crypto::SigningKey::CreateKeyFile(out); !s.ok()) Fail(s);
  auto key = crypto::SigningKey::LoadFromFile(out);
  if (!key.ok()) Fail(key.status());
  std::printf("%s\n", absl::Base64Escape(key->public_key()).c_str());
  return 0;
}

int PolicySign(const std::string& path) {
  const std::string key_file = absl::GetFlag(FLAGS_signing_key);
  const std::string name = absl::GetFlag(FLAGS_key_name);
  const std::string out = absl::GetFlag(FLAGS_out);
  if (key_file.empty() || name.empty() || out.empty()) {
    Fail("policy sign needs --signing_key, --key_name and --out", 2);
  }
  auto text = ReadFileToString(path);
  if (!text.ok()) Fail(text.status());
  v1::SignedContract signed_contract;
  if (!ParseTextProto(*text, path, &signed_contract).ok() ||
      signed_contract.text().empty()) {
    signed_contract.Clear();
    signed_contract.set_text(*text);
  }
  // Never sign what would not take effect.
  auto contract = policy::ParseContract(signed_contract.text());
  if (!contract.ok()) Fail(contract.status());
  if (absl::Status s = policy::FirstError(policy::ValidateContract(*contract));
      !s.ok()) {
    Fail(absl::StrCat("refusing to sign an invalid contract: ", s.message()));
  }
  auto key = crypto::SigningKey::LoadFromFile(key_file);
  if (!key.ok()) Fail(key.status());
  v1::ContractSignature* sig = signed_contract.add_signatures();
  sig->set_key_name(name);
  sig->set_public_key(key->public_key());
  sig->set_signature(key->Sign(signed_contract.text()));
  std::string printed;
  google::protobuf::TextFormat::PrintToString(signed_contract, &printed);
  if (absl::Status s = WriteFileAtomically(out, printed, 0644); !s.ok())
    Fail(s);
  std::printf("signed %s v%llu as %s (%d signature(s)) -> %s\n",
              contract->id().c_str(),
              static_cast<unsigned long long>(contract->version()),
              name.c_str(), signed_contract.signatures_size(), out.c_str());
  return 0;
}

int Policy(const std::vector<std::string>& args) {
  if (args.size() == 3 && args[1] == "validate") return PolicyValidate(args[2]);
  if (args.size() == 2 && args[1] == "explain") return PolicyExplain();
  if (args.size() == 4 && args[1] == "test")
    return PolicyTest(args[2], args[3]);
  if (args.size() == 2 && args[1] == "keygen") return PolicyKeygen();
  if (args.size() == 3 && args[1] == "sign") return PolicySign(args[2]);
  Fail(
      "usage: lanevaultctl policy validate FILE | explain ... | test FILE "
      "CASES "
      "| keygen | sign FILE (see --help)",
      2);
}

int Main(int argc, char** argv) {
  std::vector<std::string> args = InitProgram(argc, argv, kUsage);
  if (args.empty()) Fail("no command (see --help)", 2);
  if (args[0] == "record" && args.size() == 3 && args[1] == "get") {
    return RecordGet(args[2]);
  }
  if (args[0] == "record" && args.size() == 2 && args[1] == "search") {
    return RecordSearch();
  }
  if (args[0] == "record" && args.size() == 3 && args[1] == "lookup-plate") {
    return ctl::LookupPlate(args[2]);
  }
  if (int rc = 0; ctl::RunComplianceCommand(args, &rc)) return rc;
  if (args[0] == "lanes") return Lanes(args);
  if (args[0] == "audit") return Audit(args);
  if (args[0] == "policy") return Policy(args);
  Fail(absl::StrCat("unknown command '", absl::StrJoin(args, " "),
                    "' (see --help)"),
       2);
}

}  // namespace
}  // namespace lanevault

int main(int argc, char** argv) { return lanevault::Main(argc, argv); }
