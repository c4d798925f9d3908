#include "crypto/seal_file.h"

#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/config.h"
#include "common/files.h"
#include "crypto/aead.h"
#include "crypto/shamir.h"
#include "google/protobuf/text_format.h"

namespace lanevault::crypto {
namespace {

constexpr char kSharePrefix[] = "lvshare1";
constexpr size_t kKeyBytes = 32;
constexpr size_t kCheckBytes = 4;

std::string Hex(absl::string_view bytes) {
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(),
                 reinterpret_cast<const unsigned char*>(bytes.data()),
                 bytes.size());
  out.pop_back();
  return out;
}

// Check digits over everything before them: a changed, dropped or swapped
// character is caught with probability 1 - 2^-32.
std::string CheckDigits(absl::string_view text) {
  unsigned char digest[kCheckBytes];
  crypto_generichash(digest, sizeof digest,
                     reinterpret_cast<const unsigned char*>(text.data()),
                     text.size(), nullptr, 0);
  return Hex({reinterpret_cast<const char*>(digest), sizeof digest});
}

// What the seal file keeps of a share: a 256-bit digest under the set, so it
// names a wrong share but gives nothing towards guessing a right one.
std::string ShareDigest(absl::string_view set_id, int index,
                        const SecureBytes& value) {
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, 32);
  const std::string head =
      absl::StrCat("lanevault share digest v1\n", set_id, "\n", index, "\n");
  crypto_generichash_update(
      &state, reinterpret_cast<const unsigned char*>(head.data()), head.size());
  crypto_generichash_update(&state, value.data(), value.size());
  std::string out(32, '\0');
  crypto_generichash_final(&state, reinterpret_cast<unsigned char*>(out.data()),
                           out.size());
  return out;
}

// Binds the wrapped key to this file's format, set, K, N and digests, so
// none of them can be swapped under it.
std::string AssociatedData(const v1::SealFile& file) {
  std::string ad =
      absl::StrCat("lanevault seal file v", file.format(), "\n", file.set_id(),
                   "\n", file.threshold(), "/", file.shares(), "\n");
  for (const std::string& d : file.share_digests()) absl::StrAppend(&ad, d);
  return ad;
}

absl::Status CheckConsistent(const v1::SealFile& file) {
  if (file.format() != 1) {
    return absl::DataLossError(
        absl::StrCat("seal file format ", file.format(), " is not known"));
  }
  if (file.threshold() < 2 || file.shares() < file.threshold() ||
      file.shares() > 255 || file.share_digests_size() != file.shares() ||
      file.set_id().size() != 8 || file.wrapped_master_key().empty()) {
    return absl::DataLossError("seal file is inconsistent (K, N or digests)");
  }
  // Each is compared over its full length when a share is given.
  for (const std::string& digest : file.share_digests()) {
    if (digest.size() != crypto_generichash_BYTES) {
      return absl::DataLossError(
          "seal file has a share digest of the wrong "
          "length");
    }
  }
  return absl::OkStatus();
}

}  // namespace

namespace internal {

SecureBytes EncodeShare(const v1::SealFile& file, int index,
                        const SecureBytes& value) {
  const std::string head =
      absl::StrCat(kSharePrefix, "-", file.threshold(), "of", file.shares(),
                   "-", index, "-", file.set_id(), "-");
  const size_t body = value.size() * 2;
  SecureBytes text(head.size() + body + 1 + kCheckBytes * 2);
  std::copy(head.begin(), head.end(), text.data());
  SecureBytes hex(body + 1);
  sodium_bin2hex(reinterpret_cast<char*>(hex.data()), hex.size(), value.data(),
                 value.size());
  std::copy(hex.data(), hex.data() + body, text.data() + head.size());
  text.data()[head.size() + body] = '-';
  const std::string check =
      CheckDigits(text.view().substr(0, head.size() + body + 1));
  std::copy(check.begin(), check.end(), text.data() + head.size() + body + 1);
  return text;
}

}  // namespace internal

absl::StatusOr<NewSeal> SealMasterKey(const SecureBytes& master_key, int k,
                                      int n) {
  if (master_key.size() != kKeyBytes) {
    return absl::InvalidArgumentError("a master key is 32 bytes");
  }
  if (absl::Status s = InitCrypto(); !s.ok()) return s;
  SecureBytes unseal_key(kKeyBytes);
  randombytes_buf(unseal_key.data(), unseal_key.size());
  auto split = ShamirSplit(unseal_key, k, n);
  if (!split.ok()) return split.status();
  NewSeal seal;
  unsigned char set[4];
  randombytes_buf(set, sizeof set);
  seal.file.set_format(1);
  seal.file.set_set_id(Hex({reinterpret_cast<const char*>(set), sizeof set}));
  seal.file.set_threshold(k);
  seal.file.set_shares(n);
  seal.file.set_created(
      absl::FormatTime(absl::RFC3339_sec, absl::Now(), absl::UTCTimeZone()));
  for (const SecretShare& share : *split) {
    seal.file.add_share_digests(
        ShareDigest(seal.file.set_id(), share.index, share.value));
  }
  seal.file.set_wrapped_master_key(internal::AeadEncrypt(
      unseal_key, master_key.view(), AssociatedData(seal.file)));
  for (const SecretShare& share : *split) {
    seal.shares.push_back(
        internal::EncodeShare(seal.file, share.index, share.value));
  }
  return seal;  // unseal_key and the raw shares are zeroed on the way out
}

SecureBytes NewMasterKeyBytes() {
  if (!InitCrypto().ok()) std::abort();  // no randomness: nothing is safe
  SecureBytes key(kKeyBytes);
  randombytes_buf(key.data(), key.size());
  return key;
}

absl::Status WriteSealFile(const std::string& path, const v1::SealFile& file) {
  std::string text;
  if (!google::protobuf::TextFormat::PrintToString(file, &text)) {
    return absl::InternalError("cannot print the seal file");
  }
  text = absl::StrCat(
      "# lanevault seal file: the master key wrapped by the unseal key that\n"
      "# K of N officers' shares put together. Nothing here is secret.\n",
      text);
  return WriteFileDurably(path, text, 0600);
}

absl::StatusOr<v1::SealFile> ReadSealFile(const std::string& path) {
  auto text = ReadFileToString(path);
  if (!text.ok()) return text.status();
  v1::SealFile file;
  if (absl::Status s = ParseTextProto(*text, path, &file); !s.ok()) {
    return absl::DataLossError(s.message());
  }
  if (absl::Status s = CheckConsistent(file); !s.ok()) {
    return absl::DataLossError(absl::StrCat(path, ": ", s.message()));
  }
  return file;
}

absl::StatusOr<int> Unsealer::Add(absl::string_view share_text) {
  const absl::string_view text = absl::StripAsciiWhitespace(share_text);
  const size_t last = text.rfind('-');
  if (!absl::StartsWith(text, absl::StrCat(kSharePrefix, "-")) ||
      last == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        "not a lanevault share (they start 'lvshare1-')");
  }
  if (absl::AsciiStrToLower(text.substr(last + 1)) !=
      CheckDigits(text.substr(0, last + 1))) {
    return absl::InvalidArgumentError(
        "the share's check digits do not match: a character is wrong or "
        "missing (typo?); nothing was combined");
  }
  const std::vector<absl::string_view> parts = absl::StrSplit(text, '-');
  int index = 0;
  if (parts.size() != 6 || !absl::SimpleAtoi(parts[2], &index)) {
    return absl::InvalidArgumentError("malformed share");
  }
  if (parts[3] != file_.set_id() ||
      parts[1] != absl::StrCat(file_.threshold(), "of", file_.shares())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "share ", index, " is of set ", parts[3], " (", parts[1],
        "), not of this seal's set ", file_.set_id(), " (", file_.threshold(),
        "of", file_.shares(), "): a share from before a rekey?"));
  }
  if (index < 1 || index > file_.shares()) {
    return absl::InvalidArgumentError(
        absl::StrCat("share index ", index, " is not in 1..", file_.shares()));
  }
  SecureBytes value(kKeyBytes);
  size_t decoded = 0;
  if (sodium_hex2bin(value.data(), value.size(), parts[4].data(),
                     parts[4].size(), nullptr, &decoded, nullptr) != 0 ||
      decoded != kKeyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("share ", index, ": its body is not 64 hex digits"));
  }
  if (sodium_memcmp(ShareDigest(file_.set_id(), index, value).data(),
                    file_.share_digests(index - 1).data(), 32) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("share ", index, " is not the share ", index, " of set ",
                     file_.set_id(),
                     " (its check digits match, so it was altered, or "
                     "forged, whole)"));
  }
  for (const auto& [given, unused] : shares_) {
    if (given == index) {
      return absl::AlreadyExistsError(
          absl::StrCat("share ", index, " was already given"));
    }
  }
  shares_.emplace_back(index, std::move(value));
  return index;
}

std::vector<int> Unsealer::indexes() const {
  std::vector<int> out;
  for (const auto& [index, unused] : shares_) out.push_back(index);
  return out;
}

absl::StatusOr<SecureBytes> Unsealer::Open() {
  std::vector<SecretShare> shares;
  for (auto& [index, value] : shares_) {
    shares.push_back({static_cast<uint8_t>(index), std::move(value)});
  }
  shares_.clear();
  if (static_cast<int>(shares.size()) < file_.threshold()) {
    return absl::FailedPreconditionError(
        absl::StrCat(shares.size(), " of ", file_.threshold(),
                     " shares: not enough to unseal"));
  }
  auto unseal_key = ShamirCombine(shares);
  if (!unseal_key.ok()) return unseal_key.status();
  auto master = internal::AeadDecrypt(*unseal_key, file_.wrapped_master_key(),
                                      AssociatedData(file_), "master key");
  if (!master.ok()) {
    return absl::DataLossError(
        "the shares do not open the seal file's master key: the seal file is "
        "damaged or was replaced");
  }
  if (master->size() != kKeyBytes) {
    return absl::DataLossError("the sealed master key is not 32 bytes");
  }
  return master;
}

absl::StatusOr<SecureBytes> UnsealFromFd(const v1::SealFile& file, int fd) {
  Unsealer unsealer(file);
  SecureBytes line(512);
  size_t used = 0;
  int line_number = 0;
  while (!unsealer.ready()) {
    char c = 0;
    const ssize_t got = read(fd, &c, 1);
    if (got < 0 && errno == EINTR) continue;
    const bool end = got <= 0;
    if (!end && c != '\n') {
      if (used == line.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat("line ", line_number + 1, " is too long for a share"));
      }
      line.data()[used++] = static_cast<uint8_t>(c);
      continue;
    }
    ++line_number;
    const absl::string_view text =
        absl::StripAsciiWhitespace(line.view().substr(0, used));
    if (!text.empty()) {
      if (auto added = unsealer.Add(text); !added.ok()) {
        return absl::Status(
            added.status().code(),
            absl::StrCat("line ", line_number, ": ", added.status().message()));
      }
    }
    sodium_memzero(line.data(), used);
    used = 0;
    if (end && !unsealer.ready()) {
      return absl::InvalidArgumentError(
          absl::StrCat("input ended after ", unsealer.given(), " of ",
                       file.threshold(), " good shares"));
    }
  }
  return unsealer.Open();
}

}  // namespace lanevault::crypto
