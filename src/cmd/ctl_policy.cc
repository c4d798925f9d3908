// lanevaultctl: contracts offline: validate, explain, test, keygen, sign.

#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "cmd/ctl_commands.h"
#include "cmd/ctl_common.h"
#include "common/config.h"
#include "common/files.h"
#include "common/program.h"
#include "crypto/signing.h"
#include "google/protobuf/text_format.h"
#include "policy/contract.h"
#include "policy/policy.h"

ABSL_DECLARE_FLAG(std::string, action);
ABSL_DECLARE_FLAG(std::string, case_id);
ABSL_DECLARE_FLAG(std::string, categories);
ABSL_DECLARE_FLAG(std::string, contract);
ABSL_DECLARE_FLAG(bool, json);
ABSL_DECLARE_FLAG(std::string, key_name);
ABSL_DECLARE_FLAG(std::string, out);
ABSL_DECLARE_FLAG(std::string, principal);
ABSL_DECLARE_FLAG(std::string, purpose);
ABSL_DECLARE_FLAG(std::string, role);
ABSL_DECLARE_FLAG(std::string, signing_key);

namespace lanevault::ctl {
namespace {

using ctl::ParseCategories;
using ctl::PrintJson;

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

int Policy_(const std::vector<std::string>& args) {
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

}  // namespace

int PolicyCommand(const std::vector<std::string>& args) {
  return Policy_(args);
}

}  // namespace lanevault::ctl
