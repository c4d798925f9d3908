#ifndef LANEVAULT_BENCH_RAW_READ_SERVER_H_
#define LANEVAULT_BENCH_RAW_READ_SERVER_H_

// The floor under a read over mutual TLS, for api_bench: a minimal gRPC
// server with lanevault's TLS settings (rpc::ServerTlsCredentials, the same
// certificates) that, per GetRecord, appends one row of an access-log
// entry's size to a plain SQLite file (WAL, synchronous=FULL, the vault's
// group commit) and answers with bytes captured from a real read of the
// same record. No gate, no policy, no decryption, no tree: what is left is
// the wire, TLS and one durable log row per read.

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/server.h"
#include "lanevault/v1/config.pb.h"
#include "lanevault/v1/evidence.pb.h"

namespace lanevault::bench {

struct RawReadOptions {
  v1::TlsConfig tls;
  std::string database;  // created (or truncated) here
  size_t log_row_bytes;  // an access-log entry's serialized size
  int max_streams_per_connection = 64;
  // The answer for each record id (as the client names it).
  std::map<std::string, v1::GetRecordResponse> responses;
};

class RawReadServer {
 public:
  static absl::StatusOr<std::unique_ptr<RawReadServer>> Start(
      RawReadOptions options);
  ~RawReadServer();
  RawReadServer(const RawReadServer&) = delete;
  RawReadServer& operator=(const RawReadServer&) = delete;

  int port() const { return port_; }
  // Rows the log holds (one per answered read).
  int64_t LoggedRows();

 private:
  class Service;
  RawReadServer() = default;

  int port_ = 0;
  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace lanevault::bench

#endif  // LANEVAULT_BENCH_RAW_READ_SERVER_H_
