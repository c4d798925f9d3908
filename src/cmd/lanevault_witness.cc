// lanevault-witness: a C2SP tlog-witness for lanevault access logs (and any
// log that signs C2SP checkpoints with an Ed25519 note key).

#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/files.h"
#include "common/logging.h"
#include "common/permissions.h"
#include "common/program.h"
#include "common/service_notify.h"
#include "crypto/secure_bytes.h"
#include "crypto/signing.h"
#include "httplib.h"
#include "tlog/cosignature.h"
#include "witness/http_server.h"
#include "witness/witness.h"

ABSL_FLAG(std::string, name, "",
          "The witness's name, as its cosignature lines carry it "
          "(a schema-less URL, e.g. witness.example.org/w1).");
ABSL_FLAG(std::string, key, LANEVAULT_WITNESS_STATE_DIR "/witness.key",
          "The witness's Ed25519 key file (32-byte seed, mode 0600).");
ABSL_FLAG(bool, init_key, false,
          "Create --key (mode 0600; refuses to overwrite), print the verifier "
          "key and exit.");
ABSL_FLAG(bool, print_key, false,
          "Print the witness's verifier key (what logs and auditors pin) and "
          "exit.");
ABSL_FLAG(std::vector<std::string>, log_keys, {},
          "Comma-separated verifier keys of the logs to witness "
          "(NAME+HASH+BASE64, as 'lanevaultd --print_log_key' prints); the "
          "key name is the log's origin.");
ABSL_FLAG(std::string, state_dir, LANEVAULT_WITNESS_STATE_DIR "/state",
          "Where the size and root last cosigned for each log are kept. "
          "Losing it means retiring the key: a witness that forgets could "
          "cosign a fork.");
ABSL_FLAG(std::string, listen, "127.0.0.1:7380",
          "HOST:PORT to serve POST /add-checkpoint on (port 0: any free). "
          "Plain HTTP: beyond loopback, put it behind a TLS terminator.");
ABSL_FLAG(std::string, port_file, "",
          "Write the port listened on to this file once serving.");
ABSL_FLAG(std::string, log_level, "info", "trace, debug, info, warn, error.");
ABSL_FLAG(std::string, log_format, "plain",
          "plain, or json: one object a line (ts, level, logger, msg, "
          "fields), gRPC's and FFmpeg's lines too.");

namespace lanevault {
namespace {

std::string VerifierKeyOrFail(const crypto::SigningKey& key) {
  const std::string name = absl::GetFlag(FLAGS_name);
  if (name.empty()) Fail("give the witness a --name", 2);
  return tlog::CosignerVerifierKey(name, key.public_key());
}

int Main(int argc, char** argv) {
  std::vector<std::string> args = InitProgram(
      argc, argv,
      "A transparency-log witness (C2SP tlog-witness): cosigns a log's\n"
      "checkpoints only when they extend what it cosigned before, so a log\n"
      "whose history was rewritten cannot get its new root cosigned.\n\n"
      "  lanevault-witness --name NAME --key FILE --init_key\n"
      "  lanevault-witness --name NAME --key FILE --log_keys VKEY[,VKEY] \\\n"
      "      --state_dir DIR --listen 127.0.0.1:7380");
  if (!args.empty()) Fail("takes no positional arguments (see --help)", 2);
  InitLogging("lanevault-witness", absl::GetFlag(FLAGS_log_level),
              absl::GetFlag(FLAGS_log_format));
  sigset_t signals = BlockStopSignals();
  if (absl::Status s = crypto::InitCrypto(); !s.ok()) Fail(s);
  const std::string key_file = absl::GetFlag(FLAGS_key);

  if (absl::GetFlag(FLAGS_init_key)) {
    if (absl::GetFlag(FLAGS_name).empty()) Fail("give the witness a --name", 2);
    if (absl::Status s = MakeParentDirectories(key_file); !s.ok()) Fail(s);
    if (absl::Status s = crypto::SigningKey::CreateKeyFile(key_file); !s.ok()) {
      Fail(s);
    }
  }
  absl::StatusOr<crypto::SigningKey> key =
      crypto::SigningKey::LoadFromFile(key_file);
  if (!key.ok()) {
    Fail(absl::StrCat(key.status().message(), " (create one with --init_key)"));
  }
  if (absl::GetFlag(FLAGS_init_key) || absl::GetFlag(FLAGS_print_key)) {
    std::printf("%s\n", VerifierKeyOrFail(*key).c_str());
    return 0;
  }
  ProtectProcessMemory("the witness key");

  witness::WitnessOptions opts;
  opts.name = absl::GetFlag(FLAGS_name);
  if (opts.name.empty()) Fail("give the witness a --name", 2);
  opts.key = &*key;
  opts.state_dir = absl::GetFlag(FLAGS_state_dir);
  for (const std::string& vkey : absl::GetFlag(FLAGS_log_keys)) {
    const std::string origin = vkey.substr(0, vkey.find('+'));
    opts.logs[origin] = vkey;
  }
  if (opts.logs.empty()) {
    Fail("give the logs to witness with --log_keys (see --help)", 2);
  }
  if (absl::Status s = CheckStateDirectory(opts.state_dir, "--state_dir");
      !s.ok()) {
    Fail(s);
  }
  if (absl::Status s = MakeDirectories(opts.state_dir); !s.ok()) Fail(s);
  auto witness = witness::Witness::Create(opts);
  if (!witness.ok()) Fail(witness.status(), 2);

  const std::string listen = absl::GetFlag(FLAGS_listen);
  const size_t colon = listen.rfind(':');
  int port = -1;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(listen.substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    Fail(absl::StrCat("--listen '", listen, "' is not HOST:PORT"), 2);
  }
  auto server =
      witness::HttpServer::Start(witness->get(), listen.substr(0, colon), port);
  if (!server.ok()) Fail(server.status());
  spdlog::info("witness {} serving POST /add-checkpoint on {}:{} for {} log(s)",
               opts.name, listen.substr(0, colon), (*server)->port(),
               opts.logs.size());
  spdlog::info("verifier key: {}", (*witness)->VerifierKey());
  if (const std::string pf = absl::GetFlag(FLAGS_port_file); !pf.empty()) {
    if (absl::Status s = WriteFileAtomically(
            pf, absl::StrCat((*server)->port(), "\n"), 0644);
        !s.ok()) {
      Fail(s);
    }
  }
  ServiceNotifier notifier;
  notifier.Ready(absl::StrCat("serving on port ", (*server)->port()));
  // The watchdog's beat: the server answers a request of its own (any
  // status: a 404 is an answer), so a hung server stops the pings.
  absl::Notification stopping;
  std::thread heartbeat([&] {
    const std::string host = listen.substr(0, colon);
    httplib::Client self(host == "0.0.0.0" || host.empty() ? "127.0.0.1" : host,
                         (*server)->port());
    self.set_connection_timeout(2, 0);
    self.set_read_timeout(2, 0);
    const absl::Duration watchdog = notifier.watchdog_interval();
    if (watchdog <= absl::ZeroDuration()) return;  // no one to tell
    const absl::Duration every = std::min(absl::Seconds(5), watchdog / 8);
    while (!stopping.WaitForNotificationWithTimeout(every)) {
      if (httplib::Result r = self.Get("/"); r) notifier.Beat();
    }
  });
  int signal_number = 0;
  while (sigwait(&signals, &signal_number) == 0 && signal_number == SIGHUP) {
  }
  spdlog::info("signal {}: stopping", signal_number);
  notifier.Stopping("stopping");
  stopping.Notify();
  heartbeat.join();
  (*server)->Stop();
  return 0;
}

}  // namespace
}  // namespace lanevault

int main(int argc, char** argv) { return lanevault::Main(argc, argv); }
