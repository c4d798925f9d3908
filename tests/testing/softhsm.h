#ifndef LANEVAULT_TESTING_SOFTHSM_H_
#define LANEVAULT_TESTING_SOFTHSM_H_

// A real SoftHSM2 for the token tests: its own configuration and token
// folder under a temporary folder (SOFTHSM2_CONF points there), and tokens
// made with softhsm2-util as an operator would.

#include <string>

#include "testing/test_util.h"

namespace lanevault::testing {

inline constexpr char kSoftHsmModule[] = "/usr/lib/softhsm/libsofthsm2.so";

// Empty when SoftHSM2 (the module and softhsm2-util) is installed; else why
// not, for GTEST_SKIP.
std::string SoftHsmMissing();

class SoftHsm {
 public:
  // Writes softhsm2.conf with a token folder under a new temporary folder
  // and sets SOFTHSM2_CONF to it for this process and its children.
  SoftHsm();
  const std::string& conf() const { return conf_; }
  std::string Join(absl::string_view name) const { return dir_.Join(name); }
  // softhsm2-util --init-token --free; fails the test on error.
  void InitToken(const std::string& label, const std::string& pin,
                 const std::string& so_pin = "87654321");

 private:
  TempDir dir_;
  std::string conf_;
};

}  // namespace lanevault::testing

#endif  // LANEVAULT_TESTING_SOFTHSM_H_
