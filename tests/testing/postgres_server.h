#ifndef LANEVAULT_TESTS_TESTING_POSTGRES_SERVER_H_
#define LANEVAULT_TESTS_TESTING_POSTGRES_SERVER_H_

// A real PostgreSQL server for tests: Debian's postgresql (initdb, pg_ctl)
// in a temporary folder, listening only on a unix socket there (no TCP
// port to clash with), fsync on. Started once per test binary, on first
// use, and stopped by PostgresEnvironment at the end. initdb refuses root:
// run as root (CI), the server runs as `nobody`.

#include <string>

#include "gtest/gtest.h"

namespace lanevault::testing {

class PostgresServer {
 public:
  // The shared server, started on first call; nullptr when it cannot run
  // (no PostgreSQL binaries, initdb failed): then `SkipReason()` says why.
  static PostgresServer* Shared();
  static const std::string& SkipReason();

  // A conninfo for a new, empty schema of its own (first in its
  // search_path): each test's vault starts empty, and tests do not meet.
  std::string NewSchema();
  // The conninfo of the server's `postgres` database, without a schema.
  std::string conninfo() const;
  // The cluster's files (tests that look for plaintext in them).
  std::string data_dir() const { return dir_ + "/data"; }

  void Stop();

 private:
  PostgresServer() = default;
  bool Start(std::string& why);

  std::string bin_dir_;
  std::string dir_;     // data/, the socket and the server's log
  std::string run_as_;  // "runuser -u nobody -- " when root, else ""
  bool running_ = false;
  int schemas_ = 0;
};

// Stops the shared server when the test binary ends (registered by
// postgres_server.cc itself).
class PostgresEnvironment : public ::testing::Environment {
 public:
  void TearDown() override;
};

// GTEST_SKIP()s the current test, loudly, when there is no server.
#define LANEVAULT_REQUIRE_POSTGRES()                                      \
  do {                                                                    \
    if (::lanevault::testing::PostgresServer::Shared() == nullptr) {      \
      GTEST_SKIP() << "POSTGRESQL TESTS SKIPPED: "                        \
                   << ::lanevault::testing::PostgresServer::SkipReason(); \
    }                                                                     \
  } while (0)

}  // namespace lanevault::testing

#endif  // LANEVAULT_TESTS_TESTING_POSTGRES_SERVER_H_
