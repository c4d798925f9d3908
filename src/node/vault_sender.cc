#include "node/vault_sender.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/support/channel_arguments.h"

namespace lanevault::node {
namespace {

constexpr absl::Duration kPoll = absl::Milliseconds(200);
// How long an entry the vault refuses for now waits before it is sent
// again: an officer's fix (a binding, a lifted lockout) takes minutes, and
// each refusal counts towards the node's lockout.
constexpr absl::Duration kDeferRefused = absl::Minutes(5);

bool IsPowerOfTwo(uint64_t n) { return n != 0 && (n & (n - 1)) == 0; }

// A request over the vault's size limit: its gate's refusal, or gRPC's.
bool TooLarge(const grpc::Status& status) {
  if (status.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED) {
    return false;
  }
  const std::string& m = status.error_message();
  return absl::StrContains(m, "are accepted") ||
         absl::StrContains(m, "larger than max");
}

// Failures that say more about the address than about the record: the
// next address may do better.
bool AddressTrouble(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE ||
         code == grpc::StatusCode::DEADLINE_EXCEEDED;
}

}  // namespace

VaultSender::VaultSender(Spool* spool, SenderOptions options) : spool_(spool) {
  auto endpoints = ConnectAll(options);
  absl::MutexLock lock(&mu_);
  options_ = std::move(options);
  failing_since_.assign(endpoints->size(), absl::InfiniteFuture());
  endpoints_ = std::move(endpoints);
}

VaultSender::~VaultSender() { Stop(absl::ZeroDuration()); }

VaultSender::Endpoint VaultSender::Connect(const SenderOptions& options,
                                           const std::string& address) {
  grpc::ChannelArguments args;
  // A vault that comes back is found within a couple of seconds, not
  // after gRPC's default backoff of up to two minutes. gRPC also takes the
  // "min" backoff as the time a connection attempt, TLS handshake
  // included, may take (grpc/grpc#33423): small, a busy host never
  // connects again, so it stays at seconds.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 5000);
  if (!options.server_name.empty()) {
    args.SetSslTargetNameOverride(options.server_name);
  }
  return Endpoint{address, v1::LaneService::NewStub(grpc::CreateCustomChannel(
                               address, options.credentials, args))};
}

std::shared_ptr<const std::vector<VaultSender::Endpoint>>
VaultSender::ConnectAll(const SenderOptions& options) {
  auto endpoints = std::make_shared<std::vector<Endpoint>>();
  for (const std::string& address : options.addresses) {
    endpoints->push_back(Connect(options, address));
  }
  return endpoints;
}

void VaultSender::Start() {
  int n;
  {
    absl::MutexLock lock(&mu_);
    n = std::max(1, options_.in_flight);
  }
  for (int i = 0; i < n; ++i) workers_.emplace_back([this] { Work(); });
}

void VaultSender::Stop(absl::Duration grace) {
  {
    absl::MutexLock lock(&mu_);
    stop_at_ = std::min(stop_at_, absl::Now() + grace);
  }
  stopping_ = true;
  for (std::thread& t : workers_) t.join();
  workers_.clear();
}

void VaultSender::Reconfigure(SenderOptions options) {
  auto endpoints = ConnectAll(options);
  absl::MutexLock lock(&mu_);
  options.in_flight = options_.in_flight;  // the workers stay as they are
  options_ = std::move(options);
  failing_since_.assign(endpoints->size(), absl::InfiniteFuture());
  endpoints_ = std::move(endpoints);
  current_ = 0;
}

bool VaultSender::WaitUntilDrained(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (spool_->Stats().depth > 0) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return true;
}

SenderStats VaultSender::Stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

std::shared_ptr<const std::vector<VaultSender::Endpoint>>
VaultSender::Endpoints(size_t* index) const {
  absl::MutexLock lock(&mu_);
  *index = current_ % std::max<size_t>(1, endpoints_->size());
  return endpoints_;
}

void VaultSender::Succeeded(size_t index) {
  absl::MutexLock lock(&mu_);
  if (index < failing_since_.size()) {
    failing_since_[index] = absl::InfiniteFuture();
  }
}

void VaultSender::Failed(size_t index, bool address_trouble) {
  // A channel whose vault went away does not always connect again when it
  // is back (seen with TLS after a restart, and in grpc/grpc#33593); a
  // new channel does. So an address failing for a while gets one.
  constexpr absl::Duration kFreshChannelAfter = absl::Seconds(3);
  absl::MutexLock lock(&mu_);
  if (index >= endpoints_->size()) return;  // reconfigured meanwhile
  const absl::Time now = absl::Now();
  absl::Time& since = failing_since_[index];
  if (since == absl::InfiniteFuture()) {
    since = now;
  } else if (address_trouble && now - since >= kFreshChannelAfter) {
    auto fresh = std::make_shared<std::vector<Endpoint>>(*endpoints_);
    (*fresh)[index] = Connect(options_, (*fresh)[index].address);
    endpoints_ = std::move(fresh);
    since = now;
    spdlog::debug("vault {}: a fresh channel", (*endpoints_)[index].address);
  }
  // Another worker may have moved on already.
  if (address_trouble &&
      current_ % std::max<size_t>(1, endpoints_->size()) == index) {
    ++current_;
  }
}

void VaultSender::Work() {
  absl::Duration backoff;
  absl::Duration max_backoff;
  absl::Duration timeout;
  {
    absl::MutexLock lock(&mu_);
    backoff = options_.initial_backoff;
    max_backoff = options_.max_backoff;
    timeout = options_.timeout;
  }
  const absl::Duration initial = backoff;
  while (true) {
    absl::Time stop_at;
    {
      absl::MutexLock lock(&mu_);
      stop_at = stop_at_;
    }
    if (absl::Now() >= stop_at) return;
    std::optional<Spool::Taken> taken = spool_->Take(kPoll);
    if (!taken.has_value()) {
      if (stopping_ && spool_->Stats().depth == 0) return;
      continue;
    }
    size_t index = 0;
    auto endpoints = Endpoints(&index);
    if (endpoints->empty()) {
      spool_->Return(taken->seq);
      absl::SleepFor(kPoll);
      continue;
    }
    const Endpoint& endpoint = (*endpoints)[index];
    v1::SubmitCrossingRequest request;
    request.set_sealed_record(taken->entry.sealed_record());
    request.set_lane_id(taken->entry.lane_id());
    request.set_checkpoint_id(taken->entry.checkpoint_id());
    request.set_idempotency_key(taken->entry.idempotency_key());
    v1::SubmitCrossingResponse response;
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    const grpc::Status status =
        endpoint.stub->SubmitCrossing(&ctx, request, &response);

    if (status.ok()) {
      Succeeded(index);
      if (absl::Status s = spool_->Remove(*taken); !s.ok()) {
        // Stored in the vault, still in the spool: a resend is answered
        // "already stored".
        spdlog::error("spool: {}", s.message());
      }
      bool recovered;
      uint64_t failures;
      {
        absl::MutexLock lock(&mu_);
        (response.already_stored() ? stats_.already_stored : stats_.sent)++;
        recovered = !stats_.last_error.empty();
        failures = stats_.failures;
        stats_.address = endpoint.address;
        stats_.last_error.clear();
      }
      if (recovered) {
        spdlog::info(
            "vault {} acknowledges records again ({} failed attempts in all); "
            "{} waiting in the spool",
            endpoint.address, failures, spool_->Stats().depth);
      }
      backoff = initial;
      continue;
    }
    if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
      // The vault opened the box and will never take it: resending cannot
      // help, and keeping it at the front would stop everything behind it.
      spool_->Refuse(*taken, absl::StrCat("vault ", endpoint.address, ": ",
                                          status.error_message()));
      absl::MutexLock lock(&mu_);
      ++stats_.refused;
      continue;
    }
    if (TooLarge(status)) {
      // Larger than this vault takes: no resend will fit, and each one
      // would count towards the node's lockout.
      spool_->Refuse(*taken, absl::StrCat("vault ", endpoint.address, ": ",
                                          status.error_message()));
      absl::MutexLock lock(&mu_);
      ++stats_.refused;
      continue;
    }
    // Refusals that a resend soon cannot change (a lane the certificate is
    // not bound to, a lockout), each of which counts towards the node's
    // lockout: the lane's entries wait, the other lanes' go on.
    const bool refused_for_now =
        status.error_code() == grpc::StatusCode::PERMISSION_DENIED ||
        status.error_code() == grpc::StatusCode::UNAUTHENTICATED;
    if (refused_for_now) {
      spool_->Defer(taken->seq, kDeferRefused);
      spool_->PauseLane(taken->entry.lane_id(), kDeferRefused);
    } else {
      spool_->Return(taken->seq);
    }
    Failed(index, AddressTrouble(status.error_code()));
    uint64_t failures;
    {
      absl::MutexLock lock(&mu_);
      failures = ++stats_.failures;
      stats_.address = endpoint.address;
      stats_.last_error =
          absl::StrCat(endpoint.address, ": ", status.error_message());
    }
    if (IsPowerOfTwo(failures)) {
      const char* hint =
          status.error_code() == grpc::StatusCode::PERMISSION_DENIED
              ? " (the vault refuses this node: is its certificate bound to "
                "the lane and checkpoint in the contract, or locked out?)"
              : "";
      spdlog::warn(
          "vault {} did not take lane {}'s record (failure {}; retrying "
          "with backoff, {} waiting in the spool): {}: {}{}",
          endpoint.address, taken->entry.lane_id(), failures,
          spool_->Stats().depth,
          absl::StatusCodeToString(
              static_cast<absl::StatusCode>(status.error_code())),
          status.error_message(), hint);
    }
    absl::SleepFor(std::min(
        backoff, std::max(absl::ZeroDuration(), stop_at - absl::Now())));
    backoff = std::min(backoff * 2, max_backoff);
  }
}

}  // namespace lanevault::node
