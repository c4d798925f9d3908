#ifndef LANEVAULT_REPLICA_KEY_HAND_OVER_SERVER_H_
#define LANEVAULT_REPLICA_KEY_HAND_OVER_SERVER_H_

// The ReplicaKeys service (lanevault/v1/replica.proto) a replica serves to
// its peers, on a mutual-TLS listener of its own with the daemon's TLS
// files: the same CA, CRL and deny-list verify the caller, and only the
// principals listed as replicas are served. Everyone else (an inspector's,
// operator's or auditor's certificate) is refused with PERMISSION_DENIED,
// and the refusal is logged in the access log like the gate's.
//
// A listener of its own rather than a service beside the API's: the gate's
// decision path is a policy over people's roles and actions, and a key
// hand-over between machines is neither; on its own port it can also be
// fenced to the replicas' network.
//
// It also runs the replica's heartbeat: every kPeerHeartbeatEvery it
// announces itself in the registry and takes in the other replicas' keys
// and destructions (Vault::SyncReplicaKeys).

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "api/peer_verifier.h"
#include "common/clock.h"
#include "grpcpp/server.h"
#include "lanevault/v1/config.pb.h"
#include "lanevault/v1/replica.grpc.pb.h"
#include "vault/vault.h"

namespace lanevault::replica {

struct KeyHandOverOptions {
  std::string listen;  // host:port; port 0 picks a free one
  v1::TlsConfig tls;
  std::vector<std::string> replica_principals;  // who may call
};

class KeyHandOverServer {
 public:
  // Binds, so that the port is known before the vault opens (the vault
  // announces it); answers UNAVAILABLE until Serve.
  static absl::StatusOr<std::unique_ptr<KeyHandOverServer>> Start(
      const KeyHandOverOptions& options, Clock* clock);
  ~KeyHandOverServer();

  int port() const { return port_; }
  // Serves `vault`'s key store and, from now on, announces the replica and
  // keeps its keys in step. `vault` must outlive Shutdown.
  void Serve(vault::Vault* vault);
  // Re-reads the CA, CRL and deny-list (SIGHUP).
  absl::Status ReloadTrust() { return peers_->Reload(); }
  // Stops serving and beating, and withdraws the replica from the others'
  // wait.
  void Shutdown();

 private:
  class Service;
  KeyHandOverServer() = default;
  void Beat();

  std::atomic<vault::Vault*> vault_{nullptr};
  std::unique_ptr<api::PeerVerifier> peers_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  absl::Notification stop_;
  std::thread heartbeat_;
};

// The principal `cert_file` names, as the peers' verifier will see it:
// INVALID_ARGUMENT when the CA in `tls` does not verify it.
absl::StatusOr<std::string> CertificatePrincipal(const v1::TlsConfig& tls,
                                                 const std::string& cert_file,
                                                 Clock* clock);

}  // namespace lanevault::replica

#endif  // LANEVAULT_REPLICA_KEY_HAND_OVER_SERVER_H_
