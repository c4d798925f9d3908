#ifndef LANEVAULT_CMD_CTL_COMMANDS_H_
#define LANEVAULT_CMD_CTL_COMMANDS_H_

// lanevaultctl's command groups, one file each. Each takes the positional
// arguments (the group's name first) and returns the exit code: 0 done,
// 1 refused or failed, 2 bad usage.

#include <string>
#include <vector>

namespace lanevault::ctl {

int RecordCommand(const std::vector<std::string>& args);  // ctl_records.cc
int LanesCommand(const std::vector<std::string>& args);   // ctl_lanes.cc
int AuditCommand(const std::vector<std::string>& args);   // ctl_audit.cc
int PolicyCommand(const std::vector<std::string>& args);  // ctl_policy.cc
int UnsealCommand(const std::vector<std::string>& args);  // ctl_unseal.cc
int BackupCommand(const std::vector<std::string>& args);  // ctl_backup.cc
// ctl_approvals.cc
int ApprovalsCommand(const std::vector<std::string>& args);
// Signed receipts of evidence answers (ctl_receipt.cc).
int ReceiptCommand(const std::vector<std::string>& args);

// holds, alerts, lockouts, contract, retention report, keys rotate
// (ctl_compliance.cc): true if `args` named one of them, with its exit code
// in `rc`.
bool RunComplianceCommand(const std::vector<std::string>& args, int* rc);

}  // namespace lanevault::ctl

#endif  // LANEVAULT_CMD_CTL_COMMANDS_H_
