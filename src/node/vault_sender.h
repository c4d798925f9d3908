#ifndef LANEVAULT_NODE_VAULT_SENDER_H_
#define LANEVAULT_NODE_VAULT_SENDER_H_

// Drains a capture node's spool into the vault: each entry is sent with
// LaneService.SubmitCrossing over mutual TLS and removed from the spool only
// once the vault acknowledged it (stored, or stored before: the entry's
// idempotency key makes a resend harmless). A vault that is unreachable or
// busy is retried with backoff, moving on to the next address of the list;
// a record the vault refuses for good (it does not open, parse or fit the
// vault's clock) is set aside in the spool's refused/ folder and reported.

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/security/credentials.h"
#include "lanevault/v1/lanes.grpc.pb.h"
#include "node/spool.h"

namespace lanevault::node {

struct SenderOptions {
  std::vector<std::string> addresses;  // host:port, in order of preference
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  std::string server_name;  // TLS name override; empty: each address's host
  int in_flight = 4;
  absl::Duration timeout = absl::Seconds(10);
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(10);
};

struct SenderStats {
  uint64_t sent = 0;            // acknowledged as newly stored
  uint64_t already_stored = 0;  // acknowledged as a resend
  uint64_t refused = 0;         // refused for good, set aside
  uint64_t failures = 0;        // attempts to retry (vault down, busy, …)
  std::string address;          // the address last used
  std::string last_error;       // the last failure, empty after a success
};

class VaultSender {
 public:
  VaultSender(Spool* spool, SenderOptions options);
  ~VaultSender();  // Stop(0)
  VaultSender(const VaultSender&) = delete;
  VaultSender& operator=(const VaultSender&) = delete;

  void Start();
  // Sends what the spool holds for up to `grace` more, then stops; what is
  // left stays spooled for the next start. Calls in flight finish or time
  // out.
  void Stop(absl::Duration grace);
  // New addresses or credentials (SIGHUP): used from the next call on.
  void Reconfigure(SenderOptions options);
  // Blocks until the spool holds nothing, or `timeout` passes.
  bool WaitUntilDrained(absl::Duration timeout);

  SenderStats Stats() const;

 private:
  struct Endpoint {
    std::string address;
    std::shared_ptr<v1::LaneService::Stub> stub;
  };
  void Work();
  // The endpoint to use next.
  std::shared_ptr<const std::vector<Endpoint>> Endpoints(size_t* index) const;
  void Succeeded(size_t index);
  // Moves on to the next address when `address_trouble`, and gives an
  // address that has failed for a while a fresh channel.
  void Failed(size_t index, bool address_trouble);
  static Endpoint Connect(const SenderOptions& options,
                          const std::string& address);
  static std::shared_ptr<const std::vector<Endpoint>> ConnectAll(
      const SenderOptions& options);

  Spool* spool_;
  mutable absl::Mutex mu_;
  SenderOptions options_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const std::vector<Endpoint>> endpoints_ ABSL_GUARDED_BY(mu_);
  size_t current_ ABSL_GUARDED_BY(mu_) = 0;
  // Per endpoint: since when it has failed without a success in between.
  std::vector<absl::Time> failing_since_ ABSL_GUARDED_BY(mu_);
  SenderStats stats_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> workers_;
  std::atomic<bool> stopping_{false};
  absl::Time stop_at_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
};

}  // namespace lanevault::node

#endif  // LANEVAULT_NODE_VAULT_SENDER_H_
