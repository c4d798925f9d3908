#ifndef LANEVAULT_ALERTS_ALERT_PUSHER_H_
#define LANEVAULT_ALERTS_ALERT_PUSHER_H_

// The alerts module's public surface: pushes each alert, as it is raised,
// to syslog (journald) and to a signed webhook (AlertsConfig in
// config.proto). The vault's alerts table stays the record: a push that
// fails or is dropped loses nothing there ('lanevaultctl alerts list').
//
// The webhook's queue is bounded and in memory, not persisted: alerts wait
// there, in order, while the head is retried with doubling backoff; when
// the queue is full a new alert is dropped and counted, and one given up
// after its attempts is counted too. Push never waits on the network, so
// the RPC that raised the alert never does.

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "alerts/webhook_client.h"
#include "lanevault/v1/compliance.pb.h"
#include "lanevault/v1/config.pb.h"
#include "spdlog/logger.h"

namespace lanevault::alerts {

struct PushStats {
  uint64_t delivered = 0;        // webhook answered 2xx
  uint64_t failed_attempts = 0;  // each POST that did not
  uint64_t given_up = 0;         // after webhook_max_attempts
  uint64_t dropped = 0;          // the queue was full
  uint64_t queued = 0;           // waiting now
};

// Whether an http:// URL's host is the loopback interface (127.0.0.0/8,
// localhost, [::1]); the host itself, not a prefix of it, so
// "http://127.0.0.1.evil.example/" is not.
bool WebhookUrlIsLoopback(absl::string_view url);

class AlertPusher {
 public:
  // INVALID_ARGUMENT for a URL that is not http(s) or a webhook without a
  // key file; the key file's own errors (FAILED_PRECONDITION when others
  // may read it, INVALID_ARGUMENT when shorter than 32 bytes).
  static absl::StatusOr<std::unique_ptr<AlertPusher>> Create(
      const v1::AlertsConfig& config);
  // Stops the webhook thread (an attempt under way ends within its
  // timeout); alerts still queued are not sent, and are logged as a count.
  ~AlertPusher();
  AlertPusher(const AlertPusher&) = delete;
  AlertPusher& operator=(const AlertPusher&) = delete;

  // Thread-safe; never blocks on the network.
  void Push(const v1::Alert& alert);
  PushStats Stats() const;

 private:
  struct Pending {
    std::string alert_id;
    std::string body;
    int attempts = 0;
  };
  explicit AlertPusher(const v1::AlertsConfig& config);
  void Run();

  const v1::AlertsConfig config_;
  std::shared_ptr<spdlog::logger> syslog_;  // null: no syslog
  WebhookTarget target_;
  std::string key_;
  size_t capacity_ = 1000;
  int max_attempts_ = 12;
  absl::Duration retry_initial_ = absl::Seconds(1);

  mutable absl::Mutex mu_;
  std::deque<Pending> queue_ ABSL_GUARDED_BY(mu_);
  PushStats stats_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace lanevault::alerts

#endif  // LANEVAULT_ALERTS_ALERT_PUSHER_H_
