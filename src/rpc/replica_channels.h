#ifndef LANEVAULT_RPC_REPLICA_CHANNELS_H_
#define LANEVAULT_RPC_REPLICA_CHANNELS_H_

// A client's channels to the replicas of one vault (lanevaultd processes on
// one PostgreSQL database), for a client that calls more than once: the
// first replica to complete its TLS handshake serves, and when it dies
// after that, a call that fails UNAVAILABLE is sent once more to the next
// replica that answers, if sending it twice cannot double what it does.
//
// UNAVAILABLE does not say whether the dead replica ran the call: it may
// have logged a read, counted it against a quota, or committed a change
// before its answer was lost. So only calls whose every effect is the same
// done twice are retried (RetrySafety::kIdempotent): reads of the access
// log, checkpoints, proofs, keys, contracts, lane state and alerts, which
// change nothing but add one audit-read entry (a second one says the truth:
// the caller asked again). Evidence reads and lookups are quota-counted and
// hand evidence over: a retry could charge the caller twice and log a
// hand-over that the caller then gets again, so they are not. Nor is any
// change (holds, lockouts, contracts, approvals, purges, backups, keys): a
// second one could be a second effect. The caller is told the replica
// went away and runs such a call again knowingly.
//
// Each replica gets a channel of its own, so its certificate is checked
// against its own name. Not thread-safe: one client, one thread.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/status.h"

namespace lanevault::rpc {

enum class RetrySafety {
  kIdempotent,  // the same effect done twice: retried on another replica
  kOnce,        // could be done twice: never retried
};

class ReplicaChannels {
 public:
  // `connect_wait`: how long a replica gets to complete its handshake
  // before the next is tried (with one address, it is not waited for: the
  // call itself reports what is wrong). `note` is told, in a sentence, of
  // each replica passed over and each call sent again (null: nobody).
  ReplicaChannels(std::vector<std::string> addresses,
                  std::shared_ptr<grpc::ChannelCredentials> credentials,
                  absl::Duration connect_wait,
                  std::function<void(const std::string&)> note = nullptr);

  // The channel in use, connecting to the first replica that answers on
  // first use. UNAVAILABLE naming every address when none does.
  absl::StatusOr<std::shared_ptr<grpc::Channel>> Current();
  // The address Current() is on ("" before it connected).
  const std::string& current_address() const;

  // Runs `call` on Current(). When it fails UNAVAILABLE with several
  // replicas listed and `safety` is kIdempotent, moves to the next replica
  // that answers and runs `call` there once more; `call` makes its own
  // ClientContext each time. With kOnce (or no other replica answering) the
  // UNAVAILABLE is returned, its message saying whether it was retried.
  grpc::Status Call(
      RetrySafety safety,
      const std::function<grpc::Status(const std::shared_ptr<grpc::Channel>&)>&
          call);

  // Leaves the replica in use for the next one that answers (after a
  // failure the caller saw itself, e.g. of a stream). UNAVAILABLE when none
  // does.
  absl::StatusOr<std::shared_ptr<grpc::Channel>> Failover();

 private:
  // The first replica from `start` on (wrapping, `start` itself last when
  // `skip_start`) that completes a handshake.
  absl::StatusOr<std::shared_ptr<grpc::Channel>> ConnectFrom(size_t start,
                                                             bool skip_start);

  const std::vector<std::string> addresses_;
  const std::shared_ptr<grpc::ChannelCredentials> credentials_;
  const absl::Duration connect_wait_;
  const std::function<void(const std::string&)> note_;
  std::shared_ptr<grpc::Channel> current_;
  size_t index_ = 0;
  std::string current_address_;
};

}  // namespace lanevault::rpc

#endif  // LANEVAULT_RPC_REPLICA_CHANNELS_H_
