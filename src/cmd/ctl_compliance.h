#ifndef LANEVAULT_CMD_CTL_COMPLIANCE_H_
#define LANEVAULT_CMD_CTL_COMPLIANCE_H_

#include <string>
#include <vector>

namespace lanevault::ctl {

// holds, alerts, retention report, keys rotate: true if `args` named one
// of them, with its exit code in `rc`.
bool RunComplianceCommand(const std::vector<std::string>& args, int* rc);

// record lookup-plate PLATE --purpose P: ids only.
int LookupPlate(const std::string& plate);

}  // namespace lanevault::ctl

#endif  // LANEVAULT_CMD_CTL_COMPLIANCE_H_
