#ifndef LANEVAULT_COMMON_PROGRAM_H_
#define LANEVAULT_COMMON_PROGRAM_H_

#include <signal.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace lanevault {

// The project version, as printed by every program's --version.
absl::string_view Version();

// Parses flags for a program in src/cmd: sets the --help text and the
// --version string, exits with a one-line error on an unknown flag, and
// returns the positional arguments (without argv[0]).
std::vector<std::string> InitProgram(int argc, char** argv,
                                     absl::string_view usage);

// Debian builds Abseil without NDEBUG, so every absl::Mutex in the process
// (gRPC's included) keeps Abseil's lock-order graph under one process-wide
// spin lock: a point every thread serialises on. A release build of a
// program turns that off (InitProgram does); tests and debug builds keep it,
// so a lock-order inversion still aborts there.
void DropMutexDeadlockGraphInReleaseBuilds();

// For a process that holds plaintext evidence or keys in memory: files it
// creates are private to its user (umask 077), it cannot dump core, and
// other processes of its user cannot ptrace it. Fails the program, naming
// `holding`, when that cannot be set.
void ProtectProcessMemory(absl::string_view holding);

// Blocks SIGINT, SIGTERM and SIGHUP in this thread and every thread it
// starts from now on, so that one thread takes them with sigwait on the
// set returned.
sigset_t BlockStopSignals();

// Prints "<program>: <message>" to stderr and exits with `code`.
[[noreturn]] void Fail(absl::string_view message, int code = 1);
[[noreturn]] void Fail(const absl::Status& status, int code = 1);

}  // namespace lanevault

#endif  // LANEVAULT_COMMON_PROGRAM_H_
