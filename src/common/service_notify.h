#ifndef LANEVAULT_COMMON_SERVICE_NOTIFY_H_
#define LANEVAULT_COMMON_SERVICE_NOTIFY_H_

// Tells systemd how a Type=notify service is (sd_notify(3)): READY=1 once
// it serves, STATUS= lines for `systemctl status`, STOPPING=1, and
// WATCHDOG=1 pings that stop when the service stops making progress, so
// that systemd restarts a daemon that hangs instead of showing it active.
//
// Every call is a no-op when the process was not started by systemd (no
// NOTIFY_SOCKET), so the programs run the same from a shell or a test.
// Thread-safe.

#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace lanevault {

class ServiceNotifier {
 public:
  // Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID now. `clock` (not
  // owned; RealClock() when null) dates the beats.
  explicit ServiceNotifier(Clock* clock = nullptr);
  ~ServiceNotifier();  // stops the watchdog thread
  ServiceNotifier(const ServiceNotifier&) = delete;
  ServiceNotifier& operator=(const ServiceNotifier&) = delete;

  // Whether systemd listens (NOTIFY_SOCKET is set).
  bool enabled() const { return enabled_; }
  // The unit's WatchdogSec=; zero when it has none.
  absl::Duration watchdog_interval() const { return watchdog_; }

  // One line for `systemctl status` (no secrets, plates or principals).
  void Status(absl::string_view status);
  // READY=1 with a STATUS= line, and, when the unit has WatchdogSec=, starts
  // the thread that pings (see Beat). systemd starts the watchdog only at
  // READY=1, so a daemon waiting for its unseal shares needs no pings.
  void Ready(absl::string_view status);
  // STOPPING=1 with a STATUS= line; stops the pings.
  void Stopping(absl::string_view status);

  // Progress: the loop that knows the service is well (the vault's health
  // check, the capture node's lane check) calls this each turn it finds it
  // so. WATCHDOG=1 goes out only while the last beat is younger than half
  // the watchdog interval; a loop that hangs, or finds the service failing
  // and so does not beat, stops the pings and systemd restarts the service
  // after WatchdogSec=. Beat more often than a quarter of WatchdogSec=.
  void Beat();

  // Sends WATCHDOG=1 if the last beat is fresh (see Beat); returns whether
  // it did. The watchdog thread calls it every quarter interval; tests call
  // it directly with a fake clock.
  bool PingIfAlive();

 private:
  void Send(absl::string_view state);

  Clock* const clock_;
  const bool enabled_;
  const absl::Duration watchdog_;
  absl::Mutex mu_;
  absl::Time last_beat_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool warned_stale_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread pinger_;
};

}  // namespace lanevault

#endif  // LANEVAULT_COMMON_SERVICE_NOTIFY_H_
