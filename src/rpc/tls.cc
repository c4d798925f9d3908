#include "rpc/tls.h"

#include "absl/strings/str_cat.h"
#include "common/files.h"

namespace lanevault::rpc {
namespace {

absl::StatusOr<std::string> ReadPem(const std::string& path,
                                    absl::string_view what) {
  if (path.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("no ", what, " file given"));
  }
  absl::StatusOr<std::string> pem = ReadFileToString(path);
  if (!pem.ok()) return pem.status();
  if (pem->find("-----BEGIN") == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is not a PEM ", what));
  }
  return pem;
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerTlsCredentials(
    const v1::TlsConfig& tls) {
  if (absl::Status s = CheckPrivateFile(tls.server_key()); !s.ok()) return s;
  auto ca = ReadPem(tls.ca_cert(), "CA certificate");
  if (!ca.ok()) return ca.status();
  auto cert = ReadPem(tls.server_cert(), "server certificate");
  if (!cert.ok()) return cert.status();
  auto key = ReadPem(tls.server_key(), "server key");
  if (!key.ok()) return key.status();
  // The certificate is requested here and verified by the gate (see
  // peer_verifier.h), so that every refused certificate is logged with its
  // reason instead of vanishing in a failed handshake.
  grpc::SslServerCredentialsOptions options(
      GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_BUT_DONT_VERIFY);
  options.pem_root_certs = *ca;
  options.pem_key_cert_pairs.push_back({*key, *cert});
  auto creds = grpc::SslServerCredentials(options);
  // The key now lives inside gRPC; drop our copy.
  std::fill(key->begin(), key->end(), '\0');
  return creds;
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ClientTlsCredentials(
    const std::string& ca_file, const std::string& cert_file,
    const std::string& key_file) {
  auto ca = ReadPem(ca_file, "CA certificate");
  if (!ca.ok()) return ca.status();
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = *ca;
  if (!cert_file.empty() || !key_file.empty()) {
    auto cert = ReadPem(cert_file, "client certificate");
    if (!cert.ok()) return cert.status();
    auto key = ReadPem(key_file, "client key");
    if (!key.ok()) return key.status();
    options.pem_cert_chain = *cert;
    options.pem_private_key = *key;
    std::fill(key->begin(), key->end(), '\0');
  }
  return grpc::SslCredentials(options);
}

}  // namespace lanevault::rpc
