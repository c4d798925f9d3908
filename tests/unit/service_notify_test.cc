// ServiceNotifier against a real unix datagram socket standing in for
// systemd's NOTIFY_SOCKET, and the start-up permission checks on real
// files and folders.

#include "common/service_notify.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/permissions.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/test_util.h"

namespace lanevault {
namespace {

using ::testing::HasSubstr;

// What systemd would read: a bound datagram socket, read without waiting
// (sd_notify's sendmsg has queued the message by the time it returns).
class FakeSystemd {
 public:
  explicit FakeSystemd(const std::string& path, absl::Duration watchdog)
      : path_(path) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    setenv("NOTIFY_SOCKET", path.c_str(), 1);
    if (watchdog > absl::ZeroDuration()) {
      setenv("WATCHDOG_USEC",
             absl::StrCat(absl::ToInt64Microseconds(watchdog)).c_str(), 1);
      setenv("WATCHDOG_PID", absl::StrCat(getpid()).c_str(), 1);
    }
  }
  ~FakeSystemd() {
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    close(fd_);
  }
  // The next message, or "" when none is queued.
  std::string Next() {
    char buf[4096];
    const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    if (n < 0) {
      EXPECT_EQ(errno, EAGAIN);
      return "";
    }
    return std::string(buf, static_cast<size_t>(n));
  }

 private:
  std::string path_;
  int fd_ = -1;
};

TEST(ServiceNotifier, DoesNothingWithoutSystemd) {
  unsetenv("NOTIFY_SOCKET");
  ServiceNotifier notifier;
  EXPECT_FALSE(notifier.enabled());
  notifier.Ready("serving");
  notifier.Beat();
  EXPECT_FALSE(notifier.PingIfAlive());
}

TEST(ServiceNotifier, SendsReadyStatusAndStopping) {
  testing::TempDir dir;
  FakeSystemd systemd(dir.Join("notify"), absl::ZeroDuration());
  ServiceNotifier notifier;
  ASSERT_TRUE(notifier.enabled());
  EXPECT_EQ(notifier.watchdog_interval(), absl::ZeroDuration());
  notifier.Status("sealed, waiting for shares");
  EXPECT_EQ(systemd.Next(), "STATUS=sealed, waiting for shares");
  notifier.Ready("serving on port 7443");
  EXPECT_EQ(systemd.Next(), "READY=1\nSTATUS=serving on port 7443");
  notifier.Stopping("stopping");
  EXPECT_EQ(systemd.Next(), "STOPPING=1\nSTATUS=stopping");
  EXPECT_EQ(systemd.Next(), "");
}

TEST(ServiceNotifier, PingsOnlyWhileTheLoopBeats) {
  testing::TempDir dir;
  // Long enough that the notifier's own thread (every 10 minutes) does not
  // ping during the test: every ping below is one the test asked for.
  FakeSystemd systemd(dir.Join("notify"), absl::Minutes(40));
  FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
  ServiceNotifier notifier(&clock);
  EXPECT_EQ(notifier.watchdog_interval(), absl::Minutes(40));
  // Before READY systemd runs no watchdog, and no beat has come.
  EXPECT_FALSE(notifier.PingIfAlive());
  notifier.Ready("serving");
  EXPECT_EQ(systemd.Next(), "READY=1\nSTATUS=serving");
  // READY counts as a beat.
  EXPECT_TRUE(notifier.PingIfAlive());
  EXPECT_EQ(systemd.Next(), "WATCHDOG=1");
  // The loop stops beating (a failing health check, a hung lane): pings
  // go on for half the interval, then stop.
  clock.Advance(absl::Minutes(19));
  EXPECT_TRUE(notifier.PingIfAlive());
  EXPECT_EQ(systemd.Next(), "WATCHDOG=1");
  clock.Advance(absl::Minutes(2));
  EXPECT_FALSE(notifier.PingIfAlive());
  EXPECT_EQ(systemd.Next(), "");
  // It beats again: pings resume.
  notifier.Beat();
  EXPECT_TRUE(notifier.PingIfAlive());
  EXPECT_EQ(systemd.Next(), "WATCHDOG=1");
}

TEST(ServiceNotifier, IgnoresAWatchdogMeantForAnotherProcess) {
  testing::TempDir dir;
  FakeSystemd systemd(dir.Join("notify"), absl::Seconds(30));
  setenv("WATCHDOG_PID", absl::StrCat(getpid() + 1).c_str(), 1);
  ServiceNotifier notifier;
  EXPECT_EQ(notifier.watchdog_interval(), absl::ZeroDuration());
}

void WriteFile(const std::string& path, int mode) {
  std::ofstream(path) << "secret";
  ASSERT_EQ(chmod(path.c_str(), mode), 0);
}

TEST(Permissions, SecretFileMustBePrivate) {
  testing::TempDir dir;
  const std::string key = dir.Join("server.key");
  WriteFile(key, 0600);
  EXPECT_TRUE(CheckSecretFile(key, "tls.server_key").ok());
  EXPECT_TRUE(CheckSecretFile("", "tls.server_key").ok());  // not configured
  for (int mode : {0644, 0640, 0604, 0620}) {
    ASSERT_EQ(chmod(key.c_str(), mode), 0);
    const absl::Status s = CheckSecretFile(key, "tls.server_key");
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << mode;
    EXPECT_THAT(s.message(), HasSubstr("tls.server_key"));
    EXPECT_THAT(s.message(), HasSubstr(absl::StrCat("chmod 600 ", key)));
  }
}

TEST(Permissions, StateDirectoryOthersCanWriteIsRefused) {
  testing::TempDir dir;
  const std::string state = dir.Join("state");
  ASSERT_EQ(mkdir(state.c_str(), 0700), 0);
  EXPECT_TRUE(CheckStateDirectory(state, "state_dir").ok());
  // Not made yet: its parent, private, is what counts.
  EXPECT_TRUE(CheckStateDirectory(state + "/spool/new", "spool.dir").ok());

  ASSERT_EQ(chmod(state.c_str(), 0777), 0);
  absl::Status s = CheckStateDirectory(state, "state_dir");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr(absl::StrCat("chmod o-w ", state)));
  EXPECT_THAT(s.message(), HasSubstr("0777"));
  // Sticky does not save the folder itself...
  ASSERT_EQ(chmod(state.c_str(), 01777), 0);
  EXPECT_FALSE(CheckStateDirectory(state, "state_dir").ok());
  // ...but a folder inside a sticky one (as in /tmp) is safe.
  const std::string inner = state + "/vault";
  ASSERT_EQ(mkdir(inner.c_str(), 0700), 0);
  EXPECT_TRUE(CheckStateDirectory(inner, "vault").ok());
  // A parent others can write without the sticky bit is not: they could
  // rename the vault's folder away and put their own in its place.
  ASSERT_EQ(chmod(state.c_str(), 0777), 0);
  s = CheckStateDirectory(inner, "vault");
  EXPECT_THAT(s.message(), HasSubstr(absl::StrCat("chmod o-w ", state)));
  ASSERT_EQ(chmod(state.c_str(), 0700), 0);
}

}  // namespace
}  // namespace lanevault
