#ifndef LANEVAULT_RPC_GRPC_LOGGING_H_
#define LANEVAULT_RPC_GRPC_LOGGING_H_

// gRPC writes its own lines to stderr ("E1202 12:00:00.000 … ssl_transport
// …") in a format of its own. Call once, after InitLogging and before any
// gRPC call: its lines go through LibraryLogger("grpc") with their file and
// line, and, unless GRPC_VERBOSITY is set, only its errors are kept (its
// INFO lines are noise to an operator).

namespace lanevault::rpc {

void RouteGrpcLogs();

}  // namespace lanevault::rpc

#endif  // LANEVAULT_RPC_GRPC_LOGGING_H_
