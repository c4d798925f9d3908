#ifndef LANEVAULT_RPC_SERVER_THREADS_H_
#define LANEVAULT_RPC_SERVER_THREADS_H_

// How many threads a synchronous gRPC server keeps waiting for calls.
//
// A synchronous server's thread that finishes a call goes back to waiting
// only while fewer than MAX_POLLERS wait already; otherwise it exits, and the
// next call to arrive while fewer than MIN_POLLERS wait starts a new one.
// gRPC's defaults (1 and 2) make a server whose calls block (lanevault's
// reads wait for the access log's group commit) start and end a thread for
// almost every call. Keeping up to kMaxWaitingThreads waiting costs a few
// idle stacks and saves that churn.

#include "grpcpp/server_builder.h"

namespace lanevault::rpc {

inline constexpr int kMaxWaitingThreads = 64;

inline void KeepServerThreads(grpc::ServerBuilder& builder) {
  builder.SetSyncServerOption(
      grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, kMaxWaitingThreads);
}

}  // namespace lanevault::rpc

#endif  // LANEVAULT_RPC_SERVER_THREADS_H_
