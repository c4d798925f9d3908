#ifndef LANEVAULT_CMD_DAEMON_REPLICA_KEYS_H_
#define LANEVAULT_CMD_DAEMON_REPLICA_KEYS_H_

// lanevaultd's part in the key hand-over between replicas on separate
// machines (vault/key_registry.h, src/replica): from
// vault.postgres.replica_*, the listener peers call and the client this
// replica calls them with.

#include <memory>

#include "absl/status/statusor.h"
#include "lanevault/v1/config.pb.h"
#include "replica/key_hand_over_client.h"
#include "replica/key_hand_over_server.h"
#include "vault/vault.h"

namespace lanevault {

struct DaemonReplicaKeys {
  std::unique_ptr<replica::GrpcKeyPeers> peers;
  std::unique_ptr<replica::KeyHandOverServer> server;  // null: no hand-over
};

// Binds the hand-over listener and sets `vopts` to announce it and to call
// the peers. Nothing when replica_listen is unset; INVALID_ARGUMENT naming
// the field for an incomplete setting.
absl::StatusOr<DaemonReplicaKeys> PrepareReplicaKeys(
    const v1::DaemonConfig& config, vault::VaultOptions& vopts);

}  // namespace lanevault

#endif  // LANEVAULT_CMD_DAEMON_REPLICA_KEYS_H_
