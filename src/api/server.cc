#include "api/server.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/listener_security.h"
#include "common/logging.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "rpc/server_threads.h"

namespace lanevault::api {

ApiServer::ApiServer(const policy::Policy* policy, vault::Vault* vault,
                     std::unique_ptr<PeerVerifier> peers,
                     const ServerOptions& options, LaneStatusFn lanes)
    : peers_(std::move(peers)),
      own_intake_(options.intake == nullptr
                      ? std::make_unique<wiring::VaultIntake>(
                            policy, vault, options.canary_every)
                      : nullptr),
      follower_(vault->Replicated() && options.contracts.holder != nullptr
                    ? std::make_unique<ContractFollower>(
                          vault, options.contracts.holder,
                          options.contracts.trusted, options.contracts.required,
                          options.contract_check_every)
                    : nullptr),
      gate_(policy, vault, peers_.get(), options.limits),
      evidence_(&gate_, /*mark_images=*/!options.bench_unmarked_images),
      lanes_(&gate_, std::move(lanes),
             options.intake != nullptr ? options.intake : own_intake_.get()),
      audit_(&gate_, options.cosign_checkpoint),
      compliance_(&gate_, options.contracts, options.backup_dir),
      approvals_(&gate_) {
  gate_.SetContractFollower(follower_.get());
}

ApiServer::~ApiServer() { Shutdown(absl::Seconds(1)); }

absl::StatusOr<std::unique_ptr<ApiServer>> ApiServer::Start(
    const ServerOptions& options, const policy::Policy* policy,
    vault::Vault* vault, LaneStatusFn lanes) {
  absl::StatusOr<ListenerSecurity> security = MakeListenerSecurity(
      options.listen, options.tls, options.dev_insecure_loopback,
      vault->clock(),
      "plain-text gRPC; callers are not authenticated by certificate");
  if (!security.ok()) return security.status();
  std::shared_ptr<grpc::ServerCredentials> creds = security->credentials;
  std::unique_ptr<PeerVerifier> peers = std::move(security->peers);
  std::unique_ptr<ApiServer> api(new ApiServer(policy, vault, std::move(peers),
                                               options, std::move(lanes)));
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, creds, &api->port_);
  // gRPC binds with SO_REUSEPORT by default, so a second daemon started by
  // mistake would share the port and take half the calls: bind exclusively.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // A connection that has not finished its TLS and HTTP/2 handshake within
  // a few seconds is dropped: it holds nothing, but it would otherwise keep
  // a stop waiting for the whole grace period (and is how a slow client
  // ties up a server).
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, 3000);
  // The gate refuses (and logs) requests over the limit; gRPC's own hard
  // limit, which logs nothing, sits above it.
  const int max_bytes = static_cast<int>(options.limits.max_request_bytes);
  builder.SetMaxReceiveMessageSize(4 * max_bytes);
  builder.SetMaxSendMessageSize(max_bytes);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             options.max_streams_per_connection);
  rpc::KeepServerThreads(builder);
  builder.RegisterService(&api->evidence_);
  api->lanes_.SetLocalSnapshots(options.lane_snapshot);
  builder.RegisterService(&api->lanes_);
  builder.RegisterService(&api->audit_);
  builder.RegisterService(&api->compliance_);
  builder.RegisterService(&api->approvals_);
  std::vector<
      std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  if (options.rpc_observer) interceptors.push_back(options.rpc_observer());
  interceptors.push_back(std::make_unique<GateInterceptorFactory>(&api->gate_));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  api->server_ = builder.BuildAndStart();
  if (api->server_ == nullptr || api->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen,
                     " (address in use, or not an address of this host?)"));
  }
  return api;
}

absl::Status ApiServer::ReloadTrust() {
  if (peers_ == nullptr) return absl::OkStatus();
  return peers_->Reload();
}

void ApiServer::SetServing(bool serving) {
  if (server_ == nullptr) return;
  if (grpc::HealthCheckServiceInterface* health =
          server_->GetHealthCheckService();
      health != nullptr) {
    health->SetServingStatus(serving);
  }
}

void ApiServer::SetServing(const std::string& service, bool serving) {
  if (server_ == nullptr) return;
  if (grpc::HealthCheckServiceInterface* health =
          server_->GetHealthCheckService();
      health != nullptr) {
    health->SetServingStatus(service, serving);
  }
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
