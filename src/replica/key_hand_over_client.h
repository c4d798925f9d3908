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
  // Trusts `ca_file` for the peers' server certificates and presents
  // `cert_file` / `key_file` (0600). Errors name the file.
  static absl::StatusOr<std::unique_ptr<GrpcKeyPeers>> Create(
      const std::string& ca_file, const std::string& cert_file,
      const std::string& key_file, absl::Duration timeout = absl::Seconds(5));

  absl::Status Push(const vault::ReplicaPeer& peer,
                    const std::vector<vault::StoredKek>& keks) override;
  absl::StatusOr<Fetched> Fetch(const vault::ReplicaPeer& peer,
                                const std::vector<uint32_t>& versions,
                                bool log_seed) override;

 private:
  GrpcKeyPeers(std::shared_ptr<grpc::ChannelCredentials> credentials,
               absl::Duration timeout)
      : credentials_(std::move(credentials)), timeout_(timeout) {}
  v1::ReplicaKeys::Stub* StubFor(const std::string& address);

  const std::shared_ptr<grpc::ChannelCredentials> credentials_;
  const absl::Duration timeout_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<v1::ReplicaKeys::Stub>>
      stubs_ ABSL_GUARDED_BY(mu_);
};

}  // namespace lanevault::replica

#endif  // LANEVAULT_REPLICA_KEY_HAND_OVER_CLIENT_H_
