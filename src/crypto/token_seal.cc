#include "crypto/token_seal.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/config.h"
#include "common/files.h"
#include "google/protobuf/text_format.h"

namespace lanevault::crypto {
namespace {

constexpr size_t kMasterKeyBytes = 32;

std::string AssociatedData(const v1::TokenSealFile& file) {
  return absl::StrCat("lanevault token seal v", file.format(), "\n",
                      file.token_label(), "\n", file.key_label(), "\n");
}

}  // namespace

absl::StatusOr<v1::TokenSealFile> SealWithToken(Pkcs11Token& token,
                                                const SecureBytes& master_key) {
  if (master_key.size() != kMasterKeyBytes) {
    return absl::InvalidArgumentError("the master key is 32 bytes");
  }
  v1::TokenSealFile file;
  file.set_format(1);
  file.set_token_label(token.options().token_label);
  file.set_key_label(token.options().key_label);
  auto wrapped = token.Wrap(master_key, AssociatedData(file));
  if (!wrapped.ok()) return wrapped.status();
  file.set_wrapped_master_key(*wrapped);
  file.set_created(
      absl::FormatTime(absl::RFC3339_sec, absl::Now(), absl::UTCTimeZone()));
  return file;
}

absl::StatusOr<SecureBytes> OpenWithToken(Pkcs11Token& token,
                                          const v1::TokenSealFile& file) {
  if (file.token_label() != token.options().token_label ||
      file.key_label() != token.options().key_label) {
    return absl::FailedPreconditionError(
        absl::StrCat("the token seal file was made by key '", file.key_label(),
                     "' on token '", file.token_label(), "', not key '",
                     token.options().key_label, "' on token '",
                     token.options().token_label, "' as configured"));
  }
  auto key = token.Unwrap(file.wrapped_master_key(), AssociatedData(file));
  if (!key.ok()) return key.status();
  if (key->size() != kMasterKeyBytes) {
    return absl::DataLossError("the token opened something not a master key");
  }
  return key;
}

absl::Status WriteTokenSealFile(const std::string& path,
                                const v1::TokenSealFile& file) {
  std::string text;
  if (!google::protobuf::TextFormat::PrintToString(file, &text)) {
    return absl::InternalError("cannot print the token seal file");
  }
  text = absl::StrCat(
      "# lanevault token seal file: the master key wrapped inside a PKCS#11\n"
      "# token by its root key. Without that token it opens nothing.\n",
      text);
  return WriteFileDurably(path, text, 0600);
}

absl::StatusOr<v1::TokenSealFile> ReadTokenSealFile(const std::string& path) {
  auto text = ReadFileToString(path);
  if (!text.ok()) return text.status();
  v1::TokenSealFile file;
  if (absl::Status s = ParseTextProto(*text, path, &file); !s.ok()) {
    return absl::DataLossError(s.message());
  }
  if (file.format() != 1 || file.token_label().empty() ||
      file.key_label().empty() || file.wrapped_master_key().empty()) {
    return absl::DataLossError(absl::StrCat(
        path,
        ": not a token seal file of format 1 with both labels and a "
        "wrapped key"));
  }
  return file;
}

}  // namespace lanevault::crypto
