#ifndef LANEVAULT_OPS_RPC_TIMER_H_
#define LANEVAULT_OPS_RPC_TIMER_H_

// A gRPC server interceptor that times every call, from its arrival to its
// status going out, into Metrics::ObserveRpc by method and status code.
// The api module takes it as an opaque interceptor factory
// (api::ServerOptions::rpc_observer), so it does not link prometheus-cpp.

#include <memory>

#include "grpcpp/support/server_interceptor.h"
#include "ops/metrics.h"

namespace lanevault::ops {

// `metrics` must outlive every server built with the factory.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
NewRpcTimerFactory(Metrics* metrics);

}  // namespace lanevault::ops

#endif  // LANEVAULT_OPS_RPC_TIMER_H_
