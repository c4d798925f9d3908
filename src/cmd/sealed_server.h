#ifndef LANEVAULT_CMD_SEALED_SERVER_H_
#define LANEVAULT_CMD_SEALED_SERVER_H_

// What lanevaultd serves before it is unsealed: grpc.health.v1 (the daemon
// NOT_SERVING, UnsealService SERVING) and UnsealService, on the daemon's
// address with the same mutual TLS; every other call is refused
// UNAVAILABLE. Only principals the signed contract binds to the compliance
// role may give a share. Once K good shares have opened the master key the
// daemon shuts this server down and starts the full API on the same port.

#include <signal.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "api/peer_verifier.h"
#include "crypto/seal_file.h"
#include "crypto/secure_bytes.h"
#include "grpcpp/server.h"
#include "lanevault/v1/config.pb.h"
#include "lanevault/v1/unseal.grpc.pb.h"
#include "policy/policy.h"

namespace lanevault {

// One share given (or refused), kept for the access log, which can only be
// written once the vault is open.
struct ShareEvent {
  absl::Time time;
  std::string principal;
  int index = 0;  // 0 when refused before its index was known
  bool accepted = false;
  std::string reason;
};

struct SealedServerOptions {
  std::string listen;
  v1::TlsConfig tls;
  bool dev_insecure_loopback = false;
  // Who is a compliance officer: the contract in the config's signed file
  // (a newer one activated over the API is in the vault, still sealed).
  const policy::Policy* policy = nullptr;
};

class SealedServer : public v1::UnsealService::Service {
 public:
  static absl::StatusOr<std::unique_ptr<SealedServer>> Start(
      const SealedServerOptions& options, v1::SealFile seal);
  ~SealedServer() override;

  int port() const { return port_; }
  // Blocks until K good shares have opened the master key (returned), or
  // until SIGTERM or SIGINT arrives among the blocked `signals` (CANCELLED).
  absl::StatusOr<crypto::SecureBytes> WaitForMasterKey(sigset_t signals);
  // Stops serving; a call in flight (the last share's) gets `grace`.
  void Shutdown(absl::Duration grace);
  // Every share given so far, in order.
  std::vector<ShareEvent> Events() const;

  grpc::Status SubmitShare(grpc::ServerContext* ctx,
                           const v1::SubmitShareRequest* request,
                           v1::UnsealStatus* response) override;
  grpc::Status GetUnsealStatus(grpc::ServerContext* ctx,
                               const v1::GetUnsealStatusRequest* request,
                               v1::UnsealStatus* response) override;

 private:
  SealedServer(const SealedServerOptions& options, v1::SealFile seal,
               std::unique_ptr<api::PeerVerifier> peers);
  absl::StatusOr<std::string> Officer(const grpc::ServerContext& ctx,
                                      absl::string_view method);
  void Status(v1::UnsealStatus* out) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Record(ShareEvent event) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static constexpr size_t kMaxEvents = 1000;

  const SealedServerOptions options_;
  std::unique_ptr<api::PeerVerifier> peers_;  // null in plain text
  std::unique_ptr<grpc::CallbackGenericService> refuse_rest_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  absl::Notification unsealed_;

  mutable absl::Mutex mu_;
  crypto::Unsealer unsealer_ ABSL_GUARDED_BY(mu_);
  crypto::SecureBytes master_key_ ABSL_GUARDED_BY(mu_);
  std::vector<ShareEvent> events_ ABSL_GUARDED_BY(mu_);
};

}  // namespace lanevault

#endif  // LANEVAULT_CMD_SEALED_SERVER_H_
