#ifndef LANEVAULT_CMD_CTL_USAGE_H_
#define LANEVAULT_CMD_CTL_USAGE_H_

// lanevaultctl's table of commands: each with its usage line, how many
// positional arguments it takes, the flags it reads and a few lines of
// help. The table answers `lanevaultctl <command> --help` with that
// command's help alone and turns a wrong number of arguments or an unknown
// flag into its usage line and exit 2, before any group's code runs.

#include <string>
#include <vector>

namespace lanevault::ctl {

struct CommandSpec {
  const char* name;   // the command's words, e.g. "record get"
  const char* args;   // e.g. "RECORD_ID"; "" for none
  int min_args;       // positional arguments after the name
  int max_args;       // -1: any number
  const char* flags;  // comma-separated flag names it reads
  const char* help;   // what it does, a few lines
};

// Every command. A command missing here still runs through its group's
// dispatcher (which checks its own arguments); add it here for --help.
const std::vector<CommandSpec>& Commands();

// Checks argv before Abseil parses it: flag names may use '-' for '_'
// (rewritten in place), an unknown flag or a malformed value is a usage
// error (exit 2), and --help anywhere prints the help of the command the
// positional words name (the whole list when they name none) and exits 0.
// Returns argv as Abseil should parse it.
std::vector<std::string> PrecheckArgs(int argc, char** argv);

// Exits 2 with the usage line when `args` (the positional words) name a
// command of the table with the wrong number of arguments, or name no
// group at all. Returns normally otherwise: a command the table does not
// list is left to its group's dispatcher.
void CheckCommandArgs(const std::vector<std::string>& args);

// The global help: every command's usage line, connection and exit codes.
std::string GlobalUsage();

}  // namespace lanevault::ctl

#endif  // LANEVAULT_CMD_CTL_USAGE_H_
