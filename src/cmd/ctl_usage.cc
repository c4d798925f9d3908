// lanevaultctl's table of commands, per-command help and usage checks.
// Abseil's flag parser knows flags, not commands, and exits 1 on a bad
// flag; this file puts the command in front of it and keeps exit 2 for
// every usage error.

#include "cmd/ctl_usage.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace lanevault::ctl {
namespace {

constexpr char kProgram[] = "lanevaultctl";

constexpr char kConnection[] =
    "Connection: --server, --ca, --cert, --key, or LANEVAULT_SERVER,\n"
    "LANEVAULT_CA, LANEVAULT_CERT, LANEVAULT_KEY, or 'server = …' lines in a\n"
    "config file (--config, LANEVAULTCTL_CONFIG, default\n"
    "~/.config/lanevault/ctl.conf; keys server, ca, cert, key), in that\n"
    "order. Flag names take '-' or '_' alike (--page-token = --page_token).\n";

constexpr char kExitCodes[] =
    "Exit codes: 0 done, 1 refused or failed, 2 bad usage.\n";

// Flags every command that calls the server reads.
constexpr char kConnectionFlags[] = "server,ca,cert,key,config,timeout";

std::string UsageLine(const CommandSpec& c) {
  std::string line = absl::StrCat(kProgram, " ", c.name);
  if (*c.args != '\0') absl::StrAppend(&line, " ", c.args);
  return line;
}

std::vector<std::string> Words(absl::string_view name) {
  return absl::StrSplit(name, ' ', absl::SkipEmpty());
}

// The table's command `args` start with, the one with most words.
const CommandSpec* Match(const std::vector<std::string>& args) {
  const CommandSpec* best = nullptr;
  size_t best_words = 0;
  for (const CommandSpec& c : Commands()) {
    const std::vector<std::string> w = Words(c.name);
    if (w.size() > args.size() || w.size() <= best_words) continue;
    bool same = true;
    for (size_t i = 0; i < w.size() && same; ++i) same = w[i] == args[i];
    if (same) {
      best = &c;
      best_words = w.size();
    }
  }
  return best;
}

bool KnownGroup(absl::string_view group) {
  for (const CommandSpec& c : Commands()) {
    if (Words(c.name)[0] == group) return true;
  }
  return false;
}

void PrintFlag(absl::string_view name) {
  const absl::CommandLineFlag* f = absl::FindCommandLineFlag(name);
  if (f == nullptr) return;
  std::string dflt = f->DefaultValue();
  std::printf("  --%s  %s%s\n", f->Name().data(), f->Help().c_str(),
              dflt.empty() || dflt == "false"
                  ? ""
                  : absl::StrCat(" (default ", dflt, ")").c_str());
}

[[noreturn]] void CommandHelp(const CommandSpec& c) {
  std::printf("usage: %s\n\n%s\n", UsageLine(c).c_str(), c.help);
  if (*c.flags != '\0') {
    std::printf("\nFlags:\n");
    for (absl::string_view f : absl::StrSplit(c.flags, ',', absl::SkipEmpty()))
      PrintFlag(f);
  }
  std::printf(
      "\nConnection flags: --%s (see lanevaultctl --help).\n%s",
      absl::StrJoin(absl::StrSplit(kConnectionFlags, ','), ", --").c_str(),
      kExitCodes);
  std::fflush(stdout);
  std::exit(0);
}

[[noreturn]] void GroupHelp(absl::string_view group, FILE* out, int code) {
  std::fprintf(out, "usage:\n");
  for (const CommandSpec& c : Commands()) {
    if (Words(c.name)[0] == group)
      std::fprintf(out, "  %s\n", UsageLine(c).c_str());
  }
  std::fprintf(out, "(%s %.*s <command> --help for one command's help)\n",
               kProgram, static_cast<int>(group.size()), group.data());
  std::exit(code);
}

[[noreturn]] void UsageError(absl::string_view message) {
  std::fprintf(stderr, "%s: %.*s\n", kProgram, static_cast<int>(message.size()),
               message.data());
  std::exit(2);
}

// Whether `value` parses as the flag's type; only the types whose parse
// can fail are checked (string-like flags take anything).
bool ValueFits(const absl::CommandLineFlag& f, absl::string_view value) {
  if (f.IsOfType<int>()) {
    int v;
    return absl::SimpleAtoi(value, &v);
  }
  if (f.IsOfType<double>()) {
    double v;
    return absl::SimpleAtod(value, &v);
  }
  if (f.IsOfType<bool>()) {
    bool v;
    return absl::SimpleAtob(value, &v);
  }
  return true;
}

}  // namespace

const std::vector<CommandSpec>& Commands() {
  static const auto* table = new std::vector<CommandSpec>{
      {"record get", "RECORD_ID", 1, 1,
       "purpose,case_id,categories,out_dir,receipt_out,json",
       "One record's items for --purpose: what the contract lets you see.\n"
       "Prints the contract's restrictions on use for the purpose;\n"
       "--out_dir saves the images, --receipt_out the answer's signed\n"
       "receipt."},
      {"record get-item", "RECORD_ID ITEM_ID", 2, 2,
       "purpose,case_id,out_dir,receipt_out,json", "One item of a record."},
      {"record search", "", 0, 0,
       "purpose,case_id,lane,since,until,limit,page_token,all,progress,"
       "receipt_out,json",
       "Records for --purpose, --limit per page; --lane, --since and\n"
       "--until (a date, an RFC 3339 time or an age: 12h, 30d) narrow\n"
       "the window, widened to the purpose's time cells. --all pages on\n"
       "to the end (progress on stderr when stdout is no terminal, or with\n"
       "--progress); --page_token T starts at a page a previous answer\n"
       "named."},
      {"record lookup-plate", "PLATE", 1, 1, "purpose,case_id,receipt_out,json",
       "The records with that plate, for --purpose (and --case_id where\n"
       "the contract requires one). The list on stdout, terms on stderr."},
      {"lanes list", "", 0, 0, "json", "Every lane's state and counters."},
      {"lanes status", "LANE_ID", 1, 1, "watch,json",
       "One lane's state, counters, frame rate and last-frame age.\n"
       "--watch N redraws it every N seconds until interrupted."},
      {"lanes snapshot", "LANE_ID", 1, 1, "out",
       "The lane's current frame, every face and plate blurred on the\n"
       "capture node before it leaves it, with the region of interest and\n"
       "the detections drawn, as a JPEG into --out (operators only; the\n"
       "read is in the access log; nothing is stored)."},
      {"audit pubkey", "", 0, 0, "", "The access log's verifier key."},
      {"audit checkpoint", "", 0, 0, "", "The log's signed checkpoint."},
      {"audit verify", "", 0, 0,
       "log_key,previous_log_key,entries,full,offline,state,witness_key,"
       "witness_quorum,progress",
       "Checks the log against --log_key: the checkpoint consistent with\n"
       "the last one verified (--state), --entries proven included, --full\n"
       "recomputes every entry (progress on stderr), --offline checks an\n"
       "export file instead of the server."},
      {"audit export", "", 0, 0, "out,progress",
       "The checkpoint and every entry into --out, for offline checks\n"
       "(progress on stderr)."},
      {"audit query", "", 0, 0,
       "principal,record,since,until,limit,page_token,all,progress,json",
       "Access-log entries, --limit per page, filtered by --principal,\n"
       "--record, --since and --until (a date, an RFC 3339 time or an age:\n"
       "12h, 30d). --all pages on to the end; --page_token T starts where a\n"
       "previous page ended. The server walks a bounded stretch of the log\n"
       "per call; pages with nothing found are asked past without showing."},
      {"audit tail", "", 0, 0, "principal,record,since,until,page_token,json",
       "The log's entries from sequence --page_token (default 0), then each\n"
       "as it is appended, until Ctrl-C; --principal, --record, --since and\n"
       "--until filter."},
      {"audit trace", "IMAGE", 1, 1, "json",
       "A leaked image: the read that returned it, from the watermark every\n"
       "returned image carries (auditors)."},
      {"policy validate", "FILE", 1, 1, "", "Checks a contract file."},
      {"policy explain", "", 0, 0,
       "contract,role,purpose,action,categories,case_id",
       "What --contract decides for --role, --purpose and --action."},
      {"policy test", "FILE CASES", 2, 2, "",
       "Runs a contract's test cases against it."},
      {"policy keygen", "", 0, 0, "out", "A new Ed25519 signing key."},
      {"policy sign", "FILE", 1, 1, "signing_key,key_name,out",
       "Signs a contract for 'contract propose'."},
      {"holds place", "RECORD...", 1, -1, "case_id,reason",
       "Keeps records past their retention for a case."},
      {"holds lift", "HOLD_ID", 1, 1, "reason", "Lifts a hold."},
      {"holds list", "", 0, 0, "all,json", "Holds in force (--all: lifted)."},
      {"alerts list", "", 0, 0, "all,json",
       "Open alerts (--all: acknowledged too)."},
      {"alerts ack", "ALERT_ID", 1, 1, "", "Acknowledges an alert."},
      {"alerts watch", "", 0, 0, "json",
       "The open alerts, then each new one as it is raised, until Ctrl-C."},
      {"retention report", "", 0, 0, "json", "What is due and overdue."},
      {"retention destroyed", "", 0, 0, "since,until,json",
       "The retention period keys destroyed, each with its log entry."},
      {"keys rotate", "", 0, 0, "",
       "A new key-encryption key; the daemon re-wraps every record's key in\n"
       "the background (its progress is in the daemon's log: 'key re-wrap:\n"
       "N data keys re-wrapped so far', then 'key re-wrap done')."},
      {"receipt verify", "", 0, 0,
       "receipt,public_key,public_key_file,content,salt,json",
       "Checks a saved receipt's signature with the vault's receipt key and\n"
       "prints its terms; each --content HANDLE=FILE must be what the\n"
       "answer returned under that handle. Without a pinned key the\n"
       "server's is fetched (auditor role). Exit 0 only when all verifies."},
      {"receipt pubkey", "", 0, 0, "", "The receipt key, hex, to pin."},
      {"backup", "", 0, 0, "",
       "The vault's database, online, into lanevaultd's backup directory on\n"
       "the vault host. Restore with lanevaultd --restore_from FILE."},
      {"lockouts list", "", 0, 0, "json", "Principals locked out."},
      {"lockouts lift", "PRINCIPAL", 1, 1, "reason", "Lifts a lockout."},
      {"approvals list", "", 0, 0, "all,json",
       "Requests waiting for approval (--all: decided too)."},
      {"approvals approve", "ID", 1, 1, "reason",
       "Approves a request (apr_…); never the requester's own."},
      {"approvals deny", "ID", 1, 1, "reason", "Denies a request."},
      {"handles resolve", "HANDLE", 1, 1, "reason,case_id",
       "A purpose-scoped handle (rh_… or ih_…) to its record; logged."},
      {"contract get", "[VERSION]", 0, 1, "json",
       "The active contract, or VERSION."},
      {"contract versions", "", 0, 0, "json", "Every contract version."},
      {"contract propose", "SIGNED", 1, 1, "", "Proposes a signed contract."},
      {"contract activate", "VERSION [SIGNED]", 1, 2, "",
       "Activates a proposed version (a second signature where needed)."},
      {"unseal", "", 0, 0, "share_file",
       "Gives one share to a sealed lanevaultd, from --share_file (0600) or\n"
       "standard input, never the command line. To replace the shares:\n"
       "lanevaultd --rekey_unseal K/N on the host."},
      {"unseal status", "", 0, 0, "", "How many shares a sealed vault has."},
  };
  return *table;
}

std::string GlobalUsage() {
  std::string out = "The lanevault command-line client.\n\n";
  for (const CommandSpec& c : Commands())
    absl::StrAppend(&out, "  ", UsageLine(c), "\n");
  absl::StrAppend(&out,
                  "\n'lanevaultctl <command> --help' prints one command's "
                  "help and flags.\n",
                  kConnection, kExitCodes);
  return out;
}

std::vector<std::string> PrecheckArgs(int argc, char** argv) {
  std::vector<std::string> out = {argv[0]};
  std::vector<std::string> words;
  bool help = false;
  bool flags_done = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (flags_done || arg.size() < 2 || arg[0] != '-') {
      words.push_back(arg);
      out.push_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      out.push_back(arg);
      continue;
    }
    const size_t dashes = arg[1] == '-' ? 2 : 1;
    const size_t eq = arg.find('=');
    std::string name = arg.substr(
        dashes, eq == std::string::npos ? std::string::npos : eq - dashes);
    for (char& ch : name) ch = ch == '-' ? '_' : ch;
    if (name == "help" || name == "h" || name == "helpfull") {
      help = true;
      continue;
    }
    if (name == "version") {
      out.push_back("--version");
      continue;
    }
    const absl::CommandLineFlag* f = absl::FindCommandLineFlag(name);
    bool negated = false;
    if (f == nullptr && absl::StartsWith(name, "no")) {
      f = absl::FindCommandLineFlag(name.substr(2));
      negated = f != nullptr && f->IsOfType<bool>();
      if (!negated) f = nullptr;
    }
    if (f == nullptr || absl::StrContains(f->Filename(), "absl/")) {
      UsageError(
          absl::StrCat("unknown flag '", arg.substr(0, eq), "' (see --help)"));
    }
    std::string rewritten = absl::StrCat("--", name);
    if (eq != std::string::npos) {
      const std::string value = arg.substr(eq + 1);
      if (negated || !ValueFits(*f, value)) {
        UsageError(absl::StrCat("bad value '", value, "' for --", name));
      }
      absl::StrAppend(&rewritten, "=", value);
    } else if (!f->IsOfType<bool>()) {
      // Abseil takes the next argument as the value.
      if (i + 1 >= argc) {
        UsageError(absl::StrCat("--", name, " needs a value"));
      }
      if (!ValueFits(*f, argv[i + 1])) {
        UsageError(absl::StrCat("bad value '", argv[i + 1], "' for --", name));
      }
      out.push_back(rewritten);
      rewritten = argv[++i];
    }
    out.push_back(rewritten);
  }
  if (help) {
    if (words.empty()) {
      std::printf("%s", GlobalUsage().c_str());
      std::exit(0);
    }
    if (const CommandSpec* c = Match(words); c != nullptr) CommandHelp(*c);
    if (KnownGroup(words[0])) GroupHelp(words[0], stdout, 0);
    UsageError(absl::StrCat("unknown command '", words[0], "' (see --help)"));
  }
  return out;
}

void CheckCommandArgs(const std::vector<std::string>& args) {
  if (args.empty()) {
    UsageError("no command (see --help)");
  }
  const CommandSpec* c = Match(args);
  if (c == nullptr) {
    if (!KnownGroup(args[0])) {
      UsageError(absl::StrCat("unknown command '", args[0], "' (see --help)"));
    }
    return;  // the group's dispatcher answers for commands not listed
  }
  const int given = static_cast<int>(args.size() - Words(c->name).size());
  if (given < c->min_args || (c->max_args >= 0 && given > c->max_args)) {
    std::fprintf(
        stderr, "%s: %s\nusage: %s\n(%s %s --help for more)\n", kProgram,
        given < c->min_args ? "missing arguments" : "too many arguments",
        UsageLine(*c).c_str(), kProgram, c->name);
    std::exit(2);
  }
}

}  // namespace lanevault::ctl
