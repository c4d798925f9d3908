#ifndef LANEVAULT_CMD_CTL_COMMON_H_
#define LANEVAULT_CMD_CTL_COMMON_H_

#include <memory>
#include <string>
#include <vector>

#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/status.h"
#include "lanevault/v1/types.pb.h"

namespace lanevault::ctl {

// The flag's value, else the environment variable's, else `fallback`.
std::string FlagOrEnv(const std::string& flag, const char* env,
                      const std::string& fallback);
// host:port of lanevaultd, or a comma-separated list of its replicas'.
std::string Server();
// The addresses Server() names, each checked to be host:port (a bad one
// exits with a sentence naming it).
std::vector<std::string> ServerAddresses();
// Exits with a sentence that says what to do about a gRPC error.
[[noreturn]] void FailRpc(const grpc::Status& s);
// A mutual-TLS channel with the caller's certificate. With several
// addresses, to the first that completes a TLS handshake in time (a
// replica that is down is passed over); the call itself is not retried
// elsewhere, as a read or a change is logged where it reached.
std::shared_ptr<grpc::Channel> Connect();
// Sets the call's deadline from --timeout.
void Prepare(grpc::ClientContext& ctx);
// JSON with every field, zero values too (add_whitespace, proto names).
void PrintJson(const google::protobuf::Message& m);
// Whether long work reports progress on stderr: --progress, or stdout is
// not a terminal (a person watching a redirected run sees nothing else).
bool ProgressWanted();
// "lanevaultctl: <line>" on stderr when ProgressWanted().
void Progress(const std::string& line);
std::string When(const google::protobuf::Timestamp& ts);
std::string CategoryName(int c);
std::vector<v1::DataCategory> ParseCategories(const std::string& list);

}  // namespace lanevault::ctl

#endif  // LANEVAULT_CMD_CTL_COMMON_H_
