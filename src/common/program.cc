#include "common/program.h"

#include <pthread.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "absl/flags/internal/program_name.h"
#include "absl/flags/internal/usage.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/json_logging.h"
#include "common/logging.h"

namespace lanevault {
namespace {

std::string& ProgramName() {
  static std::string* name = new std::string("lanevault");
  return *name;
}

bool IsProgramFlagFile(absl::string_view file) {
  // --help lists the flags the project's programs define, not Abseil's own.
  return absl::StrContains(file, "src/cmd/") ||
         absl::StrContains(file, "src/common/program");
}

}  // namespace

absl::string_view Version() { return LANEVAULT_VERSION; }

void DropMutexDeadlockGraphInReleaseBuilds() {
#ifdef NDEBUG
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
#endif
}

std::vector<std::string> InitProgram(int argc, char** argv,
                                     absl::string_view usage) {
  DropMutexDeadlockGraphInReleaseBuilds();
  std::string name = argv[0];
  if (auto slash = name.rfind('/'); slash != std::string::npos) {
    name = name.substr(slash + 1);
  }
  ProgramName() = name;
  absl::FlagsUsageConfig config;
  config.contains_help_flags = IsProgramFlagFile;
  config.contains_helpshort_flags = IsProgramFlagFile;
  config.version_string = [name] {
    return absl::StrCat(name, " ", LANEVAULT_VERSION, "\n");
  };
  config.normalize_filename = [](absl::string_view f) {
    auto pos = f.find("src/");
    return std::string(pos == absl::string_view::npos ? f : f.substr(pos));
  };
  absl::SetFlagsUsageConfig(config);
  absl::SetProgramUsageMessage(usage);

  absl::flags_internal::SetProgramInvocationName(argv[0]);
  // Abseil's own --help exits 1; a person asking for help has not failed.
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg == "--help" || arg == "-h" || arg == "-help") {
      absl::flags_internal::FlagsHelp(
          std::cout, "src/cmd/",
          absl::flags_internal::HelpFormat::kHumanReadable, usage);
      std::exit(0);
    }
  }
  // Abseil reports an unknown or malformed flag itself, on one line, and
  // exits non-zero; --version exits 0 here too.
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  std::vector<std::string> args;
  for (size_t i = 1; i < positional.size(); ++i)
    args.emplace_back(positional[i]);
  return args;
}

void ProtectProcessMemory(absl::string_view holding) {
  umask(077);
  const struct rlimit no_core = {0, 0};
  if (setrlimit(RLIMIT_CORE, &no_core) != 0 || prctl(PR_SET_DUMPABLE, 0) != 0) {
    Fail(absl::StrCat("cannot disable core dumps; refusing to hold ", holding,
                      " in memory"));
  }
}

sigset_t BlockStopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

void Fail(absl::string_view message, int code) {
  // With --log_format=json the last line is an object like every other.
  if (JsonLogging()) {
    spdlog::critical("{}", message);
    spdlog::default_logger()->flush();
  } else {
    std::fprintf(stderr, "%s: %.*s\n", ProgramName().c_str(),
                 static_cast<int>(message.size()), message.data());
  }
  std::exit(code);
}

void Fail(const absl::Status& status, int code) {
  Fail(status.message(), code);
}

}  // namespace lanevault
