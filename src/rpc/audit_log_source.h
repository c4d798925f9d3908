#ifndef LANEVAULT_RPC_AUDIT_LOG_SOURCE_H_
#define LANEVAULT_RPC_AUDIT_LOG_SOURCE_H_

// The access log as a running server gives it, for the verifier auditors
// run (tlog/log_verifier.h).

#include <memory>

#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "tlog/log_verifier.h"

namespace lanevault::rpc {

// Each call has `timeout`.
std::unique_ptr<tlog::AuditLogSource> RpcAuditLogSource(
    std::shared_ptr<grpc::Channel> channel, absl::Duration timeout);

}  // namespace lanevault::rpc

#endif  // LANEVAULT_RPC_AUDIT_LOG_SOURCE_H_
