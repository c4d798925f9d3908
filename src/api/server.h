#ifndef LANEVAULT_API_SERVER_H_
#define LANEVAULT_API_SERVER_H_

// The api module's public surface: the gRPC server over mutual TLS with the
// lanes, evidence, audit and compliance services, standard health checking
// and server reflection. Every lanevault RPC passes the gate (gate.h).

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api/gate.h"
#include "api/peer_verifier.h"
#include "api/services.h"
#include "grpcpp/server.h"
#include "grpcpp/support/server_interceptor.h"
#include "lanevault/v1/config.pb.h"

namespace lanevault::api {

struct ServerOptions {
  std::string listen = "127.0.0.1:0";  // port 0: pick a free one
  v1::TlsConfig tls;
  bool dev_insecure_loopback = false;  // plain text; loopback only
  int max_streams_per_connection = 64;
  GateLimits limits;  // its max_request_bytes also caps responses
  ContractAuthority contracts;
  // Replicas on one PostgreSQL vault: how stale the contract in force may
  // be, when another replica put a newer one in force (contract_follower.h).
  // Zero: looked up before every call.
  absl::Duration contract_check_every = absl::Seconds(1);
  // Where SubmitCrossing hands records (the daemon shares its lanes'); null:
  // the server keeps its own, planting canaries at `canary_every`.
  wiring::VaultIntake* intake = nullptr;
  int canary_every = 0;
  // Where ComplianceService.Backup writes; empty: backups are refused.
  std::string backup_dir;
  // Appends witness cosignatures to a checkpoint GetCheckpoint just signed
  // (wiring/witness_pusher.h); unset: the note as the log signed it.
  CosignCheckpointFn cosign_checkpoint;
  // Masked snapshots of the daemon's own lanes (LaneService.GetSnapshot);
  // unset: only capture nodes' lanes, through the broker.
  LaneSnapshotFn lane_snapshot;
  // Benchmarks only (api_bench's baseline): returned images without the
  // watermark. No configuration file reaches it.
  bool bench_unmarked_images = false;
  // Makes an interceptor that sees every call first and last (the daemons'
  // RPC timer, ops/rpc_timer.h); unset: none. Opaque here, so api links no
  // metrics library.
  std::function<
      std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>()>
      rpc_observer;
};

class ApiServer {
 public:
  // Binds and starts serving. FAILED_PRECONDITION for plain text off
  // loopback; UNAVAILABLE when the address cannot be bound; TLS file errors
  // as they come.
  static absl::StatusOr<std::unique_ptr<ApiServer>> Start(
      const ServerOptions& options, const policy::Policy* policy,
      vault::Vault* vault, LaneStatusFn lanes);
  ~ApiServer();

  int port() const { return port_; }
  // Re-reads the CA, the CRL and the deny-list (SIGHUP); on error the old
  // ones stay in force.
  absl::Status ReloadTrust();
  // What grpc.health.v1 answers for "" and every service: NOT_SERVING
  // while the vault cannot serve (damage found).
  void SetServing(bool serving);
  // What grpc.health.v1 answers for one name (a service's full name, a
  // lane's, "" for the daemon); ops/health_monitor.h decides it.
  void SetServing(const std::string& service, bool serving);
  // Stops accepting, lets in-flight calls finish within `grace`.
  void Shutdown(absl::Duration grace);
  void Wait();

 private:
  ApiServer(const policy::Policy* policy, vault::Vault* vault,
            std::unique_ptr<PeerVerifier> peers, const ServerOptions& options,
            LaneStatusFn lanes);

  std::unique_ptr<PeerVerifier> peers_;  // null in development plain text
  std::unique_ptr<wiring::VaultIntake> own_intake_;
  // Null unless the vault has replicas and contracts are managed; outlives
  // the gate, which calls it.
  std::unique_ptr<ContractFollower> follower_;
  Gate gate_;
  EvidenceService evidence_;
  LaneService lanes_;
  AuditService audit_;
  ComplianceService compliance_;
  ApprovalService approvals_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace lanevault::api

#endif  // LANEVAULT_API_SERVER_H_
