#include "rpc/replica_channels.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "grpcpp/create_channel.h"

namespace lanevault::rpc {

ReplicaChannels::ReplicaChannels(
    std::vector<std::string> addresses,
    std::shared_ptr<grpc::ChannelCredentials> credentials,
    absl::Duration connect_wait, std::function<void(const std::string&)> note)
    : addresses_(std::move(addresses)),
      credentials_(std::move(credentials)),
      connect_wait_(connect_wait),
      note_(std::move(note)) {}

const std::string& ReplicaChannels::current_address() const {
  return current_address_;
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> ReplicaChannels::ConnectFrom(
    size_t start, bool skip_start) {
  const size_t n = addresses_.size();
  if (n == 0) return absl::InvalidArgumentError("no vault address given");
  if (n == 1) {
    // Nowhere else to go: the call itself says what is wrong.
    index_ = 0;
    current_address_ = addresses_[0];
    current_ = grpc::CreateChannel(addresses_[0], credentials_);
    return current_;
  }
  // After a failure the replica that failed is asked last: it may be back.
  for (size_t k = skip_start ? 1 : 0; k < n + (skip_start ? 1 : 0); ++k) {
    const size_t i = (start + k) % n;
    std::shared_ptr<grpc::Channel> channel =
        grpc::CreateChannel(addresses_[i], credentials_);
    if (channel->WaitForConnected(
            absl::ToChronoTime(absl::Now() + connect_wait_))) {
      index_ = i;
      current_address_ = addresses_[i];
      current_ = std::move(channel);
      return current_;
    }
    if (note_) {
      note_(absl::StrCat(addresses_[i], " does not answer; trying the next"));
    }
  }
  current_.reset();
  current_address_.clear();
  return absl::UnavailableError(
      absl::StrCat("none of the vault's replicas answers (",
                   absl::StrJoin(addresses_, ","), ")"));
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> ReplicaChannels::Current() {
  if (current_ != nullptr) return current_;
  return ConnectFrom(0, /*skip_start=*/false);
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> ReplicaChannels::Failover() {
  if (current_ == nullptr) return ConnectFrom(0, /*skip_start=*/false);
  return ConnectFrom(index_, /*skip_start=*/true);
}

grpc::Status ReplicaChannels::Call(
    RetrySafety safety,
    const std::function<grpc::Status(const std::shared_ptr<grpc::Channel>&)>&
        call) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = Current();
  if (!channel.ok()) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        std::string(channel.status().message()));
  }
  const std::string first = current_address_;
  grpc::Status s = call(*channel);
  if (s.error_code() != grpc::StatusCode::UNAVAILABLE ||
      addresses_.size() < 2) {
    return s;
  }
  if (safety == RetrySafety::kOnce) {
    return grpc::Status(
        grpc::StatusCode::UNAVAILABLE,
        absl::StrCat(first, " went away during the call (", s.error_message(),
                     "); not sent to another replica, since it may have "
                     "been done there: check, then run it again"));
  }
  absl::StatusOr<std::shared_ptr<grpc::Channel>> next = Failover();
  if (!next.ok()) {
    return grpc::Status(
        grpc::StatusCode::UNAVAILABLE,
        absl::StrCat(first, " went away during the call (", s.error_message(),
                     ") and ", next.status().message()));
  }
  if (note_) {
    note_(absl::StrCat(first, " went away during the call (", s.error_message(),
                       "); sent once more to ", current_address_));
  }
  return call(*next);
}

}  // namespace lanevault::rpc
