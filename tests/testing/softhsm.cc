#include "testing/softhsm.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace lanevault::testing {

std::string SoftHsmMissing() {
  if (access(kSoftHsmModule, R_OK) != 0) {
    return absl::StrCat(kSoftHsmModule,
                        " is not installed (apt-get install softhsm2, as "
                        "scripts/install-deps.sh does)");
  }
  if (std::system("command -v softhsm2-util >/dev/null 2>&1") != 0) {
    return "softhsm2-util is not on PATH (apt-get install softhsm2)";
  }
  return "";
}

SoftHsm::SoftHsm() : conf_(dir_.Join("softhsm2.conf")) {
  const std::string tokens = dir_.Join("tokens");
  mkdir(tokens.c_str(), 0700);
  std::ofstream(conf_) << "directories.tokendir = " << tokens
                       << "\nobjectstore.backend = file\nlog.level = ERROR\n"
                       << "slots.removable = false\n";
  setenv("SOFTHSM2_CONF", conf_.c_str(), 1);
}

void SoftHsm::InitToken(const std::string& label, const std::string& pin,
                        const std::string& so_pin) {
  // Test PINs only: an operator's real PIN would not go on a command line.
  const std::string cmd =
      absl::StrCat("softhsm2-util --init-token --free --label '", label,
                   "' --pin '", pin, "' --so-pin '", so_pin, "' >/dev/null");
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

}  // namespace lanevault::testing
