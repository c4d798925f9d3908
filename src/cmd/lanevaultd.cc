// lanevaultd: the vault, the policy and the API, with in-process lanes.

#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "api/checkpointer.h"
#include "api/server.h"
#include "api/vault_intake.h"
#include "capture/lane.h"
#include "common/config.h"
#include "common/files.h"
#include "common/logging.h"
#include "common/program.h"
#include "common/time_util.h"
#include "policy/policy.h"
#include "vault/crypto.h"
#include "vault/vault.h"

ABSL_FLAG(std::string, config, "deploy/config/lanevaultd.textproto",
          "Daemon config (protobuf text format).");
ABSL_FLAG(std::string, log_level, "info", "trace, debug, info, warn, error.");
ABSL_FLAG(
    bool, init_master_key, false,
    "Create the master key file named in the config (mode 0600) and exit.");
ABSL_FLAG(
    bool, print_log_key, false,
    "Print the access log's verifier key (for auditors to pin) and exit.");
ABSL_FLAG(int, passphrase_fd, -1,
          "Take the master key from a passphrase (Argon2id) read from this "
          "file descriptor (0: standard input), instead of the key file. The "
          "first start makes the vault's salt; later starts need the same "
          "passphrase.");
ABSL_FLAG(bool, exit_when_lanes_done, false,
          "Exit once every lane's source has ended (for replays and tests).");

namespace lanevault {
namespace {

void PrintSummary(vault::Vault& vault,
                  const std::vector<std::unique_ptr<capture::Lane>>& lanes,
                  const std::string& listen, int port) {
  std::printf("\n== lanevaultd: lanes done ==\n");
  for (const auto& lane : lanes) {
    const v1::LaneStatus s = lane->Status();
    const auto& c = s.counters();
    std::printf(
        "lane %-10s frames %llu (analysed %llu, corrupt %llu)  crossings %llu  "
        "stored %llu  failed %llu\n",
        s.lane_id().c_str(), static_cast<unsigned long long>(c.frames_read()),
        static_cast<unsigned long long>(c.frames_analysed()),
        static_cast<unsigned long long>(c.frames_corrupt()),
        static_cast<unsigned long long>(c.crossings()),
        static_cast<unsigned long long>(c.records_stored()),
        static_cast<unsigned long long>(c.records_failed()));
  }
  vault::RecordQuery q;
  q.limit = 20;
  auto records = vault.Find(q);
  if (records.ok()) {
    std::printf("records in the vault (up to 20, ids only):\n");
    for (const auto& r : *records) {
      std::printf("  %s  lane %s  seen %s\n", r.record_id().c_str(),
                  r.lane_id().c_str(),
                  absl::FormatTime("%H:%M:%S", FromProto(r.first_seen()),
                                   absl::UTCTimeZone())
                      .c_str());
    }
    if (!records->empty()) {
      std::printf(
          "read one (plate only) with an inspector's certificate:\n"
          "  build/src/cmd/lanevaultctl --server %s --ca var/pki/ca.pem "
          "--cert var/pki/inspector-dev.pem --key var/pki/inspector-dev.key "
          "record get %s --purpose vehicle-inspection\n",
          absl::StrCat(listen.substr(0, listen.rfind(':')), ":", port).c_str(),
          records->front().record_id().c_str());
    }
  }
  std::fflush(stdout);
}

// The contract the config names, checked against its trusted keys; or,
// without one, the built-in allow-list.
absl::StatusOr<std::unique_ptr<policy::Policy>> LoadPolicy(
    const v1::ContractConfig& config) {
  if (config.signed_contract().empty()) {
    spdlog::warn(
        "no contract configured: the built-in pilot allow-list is in force "
        "(development only)");
    return policy::NewBuiltinPolicy();
  }
  std::vector<policy::TrustedKey> trusted;
  for (const auto& k : config.trusted_keys()) {
    std::string b64 = k.public_key();
    if (b64.empty() && !k.public_key_file().empty()) {
      auto text = ReadFileToString(k.public_key_file());
      if (!text.ok()) return text.status();
      b64 = std::string(absl::StripAsciiWhitespace(*text));
    }
    std::string key;
    if (!absl::Base64Unescape(b64, &key) || key.size() != 32) {
      return absl::InvalidArgumentError(absl::StrCat(
          "contract.trusted_keys '", k.name(), "': not a base64 Ed25519 key"));
    }
    trusted.push_back({k.name(), key});
  }
  const int required =
      config.required_signatures() > 0 ? config.required_signatures() : 1;
  auto loaded = policy::LoadSignedContract(config.signed_contract(), trusted,
                                           required, vault::VerifyEd25519);
  if (loaded.ok()) {
    spdlog::info("contract {} v{} in force ({} signature(s) required)",
                 (*loaded)->contract_id(), (*loaded)->contract_version(),
                 required);
  }
  return loaded;
}

// Contract changes are decisions too: each goes into the access log.
void LogContractDecision(vault::Vault& vault, bool activated,
                         const std::string& detail) {
  v1::AuditEntry e;
  *e.mutable_time() = ToProto(vault.clock()->Now());
  e.set_principal("system");
  e.set_action(v1::ACTION_MANAGE_CONTRACT);
  e.set_verdict(activated ? v1::VERDICT_ALLOW : v1::VERDICT_DENY);
  e.set_reason_code(activated ? "contract_activated" : "contract_refused");
  e.set_detail(detail);
  if (auto seq = vault.Audit(std::move(e)); !seq.ok()) {
    spdlog::error("cannot log the contract decision: {}",
                  seq.status().message());
  }
}

// Keeps the signed contract now in force, byte for byte, in the vault.
void KeepContract(vault::Vault& vault, const v1::ContractConfig& config,
                  const policy::Policy& policy) {
  if (config.signed_contract().empty()) return;
  auto text = ReadFileToString(config.signed_contract());
  absl::Status s =
      text.ok() ? vault.KeepContractVersion(policy.contract_id(),
                                            policy.contract_version(), *text)
                : text.status();
  if (!s.ok())
    spdlog::error("cannot keep the contract version: {}", s.message());
}

int Main(int argc, char** argv) {
  std::vector<std::string> args = InitProgram(
      argc, argv,
      "The lanevault daemon: runs the lanes in its config, keeps what the\n"
      "policy allows in the encrypted vault, and serves the gRPC API over\n"
      "mutual TLS.\n\n"
      "  lanevaultd --config FILE\n"
      "  lanevaultd --config FILE --init_master_key");
  if (!args.empty()) Fail("takes no positional arguments (see --help)", 2);
  InitLogging("lanevaultd", absl::GetFlag(FLAGS_log_level));
  // Decrypted evidence and keys live in this process's memory: no core
  // dumps, and no ptrace by other processes of the same user.
  // Everything the daemon creates (vault file, WAL, directories) is private
  // to its user: even sealed evidence carries metadata.
  umask(077);
  const struct rlimit no_core = {0, 0};
  if (setrlimit(RLIMIT_CORE, &no_core) != 0 || prctl(PR_SET_DUMPABLE, 0) != 0) {
    Fail("cannot disable core dumps; refusing to hold evidence in memory");
  }

  absl::StatusOr<v1::DaemonConfig> config =
      LoadDaemonConfig(absl::GetFlag(FLAGS_config));
  if (!config.ok()) Fail(config.status());
  if (absl::Status s = vault::InitCrypto(); !s.ok()) Fail(s);

  if (absl::GetFlag(FLAGS_init_master_key)) {
    if (absl::Status s =
            vault::MasterKey::CreateKeyFile(config->vault().master_key());
        !s.ok()) {
      Fail(s);
    }
    std::printf(
        "created master key %s (mode 0600); back it up offline: "
        "without it the vault cannot be read\n",
        config->vault().master_key().c_str());
    return 0;
  }

  // Signals are taken by one thread with sigwait, so every other thread
  // (gRPC's, the lanes') runs with them blocked.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  if (absl::Status s = MakeParentDirectories(config->vault().database());
      !s.ok()) {
    Fail(s);
  }
  vault::VaultOptions vopts;
  vopts.database = config->vault().database();
  vopts.master_key_file = config->vault().master_key();
  vault::SecureBytes passphrase;
  if (const int fd = absl::GetFlag(FLAGS_passphrase_fd); fd >= 0) {
    auto read = vault::ReadSecret(fd);
    if (!read.ok()) Fail(read.status());
    passphrase = std::move(*read);
    vopts.passphrase = &passphrase;
  }
  if (!config->vault().log_origin().empty()) {
    vopts.log_origin = config->vault().log_origin();
  }
  auto vault = vault::Vault::Open(vopts);
  if (!vault.ok()) Fail(vault.status());
  passphrase = vault::SecureBytes();  // zeroed: the key is derived
  if (absl::GetFlag(FLAGS_print_log_key)) {
    std::printf("%s\n", (*vault)->LogVerifierKey().c_str());
    return 0;
  }
  const float interval_s = config->vault().checkpoint_interval_s();
  api::Checkpointer checkpointer(
      vault->get(), absl::Seconds(interval_s > 0 ? interval_s : 3.0f));
  auto initial = LoadPolicy(config->contract());
  if (!initial.ok()) {
    LogContractDecision(**vault, false,
                        std::string(initial.status().message()));
    Fail(initial.status());
  }
  LogContractDecision(**vault, true,
                      absl::StrCat((*initial)->contract_id(), "@",
                                   (*initial)->contract_version()));
  KeepContract(**vault, config->contract(), **initial);
  auto policy = std::make_unique<policy::PolicyHolder>(
      std::shared_ptr<const policy::Policy>(std::move(*initial)));
  api::VaultIntake intake(policy.get(), vault->get());

  std::vector<std::unique_ptr<capture::Lane>> lanes;
  for (const v1::LaneConfig& lc : config->lanes()) {
    auto lane = capture::Lane::Create(lc, &intake);
    if (!lane.ok()) Fail(lane.status());
    lanes.push_back(std::move(*lane));
  }

  api::ServerOptions sopts;
  sopts.listen = config->listen();
  sopts.tls = config->tls();
  sopts.dev_insecure_loopback = config->dev_insecure_loopback();
  auto server = api::ApiServer::Start(
      sopts, policy.get(), vault->get(), [&lanes, &intake] {
        std::vector<v1::LaneStatus> out;
        for (const auto& l : lanes) {
          v1::LaneStatus status = l->Status();
          status.mutable_counters()->set_items_dropped_by_policy(
              intake.ItemsDropped(status.lane_id()));
          out.push_back(std::move(status));
        }
        return out;
      });
  if (!server.ok()) Fail(server.status());
  const int port = (*server)->port();
  spdlog::info("API listening on {} (port {}), {} lane(s), vault {}",
               config->listen(), port, lanes.size(), vopts.database);
  if (!config->port_file().empty()) {
    if (absl::Status s = WriteFileAtomically(config->port_file(),
                                             absl::StrCat(port, "\n"), 0644);
        !s.ok()) {
      Fail(s);
    }
  }

  // Retention: catch up on anything that fell due while we were down, then
  // sleep until each next deadline; also re-wraps keys after a rotation.
  (*vault)->StartMaintenance();
  for (auto& lane : lanes) lane->Start();
  std::thread finisher([&] {
    for (auto& lane : lanes) lane->Wait();
    if (!lanes.empty()) PrintSummary(**vault, lanes, config->listen(), port);
    if (absl::GetFlag(FLAGS_exit_when_lanes_done)) {
      kill(getpid(), SIGTERM);
    } else {
      spdlog::info("API still up on port {}; Ctrl-C or SIGTERM to stop", port);
    }
  });

  int signal_number = 0;
  while (sigwait(&signals, &signal_number) == 0 && signal_number == SIGHUP) {
    // Reload the contract; a refused one leaves the running one in force.
    const auto reloaded = LoadDaemonConfig(absl::GetFlag(FLAGS_config));
    auto next = reloaded.ok() ? LoadPolicy(reloaded->contract())
                              : absl::StatusOr<std::unique_ptr<policy::Policy>>(
                                    reloaded.status());
    if (!next.ok()) {
      spdlog::error("SIGHUP: new contract refused, {} v{} stays in force: {}",
                    policy->contract_id(), policy->contract_version(),
                    next.status().message());
      LogContractDecision(**vault, false, std::string(next.status().message()));
      continue;
    }
    LogContractDecision(
        **vault, true,
        absl::StrCat((*next)->contract_id(), "@", (*next)->contract_version()));
    policy->Replace(std::shared_ptr<const policy::Policy>(std::move(*next)));
  }
  spdlog::info("signal {}: stopping lanes and API", signal_number);
  for (auto& lane : lanes) lane->Stop();
  finisher.join();
  (*server)->Shutdown(absl::Seconds(5));
  (*server)->Wait();
  (*vault)->StopMaintenance();
  checkpointer.Stop();  // a final signed head that covers everything logged
  spdlog::info("stopped");
  return 0;
}

}  // namespace
}  // namespace lanevault

int main(int argc, char** argv) { return lanevault::Main(argc, argv); }
