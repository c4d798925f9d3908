#include "cmd/sealed_server.h"

#include <time.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "api/listener_security.h"
#include "api/peer_certificates.h"
#include "common/clock.h"
#include "common/logging.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "ops/health_monitor.h"

namespace lanevault {
namespace {

constexpr size_t kMaxPrincipalBytes = 256;

// Every call but health and UnsealService: UNAVAILABLE, so a client (a
// capture node) retries later instead of treating it as a refusal.
class RefuseWhileSealed : public grpc::CallbackGenericService {
 public:
  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* ctx) override {
    spdlog::info("sealed: {} refused until unsealed", ctx->method());
    class Refuser : public grpc::ServerGenericBidiReactor {
     public:
      Refuser() {
        Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                            "the vault is sealed: it serves nothing until K "
                            "compliance officers have given their shares "
                            "(lanevaultctl unseal)"));
      }
      void OnDone() override { delete this; }
    };
    return new Refuser;
  }
};

}  // namespace

SealedServer::SealedServer(const SealedServerOptions& options,
                           v1::SealFile seal,
                           std::unique_ptr<api::PeerVerifier> peers)
    : options_(options),
      peers_(std::move(peers)),
      refuse_rest_(std::make_unique<RefuseWhileSealed>()),
      unsealer_(std::move(seal)) {}

SealedServer::~SealedServer() { Shutdown(absl::Seconds(1)); }

absl::StatusOr<std::unique_ptr<SealedServer>> SealedServer::Start(
    const SealedServerOptions& options, v1::SealFile seal) {
  absl::StatusOr<api::ListenerSecurity> security = api::MakeListenerSecurity(
      options.listen, options.tls, options.dev_insecure_loopback, RealClock(),
      "shares travel in plain text");
  if (!security.ok()) return security.status();
  std::shared_ptr<grpc::ServerCredentials> creds = security->credentials;
  std::unique_ptr<api::PeerVerifier> peers = std::move(security->peers);
  std::unique_ptr<SealedServer> sealed(
      new SealedServer(options, std::move(seal), std::move(peers)));
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, creds, &sealed->port_);
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, 3000);
  builder.SetMaxReceiveMessageSize(64 << 10);
  builder.RegisterService(sealed.get());
  builder.RegisterCallbackGenericService(sealed->refuse_rest_.get());
  sealed->server_ = builder.BuildAndStart();
  if (sealed->server_ == nullptr || sealed->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen,
                     " (address in use, or not an address of this host?)"));
  }
  if (auto* health = sealed->server_->GetHealthCheckService()) {
    health->SetServingStatus(false);
    health->SetServingStatus("lanevault.v1.UnsealService", true);
    // Each service the daemon will serve answers NOT_SERVING, not NOT_FOUND:
    // a probe that asks for one learns it exists and is down (sealed).
    for (const std::string& name : ops::DaemonServiceNames()) {
      health->SetServingStatus(name, false);
    }
    spdlog::warn("health: the daemon and its services NOT_SERVING: sealed");
  }
  const v1::SealFile& file = sealed->unsealer_.file();
  spdlog::warn(
      "SEALED: serving only health and UnsealService on port {} until {} of "
      "the {} shares of set {} are given (lanevaultctl unseal)",
      sealed->port_, file.threshold(), file.shares(), file.set_id());
  return sealed;
}

absl::StatusOr<std::string> SealedServer::Officer(
    const grpc::ServerContext& ctx, absl::string_view method) {
  std::string principal;
  if (peers_ == nullptr) {
    const auto& md = ctx.client_metadata();
    if (auto it = md.find("lanevault-dev-principal"); it != md.end()) {
      principal.assign(it->second.data(), it->second.size());
    }
  } else {
    auto id = api::VerifyPeerCertificate(*peers_, ctx.auth_context().get());
    if (!id.ok()) {
      spdlog::warn("sealed: {} refused: {}", method, id.status().message());
      return id.status();
    }
    principal = id->principal;
  }
  if (principal.empty() || principal.size() > kMaxPrincipalBytes) {
    return absl::UnauthenticatedError("no usable principal name");
  }
  if (options_.policy->RoleOf(principal) != policy::Role::kCompliance) {
    spdlog::warn(
        "sealed: {} refused for {}: only a principal the contract binds to "
        "the compliance role may unseal",
        method, principal);
    return absl::PermissionDeniedError(absl::StrCat(
        principal,
        " is not bound to the compliance role by the contract; only "
        "compliance officers give shares"));
  }
  return principal;
}

void SealedServer::Status(v1::UnsealStatus* out) const {
  const v1::SealFile& file = unsealer_.file();
  out->set_sealed(!unsealed_.HasBeenNotified());
  out->set_threshold(file.threshold());
  out->set_shares(file.shares());
  out->set_set_id(file.set_id());
  out->set_given(unsealed_.HasBeenNotified() ? file.threshold()
                                             : unsealer_.given());
  for (int i : unsealer_.indexes()) out->add_indexes(i);
}

grpc::Status SealedServer::SubmitShare(grpc::ServerContext* ctx,
                                       const v1::SubmitShareRequest* request,
                                       v1::UnsealStatus* response) {
  // The share leaves ordinary memory as soon as it is copied out; the
  // request is ours to clear (gRPC frees it after this call).
  crypto::SecureBytes share = crypto::SecureBytes::CopyOf(request->share());
  crypto::Wipe(*const_cast<v1::SubmitShareRequest*>(request)->mutable_share());
  auto officer = Officer(*ctx, "SubmitShare");
  if (!officer.ok()) {
    absl::MutexLock lock(&mu_);
    Record(
        {absl::Now(), "", 0, false, std::string(officer.status().message())});
    return grpc::Status(static_cast<grpc::StatusCode>(officer.status().code()),
                        std::string(officer.status().message()));
  }
  absl::MutexLock lock(&mu_);
  if (unsealed_.HasBeenNotified()) {
    Status(response);
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "already unsealed");
  }
  auto added = unsealer_.Add(share.view());
  if (!added.ok()) {
    spdlog::warn("unseal: share from {} refused: {}", *officer,
                 added.status().message());
    Record({absl::Now(), *officer, 0, false,
            std::string(added.status().message())});
    return grpc::Status(static_cast<grpc::StatusCode>(added.status().code()),
                        std::string(added.status().message()));
  }
  Record({absl::Now(), *officer, *added, true, ""});
  spdlog::info("unseal: {} gave share {} ({} of {} held: {})", *officer, *added,
               unsealer_.given(), unsealer_.file().threshold(),
               absl::StrJoin(unsealer_.indexes(), ","));
  if (unsealer_.ready()) {
    auto master = unsealer_.Open();
    if (!master.ok()) {
      spdlog::critical("unseal: {}; the shares given are dropped",
                       master.status().message());
      Record({absl::Now(), *officer, 0, false,
              std::string(master.status().message())});
      Status(response);
      return grpc::Status(grpc::StatusCode::DATA_LOSS,
                          std::string(master.status().message()));
    }
    master_key_ = std::move(*master);
    unsealed_.Notify();
    spdlog::warn("UNSEALED by {} share(s); opening the vault",
                 unsealer_.file().threshold());
  }
  Status(response);
  return grpc::Status::OK;
}

grpc::Status SealedServer::GetUnsealStatus(
    grpc::ServerContext* ctx, const v1::GetUnsealStatusRequest* /*request*/,
    v1::UnsealStatus* response) {
  if (auto officer = Officer(*ctx, "GetUnsealStatus"); !officer.ok()) {
    return grpc::Status(static_cast<grpc::StatusCode>(officer.status().code()),
                        std::string(officer.status().message()));
  }
  absl::MutexLock lock(&mu_);
  Status(response);
  return grpc::Status::OK;
}

absl::StatusOr<crypto::SecureBytes> SealedServer::WaitForMasterKey(
    sigset_t signals) {
  const timespec poll{0, 0};
  while (!unsealed_.WaitForNotificationWithTimeout(absl::Milliseconds(200))) {
    const int signal_number = sigtimedwait(&signals, nullptr, &poll);
    if (signal_number == SIGHUP) {
      spdlog::info("SIGHUP while sealed: nothing to reload yet");
    } else if (signal_number > 0) {
      return absl::CancelledError(
          absl::StrCat("signal ", signal_number, " while sealed"));
    }
  }
  absl::MutexLock lock(&mu_);
  return std::move(master_key_);
}

void SealedServer::Shutdown(absl::Duration grace) {
  if (server_ == nullptr) return;
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  server_->Wait();
  server_.reset();
}

void SealedServer::Record(ShareEvent event) {
  // Bounded: a flood of refused calls while sealed must not grow memory;
  // spdlog has each of them anyway.
  if (events_.size() < kMaxEvents) events_.push_back(std::move(event));
}

std::vector<ShareEvent> SealedServer::Events() const {
  absl::MutexLock lock(&mu_);
  return events_;
}

}  // namespace lanevault
