#include "alerts/alert_pusher.h"

#include <arpa/inet.h>
#include <syslog.h>

#include <algorithm>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "alerts/webhook_signature.h"
#include "common/files.h"
#include "common/logging.h"
#include "crypto/secure_bytes.h"
#include "spdlog/sinks/syslog_sink.h"

namespace lanevault::alerts {
namespace {

constexpr absl::Duration kMaxBackoff = absl::Seconds(60);

spdlog::level::level_enum SyslogLevel(absl::string_view severity) {
  if (severity == "critical") return spdlog::level::critical;  // LOG_CRIT
  if (severity == "warning") return spdlog::level::warn;       // LOG_WARNING
  return spdlog::level::info;                                  // LOG_INFO
}

}  // namespace

bool WebhookUrlIsLoopback(absl::string_view url) {
  absl::ConsumePrefix(&url, "http://");
  url = url.substr(0, url.find_first_of("/?#"));
  if (const size_t at = url.rfind('@'); at != absl::string_view::npos) {
    url.remove_prefix(at + 1);
  }
  if (absl::StartsWith(url, "[")) {
    return url == "[::1]" || absl::StartsWith(url, "[::1]:");
  }
  const std::string host(url.substr(0, url.find(':')));
  if (absl::EqualsIgnoreCase(host, "localhost")) return true;
  in_addr addr;
  return inet_pton(AF_INET, host.c_str(), &addr) == 1 &&
         (ntohl(addr.s_addr) >> 24) == 127;
}

absl::StatusOr<std::unique_ptr<AlertPusher>> AlertPusher::Create(
    const v1::AlertsConfig& config) {
  std::unique_ptr<AlertPusher> pusher(new AlertPusher(config));
  if (config.syslog()) {
    const std::string ident = config.syslog_ident().empty()
                                  ? "lanevault-alert"
                                  : config.syslog_ident();
    // The line carries its own severity as the syslog priority; no pattern.
    auto sink = std::make_shared<spdlog::sinks::syslog_sink_mt>(
        ident, LOG_PID, LOG_AUTHPRIV, /*enable_formatting=*/false);
    pusher->syslog_ = std::make_shared<spdlog::logger>("alerts-syslog", sink);
    pusher->syslog_->set_level(spdlog::level::trace);
    pusher->syslog_->flush_on(spdlog::level::trace);
  }
  const std::string& url = config.webhook_url();
  if (url.empty()) return pusher;
  if (!absl::StartsWith(url, "https://") && !absl::StartsWith(url, "http://")) {
    return absl::InvalidArgumentError(
        "alerts.webhook_url must start with https:// (or http://)");
  }
  if (config.webhook_key_file().empty()) {
    return absl::InvalidArgumentError(
        "alerts.webhook_url needs alerts.webhook_key_file: the receiver "
        "trusts only signed alerts");
  }
  absl::StatusOr<std::string> key = ReadPrivateFile(config.webhook_key_file());
  if (!key.ok()) return key.status();
  absl::Cleanup wipe_read = [&key] { crypto::Wipe(*key); };
  absl::string_view trimmed = *key;
  absl::ConsumeSuffix(&trimmed, "\n");
  absl::ConsumeSuffix(&trimmed, "\r");
  if (trimmed.size() < 32) {
    return absl::InvalidArgumentError(
        absl::StrCat(config.webhook_key_file(),
                     ": a webhook key has at least 32 bytes (e.g. 'openssl "
                     "rand -hex 32')"));
  }
  pusher->key_ = std::string(trimmed);
  pusher->target_.url = url;
  pusher->target_.ca_file = config.webhook_ca_file();
  if (config.webhook_timeout_s() > 0) {
    pusher->target_.timeout = absl::Seconds(config.webhook_timeout_s());
  }
  if (config.webhook_queue() > 0) pusher->capacity_ = config.webhook_queue();
  if (config.webhook_max_attempts() > 0) {
    pusher->max_attempts_ = config.webhook_max_attempts();
  }
  if (config.webhook_retry_initial_s() > 0) {
    pusher->retry_initial_ = absl::Seconds(config.webhook_retry_initial_s());
  }
  if (absl::StartsWith(url, "http://") && !WebhookUrlIsLoopback(url)) {
    spdlog::warn(
        "the alert webhook is plain http off loopback: its alerts are "
        "signed but readable on the way (use https)");
  }
  pusher->thread_ = std::thread([p = pusher.get()] { p->Run(); });
  return pusher;
}

AlertPusher::AlertPusher(const v1::AlertsConfig& config) : config_(config) {}

AlertPusher::~AlertPusher() {
  size_t left = 0;
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    left = queue_.size();
  }
  if (thread_.joinable()) thread_.join();
  crypto::Wipe(key_);
  if (left > 0) {
    spdlog::warn(
        "{} alert(s) not pushed to the webhook at stop (they are in the "
        "alerts table)",
        left);
  }
}

void AlertPusher::Push(const v1::Alert& alert) {
  if (syslog_ != nullptr) {
    // No principal, no message: whoever reads syslog is not an officer.
    syslog_->log(SyslogLevel(alert.severity()),
                 "lanevault ALERT {} {} {}: see 'lanevaultctl alerts list'",
                 alert.severity(), alert.kind(), alert.alert_id());
  }
  if (target_.url.empty()) return;
  Pending p{alert.alert_id(), AlertJson(alert, config_.webhook_details()), 0};
  absl::MutexLock lock(&mu_);
  if (queue_.size() >= capacity_) {
    ++stats_.dropped;
    spdlog::error(
        "alert webhook queue full ({}): {} not pushed, {} dropped so far "
        "(the alert is in the alerts table)",
        capacity_, alert.alert_id(), stats_.dropped);
    return;
  }
  queue_.push_back(std::move(p));
}

PushStats AlertPusher::Stats() const {
  absl::MutexLock lock(&mu_);
  PushStats s = stats_;
  s.queued = queue_.size();
  return s;
}

void AlertPusher::Run() {
  auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return stop_ || !queue_.empty();
  };
  auto stopping = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stop_; };
  absl::MutexLock lock(&mu_);
  while (true) {
    mu_.Await(absl::Condition(&ready));
    if (stop_) return;
    // The head stays queued while it is tried: order is kept, and a full
    // queue counts it.
    const std::string body = queue_.front().body;
    const std::string id = queue_.front().alert_id;
    mu_.Unlock();
    const absl::Status s = PostJson(
        target_, body,
        SignatureHeaderValue(key_, absl::ToUnixSeconds(absl::Now()), body));
    mu_.Lock();
    if (s.ok()) {
      ++stats_.delivered;
      queue_.pop_front();
      continue;
    }
    ++stats_.failed_attempts;
    const int attempts = ++queue_.front().attempts;
    if (attempts >= max_attempts_) {
      ++stats_.given_up;
      queue_.pop_front();
      spdlog::error(
          "alert webhook: gave up on {} after {} attempts ({}); it is in the "
          "alerts table",
          id, attempts, s.message());
      continue;
    }
    const absl::Duration backoff = std::min(
        kMaxBackoff, retry_initial_ * (1 << std::min(attempts - 1, 16)));
    spdlog::warn(
        "alert webhook: {} not delivered ({}), attempt {}; again in {}", id,
        s.message(), attempts, absl::FormatDuration(backoff));
    mu_.AwaitWithTimeout(absl::Condition(&stopping), backoff);
  }
}

}  // namespace lanevault::alerts
