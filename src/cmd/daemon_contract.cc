#include "cmd/daemon_contract.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "api/contract_follower.h"
#include "common/config.h"
#include "common/files.h"
#include "common/logging.h"
#include "common/time_util.h"

namespace lanevault {
namespace {

// Keeps the signed contract now in force, byte for byte, in the vault.
void KeepContract(vault::Vault& vault, const policy::Policy& policy,
                  const std::string& signed_file) {
  if (absl::Status s = vault.contracts().KeepVersion(
          policy.contract_id(), policy.contract_version(), signed_file);
      !s.ok()) {
    spdlog::error("cannot keep the contract version: {}", s.message());
  }
}

}  // namespace

absl::StatusOr<std::vector<policy::TrustedKey>> TrustedKeys(
    const v1::ContractConfig& config) {
  std::vector<policy::TrustedKey> trusted;
  for (const auto& k : config.trusted_keys()) {
    std::string b64 = k.public_key();
    if (b64.empty() && !k.public_key_file().empty()) {
      auto text = ReadFileToString(k.public_key_file());
      if (!text.ok()) return text.status();
      b64 = std::string(absl::StripAsciiWhitespace(*text));
    }
    std::string key;
    if (!absl::Base64Unescape(b64, &key) || key.size() != 32) {
      return absl::InvalidArgumentError(absl::StrCat(
          "contract.trusted_keys '", k.name(), "': not a base64 Ed25519 key"));
    }
    trusted.push_back({k.name(), key});
  }
  return trusted;
}

int RequiredSignatures(const v1::ContractConfig& config) {
  return config.required_signatures() > 0 ? config.required_signatures() : 1;
}

absl::StatusOr<std::unique_ptr<policy::Policy>> LoadPolicyInForce(
    const v1::ContractConfig& config, vault::Vault& vault,
    bool dev_builtin_policy) {
  if (config.signed_contract().empty()) {
    // An unsigned contract deciding over evidence must be asked for by
    // name, never fallen into by leaving a section out of the config.
    if (!dev_builtin_policy) {
      return absl::FailedPreconditionError(
          "no contract configured: lanevaultd enforces only a signed "
          "contract (contract { signed_contract: ... trusted_keys { ... } }); "
          "for development only, --dev_builtin_policy runs the built-in, "
          "unsigned development contract");
    }
    spdlog::warn(
        "DEVELOPMENT POLICY: no contract configured and --dev_builtin_policy "
        "given: the built-in development contract, which no one signed, "
        "decides "
        "every call. Never use this in production.");
    return policy::NewBuiltinPolicy();
  }
  if (dev_builtin_policy) {
    spdlog::warn(
        "--dev_builtin_policy ignored: a contract is configured, and it "
        "decides");
  }
  auto trusted = TrustedKeys(config);
  if (!trusted.ok()) return trusted.status();
  const int required = RequiredSignatures(config);
  auto loaded =
      policy::LoadSignedContract(config.signed_contract(), *trusted, required);
  if (!loaded.ok()) return loaded;
  absl::StatusOr<std::string> signed_file =
      ReadFileToString(config.signed_contract());
  if (!signed_file.ok()) return signed_file.status();
  if (absl::Status s = api::CheckAgainstKeptContracts(
          vault, (*loaded)->contract_id(), (*loaded)->contract_version(),
          /*in_force=*/0, api::KeptContractText(*signed_file), *trusted,
          required, config.signed_contract());
      !s.ok()) {
    return s;
  }
  if (auto newer =
          api::NewerKeptContract(vault, **loaded, *trusted, required)) {
    // The configured version is not kept: it never takes effect.
    spdlog::info("contract {} v{} (kept in the vault) is newer than {}",
                 newer->contract_id(), newer->contract_version(),
                 config.signed_contract());
    loaded = std::move(newer);
  } else {
    KeepContract(vault, **loaded, *signed_file);
  }
  spdlog::info("contract {} v{} in force ({} signature(s) required)",
               (*loaded)->contract_id(), (*loaded)->contract_version(),
               required);
  return loaded;
}

absl::Status LogContractDecision(vault::Vault& vault, bool activated,
                                 const std::string& detail) {
  v1::AuditEntry e;
  *e.mutable_time() = ToProto(vault.clock()->Now());
  e.set_principal("system");
  e.set_action(v1::ACTION_MANAGE_CONTRACT);
  e.set_verdict(activated ? v1::VERDICT_ALLOW : v1::VERDICT_DENY);
  e.set_reason_code(activated ? "contract_activated" : "contract_refused");
  e.set_detail(detail);
  if (auto seq = vault.log().Append(std::move(e)); !seq.ok()) {
    spdlog::error("cannot log the contract decision: {}",
                  seq.status().message());
    return seq.status();
  }
  return absl::OkStatus();
}

}  // namespace lanevault
