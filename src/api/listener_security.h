#ifndef LANEVAULT_API_LISTENER_SECURITY_H_
#define LANEVAULT_API_LISTENER_SECURITY_H_

// What a lanevault gRPC listener (the full API, or the sealed server before
// unseal) needs to accept a call: mutual TLS with pinned cipher suites and
// the verifier of client certificates, or, for development on loopback
// only, plain text.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "api/peer_verifier.h"
#include "common/clock.h"
#include "grpcpp/security/server_credentials.h"
#include "lanevault/v1/config.pb.h"

namespace lanevault::api {

struct ListenerSecurity {
  std::shared_ptr<grpc::ServerCredentials> credentials;
  std::unique_ptr<PeerVerifier> peers;  // null in plain text
};

// FAILED_PRECONDITION for plain text on a non-loopback address; the TLS and
// trust files' errors name the file. `plain_text_warning` is logged when
// plain text is allowed.
absl::StatusOr<ListenerSecurity> MakeListenerSecurity(
    const std::string& listen, const v1::TlsConfig& tls,
    bool dev_insecure_loopback, Clock* clock,
    absl::string_view plain_text_warning);

}  // namespace lanevault::api

#endif  // LANEVAULT_API_LISTENER_SECURITY_H_
