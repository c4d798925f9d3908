#ifndef LANEVAULT_REPLICA_KEY_HAND_OVER_CLIENT_H_
#define LANEVAULT_REPLICA_KEY_HAND_OVER_CLIENT_H_

// KeyPeers (vault/key_registry.h) over gRPC: this replica calls its peers'
// ReplicaKeys service with its own client certificate, over mutual TLS.

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/security/credentials.h"
#include "lanevault/v1/replica.grpc.pb.h"
#include "vault/key_registry.h"

namespace lanevault::replica {

class GrpcKeyPeers final : public vault::KeyPeers {
 public:
  // The DNS name each configured replica's server certificate carries, by
  // the principal its registry row names.
  using ServerNames = absl::flat_hash_map<std::string, std::string>;

  // Trusts `ca_file` for the peers' server certificates and presents
  // `cert_file` / `key_file` (0600). Errors name the file. A peer is called
  // only when `server_names` has its principal, and only a server whose
  // certificate carries that name is answered (PERMISSION_DENIED for a
  // principal not configured; UNAVAILABLE when the certificate does not
  // match): the address comes from the database, which must not decide
  // who receives keys.
  static absl::StatusOr<std::unique_ptr<GrpcKeyPeers>> Create(
      const std::string& ca_file, const std::string& cert_file,
      const std::string& key_file, ServerNames server_names,
      absl::Duration timeout = absl::Seconds(5));

  bool Configured(const vault::ReplicaPeer& peer) const override;
  absl::Status Push(const vault::ReplicaPeer& peer,
                    const std::vector<vault::StoredKek>& keks) override;
  absl::StatusOr<Fetched> Fetch(const vault::ReplicaPeer& peer,
                                const std::vector<uint32_t>& versions,
                                bool log_seed) override;

 private:
  GrpcKeyPeers(std::shared_ptr<grpc::ChannelCredentials> credentials,
               ServerNames server_names, absl::Duration timeout)
      : credentials_(std::move(credentials)),
        server_names_(std::move(server_names)),
        timeout_(timeout) {}
  // A channel to `peer` that verifies its configured server name.
  absl::StatusOr<v1::ReplicaKeys::Stub*> StubFor(
      const vault::ReplicaPeer& peer);

  const std::shared_ptr<grpc::ChannelCredentials> credentials_;
  const ServerNames server_names_;
  const absl::Duration timeout_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<v1::ReplicaKeys::Stub>>
      stubs_ ABSL_GUARDED_BY(mu_);
};

}  // namespace lanevault::replica

#endif  // LANEVAULT_REPLICA_KEY_HAND_OVER_CLIENT_H_
