#ifndef LANEVAULT_CMD_CTL_COMMON_H_
#define LANEVAULT_CMD_CTL_COMMON_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/time_util.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/status.h"
#include "lanevault/v1/types.pb.h"
#include "rpc/replica_channels.h"

namespace lanevault::ctl {

// A flag that may be given more than once (--content, --salt,
// --witness_key): an absl flag keeps only its last occurrence, so each parse
// also appends to Given(). `Tag` makes each flag a type of its own.
template <class Tag>
struct RepeatedFlag {
  std::string last;
  static std::vector<std::string>& Given() {
    static auto* given = new std::vector<std::string>;
    return *given;
  }
};
template <class Tag>
bool AbslParseFlag(absl::string_view text, RepeatedFlag<Tag>* out,
                   std::string* /*error*/) {
  out->last = std::string(text);
  if (text.empty()) return true;  // the default
  RepeatedFlag<Tag>::Given().push_back(out->last);
  return true;
}
template <class Tag>
std::string AbslUnparseFlag(const RepeatedFlag<Tag>& f) {
  return f.last;
}

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
// The replicas Server() names, with the caller's certificate (mutual TLS),
// connected on first use to the first that completes a TLS handshake in
// time (a replica that is down is passed over).
rpc::ReplicaChannels& Replicas();
// The channel to the replica in use (exits when none answers).
std::shared_ptr<grpc::Channel> Connect();
// Sets the call's deadline from --timeout.
void Prepare(grpc::ClientContext& ctx);
// Runs `fn(stub, ctx)` on a `Service` stub of the replica in use, with a
// fresh context whose deadline is set. When that replica went away after
// connect (UNAVAILABLE), an kIdempotent call is sent once more to the next
// replica that answers; a kOnce call is not (rpc/replica_channels.h says
// which calls are which, and why).
template <typename Service, typename Fn>
grpc::Status Ask(rpc::RetrySafety safety, Fn fn) {
  return Replicas().Call(safety,
                         [&](const std::shared_ptr<grpc::Channel>& channel) {
                           auto stub = Service::NewStub(channel);
                           grpc::ClientContext ctx;
                           Prepare(ctx);
                           return fn(*stub, ctx);
                         });
}
// JSON with every field, zero values too (add_whitespace, proto names).
void PrintJson(const google::protobuf::Message& m);
// Whether long work reports progress on stderr: --progress, or stdout is
// not a terminal (a person watching a redirected run sees nothing else).
bool ProgressWanted();
// "lanevaultctl: <line>" on stderr when ProgressWanted().
void Progress(const std::string& line);
std::string When(const google::protobuf::Timestamp& ts);
// A time flag given as a date (2026-11-01, UTC), an RFC 3339 time, or an
// age before now ("30d", "12h"); anything else exits 2 naming --`flag`.
absl::Time ParseWhenFlag(const std::string& text, const char* flag);
// --since and --until, each as ParseWhenFlag reads it, where given;
// --since after --until exits 2.
struct TimeWindow {
  std::optional<absl::Time> since, until;
};
TimeWindow TimeWindowFromFlags();
// A request's since and until from TimeWindowFromFlags().
template <typename Request>
void SetWindowFromFlags(Request& req) {
  const TimeWindow window = TimeWindowFromFlags();
  if (window.since) *req.mutable_since() = ToProto(*window.since);
  if (window.until) *req.mutable_until() = ToProto(*window.until);
}
std::string CategoryName(int c);
std::vector<v1::DataCategory> ParseCategories(const std::string& list);

}  // namespace lanevault::ctl

#endif  // LANEVAULT_CMD_CTL_COMMON_H_
