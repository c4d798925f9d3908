// lanevaultctl: the command-line client for every role. Its flags are
// defined here; each command group lives in a ctl_<group>.cc file.

#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cmd/ctl_commands.h"
#include "cmd/ctl_usage.h"
#include "common/program.h"
#include "grpc/support/log.h"

ABSL_FLAG(
    std::string, server, "",
    "host:port of lanevaultd, or several replicas' as a comma-separated "
    "list tried in order (env LANEVAULT_SERVER; default 127.0.0.1:7443).");
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
ABSL_FLAG(std::string, previous_log_key, "",
          "'audit verify': the log's key before it moved to a key of its "
          "own (entry log_key_created): the saved checkpoint may be signed "
          "by it. Key or @FILE.");
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
ABSL_FLAG(std::string, out, "",
          "The file to write ('audit export', 'lanes snapshot', 'policy "
          "keygen', 'policy sign').");
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
ABSL_FLAG(bool, json, false,
          "Print JSON for scripts instead of tables (zero values included).");
ABSL_FLAG(std::string, page_token, "",
          "'record search', 'audit query': start at the page a previous "
          "answer named (its next_page_token).");
ABSL_FLAG(bool, progress, false,
          "Progress lines on stderr even when stdout is a terminal (they are "
          "on whenever stdout is not one).");
ABSL_FLAG(int, watch, 0,
          "'lanes status': redraw every N seconds until interrupted.");
ABSL_FLAG(std::string, share_file, "",
          "'unseal': read your share from this 0600 file instead of standard "
          "input (never give a share on the command line).");

namespace lanevault {
namespace {

int Main(int argc, char** argv) {
  // gRPC's own lines (E1202 …) say nothing a user can act on; every
  // failure reaches the user as one sentence from FailRpc instead.
  gpr_set_log_function([](gpr_log_func_args*) {});
  std::vector<std::string> checked = ctl::PrecheckArgs(argc, argv);
  std::vector<char*> pointers;
  for (std::string& a : checked) pointers.push_back(a.data());
  std::vector<std::string> args = InitProgram(
      static_cast<int>(pointers.size()), pointers.data(), ctl::GlobalUsage());
  ctl::CheckCommandArgs(args);
  if (args[0] == "record") return ctl::RecordCommand(args);
  if (int rc = 0; ctl::RunComplianceCommand(args, &rc)) return rc;
  if (args[0] == "lanes") return ctl::LanesCommand(args);
  if (args[0] == "audit") return ctl::AuditCommand(args);
  if (args[0] == "policy") return ctl::PolicyCommand(args);
  if (args[0] == "unseal") return ctl::UnsealCommand(args);
  if (args[0] == "backup") return ctl::BackupCommand(args);
  if (args[0] == "approvals") return ctl::ApprovalsCommand(args);
  if (args[0] == "receipt") return ctl::ReceiptCommand(args);
  Fail(absl::StrCat("unknown command '", absl::StrJoin(args, " "),
                    "' (see --help)"),
       2);
}

}  // namespace
}  // namespace lanevault

int main(int argc, char** argv) { return lanevault::Main(argc, argv); }
