// lanevaultctl: the command-line client for every role. Its flags are
// defined here; each command group lives in a ctl_<group>.cc file.

#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cmd/ctl_commands.h"
#include "common/program.h"

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
ABSL_FLAG(std::string, share_file, "",
          "'unseal': read your share from this 0600 file instead of standard "
          "input (never give a share on the command line).");

namespace lanevault {
namespace {

constexpr char kUsage[] =
    "The lanevault command-line client.\n\n"
    "  lanevaultctl record get RECORD_ID --purpose P [--case_id C] "
    "[--categories ...] [--out_dir DIR]\n"
    "      [--receipt_out FILE]\n"
    "    (every evidence answer prints the contract's restrictions on use for\n"
    "    the purpose; --receipt_out saves the answer's signed receipt, also\n"
    "    for get-item, search and lookup-plate)\n"
    "  lanevaultctl record get-item RECORD_ID ITEM_ID --purpose P "
    "[--case_id C] [--out_dir DIR]\n"
    "  lanevaultctl record search --purpose P [--lane L] [--limit N]\n"
    "  lanevaultctl record lookup-plate PLATE --purpose P [--case_id C]\n"
    "  lanevaultctl lanes list\n"
    "  lanevaultctl lanes status LANE_ID\n"
    "  lanevaultctl audit pubkey | checkpoint\n"
    "  lanevaultctl audit verify --log_key KEY [--entries 3,9] [--full] "
    "[--offline FILE] [--state FILE]\n"
    "      [--witness_key NAME=VKEY ... --witness_quorum K]\n"
    "  lanevaultctl audit export --out FILE\n"
    "  lanevaultctl audit query [--principal P] [--record R] [--limit N]\n"
    "  lanevaultctl audit trace IMAGE\n"
    "    (a leaked image: the read that returned it, from the watermark every\n"
    "    returned image carries; auditors)\n"
    "  lanevaultctl policy validate FILE\n"
    "  lanevaultctl policy explain --contract FILE --role R --purpose P "
    "--action A [--categories ...] [--case_id C]\n"
    "  lanevaultctl policy test FILE CASES\n"
    "  lanevaultctl policy keygen --out KEYFILE\n"
    "  lanevaultctl holds place RECORD... --case_id C --reason R\n"
    "  lanevaultctl holds lift HOLD_ID --reason R | holds list [--all]\n"
    "  lanevaultctl alerts list [--all] | alerts ack ALERT_ID\n"
    "  lanevaultctl retention report\n"
    "  lanevaultctl retention destroyed [--since T] [--until T]\n"
    "    (the retention period keys destroyed, each with its log entry)\n"
    "  lanevaultctl keys rotate\n"
    "  lanevaultctl receipt verify --receipt FILE [--public_key HEX | "
    "--public_key_file F]\n"
    "      [--content HANDLE=FILE ...] [--json]\n"
    "    (checks a saved receipt's signature with the vault's receipt key and\n"
    "    prints its terms; each --content file must be what the answer\n"
    "    returned under that item handle. Without a pinned key the server's\n"
    "    is fetched (auditor role), which trusts the server. Exit 0 only\n"
    "    when everything verifies)\n"
    "  lanevaultctl receipt pubkey   (the receipt key, hex, to pin)\n"
    "  lanevaultctl backup\n"
    "    (the vault's database, online, into lanevaultd's backup directory on\n"
    "    the vault host; prints what it holds and where it is. Restore with\n"
    "    lanevaultd --restore_from FILE, daemon stopped)\n"
    "  lanevaultctl lockouts list | lockouts lift PRINCIPAL --reason R\n"
    "  lanevaultctl approvals list [--all] [--json]\n"
    "  lanevaultctl approvals approve ID --reason R | approvals deny ID "
    "--reason R\n"
    "    (a read a permit allows only with approval is refused with a request\n"
    "    id, apr_…; officers of the permit's approver role decide it here,\n"
    "    never the requester; the requester's next identical call goes\n"
    "    through once)\n"
    "  lanevaultctl handles resolve HANDLE --reason R [--case_id C]\n"
    "    (a purpose-scoped handle, rh_… or ih_…, to its record; logged)\n"
    "  lanevaultctl contract get [VERSION] | versions\n"
    "  lanevaultctl contract propose SIGNED | activate VERSION [SIGNED]\n"
    "  lanevaultctl policy sign FILE --signing_key KEYFILE --key_name NAME "
    "--out SIGNED\n"
    "  lanevaultctl unseal [--share_file FILE] (else stdin) | unseal status\n"
    "    (a compliance officer gives one share to a sealed lanevaultd; to\n"
    "    replace the shares: lanevaultd --rekey_unseal K/N on the host)\n\n"
    "Connection: --server, --ca, --cert, --key, or LANEVAULT_SERVER,\n"
    "LANEVAULT_CA, LANEVAULT_CERT, LANEVAULT_KEY, or 'server = …' lines\n"
    "in a config file (--config, LANEVAULTCTL_CONFIG, default\n"
    "~/.config/lanevault/ctl.conf), in that order. Exit codes: 0 done,\n"
    "1 refused or failed, 2 bad usage.";

int Main(int argc, char** argv) {
  std::vector<std::string> args = InitProgram(argc, argv, kUsage);
  if (args.empty()) Fail("no command (see --help)", 2);
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
