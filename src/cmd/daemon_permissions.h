#ifndef LANEVAULT_CMD_DAEMON_PERMISSIONS_H_
#define LANEVAULT_CMD_DAEMON_PERMISSIONS_H_

// lanevaultd refuses to start on a secret others can read or a state folder
// others can write (common/permissions.h), naming the path and the chmod
// that fixes it. Files the config names but that do not exist yet are left
// to the code that makes or needs them.

#include <string>

#include "absl/status/status.h"
#include "lanevault/v1/config.pb.h"

namespace lanevault {

// The vault's folders (the database's, state_dir, backup_dir) and the
// secrets the config names: the TLS key, the seal files, the token's PIN
// file, the key store and the development master key file. `state_dir` is
// the state folder the daemon uses (the config's, or its default).
absl::Status CheckDaemonPermissions(const v1::DaemonConfig& config,
                                    const std::string& state_dir);

}  // namespace lanevault

#endif  // LANEVAULT_CMD_DAEMON_PERMISSIONS_H_
