#include "cmd/daemon_unseal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "cmd/daemon_contract.h"
#include "common/file_lock.h"
#include "common/files.h"
#include "common/logging.h"
#include "common/time_util.h"
#include "crypto/seal_file.h"

namespace lanevault {
namespace {

bool Exists(const std::string& path) {
  struct stat st;
  return !path.empty() && stat(path.c_str(), &st) == 0;
}

// The shares, each once: to one 0600 file each in `share_dir` (made 0700),
// or to standard output.
absl::Status HandOutShares(const crypto::NewSeal& seal,
                           const std::string& share_dir) {
  const int n = seal.file.shares();
  if (share_dir.empty()) {
    std::printf(
        "\nThe %d shares of set %s (any %d unseal). Each goes to one "
        "compliance officer, who keeps it offline; they are shown this "
        "once and kept nowhere:\n\n",
        n, seal.file.set_id().c_str(), seal.file.threshold());
    for (const crypto::SecureBytes& share : seal.shares) {
      std::fwrite(share.data(), 1, share.size(), stdout);
      std::fputc('\n', stdout);
    }
    std::fflush(stdout);
    return absl::OkStatus();
  }
  if (absl::Status s = MakeDirectories(share_dir); !s.ok()) return s;
  if (chmod(share_dir.c_str(), 0700) != 0) {
    return absl::InternalError(
        absl::StrCat("cannot make ", share_dir, " private"));
  }
  for (int i = 0; i < n; ++i) {
    const std::string path =
        absl::StrCat(share_dir, "/share-", i + 1, "-of-", n);
    // One line, so that shares cat'ed together feed --shares_fd.
    const crypto::SecureBytes& share = seal.shares[i];
    crypto::SecureBytes line(share.size() + 1);
    std::memcpy(line.data(), share.data(), share.size());
    line.data()[share.size()] = '\n';
    if (absl::Status s = WriteFileAtomically(path, line.view(), 0600);
        !s.ok()) {
      return s;
    }
  }
  std::printf(
      "wrote the %d shares of set %s (any %d unseal) to %s/share-I-of-%d "
      "(0600): hand each to one compliance officer and delete it here\n",
      n, seal.file.set_id().c_str(), seal.file.threshold(), share_dir.c_str(),
      n);
  return SyncDirectory(share_dir);
}

}  // namespace

absl::StatusOr<crypto::SecureBytes> ReadMasterKeyFile(const std::string& path) {
  absl::StatusOr<int> opened = OpenPrivateFile(path);
  if (!opened.ok()) return opened.status();
  const int fd = *opened;
  crypto::SecureBytes key(32);
  uint8_t extra = 0;
  const ssize_t got = read(fd, key.data(), key.size());
  const ssize_t more = read(fd, &extra, 1);
  close(fd);
  if (got != 32 || more != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is not a 32-byte master key file"));
  }
  return key;
}

absl::StatusOr<std::pair<int, int>> ParseThreshold(absl::string_view text) {
  const std::vector<absl::string_view> parts = absl::StrSplit(text, '/');
  int k = 0;
  int n = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &k) ||
      !absl::SimpleAtoi(parts[1], &n) || k < 2 || n < k || n > 255) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", text, "' is not K/N with 2 <= K <= N <= 255 (e.g. 3/5)"));
  }
  return std::make_pair(k, n);
}

absl::Status InitUnseal(const v1::VaultConfig& vault, absl::string_view k_of_n,
                        const std::string& share_dir) {
  auto kn = ParseThreshold(k_of_n);
  if (!kn.ok()) return kn.status();
  if (vault.seal_file().empty()) {
    return absl::FailedPreconditionError(
        "--init_unseal needs vault { seal_file: ... } in the config");
  }
  if (Exists(vault.seal_file())) {
    return absl::AlreadyExistsError(absl::StrCat(
        vault.seal_file(),
        " exists: the vault is already sealed (to change the shares, "
        "--rekey_unseal)"));
  }
  crypto::SecureBytes master;
  const bool migrating = Exists(vault.master_key());
  if (migrating) {
    auto key = ReadMasterKeyFile(vault.master_key());
    if (!key.ok()) return key.status();
    master = std::move(*key);
  } else if (Exists(vault.database())) {
    return absl::FailedPreconditionError(absl::StrCat(
        vault.database(),
        " exists and its master key is in no key file: a new key could not "
        "open it (a passphrase vault stays in passphrase mode)"));
  } else {
    master = crypto::NewMasterKeyBytes();
  }
  auto seal = crypto::SealMasterKey(master, kn->first, kn->second);
  master = crypto::SecureBytes();
  if (!seal.ok()) return seal.status();
  if (absl::Status s = MakeParentDirectories(vault.seal_file()); !s.ok()) {
    return s;
  }
  // The shares are handed out before the seal file exists: a failure here
  // leaves no vault whose shares nobody has.
  if (absl::Status s = HandOutShares(*seal, share_dir); !s.ok()) return s;
  if (absl::Status s = crypto::WriteSealFile(vault.seal_file(), seal->file);
      !s.ok()) {
    return s;
  }
  spdlog::warn("sealed: {} ({} of {}, set {}){}", vault.seal_file(), kn->first,
               kn->second, seal->file.set_id(),
               migrating ? ", around the key file's master key" : "");
  std::printf("created seal file %s: the daemon now starts sealed\n",
              vault.seal_file().c_str());
  if (migrating) {
    std::printf(
        "\nThe master key of %s is now sealed. SHRED THAT FILE NOW (shred -u "
        "%s) and remove vault.master_key from the config: while it exists, "
        "anyone who reads it opens the vault without a single share.\n",
        vault.master_key().c_str(), vault.master_key().c_str());
  }
  return absl::OkStatus();
}

absl::Status RekeyUnseal(const v1::VaultConfig& vault, absl::string_view k_of_n,
                         const std::string& share_dir, int shares_fd) {
  auto kn = ParseThreshold(k_of_n);
  if (!kn.ok()) return kn.status();
  if (vault.seal_file().empty()) {
    return absl::FailedPreconditionError(
        "--rekey_unseal needs vault { seal_file: ... } in the config");
  }
  // Two rekeys at once would each hand out shares, and only the last
  // seal file would count.
  auto lock = FileLock::Acquire(vault.seal_file() + ".rekey");
  if (!lock.ok()) return lock.status();
  auto current = crypto::ReadSealFile(vault.seal_file());
  if (!current.ok()) return current.status();
  std::fprintf(stderr,
               "rekey: give %d shares of set %s, one a line, then the new "
               "%d-of-%d shares are made\n",
               current->threshold(), current->set_id().c_str(), kn->first,
               kn->second);
  auto master = crypto::UnsealFromFd(*current, shares_fd);
  if (!master.ok()) return master.status();
  auto seal = crypto::SealMasterKey(*master, kn->first, kn->second);
  *master = crypto::SecureBytes();
  if (!seal.ok()) return seal.status();
  if (absl::Status s = HandOutShares(*seal, share_dir); !s.ok()) return s;
  if (absl::Status s = crypto::WriteSealFile(vault.seal_file(), seal->file);
      !s.ok()) {
    return s;
  }
  spdlog::warn(
      "rekeyed: {} now holds set {} ({} of {}); the shares of set {} open "
      "nothing from now on",
      vault.seal_file(), seal->file.set_id(), kn->first, kn->second,
      current->set_id());
  std::printf("rekeyed: set %s replaced by set %s; the old shares are void\n",
              current->set_id().c_str(), seal->file.set_id().c_str());
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<policy::Policy>> OfficerPolicy(
    const v1::ContractConfig& config, bool dev_builtin_policy) {
  if (config.signed_contract().empty()) {
    if (!dev_builtin_policy) {
      return absl::FailedPreconditionError(
          "no contract configured: while sealed, only principals a signed "
          "contract binds to the compliance role may give shares");
    }
    return policy::NewBuiltinPolicy();
  }
  auto trusted = TrustedKeys(config);
  if (!trusted.ok()) return trusted.status();
  return policy::LoadSignedContract(config.signed_contract(), *trusted,
                                    RequiredSignatures(config));
}

absl::Status LogUnseal(vault::Vault& vault,
                       const std::vector<ShareEvent>& events,
                       const v1::SealFile& seal, absl::string_view how) {
  std::vector<std::string> officers;
  std::vector<int> indexes;
  for (const ShareEvent& event : events) {
    v1::AuditEntry e;
    *e.mutable_time() = ToProto(event.time);
    e.set_principal(event.principal.empty() ? "unauthenticated"
                                            : event.principal);
    if (!event.principal.empty()) e.set_role("compliance");
    e.set_action(v1::ACTION_MANAGE_CONTRACT);
    e.set_method("/lanevault.v1.UnsealService/SubmitShare");
    e.set_verdict(event.accepted ? v1::VERDICT_ALLOW : v1::VERDICT_DENY);
    e.set_reason_code(event.accepted ? "unseal_share" : "unseal_share_refused");
    e.set_detail(event.accepted ? absl::StrCat("share ", event.index,
                                               " of set ", seal.set_id())
                                : event.reason);
    if (event.accepted) {
      officers.push_back(event.principal);
      indexes.push_back(event.index);
    }
    if (auto seq = vault.log().Append(std::move(e)); !seq.ok()) {
      return seq.status();
    }
  }
  v1::AuditEntry e;
  *e.mutable_time() = ToProto(vault.clock()->Now());
  e.set_principal("system");
  e.set_action(v1::ACTION_MANAGE_CONTRACT);
  e.set_verdict(v1::VERDICT_ALLOW);
  e.set_reason_code("unsealed");
  e.set_detail(officers.empty()
                   ? absl::StrCat("set ", seal.set_id(), " (", seal.threshold(),
                                  " of ", seal.shares(), ") ", how)
                   : absl::StrCat("set ", seal.set_id(), " (", seal.threshold(),
                                  " of ", seal.shares(), ") by ",
                                  absl::StrJoin(officers, ","), " with shares ",
                                  absl::StrJoin(indexes, ",")));
  if (auto seq = vault.log().Append(std::move(e)); !seq.ok()) {
    return seq.status();
  }
  spdlog::info("access log: the unseal is on record");
  return absl::OkStatus();
}

void SealWatch::Check(vault::Vault& vault) {
  if (path_.empty()) return;
  auto now = crypto::ReadSealFile(path_);
  if (!now.ok()) {
    if (!unreadable_) {
      spdlog::critical(
          "the seal file no longer reads ({}): the next start cannot be "
          "unsealed until it is restored",
          now.status().message());
    }
    unreadable_ = true;
    return;
  }
  unreadable_ = false;
  if (now->set_id() == last_.set_id()) return;
  v1::AuditEntry e;
  *e.mutable_time() = ToProto(vault.clock()->Now());
  e.set_principal("system");
  e.set_action(v1::ACTION_MANAGE_CONTRACT);
  e.set_verdict(v1::VERDICT_ALLOW);
  e.set_reason_code("unseal_rekeyed");
  e.set_detail(absl::StrCat("set ", last_.set_id(), " (", last_.threshold(),
                            " of ", last_.shares(), ") replaced by set ",
                            now->set_id(), " (", now->threshold(), " of ",
                            now->shares(), ")"));
  spdlog::warn("unseal: {}", e.detail());
  if (auto seq = vault.log().Append(std::move(e)); !seq.ok()) {
    spdlog::error("cannot log the rekey (tried again in a second): {}",
                  seq.status().message());
    return;
  }
  last_ = std::move(*now);
}

}  // namespace lanevault
