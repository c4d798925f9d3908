#ifndef LANEVAULT_RPC_TLS_H_
#define LANEVAULT_RPC_TLS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "lanevault/v1/config.pb.h"

namespace lanevault::rpc {

// TLS for the server, asking every client for its certificate; the gate
// verifies it against `ca_cert` (with the CRL and deny-list) on every call.
// The key file must be 0600.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerTlsCredentials(
    const v1::TlsConfig& tls);

// The client side: trusts `ca_file`, presents `cert_file` / `key_file`.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ClientTlsCredentials(
    const std::string& ca_file, const std::string& cert_file,
    const std::string& key_file);

}  // namespace lanevault::rpc

#endif  // LANEVAULT_RPC_TLS_H_
