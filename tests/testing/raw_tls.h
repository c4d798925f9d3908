#ifndef LANEVAULT_TESTS_TESTING_RAW_TLS_H_
#define LANEVAULT_TESTS_TESTING_RAW_TLS_H_

// A bare TLS handshake with OpenSSL, no client certificate, for tests of
// what the server's TLS accepts: versions, ciphers, a caller without a
// certificate.

namespace lanevault::testing {

// Whether a handshake with the server on 127.0.0.1:`port` completes.
// `max_version` 0: OpenSSL's newest; `ciphers` null: OpenSSL's default
// list. The client offers everything else, old versions included.
bool RawTlsHandshake(int port, int max_version = 0,
                     const char* ciphers = nullptr);

}  // namespace lanevault::testing

#endif  // LANEVAULT_TESTS_TESTING_RAW_TLS_H_
