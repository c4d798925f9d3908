#include "common/service_notify.h"

#include <systemd/sd-daemon.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace lanevault {
namespace {

// The unit's WatchdogSec= for this process (sd_watchdog_enabled checks
// WATCHDOG_PID too, so a child of the daemon does not ping for it).
absl::Duration WatchdogFromEnvironment() {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) {
    return absl::ZeroDuration();
  }
  return absl::Microseconds(static_cast<int64_t>(usec));
}

}  // namespace

ServiceNotifier::ServiceNotifier(Clock* clock)
    : clock_(clock != nullptr ? clock : RealClock()),
      enabled_(std::getenv("NOTIFY_SOCKET") != nullptr),
      watchdog_(enabled_ ? WatchdogFromEnvironment() : absl::ZeroDuration()) {}

ServiceNotifier::~ServiceNotifier() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (pinger_.joinable()) pinger_.join();
}

void ServiceNotifier::Send(absl::string_view state) {
  if (!enabled_) return;
  const std::string text(state);
  if (const int r = sd_notify(0, text.c_str()); r < 0) {
    // Only the kind of message: a STATUS= line is the program's own words.
    spdlog::warn(
        "sd_notify failed ({}): systemd may not see this service's "
        "state",
        r);
  }
}

void ServiceNotifier::Status(absl::string_view status) {
  Send(absl::StrCat("STATUS=", status));
}

void ServiceNotifier::Ready(absl::string_view status) {
  Send(absl::StrCat("READY=1\nSTATUS=", status));
  if (watchdog_ <= absl::ZeroDuration() || pinger_.joinable()) return;
  // A beat at READY: the service was just found well enough to serve.
  Beat();
  pinger_ = std::thread([this] {
    const absl::Duration every = watchdog_ / 4;
    for (;;) {
      {
        absl::MutexLock lock(&mu_);
        if (mu_.AwaitWithTimeout(absl::Condition(&stopping_), every)) return;
      }
      PingIfAlive();
    }
  });
}

void ServiceNotifier::Stopping(absl::string_view status) {
  // Stopping takes longer than a watchdog interval at times (a grace period
  // for in-flight calls, a spool being sent): TimeoutStopSec= governs it.
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  Send(absl::StrCat("STOPPING=1\nSTATUS=", status));
}

void ServiceNotifier::Beat() {
  absl::MutexLock lock(&mu_);
  last_beat_ = clock_->Now();
  if (warned_stale_) {
    warned_stale_ = false;
    spdlog::info("watchdog: progress again, pinging systemd");
  }
}

bool ServiceNotifier::PingIfAlive() {
  {
    absl::MutexLock lock(&mu_);
    if (clock_->Now() - last_beat_ >= watchdog_ / 2) {
      // Before READY there is no watchdog to feed, nor anything to say.
      if (!warned_stale_ && last_beat_ != absl::InfinitePast()) {
        warned_stale_ = true;
        spdlog::error(
            "watchdog: no progress for {}; not pinging systemd, which "
            "restarts the service after WatchdogSec={}",
            absl::FormatDuration(watchdog_ / 2),
            absl::FormatDuration(watchdog_));
      }
      return false;
    }
  }
  Send("WATCHDOG=1");
  return enabled_;
}

}  // namespace lanevault
