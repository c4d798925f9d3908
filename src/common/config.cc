#include "common/config.h"

#include <filesystem>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"

namespace lanevault {
namespace {

class FirstErrorCollector : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (first_.empty()) {
      // The parser counts from zero; editors count from one.
      first_ = absl::StrCat(line + 1, ":", column + 1, ": ", message);
    }
  }
  const std::string& first() const { return first_; }

 private:
  std::string first_;
};

}  // namespace

std::string ResolveConfigPath(const std::string& config_file,
                              const std::string& p) {
  if (p.empty() || p.find("://") != std::string::npos) return p;
  std::filesystem::path path(p);
  if (path.is_absolute()) return p;
  const std::filesystem::path base =
      std::filesystem::absolute(config_file).parent_path();
  return (base / path).lexically_normal().string();
}

void ResolveLanePaths(const std::string& config_file, v1::LaneConfig* lane) {
  // Lane sources carry a scheme; only folder: and file: name local paths.
  for (absl::string_view scheme : {"folder:", "file:"}) {
    if (absl::StartsWith(lane->source(), scheme)) {
      lane->set_source(absl::StrCat(
          scheme, ResolveConfigPath(config_file,
                                    lane->source().substr(scheme.size()))));
      break;
    }
  }
  auto* det = lane->mutable_detectors();
  det->set_face_cascade(ResolveConfigPath(config_file, det->face_cascade()));
  det->set_face_model(ResolveConfigPath(config_file, det->face_model()));
  det->set_plate_cascade(ResolveConfigPath(config_file, det->plate_cascade()));
}

absl::Status ParseTextProto(absl::string_view text, absl::string_view what,
                            google::protobuf::Message* out) {
  google::protobuf::TextFormat::Parser parser;
  FirstErrorCollector errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(std::string(text), out)) {
    return absl::InvalidArgumentError(absl::StrCat(what, ":", errors.first()));
  }
  return absl::OkStatus();
}

bool IsLoopbackAddress(absl::string_view host_port) {
  return absl::StartsWith(host_port, "localhost:") ||
         absl::StartsWith(host_port, "127.") ||
         absl::StartsWith(host_port, "[::1]:");
}

absl::Status ValidateLaneConfig(const v1::LaneConfig& lane,
                                absl::string_view field_path) {
  auto bad = [&](absl::string_view field, absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat(field_path, ".", field, ": ", why));
  };
  if (lane.lane_id().empty()) return bad("lane_id", "must be set");
  if (lane.checkpoint_id().empty()) return bad("checkpoint_id", "must be set");
  const std::string& s = lane.source();
  if (!(absl::StartsWith(s, "folder:") || absl::StartsWith(s, "file:") ||
        absl::StartsWith(s, "rtsp://") || absl::StartsWith(s, "http://") ||
        absl::StartsWith(s, "https://") || absl::StartsWith(s, "v4l2:"))) {
    return bad("source",
               "must start with folder:, file:, rtsp://, http(s):// or v4l2:");
  }
  if (lane.max_fps() < 0) return bad("max_fps", "must not be negative");
  if (lane.has_roi()) {
    const auto& r = lane.roi();
    if (r.x() < 0 || r.y() < 0 || r.width() <= 0 || r.height() <= 0 ||
        r.x() + r.width() > 1.0001f || r.y() + r.height() > 1.0001f) {
      return bad("roi", "must be fractions of the frame inside 0..1");
    }
  }
  if (lane.quiet_frames_to_close() < 0) {
    return bad("quiet_frames_to_close", "must not be negative");
  }
  return absl::OkStatus();
}

absl::Status ValidateLaneConfigs(
    const google::protobuf::RepeatedPtrField<v1::LaneConfig>& lanes) {
  absl::flat_hash_set<std::string> lane_ids;
  for (int i = 0; i < lanes.size(); ++i) {
    const std::string path = absl::StrCat("lanes[", i, "]");
    if (absl::Status s = ValidateLaneConfig(lanes[i], path); !s.ok()) return s;
    if (!lane_ids.insert(lanes[i].lane_id()).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ".lane_id: duplicate lane id '", lanes[i].lane_id(), "'"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateDaemonConfig(const v1::DaemonConfig& config) {
  auto bad = [](absl::string_view field, absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
  };
  if (config.listen().empty()) return bad("listen", "must be set (host:port)");
  if (config.dev_insecure_loopback()) {
    if (!IsLoopbackAddress(config.listen())) {
      return bad("dev_insecure_loopback",
                 "plain text is only allowed on a loopback address");
    }
  } else {
    if (config.tls().ca_cert().empty())
      return bad("tls.ca_cert", "must be set");
    if (config.tls().server_cert().empty()) {
      return bad("tls.server_cert", "must be set");
    }
    if (config.tls().server_key().empty()) {
      return bad("tls.server_key", "must be set");
    }
  }
  if (config.vault().has_postgres()) {
    // No file to put them beside: the key store and the anchor are named.
    if (config.vault().key_store().empty()) {
      return bad("vault.key_store",
                 "must be set with vault.postgres (no key is ever kept in "
                 "the database)");
    }
    if (config.state_dir().empty()) {
      return bad("state_dir", "must be set with vault.postgres");
    }
  } else if (config.vault().database().empty()) {
    return bad("vault.database", "must be set");
  }
  if (config.vault().master_key().empty() &&
      config.vault().seal_file().empty() &&
      config.vault().token().seal_file().empty()) {
    return bad("vault.seal_file",
               "must be set (or vault.token, or, for development, "
               "vault.master_key)");
  }
  if (config.vault().has_token()) {
    const v1::TokenConfig& t = config.vault().token();
    if (t.module().empty() || t.token_label().empty() ||
        t.seal_file().empty()) {
      return bad("vault.token",
                 "needs module, token_label and seal_file (and pin_file, or "
                 "lanevaultd --token_pin_fd)");
    }
  }
  const auto& contract = config.contract();
  if (!contract.signed_contract().empty()) {
    if (contract.trusted_keys().empty()) {
      return bad("contract.trusted_keys", "name at least one compliance key");
    }
    if (contract.required_signatures() < 0 ||
        contract.required_signatures() > contract.trusted_keys_size()) {
      return bad("contract.required_signatures",
                 "must be between 1 and the number of trusted keys");
    }
  }
  return ValidateLaneConfigs(config.lanes());
}

absl::StatusOr<v1::DaemonConfig> LoadDaemonConfig(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFileToString(path);
  if (!text.ok()) return text.status();
  v1::DaemonConfig config;
  if (absl::Status s = ParseTextProto(*text, path, &config); !s.ok()) return s;
  if (absl::Status s = ValidateDaemonConfig(config); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", s.message()));
  }
  auto resolve = [&](const std::string& p) {
    return ResolveConfigPath(path, p);
  };
  auto* tls = config.mutable_tls();
  tls->set_ca_cert(resolve(tls->ca_cert()));
  tls->set_server_cert(resolve(tls->server_cert()));
  tls->set_server_key(resolve(tls->server_key()));
  auto* vault = config.mutable_vault();
  vault->set_database(resolve(vault->database()));
  vault->set_master_key(resolve(vault->master_key()));
  vault->set_seal_file(resolve(vault->seal_file()));
  vault->set_key_store(resolve(vault->key_store()));
  vault->set_backup_dir(resolve(vault->backup_dir()));
  if (vault->has_token()) {
    auto* token = vault->mutable_token();
    // A bare library name is dlopen's to find on the library path.
    if (token->module().find('/') != std::string::npos) {
      token->set_module(resolve(token->module()));
    }
    token->set_pin_file(resolve(token->pin_file()));
    token->set_seal_file(resolve(token->seal_file()));
  }
  config.set_port_file(resolve(config.port_file()));
  auto* contract = config.mutable_contract();
  contract->set_signed_contract(resolve(contract->signed_contract()));
  for (auto& key : *contract->mutable_trusted_keys()) {
    key.set_public_key_file(resolve(key.public_key_file()));
  }
  config.set_state_dir(resolve(config.state_dir()));
  for (auto& lane : *config.mutable_lanes()) ResolveLanePaths(path, &lane);
  return config;
}

}  // namespace lanevault
