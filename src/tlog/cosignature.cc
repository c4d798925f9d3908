#include "tlog/cosignature.h"

#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "crypto/digest.h"

namespace lanevault::tlog {
namespace {

constexpr char kEmDash[] = "\xe2\x80\x94";  // U+2014, starts a signature line
// The signed-note signature type of an Ed25519 cosignature/v1 key: it keeps
// a witness's key ID apart from the same key used to sign a note itself.
constexpr char kCosignatureV1Type = 0x04;
constexpr size_t kKeyIdBytes = 4;
constexpr size_t kTimestampBytes = 8;
constexpr size_t kSignatureBytes = 64;

std::string BigEndian64(uint64_t v) {
  std::string out(kTimestampBytes, '\0');
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return out;
}

uint64_t FromBigEndian64(absl::string_view b) {
  uint64_t v = 0;
  for (char c : b) v = (v << 8) | static_cast<unsigned char>(c);
  return v;
}

}  // namespace

std::string CosignerKeyId(absl::string_view name,
                          absl::string_view public_key) {
  return crypto::Sha256(absl::StrCat(name, "\n",
                                     std::string(1, kCosignatureV1Type),
                                     public_key))
      .substr(0, kKeyIdBytes);
}

std::string CosignerVerifierKey(absl::string_view name,
                                absl::string_view public_key) {
  return absl::StrCat(
      name, "+", absl::BytesToHexString(CosignerKeyId(name, public_key)), "+",
      absl::Base64Escape(
          absl::StrCat(std::string(1, kCosignatureV1Type), public_key)));
}

absl::StatusOr<Cosigner> ParseCosignerVerifierKey(absl::string_view vkey) {
  // Names hold no '+', but base64 may: split at the first two only.
  std::vector<std::string> parts =
      absl::StrSplit(vkey, absl::MaxSplits('+', 2));
  std::string key_bytes;
  if (parts.size() != 3 || parts[0].empty() ||
      !absl::Base64Unescape(parts[2], &key_bytes) || key_bytes.size() != 33) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", vkey, "' is not a witness verifier key (NAME+HASH+BASE64)"));
  }
  if (key_bytes[0] != kCosignatureV1Type) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", parts[0], "' is not a cosignature/v1 key (type byte ",
                     static_cast<int>(static_cast<unsigned char>(key_bytes[0])),
                     ", want 4): a log's own key cannot cosign"));
  }
  Cosigner c{parts[0], key_bytes.substr(1)};
  if (absl::BytesToHexString(CosignerKeyId(c.name, c.public_key)) != parts[1]) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the key hash of witness key '", c.name, "' does not match it"));
  }
  return c;
}

std::string CosignedMessage(absl::string_view checkpoint_body,
                            uint64_t timestamp) {
  return absl::StrCat("cosignature/v1\ntime ", timestamp, "\n",
                      checkpoint_body);
}

std::string Cosign(absl::string_view checkpoint_body, uint64_t timestamp,
                   absl::string_view name, const crypto::SigningKey& key) {
  const std::string sig = key.Sign(CosignedMessage(checkpoint_body, timestamp));
  return absl::StrCat(
      kEmDash, " ", name, " ",
      absl::Base64Escape(absl::StrCat(CosignerKeyId(name, key.public_key()),
                                      BigEndian64(timestamp), sig)),
      "\n");
}

absl::StatusOr<std::string> NoteBody(absl::string_view note) {
  const size_t split = note.find("\n\n");
  if (split == absl::string_view::npos) {
    return absl::DataLossError("the note has no signature block");
  }
  return std::string(note.substr(0, split + 1));
}

std::vector<std::string> NoteSignatureLines(absl::string_view note) {
  const size_t split = note.find("\n\n");
  if (split == absl::string_view::npos) return {};
  return absl::StrSplit(note.substr(split + 2), '\n', absl::SkipEmpty());
}

absl::StatusOr<std::vector<VerifiedCosignature>> VerifyCosignatures(
    absl::string_view note, const std::vector<Cosigner>& trusted) {
  absl::StatusOr<std::string> body = NoteBody(note);
  if (!body.ok()) return body.status();
  std::vector<VerifiedCosignature> out;
  std::set<std::string> seen;  // one vote per key, however many lines
  for (const std::string& line : NoteSignatureLines(note)) {
    for (const Cosigner& c : trusted) {
      const std::string prefix = absl::StrCat(kEmDash, " ", c.name, " ");
      if (line.compare(0, prefix.size(), prefix) != 0) continue;
      std::string blob;
      if (!absl::Base64Unescape(absl::string_view(line).substr(prefix.size()),
                                &blob) ||
          blob.size() != kKeyIdBytes + kTimestampBytes + kSignatureBytes ||
          blob.substr(0, kKeyIdBytes) != CosignerKeyId(c.name, c.public_key)) {
        continue;
      }
      const uint64_t timestamp =
          FromBigEndian64(absl::string_view(blob).substr(kKeyIdBytes, 8));
      if (timestamp > (uint64_t{1} << 63) - 1) continue;  // the spec's bound
      if (!crypto::VerifyEd25519(c.public_key,
                                 CosignedMessage(*body, timestamp),
                                 blob.substr(kKeyIdBytes + kTimestampBytes))) {
        continue;
      }
      const std::string id = c.name + "\n" + c.public_key;
      if (seen.insert(id).second) out.push_back({c.name, timestamp});
    }
  }
  return out;
}

}  // namespace lanevault::tlog
