#include "api/server.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/tls.h"
#include "common/config.h"
#include "common/logging.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"

namespace lanevault::api {

ApiServer::ApiServer(const policy::Policy* policy, vault::Vault* vault,
                     bool dev, LaneStatusFn lanes)
    : gate_(policy, vault, dev),
      evidence_(&gate_),
      lanes_(&gate_, std::move(lanes)),
      audit_(&gate_),
      compliance_(&gate_) {}

ApiServer::~ApiServer() { Shutdown(absl::Seconds(1)); }

absl::StatusOr<std::unique_ptr<ApiServer>> ApiServer::Start(
    const ServerOptions& options, const policy::Policy* policy,
    vault::Vault* vault, LaneStatusFn lanes) {
  std::shared_ptr<grpc::ServerCredentials> creds;
  if (options.dev_insecure_loopback) {
    if (!IsLoopbackAddress(options.listen)) {
      return absl::FailedPreconditionError(
          "plain text is only allowed on a loopback address");
    }
    spdlog::warn(
        "DEVELOPMENT MODE: plain-text gRPC on {}; callers are not "
        "authenticated by certificate. Never use this in production.",
        options.listen);
    creds = grpc::InsecureServerCredentials();
  } else {
    auto tls = ServerTlsCredentials(options.tls);
    if (!tls.ok()) return tls.status();
    creds = *tls;
  }
  std::unique_ptr<ApiServer> api(new ApiServer(
      policy, vault, options.dev_insecure_loopback, std::move(lanes)));
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, creds, &api->port_);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  builder.RegisterService(&api->evidence_);
  builder.RegisterService(&api->lanes_);
  builder.RegisterService(&api->audit_);
  builder.RegisterService(&api->compliance_);
  api->server_ = builder.BuildAndStart();
  if (api->server_ == nullptr || api->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen,
                     " (address in use, or not an address of this host?)"));
  }
  return api;
}

void ApiServer::Shutdown(absl::Duration grace) {
  if (server_ != nullptr) {
    server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  }
}

void ApiServer::Wait() {
  if (server_ != nullptr) server_->Wait();
}

}  // namespace lanevault::api
