#include "testing/raw_tls.h"

#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>

namespace lanevault::testing {

bool RawTlsHandshake(int port, int max_version, const char* ciphers) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_security_level(ctx, 0);  // let the client offer old things
  SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
  if (max_version != 0) SSL_CTX_set_max_proto_version(ctx, max_version);
  if (ciphers != nullptr) SSL_CTX_set_cipher_list(ctx, ciphers);
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = false;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    SSL_set_alpn_protos(ssl, reinterpret_cast<const unsigned char*>("\x02h2"),
                        3);
    ok = SSL_connect(ssl) == 1;
    SSL_free(ssl);
  }
  close(fd);
  SSL_CTX_free(ctx);
  ERR_clear_error();
  return ok;
}

IdleTlsClient::IdleTlsClient(int port) {
  ctx_ = SSL_CTX_new(TLS_client_method());
  fd_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return;
  }
  ssl_ = SSL_new(ctx_);
  SSL_set_fd(ssl_, fd_);
  SSL_set_alpn_protos(ssl_, reinterpret_cast<const unsigned char*>("\x02h2"),
                      3);
  connected_ = SSL_connect(ssl_) == 1;
  ERR_clear_error();
}

IdleTlsClient::~IdleTlsClient() {
  if (ssl_ != nullptr) SSL_free(ssl_);
  if (fd_ >= 0) close(fd_);
  SSL_CTX_free(ctx_);
  ERR_clear_error();
}

}  // namespace lanevault::testing
