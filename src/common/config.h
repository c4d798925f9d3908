#ifndef LANEVAULT_COMMON_CONFIG_H_
#define LANEVAULT_COMMON_CONFIG_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "lanevault/v1/config.pb.h"

namespace lanevault {

// Parses protobuf text format into `out`. On error returns
// INVALID_ARGUMENT "<what>:<line>:<column>: <reason>" for the first problem,
// so a person can go straight to it. Unknown fields are errors.
absl::Status ParseTextProto(absl::string_view text, absl::string_view what,
                            google::protobuf::Message* out);

// A path named in `config_file`, relative to the folder that file is in;
// absolute paths, URLs and "" are returned as they are.
std::string ResolveConfigPath(const std::string& config_file,
                              const std::string& p);
// The same for the paths in a lane's config (file: and folder: sources,
// detector models).
void ResolveLanePaths(const std::string& config_file, v1::LaneConfig* lane);

// Reads, parses and validates a daemon config file; relative paths in it are
// resolved against the directory the file is in.
absl::StatusOr<v1::DaemonConfig> LoadDaemonConfig(const std::string& path);

// Checks a config for what the daemon needs before it starts: an address,
// TLS files unless the development flag is set (and then only on loopback),
// a vault, and well-formed lanes. The first problem is returned with its
// field path.
absl::Status ValidateDaemonConfig(const v1::DaemonConfig& config);

// Checks one lane's config (used by the daemon and by capture nodes).
absl::Status ValidateLaneConfig(const v1::LaneConfig& lane,
                                absl::string_view field_path);

// Each lane's config, and that no two share an id ("lanes[i].field: why").
absl::Status ValidateLaneConfigs(
    const google::protobuf::RepeatedPtrField<v1::LaneConfig>& lanes);

// True for "localhost", "127.x.x.x" and "[::1]" listen addresses.
bool IsLoopbackAddress(absl::string_view host_port);

}  // namespace lanevault

#endif  // LANEVAULT_COMMON_CONFIG_H_
