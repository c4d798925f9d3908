#ifndef LANEVAULT_NODE_NODE_CONFIG_H_
#define LANEVAULT_NODE_NODE_CONFIG_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lanevault/v1/node.pb.h"

namespace lanevault::node {

// Checks what a capture node needs before it starts: at least one vault
// address, its TLS files, the vault's intake key, a spool folder, and
// well-formed lanes with distinct ids. The first problem with its field.
absl::Status ValidateNodeConfig(const v1::NodeConfig& config);

// Reads, parses ("FILE:LINE:COLUMN: why") and validates ("FILE: field:
// why") a node config; relative paths are resolved against its folder, and
// defaults are filled in (state_dir, spool bounds, in-flight calls).
absl::StatusOr<v1::NodeConfig> LoadNodeConfig(const std::string& path);

}  // namespace lanevault::node

#endif  // LANEVAULT_NODE_NODE_CONFIG_H_
