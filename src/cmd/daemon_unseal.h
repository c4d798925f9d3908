#ifndef LANEVAULT_CMD_DAEMON_UNSEAL_H_
#define LANEVAULT_CMD_DAEMON_UNSEAL_H_

// lanevaultd's unseal mode outside the server: making the seal file and
// its shares (--init_unseal), replacing them (--rekey_unseal), who counts as
// an officer while the vault is sealed, and the access-log entries for the
// shares once it is open.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cmd/sealed_server.h"
#include "crypto/secure_bytes.h"
#include "lanevault/v1/config.pb.h"
#include "policy/policy.h"
#include "vault/vault.h"

namespace lanevault {

// A development key file's 32 bytes, straight into guarded memory
// (FAILED_PRECONDITION unless only its owner may read it).
absl::StatusOr<crypto::SecureBytes> ReadMasterKeyFile(const std::string& path);

// "K/N" (e.g. "3/5"); INVALID_ARGUMENT otherwise.
absl::StatusOr<std::pair<int, int>> ParseThreshold(absl::string_view text);

// Makes the seal file named by `vault.seal_file` (ALREADY_EXISTS if there
// is one) around a new random master key or, when `vault.master_key` names
// an existing key file, around that file's key (a vault moving out of
// key-file mode; the operator is told to shred the file). Refuses to make a
// new key beside an existing database, which it could never open. The N
// shares go to `share_dir` (one 0600 file each, for the demo and tests) or,
// when it is empty, to standard output, once.
absl::Status InitUnseal(const v1::VaultConfig& vault, absl::string_view k_of_n,
                        const std::string& share_dir);

// Re-key without downtime: K current shares, one a line from `shares_fd`,
// open the master key; it is sealed afresh K'-of-N' (`k_of_n`) and the seal
// file replaced atomically. A running daemon keeps serving (it holds the
// key already); the old shares open nothing from then on.
absl::Status RekeyUnseal(const v1::VaultConfig& vault, absl::string_view k_of_n,
                         const std::string& share_dir, int shares_fd);

// Who may give a share while sealed: the contract of the config's signed
// file (checked against the trusted keys), or the built-in development
// contract with `dev_builtin_policy` and no contract configured.
absl::StatusOr<std::unique_ptr<policy::Policy>> OfficerPolicy(
    const v1::ContractConfig& config, bool dev_builtin_policy);

// Writes each share given (or refused) while sealed and the unseal itself
// into the access log (ACTION_MANAGE_CONTRACT, reason codes
// "unseal_share", "unseal_share_refused", "unsealed"). An error means the
// unseal is not on record, and the daemon must not serve.
[[nodiscard]] absl::Status LogUnseal(vault::Vault& vault,
                                     const std::vector<ShareEvent>& events,
                                     const v1::SealFile& seal,
                                     absl::string_view how);

// Notices, once a second from the daemon's watch thread, a rekey made while
// it serves (lanevaultd --rekey_unseal is another process, which cannot
// write the vault's log): a new set in the seal file is logged with reason
// code "unseal_rekeyed", and a seal file that no longer reads raises a
// critical log line (the next start would stay sealed).
class SealWatch {
 public:
  // `path` empty: nothing to watch (not in unseal mode).
  SealWatch(std::string path, const v1::SealFile& current)
      : path_(std::move(path)), last_(current) {}
  void Check(vault::Vault& vault);

 private:
  const std::string path_;
  v1::SealFile last_;
  bool unreadable_ = false;
};

}  // namespace lanevault

#endif  // LANEVAULT_CMD_DAEMON_UNSEAL_H_
