// Contracts over the API: validate, propose, gather signatures, activate
// (the running contract stays in force on any error), history and "what
// if". Read-only views are audit reads; changes need MANAGE_CONTRACT.

#include <algorithm>
#include <memory>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "api/contract_follower.h"
#include "api/services.h"
#include "common/config.h"
#include "common/logging.h"
#include "common/time_util.h"
#include "google/protobuf/text_format.h"
#include "policy/contract.h"

namespace lanevault::api {
namespace {

CallSpec ContractCall(v1::Action action) {
  CallSpec spec;
  spec.action = action;
  return spec;
}

void AddIssues(const std::vector<policy::ValidationIssue>& issues,
               google::protobuf::RepeatedPtrField<v1::ValidationIssue>* out) {
  for (const policy::ValidationIssue& i : issues) {
    v1::ValidationIssue* v = out->Add();
    v->set_field_path(i.field_path);
    v->set_message(i.message);
    v->set_warning(i.warning);
  }
}

// Parses and validates contract text: every issue, in document order.
std::vector<policy::ValidationIssue> Check(absl::string_view text,
                                           v1::Contract* contract) {
  absl::StatusOr<v1::Contract> parsed = policy::ParseContract(text);
  if (!parsed.ok()) {
    return {{"", std::string(parsed.status().message()), false}};
  }
  *contract = std::move(*parsed);
  return policy::ValidateContract(*contract);
}

// Whether `contract_id` v`version`, signing `text`, may follow `in_force`
// in `vault`: the same contract id, a higher version (a proposal that a
// newer activation overtook never takes effect), and not another text under
// a version the vault keeps or one proposed with its signatures
// (`authority`'s keys and count).
absl::Status MayFollow(vault::Vault& vault, const policy::Policy& in_force,
                       const ContractAuthority& authority,
                       const std::string& contract_id, uint64_t version,
                       const std::string& text) {
  if (contract_id != in_force.contract_id()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the proposal is contract '", absl::CEscape(contract_id),
                     "', but this vault follows contract '",
                     absl::CEscape(in_force.contract_id()),
                     "': a vault follows one contract id, in new versions"));
  }
  if (version <= in_force.contract_version()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "version ", version, " is not newer than version ",
        in_force.contract_version(), " in force; raise the version"));
  }
  return CheckAgainstKeptContracts(
      vault, contract_id, version, in_force.contract_version(), text,
      authority.trusted, authority.required, "the proposal");
}

// A contract is a few kilobytes signed by a few officers: a proposal far
// larger would be kept and listed with every version from then on.
constexpr size_t kMaxContractTextBytes = 64 * 1024;
constexpr int kMaxContractSignatures = 16;

absl::Status CheckContractSize(const v1::SignedContract& contract) {
  if (contract.text().size() > kMaxContractTextBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("the contract text is ", contract.text().size(),
                     " bytes; at most ", kMaxContractTextBytes));
  }
  if (contract.signatures_size() > kMaxContractSignatures) {
    return absl::InvalidArgumentError(
        absl::StrCat("the contract carries ", contract.signatures_size(),
                     " signatures; at most ", kMaxContractSignatures));
  }
  return absl::OkStatus();
}

// Proposals not yet in force, each holding its version number: at most
// this many at once, so no one officer can take every number a contract
// could follow with (an officer proposes without signatures).
constexpr size_t kMaxOpenProposals = 16;

absl::Status CheckOpenProposals(vault::Vault& vault,
                                const policy::Policy& in_force) {
  absl::StatusOr<std::vector<vault::ProposalRow>> proposed =
      vault.contracts().Proposals();
  if (!proposed.ok()) return proposed.status();
  const size_t open = static_cast<size_t>(std::count_if(
      proposed->begin(), proposed->end(), [&](const vault::ProposalRow& p) {
        return p.contract_id == in_force.contract_id() &&
               p.version > in_force.contract_version();
      }));
  if (open >= kMaxOpenProposals) {
    return absl::FailedPreconditionError(absl::StrCat(
        open, " proposals above version ", in_force.contract_version(),
        " are open; activate one (those below it then close) before "
        "proposing more"));
  }
  return absl::OkStatus();
}

std::string IssueText(const std::vector<policy::ValidationIssue>& issues) {
  for (const policy::ValidationIssue& i : issues) {
    if (!i.warning) {
      return i.field_path.empty() ? i.message
                                  : absl::StrCat(i.field_path, ": ", i.message);
    }
  }
  return "";
}

}  // namespace

absl::StatusOr<std::vector<v1::ContractVersion>> ComplianceService::Versions()
    const {
  const policy::Policy& in_force = gate_->policy();
  absl::StatusOr<std::vector<vault::ContractVersionRow>> kept =
      gate_->vault().contracts().Versions();
  if (!kept.ok()) return kept.status();
  absl::StatusOr<std::vector<vault::ProposalRow>> proposed =
      gate_->vault().contracts().Proposals();
  if (!proposed.ok()) return proposed.status();
  std::vector<v1::ContractVersion> out;
  // Newest activation first: a version activated twice is listed once.
  absl::flat_hash_set<std::string> seen;
  auto known = [&seen](const std::string& id, uint64_t version) {
    return !seen.insert(absl::StrCat(id, "@", version)).second;
  };
  for (const vault::ContractVersionRow& k : *kept) {
    if (known(k.contract_id, k.version)) continue;  // re-activated: newest
    v1::ContractVersion v;
    if (!ParseTextProto(k.signed_text, "kept contract", v.mutable_contract())
             .ok()) {
      v.mutable_contract()->set_text("(the kept copy does not parse)");
    }
    v.set_version(k.version);
    v.set_active(k.contract_id == in_force.contract_id() &&
                 k.version == in_force.contract_version());
    *v.mutable_activated() = ToProto(k.activated);
    out.push_back(std::move(v));
  }
  for (const vault::ProposalRow& p : *proposed) {
    if (known(p.contract_id, p.version)) continue;
    v1::ContractVersion v;
    v.mutable_contract()->ParseFromString(p.signed_contract);
    v.set_version(p.version);
    out.push_back(std::move(v));
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.version() > b.version();
  });
  return out;
}

grpc::Status ComplianceService::GetContract(
    grpc::ServerContext* ctx, const v1::GetContractRequest* request,
    v1::ContractVersion* response) {
  CallSpec spec = ContractCall(v1::ACTION_READ_AUDIT);
  spec.detail = absl::StrCat("contract version ", request->version());
  return gate_->Run(ctx, *request, spec, [&](Admission&) {
    absl::StatusOr<std::vector<v1::ContractVersion>> versions = Versions();
    if (!versions.ok()) return ToGrpc(versions.status());
    for (v1::ContractVersion& v : *versions) {
      if (request->version() == 0 ? v.active()
                                  : v.version() == request->version()) {
        *response = std::move(v);
        return grpc::Status::OK;
      }
    }
    return grpc::Status(
        grpc::StatusCode::NOT_FOUND,
        request->version() == 0
            ? "no contract is in force: the daemon runs the built-in "
              "development policy"
            : absl::StrCat("no contract version ", request->version()));
  });
}

grpc::Status ComplianceService::ListContractVersions(
    grpc::ServerContext* ctx, const v1::ListContractVersionsRequest* request,
    v1::ListContractVersionsResponse* response) {
  return gate_->Run(
      ctx, *request, ContractCall(v1::ACTION_READ_AUDIT), [&](Admission&) {
        absl::StatusOr<std::vector<v1::ContractVersion>> versions = Versions();
        if (!versions.ok()) return ToGrpc(versions.status());
        for (v1::ContractVersion& v : *versions) {
          *response->add_versions() = std::move(v);
        }
        return grpc::Status::OK;
      });
}

grpc::Status ComplianceService::ValidateContract(
    grpc::ServerContext* ctx, const v1::ValidateContractRequest* request,
    v1::ValidateContractResponse* response) {
  return gate_->Run(ctx, *request, ContractCall(v1::ACTION_MANAGE_CONTRACT),
                    [&](Admission&) {
                      v1::Contract contract;
                      const std::vector<policy::ValidationIssue> issues =
                          Check(request->text(), &contract);
                      response->set_valid(!policy::HasErrors(issues));
                      AddIssues(issues, response->mutable_issues());
                      return grpc::Status::OK;
                    });
}

grpc::Status ComplianceService::ProposeContract(
    grpc::ServerContext* ctx, const v1::ProposeContractRequest* request,
    v1::ProposeContractResponse* response) {
  v1::Contract contract;
  std::vector<policy::ValidationIssue> issues;
  CallSpec spec = ContractCall(v1::ACTION_MANAGE_CONTRACT);
  spec.vault_logs = true;
  spec.check = [&]() -> absl::Status {
    if (absl::Status s = CheckContractSize(request->contract()); !s.ok()) {
      return s;
    }
    issues = Check(request->contract().text(), &contract);
    if (policy::HasErrors(issues)) {
      return absl::InvalidArgumentError(IssueText(issues));
    }
    if (absl::Status s = CheckOpenProposals(gate_->vault(), gate_->policy());
        !s.ok()) {
      return s;
    }
    return MayFollow(gate_->vault(), gate_->policy(), contracts_, contract.id(),
                     contract.version(), request->contract().text());
  };
  return gate_->Run(ctx, *request, spec, [&](Admission& a) {
    vault::ProposalRow row;
    row.contract_id = contract.id();
    row.version = contract.version();
    row.signed_contract = request->contract().SerializeAsString();
    row.proposed_by = a.caller.principal;
    row.proposed = gate_->vault().clock()->Now();
    a.entry.set_detail(
        absl::StrCat("proposed ", row.contract_id, " v", row.version, " with ",
                     request->contract().signatures_size(), " signature(s)"));
    if (absl::Status s =
            gate_->vault().contracts().Propose(row, std::move(a.entry));
        !s.ok()) {
      return ToGrpc(s);
    }
    response->set_version(row.version);
    AddIssues(issues, response->mutable_issues());
    return grpc::Status::OK;
  });
}

grpc::Status ComplianceService::ActivateContract(
    grpc::ServerContext* ctx, const v1::ActivateContractRequest* request,
    v1::ContractVersion* response) {
  absl::MutexLock one_at_a_time(&activate_mu_);
  vault::ProposalRow proposal;
  v1::SignedContract signed_contract;
  std::unique_ptr<policy::Policy> next;
  CallSpec spec = ContractCall(v1::ACTION_MANAGE_CONTRACT);
  spec.vault_logs = true;
  spec.detail = absl::StrCat("activate contract version ", request->version());
  // Everything that can fail is checked before the decision is logged: the
  // running contract stays in force on any error.
  spec.check = [&]() -> absl::Status {
    if (contracts_.holder == nullptr) {
      return absl::FailedPreconditionError(
          "the daemon runs the built-in development policy; configure a "
          "signed contract to manage contracts over the API");
    }
    absl::StatusOr<vault::ProposalRow> found =
        gate_->vault().contracts().Proposal(request->version());
    if (!found.ok()) return found.status();
    proposal = std::move(*found);
    if (!signed_contract.ParseFromString(proposal.signed_contract)) {
      return absl::DataLossError("the stored proposal does not parse");
    }
    for (const v1::ContractSignature& sig : request->signatures()) {
      bool seen = false;
      for (const v1::ContractSignature& have : signed_contract.signatures()) {
        seen |= have.public_key() == sig.public_key() &&
                have.signature() == sig.signature();
      }
      if (!seen) *signed_contract.add_signatures() = sig;
    }
    if (absl::Status s = CheckContractSize(signed_contract); !s.ok()) {
      return s;
    }
    absl::StatusOr<std::unique_ptr<policy::Policy>> built =
        policy::PolicyFromSigned(signed_contract, contracts_.trusted,
                                 contracts_.required);
    if (absl::IsPermissionDenied(built.status())) {
      return absl::FailedPreconditionError(built.status().message());
    }
    if (!built.ok()) return built.status();
    next = std::move(*built);
    // Judged again now: the contract in force may have moved on since the
    // proposal, and an older version must not take over from it.
    return MayFollow(gate_->vault(), gate_->policy(), contracts_,
                     next->contract_id(), next->contract_version(),
                     signed_contract.text());
  };
  return gate_->Run(ctx, *request, spec, [&](Admission& a) {
    proposal.signed_contract = signed_contract.SerializeAsString();
    vault::ContractVersionRow row;
    row.contract_id = next->contract_id();
    row.version = next->contract_version();
    google::protobuf::TextFormat::PrintToString(signed_contract,
                                                &row.signed_text);
    row.activated = gate_->vault().clock()->Now();
    a.entry.set_reason_code("contract_activated");
    if (absl::Status s = gate_->vault().contracts().Activate(
            proposal, row, std::move(a.entry));
        !s.ok()) {
      return ToGrpc(s);
    }
    const bool in_force = contracts_.holder->Replace(
        std::shared_ptr<const policy::Policy>(std::move(next)));
    if (in_force) {
      spdlog::warn("contract {} v{} in force, activated by {} over the API",
                   row.contract_id, row.version, a.caller.principal);
    } else {
      // A newer version took effect meanwhile (a SIGHUP, another replica):
      // this one is kept, and the newer stays in force.
      spdlog::warn(
          "contract {} v{} activated by {} over the API and kept; "
          "v{} took effect meanwhile and stays in force",
          row.contract_id, row.version, a.caller.principal,
          contracts_.holder->contract_version());
    }
    *response->mutable_contract() = signed_contract;
    response->set_version(row.version);
    response->set_active(in_force);
    *response->mutable_activated() = ToProto(row.activated);
    return grpc::Status::OK;
  });
}

grpc::Status ComplianceService::Explain(grpc::ServerContext* ctx,
                                        const v1::ExplainRequest* request,
                                        v1::Decision* response) {
  std::unique_ptr<policy::Policy> what_if;
  CallSpec spec = ContractCall(v1::ACTION_READ_AUDIT);
  spec.detail = absl::StrCat("explain ", request->role(), " ",
                             v1::Action_Name(request->action()));
  spec.check = [&]() -> absl::Status {
    if (request->contract_text().empty()) return absl::OkStatus();
    v1::Contract contract;
    const std::vector<policy::ValidationIssue> issues =
        Check(request->contract_text(), &contract);
    if (policy::HasErrors(issues)) {
      return absl::InvalidArgumentError(IssueText(issues));
    }
    absl::StatusOr<std::unique_ptr<policy::Policy>> built =
        policy::NewContractPolicy(std::move(contract));
    if (!built.ok()) return built.status();
    what_if = std::move(*built);
    return absl::OkStatus();
  };
  return gate_->Run(ctx, *request, spec, [&](Admission&) {
    // A hypothetical caller with no past: touches no evidence, no history.
    policy::AccessRequest ask;
    ask.principal = "(explain)";
    ask.role = policy::RoleFromName(request->role());
    ask.action = request->action();
    ask.purpose = request->purpose();
    ask.case_id = request->case_id();
    for (int c : request->categories()) {
      ask.categories.push_back(static_cast<v1::DataCategory>(c));
    }
    ask.available =
        ask.categories.empty()
            ? std::vector<v1::DataCategory>{v1::DATA_CATEGORY_PLATE_TEXT,
                                            v1::DATA_CATEGORY_PLATE_IMAGE,
                                            v1::DATA_CATEGORY_FACE_IMAGE}
            : ask.categories;
    ask.now = gate_->vault().clock()->Now();
    const policy::Policy& p = what_if ? *what_if : gate_->policy();
    *response = p.DecideAccess(ask).decision;
    return grpc::Status::OK;
  });
}

}  // namespace lanevault::api
