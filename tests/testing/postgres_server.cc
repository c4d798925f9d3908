#include "testing/postgres_server.h"

#include <pwd.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <vector>

#include "absl/strings/str_cat.h"
#include "vault/postgres.h"

namespace lanevault::testing {
namespace {

PostgresServer* g_server = nullptr;  // once started

std::string& Reason() {
  static std::string* reason = new std::string;
  return *reason;
}

// Debian installs each major version under /usr/lib/postgresql/N/bin.
std::string FindBinDir() {
  std::error_code ec;
  std::vector<std::string> found;
  for (const auto& e :
       std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    const std::string bin = e.path().string() + "/bin";
    if (::access((bin + "/initdb").c_str(), X_OK) == 0 &&
        ::access((bin + "/pg_ctl").c_str(), X_OK) == 0) {
      found.push_back(bin);
    }
  }
  if (found.empty()) return "";
  std::sort(found.begin(), found.end());
  return found.back();
}

int Run(const std::string& command) {
  const int rc = std::system(command.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

}  // namespace

PostgresServer* PostgresServer::Shared() {
  static std::once_flag once;
  std::call_once(once, [] {
    auto* s = new PostgresServer;
    if (s->Start(Reason())) {
      g_server = s;
    } else {
      s->Stop();
      delete s;
    }
  });
  return g_server;
}

const std::string& PostgresServer::SkipReason() { return Reason(); }

bool PostgresServer::Start(std::string& why) {
  bin_dir_ = FindBinDir();
  if (bin_dir_.empty()) {
    why =
        "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin "
        "(apt-get install postgresql, or scripts/install-deps.sh)";
    return false;
  }
  char tmpl[] = "/tmp/lvpg.XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    why = "mkdtemp failed";
    return false;
  }
  dir_ = tmpl;
  if (::geteuid() == 0) {
    // initdb refuses to run as root; the cluster belongs to nobody.
    const struct passwd* pw = ::getpwnam("nobody");
    if (pw == nullptr || ::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      why = "running as root and cannot hand the server's folder to nobody";
      return false;
    }
    run_as_ = "runuser -u nobody -- ";
  }
  ::chmod(dir_.c_str(), 0700);
  // initdb --no-sync: the cluster is thrown away with the test; the running
  // server keeps fsync on, since what is tested is durable commits.
  if (Run(absl::StrCat(run_as_, bin_dir_, "/initdb -D ", dir_,
                       "/data -A trust -U lanevault -E UTF8 --no-sync "
                       "--no-instructions > ",
                       dir_, "/initdb.log 2>&1")) != 0) {
    why = absl::StrCat("initdb failed (see ", dir_, "/initdb.log)");
    return false;
  }
  if (Run(absl::StrCat(
          run_as_, bin_dir_, "/pg_ctl -D ", dir_, "/data -l ", dir_,
          "/server.log -w -t 60 -o \"-k ", dir_,
          " -c listen_addresses='' -c fsync=on -c synchronous_commit=on "
          "-c shared_buffers=16MB -c max_connections=40\" start > "
          "/dev/null")) != 0) {
    why = absl::StrCat("pg_ctl start failed (see ", dir_, "/server.log)");
    return false;
  }
  running_ = true;
  return true;
}

std::string PostgresServer::conninfo() const {
  return absl::StrCat("host=", dir_, " user=lanevault dbname=postgres");
}

std::string PostgresServer::NewSchema() {
  const std::string schema = absl::StrCat("t", ::getpid(), "_", ++schemas_);
  absl::StatusOr<vault::pg::Connection> c =
      vault::pg::Connection::Open(conninfo());
  if (!c.ok()) {
    ADD_FAILURE() << c.status();
    return "";
  }
  // The name is ours (digits and letters); identifiers cannot be bound.
  if (absl::Status s = c->Run(absl::StrCat("CREATE SCHEMA ", schema));
      !s.ok()) {
    ADD_FAILURE() << s;
    return "";
  }
  return absl::StrCat(conninfo(), " options='-c search_path=", schema, "'");
}

void PostgresServer::Stop() {
  if (running_) {
    running_ = false;
    Run(absl::StrCat(run_as_, bin_dir_, "/pg_ctl -D ", dir_,
                     "/data -m fast -w stop > /dev/null 2>&1"));
  }
  // A failed start keeps its folder: its logs say why.
  if (!dir_.empty() && Reason().empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

// Every binary that links the server stops it at its end.
[[maybe_unused]] ::testing::Environment* const kRegistered =
    ::testing::AddGlobalTestEnvironment(new PostgresEnvironment);

void PostgresEnvironment::TearDown() {
  // Only a server that was started (Shared() would start one now).
  if (g_server != nullptr) g_server->Stop();
}

}  // namespace lanevault::testing
