#include "absl/strings/str_cat.h"
#include "common/config.h"
#include "common/files.h"
#include "policy/policy.h"

namespace lanevault::policy {

bool PolicyHolder::Replace(std::shared_ptr<const Policy> next) {
  absl::MutexLock lock(&mu_);
  if (current_ != nullptr && next->contract_id() == current_->contract_id() &&
      next->contract_version() < current_->contract_version()) {
    return false;
  }
  current_ = std::move(next);
  return true;
}

std::shared_ptr<const Policy> PolicyHolder::current() const {
  absl::MutexLock lock(&mu_);
  return current_;
}

absl::StatusOr<std::unique_ptr<Policy>> LoadSignedContract(
    const std::string& path, const std::vector<TrustedKey>& trusted,
    int required) {
  absl::StatusOr<std::string> text = ReadFileToString(path);
  if (!text.ok()) return text.status();
  v1::SignedContract signed_contract;
  if (absl::Status s = ParseTextProto(*text, path, &signed_contract); !s.ok()) {
    return s;
  }
  absl::StatusOr<std::unique_ptr<Policy>> policy =
      PolicyFromSigned(signed_contract, trusted, required);
  if (!policy.ok()) {
    return absl::Status(policy.status().code(),
                        absl::StrCat(path, ": ", policy.status().message()));
  }
  return policy;
}

absl::StatusOr<std::unique_ptr<Policy>> PolicyFromSigned(
    const v1::SignedContract& signed_contract,
    const std::vector<TrustedKey>& trusted, int required) {
  if (absl::Status s = CheckSignatures(signed_contract, trusted, required);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<v1::Contract> contract = ParseContract(signed_contract.text());
  if (!contract.ok()) return contract.status();
  return NewContractPolicy(std::move(*contract));
}

}  // namespace lanevault::policy
