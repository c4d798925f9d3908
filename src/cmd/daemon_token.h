#ifndef LANEVAULT_CMD_DAEMON_TOKEN_H_
#define LANEVAULT_CMD_DAEMON_TOKEN_H_

// lanevaultd's token mode: a PKCS#11 token's root key wraps the master key
// (vault.token.seal_file), and the daemon opens it at start with no one
// present. --init_token makes that file; the access log records each open.

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/secure_bytes.h"
#include "lanevault/v1/config.pb.h"
#include "vault/vault.h"

namespace lanevault {

// Wraps the master key under the token's root key (made in the token when
// it has none of that label) into vault.token.seal_file; ALREADY_EXISTS if
// that file exists. The master key comes from K shares on `shares_fd` when
// vault.seal_file exists (shares-or-token), from the key file vault.master_key
// (a vault leaving key-file mode), or is new for a vault with no database.
// The PIN is read from `pin_fd` when >= 0, else from token.pin_file.
absl::Status InitToken(const v1::VaultConfig& vault, int pin_fd, int shares_fd);

// The master key, opened by the configured token. Errors name the token
// call that failed (module, token, PIN, key, or a key that does not open
// the file).
absl::StatusOr<crypto::SecureBytes> OpenMasterKeyWithToken(
    const v1::VaultConfig& vault, int pin_fd);

// Records in the access log that the token opened the vault (reason code
// "unsealed", detail naming token and key). An error means the open is not
// on record, and the daemon must not serve.
[[nodiscard]] absl::Status LogTokenOpen(vault::Vault& vault,
                                        const v1::TokenConfig& token);

}  // namespace lanevault

#endif  // LANEVAULT_CMD_DAEMON_TOKEN_H_
