#include "cmd/daemon_permissions.h"

#include <sys/stat.h>

#include <filesystem>
#include <utility>
#include <vector>

#include "common/permissions.h"

namespace lanevault {
namespace {

bool Exists(const std::string& path) {
  struct stat st;
  return !path.empty() && ::stat(path.c_str(), &st) == 0;
}

}  // namespace

absl::Status CheckDaemonPermissions(const v1::DaemonConfig& config,
                                    const std::string& state_dir) {
  const v1::VaultConfig& vault = config.vault();
  const std::vector<std::pair<std::string, std::string>> folders = {
      {std::filesystem::path(vault.database()).parent_path().string(),
       "vault.database's folder"},
      {state_dir, "state_dir"},
      {vault.backup_dir(), "vault.backup_dir"},
  };
  for (const auto& [dir, what] : folders) {
    if (dir.empty() && what != "vault.database's folder") continue;
    if (absl::Status s = CheckStateDirectory(dir, what); !s.ok()) return s;
  }
  // The TLS key must exist (the server needs it); the others only when
  // this mode uses them, which their own code checks for presence.
  const std::vector<std::pair<std::string, std::string>> secrets = {
      {config.tls().server_key(), "tls.server_key"},
      {vault.seal_file(), "vault.seal_file"},
      {vault.token().seal_file(), "vault.token.seal_file"},
      {vault.token().pin_file(), "vault.token.pin_file"},
      {vault.key_store(), "vault.key_store"},
      {vault.master_key(), "vault.master_key"},
  };
  for (const auto& [path, what] : secrets) {
    if (!Exists(path)) continue;
    if (absl::Status s = CheckSecretFile(path, what); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace lanevault
