#ifndef LANEVAULT_WITNESS_HTTP_SERVER_H_
#define LANEVAULT_WITNESS_HTTP_SERVER_H_

// The witness's HTTP face: POST <prefix>/add-checkpoint and nothing else,
// over plain HTTP (cpp-httplib). A deployment reachable beyond loopback
// puts it behind a TLS terminator; the protocol itself authenticates by the
// log's signature on the checkpoint, not by the connection.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "witness/witness.h"

namespace lanevault::witness {

class HttpServer {
 public:
  // Binds `host`:`port` (0: any free port) and serves in its own thread.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(
      Witness* witness, const std::string& host, int port);
  ~HttpServer();  // stops
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const { return port_; }
  void Stop();

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace lanevault::witness

#endif  // LANEVAULT_WITNESS_HTTP_SERVER_H_
