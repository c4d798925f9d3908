// lanevaultctl backup: a compliance officer has lanevaultd back the vault's
// database up, online, into the daemon's backup directory on the vault host
// (the daemon names the file; no path is given), and is told what the
// backup holds and where it is.

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/escaping.h"
#include "absl/time/clock.h"
#include "cmd/ctl_commands.h"
#include "cmd/ctl_common.h"
#include "common/program.h"
#include "lanevault/v1/compliance.grpc.pb.h"

ABSL_DECLARE_FLAG(bool, json);
ABSL_DECLARE_FLAG(double, timeout);

namespace lanevault::ctl {

int BackupCommand(const std::vector<std::string>& args) {
  if (args.size() != 1) Fail("usage: lanevaultctl backup", 2);
  auto stub = v1::ComplianceService::NewStub(Connect());
  grpc::ClientContext ctx;
  // A large vault takes a while to copy: at least ten minutes, whatever
  // --timeout says for quick calls.
  ctx.set_deadline(absl::ToChronoTime(
      absl::Now() +
      absl::Seconds(std::max(600.0, absl::GetFlag(FLAGS_timeout)))));
  v1::BackupResponse resp;
  if (grpc::Status s = stub->Backup(&ctx, {}, &resp); !s.ok()) FailRpc(s);
  if (absl::GetFlag(FLAGS_json)) {
    PrintJson(resp);
    std::printf("\n");
    return 0;
  }
  std::printf(
      "backup written on the vault host: %s (%llu bytes)\n"
      "  records: %llu, items: %llu\n"
      "  access log: tree size %llu, root %s\n"
      "  newest signed checkpoint in it:\n%s"
      "It holds ciphertext, wrapped data keys and the access log, and no "
      "key:\nalone it opens nothing. Restored (lanevaultd --restore_from), "
      "it opens only\nthe items whose period key still lives in the key "
      "store.\n",
      resp.path().c_str(), static_cast<unsigned long long>(resp.bytes()),
      static_cast<unsigned long long>(resp.records()),
      static_cast<unsigned long long>(resp.items()),
      static_cast<unsigned long long>(resp.tree_size()),
      absl::Base64Escape(resp.root_hash()).c_str(), resp.checkpoint().c_str());
  return 0;
}

}  // namespace lanevault::ctl
