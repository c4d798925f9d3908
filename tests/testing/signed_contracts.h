#ifndef LANEVAULT_TESTING_SIGNED_CONTRACTS_H_
#define LANEVAULT_TESTING_SIGNED_CONTRACTS_H_

// The pilot contract from deploy/contracts as a given version, signed by a
// compliance key, as officers hand it to the vault.

#include <cstdint>
#include <functional>
#include <string>

#include "common/files.h"
#include "crypto/signing.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "policy/contract.h"

namespace lanevault::testing {

// The pilot contract as `version`, signed by `key` under the name "alice";
// `edit` may change it first.
inline v1::SignedContract SignedPilot(
    const crypto::SigningKey& key, uint64_t version,
    const std::function<void(v1::Contract&)>& edit = nullptr) {
  auto text = ReadFileToString(std::string(LANEVAULT_SOURCE_DIR) +
                               "/deploy/contracts/land-border-pilot.textproto");
  EXPECT_TRUE(text.ok());
  auto contract = policy::ParseContract(*text);
  EXPECT_TRUE(contract.ok()) << contract.status();
  contract->set_version(version);
  if (edit) edit(*contract);
  v1::SignedContract out;
  google::protobuf::TextFormat::PrintToString(*contract, out.mutable_text());
  v1::ContractSignature* sig = out.add_signatures();
  sig->set_key_name("alice");
  sig->set_public_key(key.public_key());
  sig->set_signature(key.Sign(out.text()));
  return out;
}

}  // namespace lanevault::testing

#endif  // LANEVAULT_TESTING_SIGNED_CONTRACTS_H_
