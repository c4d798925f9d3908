#ifndef LANEVAULT_API_PEER_CERTIFICATES_H_
#define LANEVAULT_API_PEER_CERTIFICATES_H_

// The caller's certificate as the TLS layer handed it over, verified: the
// one way every listener (the API's gate, the sealed daemon's unseal
// service, the replicas' key hand-over) learns who is calling.

#include <string>

#include "absl/status/statusor.h"
#include "api/peer_verifier.h"
#include "grpcpp/security/auth_context.h"

namespace lanevault::api {

// The identity of the client certificate in `auth` (null or without a
// certificate: UNAUTHENTICATED with the reason, as PeerVerifier says).
inline absl::StatusOr<PeerIdentity> VerifyPeerCertificate(
    const PeerVerifier& peers, const grpc::AuthContext* auth) {
  std::string leaf, chain;
  if (auth != nullptr) {
    for (const auto& v : auth->FindPropertyValues("x509_pem_cert")) {
      leaf.assign(v.data(), v.size());
    }
    for (const auto& v : auth->FindPropertyValues("x509_pem_cert_chain")) {
      chain.assign(v.data(), v.size());
    }
  }
  return peers.Verify(leaf, chain);
}

}  // namespace lanevault::api

#endif  // LANEVAULT_API_PEER_CERTIFICATES_H_
