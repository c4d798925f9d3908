// lanevaultctl unseal: a compliance officer gives one share to a sealed
// lanevaultd over mutual TLS. The share is read from a 0600 file or from
// standard input (without echo on a terminal), never from the command line,
// where other users of the host could read it.

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cmd/ctl_commands.h"
#include "cmd/ctl_common.h"
#include "common/files.h"
#include "common/program.h"
#include "crypto/secure_bytes.h"
#include "lanevault/v1/unseal.grpc.pb.h"

ABSL_DECLARE_FLAG(bool, json);
ABSL_DECLARE_FLAG(std::string, share_file);

namespace lanevault::ctl {
namespace {

constexpr char kUsage[] =
    "usage: lanevaultctl unseal [--share_file FILE]   (else standard input)\n"
    "       lanevaultctl unseal status";

// The share, into guarded memory: from the file (which must be 0600), or
// from standard input, prompting without echo on a terminal.
crypto::SecureBytes ReadShare() {
  const std::string file = absl::GetFlag(FLAGS_share_file);
  int fd = 0;
  if (!file.empty()) {
    if (absl::Status s = CheckPrivateFile(file); !s.ok()) Fail(s);
    fd = open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) Fail(absl::StrCat("cannot open ", file));
  }
  termios saved{};
  const bool tty = fd == 0 && isatty(0) && tcgetattr(0, &saved) == 0;
  if (tty) {
    std::fprintf(stderr, "share (not echoed): ");
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(0, TCSAFLUSH, &quiet);
  }
  auto share = crypto::ReadSecret(fd);
  if (tty) {
    tcsetattr(0, TCSAFLUSH, &saved);
    std::fprintf(stderr, "\n");
  }
  if (fd != 0) close(fd);
  if (!share.ok()) Fail(share.status());
  return std::move(*share);
}

void PrintStatus(const v1::UnsealStatus& s) {
  if (absl::GetFlag(FLAGS_json)) {
    PrintJson(s);
    std::printf("\n");
    return;
  }
  if (!s.sealed()) {
    std::printf(
        "unsealed (set %s, %d of %d): the vault is opening; its full API "
        "follows on the same port in a moment\n",
        s.set_id().c_str(), s.threshold(), s.shares());
    return;
  }
  std::printf(
      "sealed: %d of %d shares held (%s) of set %s (%d of %d)\n", s.given(),
      s.threshold(),
      s.indexes().empty() ? "none" : absl::StrJoin(s.indexes(), ",").c_str(),
      s.set_id().c_str(), s.threshold(), s.shares());
}

[[noreturn]] void FailUnsealRpc(const grpc::Status& s) {
  if (s.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
    Fail("lanevaultd is not sealed (already unsealed, or not in unseal mode)");
  }
  if (s.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
    Fail(absl::StrCat("not taken: ", s.error_message()));
  }
  FailRpc(s);
}

}  // namespace

int UnsealCommand(const std::vector<std::string>& args) {
  auto stub = v1::UnsealService::NewStub(Connect());
  grpc::ClientContext ctx;
  Prepare(ctx);
  v1::UnsealStatus status;
  if (args.size() == 2 && args[1] == "status") {
    if (auto s = stub->GetUnsealStatus(&ctx, {}, &status); !s.ok()) {
      FailUnsealRpc(s);
    }
    PrintStatus(status);
    return 0;
  }
  if (args.size() != 1) Fail(kUsage, 2);
  v1::SubmitShareRequest request;
  {
    crypto::SecureBytes share = ReadShare();
    request.set_share(share.view().data(), share.size());
  }
  const grpc::Status s = stub->SubmitShare(&ctx, request, &status);
  crypto::Wipe(*request.mutable_share());
  if (!s.ok()) FailUnsealRpc(s);
  PrintStatus(status);
  return 0;
}

}  // namespace lanevault::ctl
