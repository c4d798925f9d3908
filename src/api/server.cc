#include "api/server.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/config.h"
#include "common/logging.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "rpc/tls.h"

namespace lanevault::api {

namespace {

// TLS 1.2 and 1.3 only (gRPC's floor), and of those only forward-secret
// AEAD suites; pinned here so a changed default cannot widen it.
constexpr char kCipherSuites[] =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
    "TLS_CHACHA20_POLY1305_SHA256:ECDHE-ECDSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305";

}  // namespace

ApiServer::ApiServer(const policy::Policy* policy, vault::Vault* vault,
                     std::unique_ptr<PeerVerifier> peers,
                     const ServerOptions& options, LaneStatusFn lanes)
    : peers_(std::move(peers)),
      own_intake_(options.intake == nullptr
                      ? std::make_unique<wiring::VaultIntake>(
                            policy, vault, options.canary_every)
                      : nullptr),
      gate_(policy, vault, peers_.get(), options.limits),
      evidence_(&gate_),
      lanes_(&gate_, std::move(lanes),
             options.intake != nullptr ? options.intake : own_intake_.get()),
      audit_(&gate_, options.cosign_checkpoint),
      compliance_(&gate_, options.contracts, options.backup_dir) {}

ApiServer::~ApiServer() { Shutdown(absl::Seconds(1)); }

absl::StatusOr<std::unique_ptr<ApiServer>> ApiServer::Start(
    const ServerOptions& options, const policy::Policy* policy,
    vault::Vault* vault, LaneStatusFn lanes) {
  std::shared_ptr<grpc::ServerCredentials> creds;
  std::unique_ptr<PeerVerifier> peers;
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
    setenv("GRPC_SSL_CIPHER_SUITES", kCipherSuites, 1);
    PeerTrust trust;
    trust.ca_file = options.tls.ca_cert();
    trust.crl_file = options.tls.crl_file();
    trust.deny_list_file = options.tls.deny_list_file();
    trust.principal_from_uri = options.tls.principal_from_uri();
    auto verifier = PeerVerifier::Create(trust, vault->clock());
    if (!verifier.ok()) return verifier.status();
    peers = std::move(*verifier);
    auto tls = rpc::ServerTlsCredentials(options.tls);
    if (!tls.ok()) return tls.status();
    creds = *tls;
  }
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
  builder.RegisterService(&api->evidence_);
  builder.RegisterService(&api->lanes_);
  builder.RegisterService(&api->audit_);
  builder.RegisterService(&api->compliance_);
  std::vector<
      std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
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

void ApiServer::Shutdown(absl::Duration grace) {
  if (server_ != nullptr) {
    server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  }
}

void ApiServer::Wait() {
  if (server_ != nullptr) server_->Wait();
}

}  // namespace lanevault::api
