#include "node/node_config.h"

#include "absl/strings/str_cat.h"
#include "common/config.h"
#include "common/files.h"

namespace lanevault::node {

absl::Status ValidateNodeConfig(const v1::NodeConfig& config) {
  auto bad = [](absl::string_view field, absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
  };
  if (config.vault().empty()) {
    return bad("vault", "name at least one vault address (host:port)");
  }
  for (int i = 0; i < config.vault_size(); ++i) {
    const std::string& a = config.vault(i);
    if (a.empty() || a.rfind(':') == std::string::npos) {
      return bad(absl::StrCat("vault[", i, "]"),
                 absl::StrCat("'", a, "' is not host:port"));
    }
  }
  if (config.ca_cert().empty()) return bad("ca_cert", "must be set");
  if (config.cert().empty()) return bad("cert", "must be set");
  if (config.key().empty()) return bad("key", "must be set");
  if (config.intake_public_key().empty()) {
    return bad("intake_public_key",
               "must be set (lanevaultd --print_intake_key on the vault)");
  }
  if (config.spool().dir().empty()) return bad("spool.dir", "must be set");
  if (config.max_in_flight() < 0 || config.max_in_flight() > 64) {
    return bad("max_in_flight", "must be between 1 and 64 (0: default 4)");
  }
  if (config.submit_timeout_s() < 0) {
    return bad("submit_timeout_s", "must not be negative");
  }
  if (config.lanes().empty()) return bad("lanes", "name at least one lane");
  return ValidateLaneConfigs(config.lanes());
}

absl::StatusOr<v1::NodeConfig> LoadNodeConfig(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFileToString(path);
  if (!text.ok()) return text.status();
  v1::NodeConfig config;
  if (absl::Status s = ParseTextProto(*text, path, &config); !s.ok()) return s;
  if (absl::Status s = ValidateNodeConfig(config); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", s.message()));
  }
  auto resolve = [&](const std::string& p) {
    return ResolveConfigPath(path, p);
  };
  config.set_ca_cert(resolve(config.ca_cert()));
  config.set_cert(resolve(config.cert()));
  config.set_key(resolve(config.key()));
  if (const std::string& k = config.intake_public_key(); k[0] == '@') {
    config.set_intake_public_key(absl::StrCat("@", resolve(k.substr(1))));
  }
  v1::SpoolConfig* spool = config.mutable_spool();
  spool->set_dir(resolve(spool->dir()));
  if (spool->max_records() == 0) spool->set_max_records(100000);
  if (spool->max_bytes() == 0) spool->set_max_bytes(uint64_t{2} << 30);
  config.set_state_dir(config.state_dir().empty()
                           ? ResolveConfigPath(spool->dir(), "state")
                           : resolve(config.state_dir()));
  if (config.max_in_flight() == 0) config.set_max_in_flight(4);
  if (config.submit_timeout_s() == 0) config.set_submit_timeout_s(10);
  for (auto& lane : *config.mutable_lanes()) ResolveLanePaths(path, &lane);
  return config;
}

}  // namespace lanevault::node
