#ifndef LANEVAULT_TESTS_TESTING_RAW_TLS_H_
#define LANEVAULT_TESTS_TESTING_RAW_TLS_H_

// A bare TLS handshake with OpenSSL, no client certificate, for tests of
// what the server's TLS accepts: versions, ciphers, a caller without a
// certificate.

struct ssl_ctx_st;
struct ssl_st;

namespace lanevault::testing {

// Whether a handshake with the server on 127.0.0.1:`port` completes.
// `max_version` 0: OpenSSL's newest; `ciphers` null: OpenSSL's default
// list. The client offers everything else, old versions included.
bool RawTlsHandshake(int port, int max_version = 0,
                     const char* ciphers = nullptr);

// A client that completes the TLS handshake and then says nothing more (no
// HTTP/2), as a stalled or hostile client does, until destroyed.
class IdleTlsClient {
 public:
  explicit IdleTlsClient(int port);
  ~IdleTlsClient();
  IdleTlsClient(const IdleTlsClient&) = delete;
  IdleTlsClient& operator=(const IdleTlsClient&) = delete;
  bool connected() const { return connected_; }

 private:
  ssl_ctx_st* ctx_ = nullptr;
  ssl_st* ssl_ = nullptr;
  int fd_ = -1;
  bool connected_ = false;
};

}  // namespace lanevault::testing

#endif  // LANEVAULT_TESTS_TESTING_RAW_TLS_H_
