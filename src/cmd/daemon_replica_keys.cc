#include "cmd/daemon_replica_keys.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/clock.h"
#include "common/logging.h"

namespace lanevault {

absl::StatusOr<DaemonReplicaKeys> PrepareReplicaKeys(
    const v1::DaemonConfig& config, vault::VaultOptions& vopts) {
  DaemonReplicaKeys out;
  const v1::PostgresConfig& pg = config.vault().postgres();
  if (pg.replica_listen().empty()) return out;
  if (pg.replica_client_cert().empty() || pg.replica_client_key().empty()) {
    return absl::InvalidArgumentError(
        "vault.postgres.replica_listen is set: set replica_client_cert and "
        "replica_client_key too (this replica's certificate towards its "
        "peers)");
  }
  absl::StatusOr<std::string> principal = replica::CertificatePrincipal(
      config.tls(), pg.replica_client_cert(), RealClock());
  if (!principal.ok()) return principal.status();
  replica::GrpcKeyPeers::ServerNames server_names;
  for (const std::string& peer : pg.replica_peers()) {
    auto name = pg.replica_server_names().find(peer);
    if (name == pg.replica_server_names().end() || name->second.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "vault.postgres.replica_peers names ", peer,
          ": set replica_server_names[\"", peer,
          "\"] to the DNS name its hand-over listener certificate carries "
          "(keys are handed only to a server that proves it)"));
    }
    server_names[peer] = name->second;
  }
  replica::KeyHandOverOptions so;
  so.listen = pg.replica_listen();
  so.tls = config.tls();
  so.replica_principals.assign(pg.replica_peers().begin(),
                               pg.replica_peers().end());
  absl::StatusOr<std::unique_ptr<replica::KeyHandOverServer>> server =
      replica::KeyHandOverServer::Start(so, RealClock());
  if (!server.ok()) return server.status();
  absl::StatusOr<std::unique_ptr<replica::GrpcKeyPeers>> peers =
      replica::GrpcKeyPeers::Create(
          config.tls().ca_cert(), pg.replica_client_cert(),
          pg.replica_client_key(), std::move(server_names));
  if (!peers.ok()) return peers.status();
  out.server = std::move(*server);
  out.peers = std::move(*peers);
  vopts.key_peers = out.peers.get();
  vopts.replica.principal = *principal;
  vopts.replica.address = pg.replica_advertise().empty()
                              ? pg.replica_listen()
                              : pg.replica_advertise();
  spdlog::info(
      "key hand-over listening on {} (port {}), announced as {} ({}); peers "
      "{}",
      pg.replica_listen(), out.server->port(), vopts.replica.address,
      *principal, absl::StrJoin(pg.replica_peers(), ", "));
  return out;
}

}  // namespace lanevault
