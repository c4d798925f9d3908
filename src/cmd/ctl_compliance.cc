// lanevaultctl: compliance officers' commands (holds, alerts, lockouts,
// contracts, retention, keys).

#include <cstdio>

#include "absl/container/flat_hash_set.h"
#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cmd/ctl_commands.h"
#include "cmd/ctl_common.h"
#include "common/config.h"
#include "common/files.h"
#include "common/program.h"
#include "common/time_util.h"
#include "lanevault/v1/compliance.grpc.pb.h"

ABSL_FLAG(std::string, reason, "",
          "Why a legal hold is placed or lifted, or a lockout lifted.");
ABSL_FLAG(bool, all, false,
          "Include lifted holds / acknowledged alerts (holds list, alerts "
          "list).");
ABSL_FLAG(std::string, since, "",
          "'retention destroyed', 'record search': from this time: "
          "2026-11-01, 2026-11-01T08:00:00Z, or an age such as 30d or 12h "
          "(default: the beginning).");
ABSL_FLAG(std::string, until, "",
          "'retention destroyed': up to this time, same forms (default: "
          "now); 'record search': before it (default: no end).");
ABSL_DECLARE_FLAG(bool, json);
ABSL_DECLARE_FLAG(std::string, case_id);

namespace lanevault::ctl {
namespace {

std::unique_ptr<v1::ComplianceService::Stub> Officer() {
  return v1::ComplianceService::NewStub(Connect());
}

void PrintHold(const v1::LegalHold& h) {
  std::printf(
      "%-22s case %-12s %s by %s on %s%s\n    reason: %s\n    records: %s\n",
      h.hold_id().c_str(), h.case_id().c_str(),
      h.has_lifted() ? "lifted" : "IN FORCE", h.placed_by().c_str(),
      When(h.placed()).c_str(),
      h.has_lifted() ? absl::StrCat(", lifted ", When(h.lifted())).c_str() : "",
      h.reason().c_str(), absl::StrJoin(h.record_ids(), " ").c_str());
}

int ShowHold(const v1::LegalHold& hold) {
  if (absl::GetFlag(FLAGS_json)) {
    PrintJson(hold);
  } else {
    PrintHold(hold);
  }
  return 0;
}

int Holds(const std::vector<std::string>& args) {
  auto stub = Officer();
  grpc::ClientContext ctx;
  Prepare(ctx);
  if (args.size() >= 3 && args[1] == "place") {
    v1::PlaceHoldRequest req;
    req.set_case_id(absl::GetFlag(FLAGS_case_id));
    req.set_reason(absl::GetFlag(FLAGS_reason));
    if (req.case_id().empty() || req.reason().empty()) {
      Fail("holds place needs --case_id and --reason", 2);
    }
    for (size_t i = 2; i < args.size(); ++i) req.add_record_ids(args[i]);
    v1::LegalHold hold;
    if (grpc::Status s = stub->PlaceHold(&ctx, req, &hold); !s.ok()) FailRpc(s);
    return ShowHold(hold);
  }
  if (args.size() == 3 && args[1] == "lift") {
    v1::LiftHoldRequest req;
    req.set_hold_id(args[2]);
    req.set_reason(absl::GetFlag(FLAGS_reason));
    if (req.reason().empty()) Fail("holds lift needs --reason", 2);
    v1::LegalHold hold;
    if (grpc::Status s = stub->LiftHold(&ctx, req, &hold); !s.ok()) FailRpc(s);
    return ShowHold(hold);
  }
  if (args.size() == 2 && args[1] == "list") {
    v1::ListHoldsRequest req;
    req.set_include_lifted(absl::GetFlag(FLAGS_all));
    v1::ListHoldsResponse resp;
    if (grpc::Status s = stub->ListHolds(&ctx, req, &resp); !s.ok()) FailRpc(s);
    if (absl::GetFlag(FLAGS_json)) {
      PrintJson(resp);
      return 0;
    }
    if (resp.holds().empty()) std::printf("no legal holds in force\n");
    for (const v1::LegalHold& h : resp.holds()) PrintHold(h);
    return 0;
  }
  Fail(
      "usage: lanevaultctl holds place RECORD... --case_id C --reason R | "
      "lift HOLD_ID --reason R | list [--all]",
      2);
}

// alerts watch: the open alerts, then each new one as it is raised, until
// Ctrl-C. A dropped stream (a restart, a day's deadline) is opened again,
// and what it sends again is skipped.
int WatchAlerts() {
  auto stub = Officer();
  const bool json = absl::GetFlag(FLAGS_json);
  absl::flat_hash_set<std::string> shown;
  while (true) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Hours(24)));
    auto stream = stub->WatchAlerts(&ctx, v1::WatchAlertsRequest());
    v1::Alert a;
    while (stream->Read(&a)) {
      if (!shown.insert(a.alert_id()).second) continue;
      if (json) {
        PrintJson(a);
        std::printf("\n");
      } else {
        std::printf("%s %-8s %-14s %s %s\n    %s\n", When(a.raised()).c_str(),
                    a.severity().c_str(), a.kind().c_str(),
                    a.alert_id().c_str(), a.principal().c_str(),
                    a.message().c_str());
      }
      std::fflush(stdout);
    }
    const grpc::Status s = stream->Finish();
    if (s.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED &&
        s.error_code() != grpc::StatusCode::UNAVAILABLE &&
        s.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED) {
      FailRpc(s);
    }
    absl::SleepFor(absl::Seconds(1));
  }
}

int Alerts(const std::vector<std::string>& args) {
  if (args.size() == 2 && args[1] == "watch") return WatchAlerts();
  auto stub = Officer();
  grpc::ClientContext ctx;
  Prepare(ctx);
  if (args.size() == 2 && args[1] == "list") {
    v1::ListAlertsRequest req;
    req.set_include_acknowledged(absl::GetFlag(FLAGS_all));
    v1::ListAlertsResponse resp;
    if (grpc::Status s = stub->ListAlerts(&ctx, req, &resp); !s.ok()) {
      FailRpc(s);
    }
    if (absl::GetFlag(FLAGS_json)) {
      PrintJson(resp);
      return 0;
    }
    if (resp.alerts().empty()) std::printf("no open alerts\n");
    for (const v1::Alert& a : resp.alerts()) {
      std::printf("%-26s %-8s %-12s %s %s%s\n    %s\n", a.alert_id().c_str(),
                  a.severity().c_str(), a.kind().c_str(),
                  When(a.raised()).c_str(), a.principal().c_str(),
                  a.acknowledged() ? " (acknowledged)" : "",
                  a.message().c_str());
    }
    return 0;
  }
  if (args.size() == 3 && args[1] == "ack") {
    v1::AcknowledgeAlertRequest req;
    req.set_alert_id(args[2]);
    v1::Alert alert;
    if (grpc::Status s = stub->AcknowledgeAlert(&ctx, req, &alert); !s.ok()) {
      FailRpc(s);
    }
    std::printf("acknowledged %s\n", alert.alert_id().c_str());
    return 0;
  }
  Fail("usage: lanevaultctl alerts list [--all] | ack ALERT_ID | watch", 2);
}

int RetentionReport() {
  auto stub = Officer();
  grpc::ClientContext ctx;
  Prepare(ctx);
  v1::RetentionReport report;
  if (grpc::Status s = stub->GetRetentionReport(&ctx, {}, &report); !s.ok()) {
    FailRpc(s);
  }
  if (absl::GetFlag(FLAGS_json)) {
    PrintJson(report);
    return 0;
  }
  std::printf("%-12s %8s %8s %8s  %s\n", "category", "items", "on hold",
              "overdue", "next deadline");
  for (const v1::CategoryRetention& c : report.categories()) {
    std::printf("%-12s %8llu %8llu %8llu  %s\n",
                CategoryName(c.category()).c_str(),
                static_cast<unsigned long long>(c.items()),
                static_cast<unsigned long long>(c.on_hold()),
                static_cast<unsigned long long>(c.overdue()),
                c.has_next_deadline() ? When(c.next_deadline()).c_str() : "-");
  }
  std::printf(
      "next deadline: %s\nitems on hold: %llu\nitems overdue: %llu%s\n",
      report.has_next_deadline() ? When(report.next_deadline()).c_str()
                                 : "none",
      static_cast<unsigned long long>(report.items_on_hold()),
      static_cast<unsigned long long>(report.items_overdue()),
      report.items_overdue() == 0
          ? ""
          : "  <- must be 0: is the sweeper running? see the daemon log");
  return report.items_overdue() == 0 ? 0 : 1;
}

// The destruction report, every page of it.
int DestroyedKeys() {
  auto stub = Officer();
  v1::ListDestroyedKeysRequest req;
  if (const std::string since = absl::GetFlag(FLAGS_since); !since.empty()) {
    *req.mutable_since() = ToProto(ParseWhenFlag(since, "since"));
  }
  if (const std::string until = absl::GetFlag(FLAGS_until); !until.empty()) {
    *req.mutable_until() = ToProto(ParseWhenFlag(until, "until"));
  }
  req.set_page_size(1000);
  v1::ListDestroyedKeysResponse all;
  while (true) {
    grpc::ClientContext ctx;
    Prepare(ctx);
    v1::ListDestroyedKeysResponse page;
    if (grpc::Status s = stub->ListDestroyedKeys(&ctx, req, &page); !s.ok()) {
      FailRpc(s);
    }
    for (v1::DestroyedKey& k : *page.mutable_keys()) {
      *all.add_keys() = std::move(k);
    }
    if (page.next_sequence() == 0) break;
    req.set_start_sequence(page.next_sequence());
  }
  if (absl::GetFlag(FLAGS_json)) {
    PrintJson(all);
    return 0;
  }
  std::printf("%-24s %-8s %-11s %-4s %-13s %s\n", "destroyed", "key", "period",
              "gen", "why", "log entry");
  for (const v1::DestroyedKey& k : all.keys()) {
    std::printf("%-24s %-8u %-11s %-4u %-13s #%llu\n",
                When(k.destroyed()).c_str(), k.key_version(),
                k.retention_period().c_str(), k.generation(), k.why().c_str(),
                static_cast<unsigned long long>(k.log_sequence()));
  }
  std::printf(
      "%d key(s) destroyed. Items whose deadlines fell in a destroyed "
      "period cannot be opened from any copy of the database. Each is an "
      "access-log entry: 'lanevaultctl audit query --record kek:VERSION' "
      "shows it, 'lanevaultctl audit verify' proves the log that holds "
      "it.\n",
      all.keys_size());
  return 0;
}

int Keys(const std::vector<std::string>& args) {
  if (args.size() != 2 || args[1] != "rotate") {
    Fail("usage: lanevaultctl keys rotate", 2);
  }
  auto stub = Officer();
  grpc::ClientContext ctx;
  Prepare(ctx);
  v1::RotateKeysResponse resp;
  if (grpc::Status s = stub->RotateKeys(&ctx, {}, &resp); !s.ok()) FailRpc(s);
  std::printf(
      "key generation %u now wraps new data keys (a key per retention "
      "period); older data keys are re-wrapped in the background and the "
      "older generation's keys destroyed once unused (progress: the "
      "daemon's log, 'key re-wrap: ...')\n",
      resp.new_key_version());
  return 0;
}

// A purpose-scoped handle back to its record, for an investigation.
int Handles(const std::vector<std::string>& args) {
  if (args.size() != 3 || args[1] != "resolve") {
    Fail("usage: lanevaultctl handles resolve HANDLE --reason R [--case_id C]",
         2);
  }
  auto stub = Officer();
  grpc::ClientContext ctx;
  Prepare(ctx);
  v1::ResolveHandleRequest req;
  req.set_handle(args[2]);
  req.set_reason(absl::GetFlag(FLAGS_reason));
  req.set_case_id(absl::GetFlag(FLAGS_case_id));
  v1::ResolveHandleResponse resp;
  if (grpc::Status s = stub->ResolveHandle(&ctx, req, &resp); !s.ok()) {
    FailRpc(s);
  }
  if (absl::GetFlag(FLAGS_json)) {
    PrintJson(resp);
    return 0;
  }
  std::printf("%s names %s %s (scope %s: %s); logged with your reason\n",
              args[2].c_str(), resp.record_id().empty() ? "item" : "record",
              resp.record_id().empty() ? resp.item_id().c_str()
                                       : resp.record_id().c_str(),
              resp.scope().c_str(),
              absl::StrJoin(resp.purposes(), ", ").c_str());
  return 0;
}

int Lockouts(const std::vector<std::string>& args) {
  auto stub = Officer();
  grpc::ClientContext ctx;
  Prepare(ctx);
  if (args.size() == 2 && args[1] == "list") {
    v1::ListLockoutsResponse resp;
    if (grpc::Status s = stub->ListLockouts(&ctx, {}, &resp); !s.ok()) {
      FailRpc(s);
    }
    if (absl::GetFlag(FLAGS_json)) {
      PrintJson(resp);
      return 0;
    }
    if (resp.lockouts().empty()) std::printf("nobody is locked out\n");
    for (const v1::Lockout& l : resp.lockouts()) {
      std::printf("%-28s since %s\n    %s\n", l.principal().c_str(),
                  When(l.since()).c_str(), l.reason().c_str());
    }
    return 0;
  }
  if (args.size() == 3 && args[1] == "lift") {
    v1::LiftLockoutRequest req;
    req.set_principal(args[2]);
    req.set_reason(absl::GetFlag(FLAGS_reason));
    v1::Empty done;
    if (grpc::Status s = stub->LiftLockout(&ctx, req, &done); !s.ok()) {
      FailRpc(s);
    }
    std::printf("lifted the lockout of %s\n", args[2].c_str());
    return 0;
  }
  Fail("usage: lanevaultctl lockouts list | lockouts lift PRINCIPAL --reason R",
       2);
}

void PrintVersion(const v1::ContractVersion& v) {
  std::printf("version %llu  %s%s  %d signature(s)\n",
              static_cast<unsigned long long>(v.version()),
              v.active() ? "IN FORCE" : "proposed or earlier",
              v.has_activated()
                  ? absl::StrCat(", activated ", When(v.activated())).c_str()
                  : "",
              v.contract().signatures_size());
}

// contract get [VERSION] | versions | propose SIGNED | activate VERSION
// [SIGNED]: a signed contract file as 'policy sign' writes it; activation
// adds the file's signatures to those gathered.
int Contract(const std::vector<std::string>& args) {
  auto stub = Officer();
  grpc::ClientContext ctx;
  Prepare(ctx);
  const std::string verb = args.size() > 1 ? args[1] : "";
  auto signed_file = [](const std::string& path) {
    v1::SignedContract sc;
    auto text = ReadFileToString(path);
    if (!text.ok()) Fail(text.status());
    if (absl::Status s = ParseTextProto(*text, path, &sc); !s.ok()) Fail(s);
    return sc;
  };
  grpc::Status s;
  if (verb == "get" && args.size() <= 3) {
    v1::GetContractRequest req;
    if (args.size() == 3) req.set_version(std::stoull(args[2]));
    v1::ContractVersion v;
    if (s = stub->GetContract(&ctx, req, &v); !s.ok()) FailRpc(s);
    if (absl::GetFlag(FLAGS_json)) {
      PrintJson(v);
    } else {
      PrintVersion(v);
      std::printf("%s", v.contract().text().c_str());
    }
    return 0;
  }
  if (verb == "versions" && args.size() == 2) {
    v1::ListContractVersionsResponse resp;
    if (s = stub->ListContractVersions(&ctx, {}, &resp); !s.ok()) FailRpc(s);
    if (absl::GetFlag(FLAGS_json)) {
      PrintJson(resp);
      return 0;
    }
    for (const v1::ContractVersion& v : resp.versions()) PrintVersion(v);
    return 0;
  }
  if (verb == "propose" && args.size() == 3) {
    v1::ProposeContractRequest req;
    *req.mutable_contract() = signed_file(args[2]);
    v1::ProposeContractResponse resp;
    if (s = stub->ProposeContract(&ctx, req, &resp); !s.ok()) FailRpc(s);
    std::printf(
        "proposed version %llu; activate with 'lanevaultctl contract "
        "activate %llu' once signed\n",
        static_cast<unsigned long long>(resp.version()),
        static_cast<unsigned long long>(resp.version()));
    for (const auto& i : resp.issues()) {
      std::printf("  warning: %s: %s\n", i.field_path().c_str(),
                  i.message().c_str());
    }
    return 0;
  }
  if (verb == "activate" && (args.size() == 3 || args.size() == 4)) {
    v1::ActivateContractRequest req;
    req.set_version(std::stoull(args[2]));
    if (args.size() == 4) {
      *req.mutable_signatures() = signed_file(args[3]).signatures();
    }
    v1::ContractVersion v;
    if (s = stub->ActivateContract(&ctx, req, &v); !s.ok()) FailRpc(s);
    PrintVersion(v);
    return 0;
  }
  Fail(
      "usage: lanevaultctl contract get [VERSION] | versions | propose "
      "SIGNED_FILE | activate VERSION [SIGNED_FILE]",
      2);
}

}  // namespace

bool RunComplianceCommand(const std::vector<std::string>& args, int* rc) {
  if (args[0] == "holds") {
    *rc = Holds(args);
  } else if (args[0] == "alerts") {
    *rc = Alerts(args);
  } else if (args[0] == "retention" && args.size() == 2 &&
             args[1] == "report") {
    *rc = RetentionReport();
  } else if (args[0] == "retention" && args.size() == 2 &&
             args[1] == "destroyed") {
    *rc = DestroyedKeys();
  } else if (args[0] == "keys") {
    *rc = Keys(args);
  } else if (args[0] == "lockouts") {
    *rc = Lockouts(args);
  } else if (args[0] == "handles") {
    *rc = Handles(args);
  } else if (args[0] == "contract") {
    *rc = Contract(args);
  } else {
    return false;
  }
  return true;
}

}  // namespace lanevault::ctl
