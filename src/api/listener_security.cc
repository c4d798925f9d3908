#include "api/listener_security.h"

#include <cstdlib>

#include "common/config.h"
#include "common/logging.h"
#include "rpc/tls.h"

namespace lanevault::api {
namespace {

// TLS 1.2 and 1.3 only (gRPC's floor), and of those only forward-secret
// AEAD suites; pinned here so a changed default cannot widen it.
constexpr char kCipherSuites[] =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
    "TLS_CHACHA20_POLY1305_SHA256:ECDHE-ECDSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305";

}  // namespace

absl::StatusOr<ListenerSecurity> MakeListenerSecurity(
    const std::string& listen, const v1::TlsConfig& tls,
    bool dev_insecure_loopback, Clock* clock,
    absl::string_view plain_text_warning) {
  ListenerSecurity out;
  if (dev_insecure_loopback) {
    if (!IsLoopbackAddress(listen)) {
      return absl::FailedPreconditionError(
          "plain text is only allowed on a loopback address");
    }
    spdlog::warn("DEVELOPMENT MODE: {} on {}. Never use this in production.",
                 plain_text_warning, listen);
    out.credentials = grpc::InsecureServerCredentials();
    return out;
  }
  setenv("GRPC_SSL_CIPHER_SUITES", kCipherSuites, 1);
  PeerTrust trust;
  trust.ca_file = tls.ca_cert();
  trust.crl_file = tls.crl_file();
  trust.deny_list_file = tls.deny_list_file();
  trust.principal_from_uri = tls.principal_from_uri();
  absl::StatusOr<std::unique_ptr<PeerVerifier>> verifier =
      PeerVerifier::Create(trust, clock);
  if (!verifier.ok()) return verifier.status();
  out.peers = std::move(*verifier);
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> creds =
      rpc::ServerTlsCredentials(tls);
  if (!creds.ok()) return creds.status();
  out.credentials = *std::move(creds);
  return out;
}

}  // namespace lanevault::api
