#include "tlog/checkpoint.h"

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "crypto/digest.h"
#include "crypto/signing.h"

namespace lanevault::tlog {
namespace {

constexpr char kEmDash[] = "\xe2\x80\x94";  // U+2014, starts a signature line
constexpr char kEd25519Type = 0x01;

}  // namespace

std::string NoteKeyHash(absl::string_view name, absl::string_view public_key) {
  return crypto::Sha256(
             absl::StrCat(name, "\n", std::string(1, kEd25519Type), public_key))
      .substr(0, 4);
}

std::string VerifierKey(absl::string_view name, absl::string_view public_key) {
  return absl::StrCat(
      name, "+", absl::BytesToHexString(NoteKeyHash(name, public_key)), "+",
      absl::Base64Escape(
          absl::StrCat(std::string(1, kEd25519Type), public_key)));
}

std::string CheckpointBody(const TreeHead& head) {
  return absl::StrCat(head.origin, "\n", head.size, "\n",
                      absl::Base64Escape(head.root_hash), "\n");
}

std::string SignCheckpoint(const TreeHead& head,
                           const crypto::SigningKey& key) {
  const std::string body = CheckpointBody(head);
  const std::string sig = key.Sign(body);
  return absl::StrCat(body, "\n", kEmDash, " ", head.origin, " ",
                      absl::Base64Escape(absl::StrCat(
                          NoteKeyHash(head.origin, key.public_key()), sig)),
                      "\n");
}

absl::StatusOr<TreeHead> OpenCheckpoint(absl::string_view note,
                                        absl::string_view verifier_key) {
  // Names hold no '+', but base64 may: split at the first two only.
  std::vector<std::string> key_parts =
      absl::StrSplit(verifier_key, absl::MaxSplits('+', 2));
  std::string key_bytes;
  if (key_parts.size() != 3 ||
      !absl::Base64Unescape(key_parts[2], &key_bytes) ||
      key_bytes.size() != 33 || key_bytes[0] != kEd25519Type) {
    return absl::InvalidArgumentError(
        "the log key is not a verifier key (NAME+HASH+BASE64)");
  }
  const std::string name = key_parts[0];
  const std::string public_key = key_bytes.substr(1);
  if (absl::BytesToHexString(NoteKeyHash(name, public_key)) != key_parts[1]) {
    return absl::InvalidArgumentError("the log key's hash does not match it");
  }
  const size_t split = note.find("\n\n");
  if (split == absl::string_view::npos) {
    return absl::DataLossError("checkpoint has no signature block");
  }
  const absl::string_view body = note.substr(0, split + 1);
  const absl::string_view sigs = note.substr(split + 2);
  bool verified = false;
  for (absl::string_view line : absl::StrSplit(sigs, '\n', absl::SkipEmpty())) {
    const std::string prefix = absl::StrCat(kEmDash, " ", name, " ");
    if (line.substr(0, prefix.size()) != prefix) continue;
    std::string blob;
    if (!absl::Base64Unescape(line.substr(prefix.size()), &blob) ||
        blob.size() != 4 + 64) {
      continue;
    }
    if (blob.substr(0, 4) != NoteKeyHash(name, public_key)) continue;
    if (crypto::VerifyEd25519(public_key, body, blob.substr(4)))
      verified = true;
  }
  if (!verified) {
    return absl::DataLossError(
        absl::StrCat("checkpoint is not signed by the log key '", name, "'"));
  }
  std::vector<std::string> lines = absl::StrSplit(body, '\n');
  TreeHead head;
  if (lines.size() < 4 || lines[0] != name ||
      !absl::SimpleAtoi(lines[1], &head.size) ||
      !absl::Base64Unescape(lines[2], &head.root_hash) ||
      head.root_hash.size() != 32) {
    return absl::DataLossError("checkpoint body is malformed");
  }
  head.origin = lines[0];
  return head;
}

}  // namespace lanevault::tlog
