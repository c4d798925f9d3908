#include "cmd/daemon_token.h"

#include <sys/stat.h>

#include <cstdio>
#include <memory>

#include "absl/strings/str_cat.h"
#include "cmd/daemon_unseal.h"
#include "common/files.h"
#include "common/logging.h"
#include "common/time_util.h"
#include "crypto/pkcs11_token.h"
#include "crypto/seal_file.h"
#include "crypto/token_seal.h"

namespace lanevault {
namespace {

constexpr char kDefaultKeyLabel[] = "lanevault-root";

bool Exists(const std::string& path) {
  struct stat st;
  return !path.empty() && stat(path.c_str(), &st) == 0;
}

crypto::Pkcs11TokenOptions TokenOptions(const v1::TokenConfig& config) {
  crypto::Pkcs11TokenOptions o;
  o.module = config.module();
  o.token_label = config.token_label();
  o.key_label =
      config.key_label().empty() ? kDefaultKeyLabel : config.key_label();
  return o;
}

absl::Status CheckConfigured(const v1::VaultConfig& vault) {
  const v1::TokenConfig& t = vault.token();
  if (t.module().empty() || t.token_label().empty() || t.seal_file().empty()) {
    return absl::FailedPreconditionError(
        "token mode needs vault { token { module, token_label, seal_file, "
        "pin_file (or --token_pin_fd) } } in the config");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<crypto::Pkcs11Token>> OpenToken(
    const v1::VaultConfig& vault, int pin_fd, bool create_key) {
  if (absl::Status s = CheckConfigured(vault); !s.ok()) return s;
  absl::StatusOr<crypto::SecureBytes> pin;
  if (pin_fd >= 0) {
    pin = crypto::ReadSecret(pin_fd);
  } else if (!vault.token().pin_file().empty()) {
    pin = crypto::ReadPinFile(vault.token().pin_file());
  } else {
    return absl::FailedPreconditionError(
        "the token's PIN comes from vault.token.pin_file or --token_pin_fd");
  }
  if (!pin.ok()) return pin.status();
  crypto::Pkcs11TokenOptions o = TokenOptions(vault.token());
  o.create_key = create_key;
  return crypto::Pkcs11Token::Open(o, *pin);  // the PIN is zeroed on return
}

}  // namespace

absl::Status InitToken(const v1::VaultConfig& vault, int pin_fd,
                       int shares_fd) {
  if (absl::Status s = CheckConfigured(vault); !s.ok()) return s;
  const std::string& path = vault.token().seal_file();
  if (Exists(path)) {
    return absl::AlreadyExistsError(absl::StrCat(
        path, " exists: the master key is already wrapped by a token"));
  }
  crypto::SecureBytes master;
  std::string from;
  if (Exists(vault.seal_file())) {
    if (shares_fd < 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          vault.seal_file(),
          " exists: give K of its shares, one a line, on --shares_fd, and "
          "the token will wrap the same master key"));
    }
    auto seal = crypto::ReadSealFile(vault.seal_file());
    if (!seal.ok()) return seal.status();
    auto key = crypto::UnsealFromFd(*seal, shares_fd);
    if (!key.ok()) return key.status();
    master = std::move(*key);
    from = "the shares' master key";
  } else if (Exists(vault.master_key())) {
    auto key = ReadMasterKeyFile(vault.master_key());
    if (!key.ok()) return key.status();
    master = std::move(*key);
    from = "the key file's master key";
  } else if (Exists(vault.database())) {
    return absl::FailedPreconditionError(absl::StrCat(
        vault.database(),
        " exists and its master key is in no key file or seal file: a new "
        "key could not open it"));
  } else {
    master = crypto::NewMasterKeyBytes();
    from = "a new master key";
  }
  auto token = OpenToken(vault, pin_fd, /*create_key=*/true);
  if (!token.ok()) return token.status();
  auto file = crypto::SealWithToken(**token, master);
  master = crypto::SecureBytes();
  if (!file.ok()) return file.status();
  if (absl::Status s = MakeParentDirectories(path); !s.ok()) return s;
  if (absl::Status s = crypto::WriteTokenSealFile(path, *file); !s.ok()) {
    return s;
  }
  spdlog::warn("token seal: {} wraps {} under key '{}' of token '{}'{}", path,
               from, file->key_label(), file->token_label(),
               (*token)->created_key() ? " (key made in the token now)" : "");
  std::printf(
      "created token seal file %s around %s: the daemon now opens the vault "
      "with token '%s'\n",
      path.c_str(), from.c_str(), file->token_label().c_str());
  if (from == "the key file's master key") {
    std::printf(
        "\nSHRED THAT FILE NOW (shred -u %s) and remove vault.master_key "
        "from the config: while it exists, anyone who reads it opens the "
        "vault without the token.\n",
        vault.master_key().c_str());
  }
  return absl::OkStatus();
}

absl::StatusOr<crypto::SecureBytes> OpenMasterKeyWithToken(
    const v1::VaultConfig& vault, int pin_fd) {
  if (absl::Status s = CheckConfigured(vault); !s.ok()) return s;
  auto file = crypto::ReadTokenSealFile(vault.token().seal_file());
  if (!file.ok()) {
    return absl::Status(
        file.status().code(),
        absl::StrCat(file.status().message(),
                     absl::IsNotFound(file.status())
                         ? " (make it with lanevaultd --init_token)"
                         : ""));
  }
  auto token = OpenToken(vault, pin_fd, /*create_key=*/false);
  if (!token.ok()) return token.status();
  return crypto::OpenWithToken(**token, *file);
}

absl::Status LogTokenOpen(vault::Vault& vault, const v1::TokenConfig& token) {
  v1::AuditEntry e;
  *e.mutable_time() = ToProto(vault.clock()->Now());
  e.set_principal("system");
  e.set_action(v1::ACTION_MANAGE_CONTRACT);
  e.set_verdict(v1::VERDICT_ALLOW);
  e.set_reason_code("unsealed");
  e.set_detail(absl::StrCat(
      "by PKCS#11 token '", token.token_label(), "' key '",
      token.key_label().empty() ? kDefaultKeyLabel : token.key_label(), "'"));
  if (auto seq = vault.log().Append(std::move(e)); !seq.ok()) {
    return seq.status();
  }
  spdlog::info("access log: the token open is on record");
  return absl::OkStatus();
}

}  // namespace lanevault
