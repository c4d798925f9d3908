// lanevaultd: the vault, the policy and the API, with in-process lanes.

#include <signal.h>
#include <sys/stat.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "alerts/alert_pusher.h"
#include "api/server.h"
#include "capture/lane.h"
#include "cmd/daemon_contract.h"
#include "cmd/daemon_permissions.h"
#include "cmd/daemon_replica_keys.h"
#include "cmd/daemon_token.h"
#include "cmd/daemon_unseal.h"
#include "cmd/sealed_server.h"
#include "common/config.h"
#include "common/files.h"
#include "common/logging.h"
#include "common/program.h"
#include "common/service_notify.h"
#include "common/time_util.h"
#include "crypto/master_key.h"
#include "crypto/seal_file.h"
#include "crypto/secure_bytes.h"
#include "ops/health_monitor.h"
#include "ops/metrics.h"
#include "ops/rpc_timer.h"
#include "ops/vault_collector.h"
#include "policy/policy.h"
#include "rpc/grpc_logging.h"
#include "vault/postgres_config.h"
#include "vault/vault.h"
#include "vault/vault_restore.h"
#include "wiring/tree_head_signer.h"
#include "wiring/vault_intake.h"
#include "wiring/witness_pusher.h"

ABSL_FLAG(std::string, config, LANEVAULT_CONFIG_DIR "/lanevaultd.textproto",
          "Daemon config (protobuf text format).");
ABSL_FLAG(std::string, log_level, "info", "trace, debug, info, warn, error.");
ABSL_FLAG(std::string, log_format, "plain",
          "plain, or json: one object a line (ts, level, logger, msg, "
          "fields), gRPC's and FFmpeg's lines too.");
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
ABSL_FLAG(std::string, init_unseal, "",
          "K/N (e.g. 3/5): make the config's vault.seal_file around a new "
          "master key, or around the key file's when vault.master_key names "
          "one (then shred it), print the N shares once (or write them to "
          "--share_dir) and exit. From then on the daemon starts sealed.");
ABSL_FLAG(std::string, rekey_unseal, "",
          "K/N: read K current shares, one a line, from --shares_fd, seal "
          "the same master key under N new shares (--share_dir or standard "
          "output) and replace the seal file atomically; a running daemon "
          "keeps serving and the old shares are void.");
ABSL_FLAG(std::string, share_dir, "",
          "--init_unseal / --rekey_unseal: write share I to "
          "DIR/share-I-of-N (0600) instead of printing them (demo, tests).");
ABSL_FLAG(int, shares_fd, -1,
          "Unseal mode: read K shares, one a line, from this file descriptor "
          "(0: standard input) instead of waiting for lanevaultctl unseal "
          "(a console unseal; needed by --print_log_key, --print_intake_key "
          "and --rekey_unseal).");
ABSL_FLAG(bool, init_token, false,
          "Wrap the master key under the PKCS#11 token of vault.token (its "
          "root key made inside the token if missing) into "
          "vault.token.seal_file and exit: the key of the seal file (K shares "
          "on --shares_fd), of the key file (then shred it), or a new one.");
ABSL_FLAG(int, token_pin_fd, -1,
          "Token mode: read the token's user PIN from this file descriptor "
          "instead of vault.token.pin_file.");
ABSL_FLAG(bool, dev_master_key_file, false,
          "Development only: take the master key from the plain key file "
          "vault.master_key. Without a seal_file or a passphrase the daemon "
          "refuses to start unless this is given; warned at start.");
ABSL_FLAG(bool, exit_when_lanes_done, false,
          "Exit once every lane's source has ended (for replays and tests).");
ABSL_FLAG(bool, print_intake_key, false,
          "Print the vault's intake public key (base64; capture nodes seal "
          "their records to it) and exit.");
ABSL_FLAG(bool, dev_builtin_policy, false,
          "Development only: without a contract section in the config, run "
          "the built-in development contract, which no one signed, instead of "
          "refusing to start. Warned at start and, while it decides, once a "
          "minute in the log.");
ABSL_FLAG(bool, accept_rollback, false,
          "Serve a vault whose database is older than its log anchor (a "
          "restore made on purpose) instead of refusing it; logged, with a "
          "critical alert.");

ABSL_FLAG(std::string, restore_from, "",
          "With the daemon stopped: check this backup (made by lanevaultctl "
          "backup), keep the current database aside (renamed, never "
          "deleted), put the backup in its place and serve it, accepting "
          "its older log; logged, with a critical alert. The key store is "
          "the live one: items whose period key was destroyed since the "
          "backup stay unopenable.");

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
    if (s.resumed_at_frame() > 0) {
      std::printf(
          "  resumed at frame %lld (the crossings before it were "
          "stored in an earlier run)\n",
          static_cast<long long>(s.resumed_at_frame()));
    }
    if (s.state() == v1::LANE_STATE_FAILED || !s.last_error().empty()) {
      std::printf("  %s: %s\n", v1::LaneState_Name(s.state()).c_str(),
                  s.last_error().c_str());
    }
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

int Main(int argc, char** argv) {
  std::vector<std::string> args = InitProgram(
      argc, argv,
      "The lanevault daemon: runs the lanes in its config, keeps what the\n"
      "policy allows in the encrypted vault, and serves the gRPC API over\n"
      "mutual TLS.\n\n"
      "  lanevaultd --config FILE                       (unseal or "
      "passphrase)\n"
      "  lanevaultd --config FILE --init_unseal 3/5 [--share_dir DIR]\n"
      "  lanevaultd --config FILE --rekey_unseal 3/5 --shares_fd 0 "
      "[--share_dir DIR]\n"
      "  lanevaultd --config FILE --dev_master_key_file [--init_master_key]\n"
      "  lanevaultd --config FILE --restore_from BACKUP   (daemon stopped)");
  if (!args.empty()) Fail("takes no positional arguments (see --help)", 2);
  InitLogging("lanevaultd", absl::GetFlag(FLAGS_log_level),
              absl::GetFlag(FLAGS_log_format));
  rpc::RouteGrpcLogs();
  RouteFfmpegLogs();
  // Decrypted evidence and keys live in this process's memory, and even
  // sealed evidence carries metadata (vault file, WAL, directories).
  ProtectProcessMemory("evidence");
  // Signals are taken by one thread with sigwait, so every other thread
  // (gRPC's, the lanes') runs with them blocked; blocked from the start, a
  // SIGHUP or SIGTERM during a slow start waits instead of killing.
  sigset_t signals = BlockStopSignals();
  // systemd (Type=notify): READY=1 only once unsealed and serving.
  ServiceNotifier notifier;

  absl::StatusOr<v1::DaemonConfig> config =
      LoadDaemonConfig(absl::GetFlag(FLAGS_config));
  if (!config.ok()) Fail(config.status());
  if (absl::Status s = crypto::InitCrypto(); !s.ok()) Fail(s);
  // Alerts go out as they are raised (syslog, the signed webhook); a bad
  // alerts config stops the start before anyone unseals.
  auto alert_pusher = alerts::AlertPusher::Create(config->alerts());
  if (!alert_pusher.ok()) {
    Fail(absl::StrCat(absl::GetFlag(FLAGS_config), ": ",
                      alert_pusher.status().message()),
         2);
  }

  if (absl::GetFlag(FLAGS_init_master_key)) {
    if (absl::Status s =
            crypto::MasterKey::CreateKeyFile(config->vault().master_key());
        !s.ok()) {
      Fail(s);
    }
    std::printf(
        "created master key %s (mode 0600), FOR DEVELOPMENT ONLY (start "
        "with --dev_master_key_file; production: --init_unseal); back it up "
        "offline: without it the vault cannot be read\n",
        config->vault().master_key().c_str());
    return 0;
  }

  if (const std::string kn = absl::GetFlag(FLAGS_init_unseal); !kn.empty()) {
    if (absl::Status s =
            InitUnseal(config->vault(), kn, absl::GetFlag(FLAGS_share_dir));
        !s.ok()) {
      Fail(s);
    }
    return 0;
  }
  if (const std::string kn = absl::GetFlag(FLAGS_rekey_unseal); !kn.empty()) {
    if (absl::GetFlag(FLAGS_shares_fd) < 0) {
      Fail("--rekey_unseal reads the current shares from --shares_fd", 2);
    }
    if (absl::Status s =
            RekeyUnseal(config->vault(), kn, absl::GetFlag(FLAGS_share_dir),
                        absl::GetFlag(FLAGS_shares_fd));
        !s.ok()) {
      Fail(s);
    }
    return 0;
  }
  if (absl::GetFlag(FLAGS_init_token)) {
    if (absl::Status s =
            InitToken(config->vault(), absl::GetFlag(FLAGS_token_pin_fd),
                      absl::GetFlag(FLAGS_shares_fd));
        !s.ok()) {
      Fail(s);
    }
    return 0;
  }
  const bool unseal_mode = !config->vault().seal_file().empty();
  const bool token_mode = !config->vault().token().seal_file().empty();
  if (!unseal_mode && !token_mode && absl::GetFlag(FLAGS_passphrase_fd) < 0) {
    if (!absl::GetFlag(FLAGS_dev_master_key_file)) {
      Fail(absl::StrCat(
          "the config names no vault.seal_file: the master key would come "
          "from the plain file ",
          config->vault().master_key(),
          ", which anyone who reads it can use to open the whole vault "
          "offline. Use unseal mode (vault { seal_file: ... }, lanevaultd "
          "--init_unseal 3/5) or --passphrase_fd; for development only, "
          "--dev_master_key_file"));
    }
    spdlog::warn(
        "DEVELOPMENT KEY FILE: the master key is read from the plain file "
        "{}; whoever reads it opens every item offline, without a call or a "
        "log entry. Never use this in production (see --init_unseal).",
        config->vault().master_key());
  }

  if (absl::Status s = MakeParentDirectories(config->vault().database());
      !s.ok()) {
    Fail(s);
  }
  vault::VaultOptions vopts;
  vopts.database = config->vault().database();
  vopts.master_key_file = config->vault().master_key();
  vopts.key_store = config->vault().key_store();
  vopts.state_dir = config->state_dir().empty() ? vopts.database + ".state"
                                                : config->state_dir();
  if (config->vault().has_postgres()) {
    // The store on PostgreSQL (README, "PostgreSQL store").
    absl::StatusOr<vault::PostgresOptions> pg =
        vault::PostgresOptionsFromConfig(config->vault().postgres());
    if (!pg.ok()) Fail(pg.status());
    vopts.postgres = std::move(*pg);
  }
  if (absl::Status s = CheckDaemonPermissions(*config, vopts.state_dir);
      !s.ok()) {
    Fail(s);
  }
  switch (config->vault().integrity_check()) {
    case v1::VaultConfig::INTEGRITY_CHECK_FULL:
      vopts.integrity_check = vault::VaultOptions::IntegrityCheck::kFull;
      break;
    case v1::VaultConfig::INTEGRITY_CHECK_OFF:
      vopts.integrity_check = vault::VaultOptions::IntegrityCheck::kOff;
      break;
    default:
      vopts.integrity_check = vault::VaultOptions::IntegrityCheck::kQuick;
  }
  vopts.accept_rollback = absl::GetFlag(FLAGS_accept_rollback);
  // Printing a public key works beside a running daemon.
  vopts.keys_only = absl::GetFlag(FLAGS_print_log_key) ||
                    absl::GetFlag(FLAGS_print_intake_key);
  // Replicas on separate machines hand keys to each other (bound before the
  // vault opens: a new replica fetches the log's seed while opening).
  DaemonReplicaKeys replica_keys;
  if (!vopts.keys_only) {
    auto prepared = PrepareReplicaKeys(*config, vopts);
    if (!prepared.ok()) Fail(prepared.status());
    replica_keys = std::move(*prepared);
  }
  crypto::SecureBytes passphrase;
  if (const int fd = absl::GetFlag(FLAGS_passphrase_fd); fd >= 0) {
    auto read = crypto::ReadSecret(fd);
    if (!read.ok()) Fail(read.status());
    passphrase = std::move(*read);
    vopts.passphrase = &passphrase;
  }
  if (!config->vault().log_origin().empty()) {
    vopts.log_origin = config->vault().log_origin();
  }
  // Unseal mode: the master key is put together from K shares, given over
  // the sealed API or on a file descriptor, and is never on disk in the
  // clear.
  crypto::SecureBytes master_key;
  std::unique_ptr<policy::Policy> officer_policy;  // outlives `sealed`
  std::unique_ptr<SealedServer> sealed;
  v1::SealFile seal;
  // Token mode: the token opens the master key with no one present. With a
  // seal file too, a token that fails (lost, broken, wrong PIN) leaves the
  // daemon sealed, waiting for K shares, instead of down for good.
  bool opened_by_token = false;
  if (token_mode) {
    if (vopts.passphrase != nullptr) {
      Fail("--passphrase_fd and vault.token exclude each other", 2);
    }
    if (struct stat st; !config->vault().master_key().empty() &&
                        stat(config->vault().master_key().c_str(), &st) == 0) {
      spdlog::critical(
          "the plain key file {} still exists beside the token seal file: "
          "shred it (shred -u), or anyone who reads it opens the vault",
          config->vault().master_key());
    }
    auto opened = OpenMasterKeyWithToken(config->vault(),
                                         absl::GetFlag(FLAGS_token_pin_fd));
    if (opened.ok()) {
      master_key = std::move(*opened);
      vopts.master_key = &master_key;
      opened_by_token = true;
      if (unseal_mode) {
        // Watched as in unseal mode: the shares stay the way back in.
        auto read = crypto::ReadSealFile(config->vault().seal_file());
        if (read.ok()) {
          seal = std::move(*read);
        } else {
          spdlog::critical(
              "the seal file does not read ({}): without it the shares "
              "cannot open the vault if the token is lost",
              read.status().ToString());
        }
      }
      spdlog::info("master key opened by PKCS#11 token '{}' (token mode{})",
                   config->vault().token().token_label(),
                   unseal_mode ? ", shares not needed" : "");
    } else if (unseal_mode) {
      spdlog::critical(
          "the token did not open the master key ({}); falling back to "
          "unseal by K shares",
          opened.status().ToString());
    } else {
      Fail(opened.status());
    }
  }
  if (unseal_mode && !opened_by_token) {
    if (vopts.passphrase != nullptr) {
      Fail("--passphrase_fd and vault.seal_file exclude each other", 2);
    }
    auto read = crypto::ReadSealFile(config->vault().seal_file());
    if (!read.ok()) {
      Fail(absl::Status(
          read.status().code(),
          absl::StrCat(read.status().message(),
                       read.status().code() == absl::StatusCode::kNotFound
                           ? " (make it with lanevaultd --init_unseal 3/5)"
                           : "")));
    }
    seal = std::move(*read);
    if (struct stat st; !config->vault().master_key().empty() &&
                        stat(config->vault().master_key().c_str(), &st) == 0) {
      spdlog::critical(
          "the plain key file {} still exists beside the seal file: shred it "
          "(shred -u), or anyone who reads it opens the vault",
          config->vault().master_key());
    }
    absl::StatusOr<crypto::SecureBytes> unsealed;
    if (const int fd = absl::GetFlag(FLAGS_shares_fd); fd >= 0) {
      unsealed = crypto::UnsealFromFd(seal, fd);
    } else if (vopts.keys_only) {
      Fail(
          "in unseal mode --print_log_key and --print_intake_key need K "
          "shares, one a line, on --shares_fd (e.g. --shares_fd 0)",
          2);
    } else {
      auto officers = OfficerPolicy(config->contract(),
                                    absl::GetFlag(FLAGS_dev_builtin_policy));
      if (!officers.ok()) Fail(officers.status());
      officer_policy = std::move(*officers);
      SealedServerOptions so;
      so.listen = config->listen();
      so.tls = config->tls();
      so.dev_insecure_loopback = config->dev_insecure_loopback();
      so.policy = officer_policy.get();
      auto started = SealedServer::Start(so, seal);
      if (!started.ok()) Fail(started.status());
      sealed = std::move(*started);
      notifier.Status("sealed, waiting for shares (lanevaultctl unseal)");
      if (!config->port_file().empty()) {
        if (absl::Status s = WriteFileAtomically(
                config->port_file(), absl::StrCat(sealed->port(), "\n"), 0644);
            !s.ok()) {
          Fail(s);
        }
      }
      unsealed = sealed->WaitForMasterKey(signals);
      if (absl::IsCancelled(unsealed.status())) {
        spdlog::info("{}: stopped, still sealed", unsealed.status().message());
        sealed->Shutdown(absl::Seconds(1));
        return 0;
      }
    }
    if (!unsealed.ok()) Fail(unsealed.status());
    master_key = std::move(*unsealed);
    vopts.master_key = &master_key;
  }
  const std::string restore_from = absl::GetFlag(FLAGS_restore_from);
  if (!restore_from.empty() && vopts.keys_only) {
    Fail("--restore_from serves the restored vault; it takes no --print_*", 2);
  }
  auto vault = restore_from.empty()
                   ? vault::Vault::Open(vopts)
                   : vault::RestoreFromBackup(vopts, restore_from);
  if (!vault.ok()) Fail(vault.status());
  if (replica_keys.server != nullptr) replica_keys.server->Serve(vault->get());
  const int alert_listener = (*vault)->oversight().AddAlertListener(
      [p = alert_pusher->get()](const v1::Alert& a) { p->Push(a); });
  passphrase = crypto::SecureBytes();  // zeroed: the key is derived
  master_key = crypto::SecureBytes();  // zeroed: the vault keeps its own
  if (opened_by_token && !vopts.keys_only) {
    if (absl::Status s = LogTokenOpen(**vault, config->vault().token());
        !s.ok()) {
      Fail(absl::UnavailableError(absl::StrCat(
          "the token open cannot be logged, so the vault does not serve: ",
          s.message())));
    }
  } else if (unseal_mode && !vopts.keys_only) {
    if (absl::Status s = LogUnseal(
            **vault,
            sealed != nullptr ? sealed->Events() : std::vector<ShareEvent>{},
            seal, "from shares on the console (--shares_fd)");
        !s.ok()) {
      Fail(absl::UnavailableError(absl::StrCat(
          "the unseal cannot be logged, so the vault does not serve: ",
          s.message())));
    }
  }
  if (absl::GetFlag(FLAGS_print_log_key)) {
    std::printf("%s\n", (*vault)->log().VerifierKey().c_str());
    return 0;
  }
  if (absl::GetFlag(FLAGS_print_intake_key)) {
    std::printf(
        "%s\n",
        absl::Base64Escape((*vault)->intake_key().public_key()).c_str());
    return 0;
  }
  const float interval_s = config->vault().checkpoint_interval_s();
  wiring::TreeHeadSigner checkpointer(
      vault->get(), absl::Seconds(interval_s > 0 ? interval_s : 3.0f));
  auto initial = LoadPolicyInForce(config->contract(), **vault,
                                   absl::GetFlag(FLAGS_dev_builtin_policy));
  if (!initial.ok()) {
    LogContractDecision(**vault, false, std::string(initial.status().message()))
        .IgnoreError();
    Fail(initial.status());
  }
  // A contract takes effect only once its decision is in the log.
  if (absl::Status s =
          LogContractDecision(**vault, true,
                              absl::StrCat((*initial)->contract_id(), "@",
                                           (*initial)->contract_version()));
      !s.ok()) {
    Fail(absl::UnavailableError(absl::StrCat(
        "the contract is not put in force, since its decision cannot be "
        "logged: ",
        s.message())));
  }
  // Before anything is served, the log must extend what each witness
  // cosigned (a fork stops the start); then every new head is pushed.
  wiring::WitnessPusherOptions witness_options;
  witness_options.witnesses.assign(config->witnesses().begin(),
                                   config->witnesses().end());
  witness_options.quorum = config->witness_quorum();
  witness_options.state_file = vopts.state_dir + "/witnesses";
  auto witnesses =
      wiring::WitnessPusher::Create(vault->get(), std::move(witness_options));
  if (!witnesses.ok()) {
    Fail(absl::StrCat(absl::GetFlag(FLAGS_config), ": ",
                      witnesses.status().message()),
         2);
  }
  if (absl::Status s = (*witnesses)->CheckAtStart(); !s.ok()) Fail(s);
  (*witnesses)->Start();
  auto policy = std::make_unique<policy::PolicyHolder>(
      std::shared_ptr<const policy::Policy>(std::move(*initial)));
  const v1::ApiLimits& limits = config->api();
  wiring::VaultIntake intake(
      policy.get(), vault->get(),
      limits.canary_every() != 0 ? limits.canary_every() : 200,
      absl::Seconds(limits.max_clock_skew_s() > 0 ? limits.max_clock_skew_s()
                                                  : 300.0f));

  // A lane's source failing is the lane's state (lanes status), never the
  // daemon's: only a config that can never work stops the start.
  capture::LaneOptions lane_options;
  lane_options.state_dir = vopts.state_dir + "/lanes";
  if (absl::GetFlag(FLAGS_exit_when_lanes_done)) {
    lane_options.wait_for_missing_source = absl::ZeroDuration();
  }
  std::vector<std::unique_ptr<capture::Lane>> lanes;
  for (const v1::LaneConfig& lc : config->lanes()) {
    auto lane = capture::Lane::Create(lc, &intake, lane_options);
    if (!lane.ok()) Fail(lane.status());
    lanes.push_back(std::move(*lane));
  }

  api::ServerOptions sopts;
  sopts.listen = config->listen();
  if (sealed != nullptr) {
    // The full API takes the sealed one's port (the one picked, for port 0).
    sopts.listen = absl::StrCat(sopts.listen.substr(0, sopts.listen.rfind(':')),
                                ":", sealed->port());
    sealed->Shutdown(absl::Seconds(2));
  }
  sopts.tls = config->tls();
  sopts.dev_insecure_loopback = config->dev_insecure_loopback();
  sopts.intake = &intake;
  if (!config->witnesses().empty()) {
    sopts.cosign_checkpoint = [w = witnesses->get()](const v1::Checkpoint& cp) {
      return w->Cosigned(cp);
    };
  }
  sopts.backup_dir = config->vault().backup_dir().empty()
                         ? vopts.state_dir + "/backups"
                         : config->vault().backup_dir();
  if (limits.max_message_bytes() > 0) {
    sopts.limits.max_request_bytes =
        static_cast<size_t>(limits.max_message_bytes());
  }
  if (limits.max_calls_per_principal() > 0) {
    sopts.limits.max_calls_per_principal = limits.max_calls_per_principal();
  }
  if (limits.calls_per_second() != 0) {
    sopts.limits.calls_per_second = std::max(0.0f, limits.calls_per_second());
  }
  if (limits.call_burst() > 0) sopts.limits.call_burst = limits.call_burst();
  if (limits.lockout_refusals() != 0) {
    sopts.limits.lockout_refusals = limits.lockout_refusals();
  }
  if (limits.lockout_malformed_submissions() != 0) {
    sopts.limits.lockout_malformed_submissions =
        limits.lockout_malformed_submissions();
  }
  if (limits.lockout_window_s() > 0) {
    sopts.limits.lockout_window = absl::Seconds(limits.lockout_window_s());
  }
  if (!config->contract().signed_contract().empty()) {
    auto trusted = TrustedKeys(config->contract());
    if (!trusted.ok()) Fail(trusted.status());
    sopts.contracts.trusted = std::move(*trusted);
    sopts.contracts.required = RequiredSignatures(config->contract());
    sopts.contracts.holder = policy.get();
  }
  auto lane_status = [&lanes, &intake] {
    std::vector<v1::LaneStatus> out;
    for (const auto& l : lanes) {
      v1::LaneStatus status = l->Status();
      status.mutable_counters()->set_items_dropped_by_policy(
          intake.ItemsDropped(status.lane_id()));
      status.mutable_counters()->set_records_stored(
          status.counters().records_stored() +
          intake.CanariesPlanted(status.lane_id()));
      out.push_back(std::move(status));
    }
    return out;
  };
  // Operators' snapshots of the daemon's own lanes, masked by the lane.
  sopts.lane_snapshot = [&lanes](const std::string& lane_id)
      -> std::optional<absl::StatusOr<v1::Snapshot>> {
    for (const auto& l : lanes) {
      if (l->id() == lane_id) return l->Snapshot();
    }
    return std::nullopt;
  };
  // Metrics before the server, so that its calls are timed from the first;
  // the collector before the metrics, so that the endpoint (which runs it
  // at each scrape) stops first.
  std::unique_ptr<ops::VaultCollector> collector;
  std::unique_ptr<ops::Metrics> metrics =
      ops::ServeMetrics(config->ops().metrics_listen(), "127.0.0.1:9464");
  if (metrics != nullptr) {
    collector = std::make_unique<ops::VaultCollector>(
        vault->get(), metrics.get(), vopts.database);
    metrics->AllowServices(ops::DaemonServiceNames());
    metrics->AllowServices({"grpc.health.v1.Health"});
    metrics->SetRefresh([&lane_status, &metrics, &collector] {
      metrics->UpdateLanes(lane_status(), absl::Now());
      collector->Collect();
    });
    sopts.rpc_observer = [m = metrics.get()] {
      return ops::NewRpcTimerFactory(m);
    };
  }
  auto server =
      api::ApiServer::Start(sopts, policy.get(), vault->get(), lane_status);
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

  // Health follows the facts (ops/health_monitor.h): the vault's damage and
  // its last write, the disk under it, and each lane under its own name; a
  // lane that is down leaves "" SERVING.
  const v1::OpsConfig& ops_config = config->ops();
  ops::HealthProbes probes;
  probes.conditions = {{"vault", [&vault] { return (*vault)->Health(); }},
                       {"vault", [&vault] { return (*vault)->WriteHealth(); }}};
  if (ops_config.min_free_disk_mb() >= 0) {
    const std::string& db = vopts.database;
    probes.disk_path = db.rfind('/') == std::string::npos
                           ? "."
                           : db.substr(0, std::max<size_t>(db.rfind('/'), 1));
    probes.min_free_bytes =
        static_cast<uint64_t>(ops_config.min_free_disk_mb() > 0
                                  ? ops_config.min_free_disk_mb()
                                  : 256) *
        1024 * 1024;
  }
  probes.lanes = lane_status;
  if (ops_config.lane_silence_s() > 0) {
    probes.lane_silence = absl::Seconds(ops_config.lane_silence_s());
  }
  ops::HealthMonitor monitor(
      std::move(probes), ops::DaemonServiceNames(),
      [&server, &metrics](const std::string& name, bool serving) {
        (*server)->SetServing(name, serving);
        if (metrics != nullptr) metrics->SetHealth(name, serving);
      });
  monitor.Check();
  absl::Notification stopping;
  // A rekey (--rekey_unseal, another process) goes into the access log.
  SealWatch seal_watch(
      unseal_mode && !seal.set_id().empty() ? config->vault().seal_file() : "",
      seal);
  std::thread health_watch([&] {
    while (!stopping.WaitForNotificationWithTimeout(absl::Seconds(1))) {
      seal_watch.Check(**vault);
      const absl::Status health = (*vault)->Health();
      if (health.ok()) notifier.Beat();  // the watchdog pings only on these
      monitor.Check();
    }
  });

  // Retention: catch up on anything that fell due while we were down, then
  // sleep until each next deadline; also re-wraps keys after a rotation.
  (*vault)->StartMaintenance();
  for (auto& lane : lanes) lane->Start();
  notifier.Ready(
      absl::StrCat("serving on port ", port, ", ", lanes.size(), " lane(s)"));
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
    // Reload the client trust (CRL, deny-list) and the contract; anything
    // refused leaves what runs in force.
    if (absl::Status s = (*server)->ReloadTrust(); !s.ok()) {
      spdlog::error("SIGHUP: client trust not reloaded, the old stays: {}",
                    s.message());
    }
    if (replica_keys.server != nullptr) {
      if (absl::Status s = replica_keys.server->ReloadTrust(); !s.ok()) {
        spdlog::error("SIGHUP: key hand-over trust not reloaded: {}",
                      s.message());
      }
    }
    const auto reloaded = LoadDaemonConfig(absl::GetFlag(FLAGS_config));
    auto next = reloaded.ok()
                    ? LoadPolicyInForce(reloaded->contract(), **vault,
                                        absl::GetFlag(FLAGS_dev_builtin_policy))
                    : absl::StatusOr<std::unique_ptr<policy::Policy>>(
                          reloaded.status());
    if (!next.ok()) {
      spdlog::error("SIGHUP: new contract refused, {} v{} stays in force: {}",
                    policy->contract_id(), policy->contract_version(),
                    next.status().message());
      LogContractDecision(**vault, false, std::string(next.status().message()))
          .IgnoreError();
      // A refused contract on the host is someone's mistake or someone's
      // attempt: either way an officer must hear of it.
      (*vault)->oversight().RaiseAlert(
          "critical", "contract_refused", "system",
          absl::StrCat("SIGHUP: the configured contract was refused, ",
                       policy->contract_id(), " v", policy->contract_version(),
                       " stays in force: ", next.status().message()));
      continue;
    }
    if (absl::Status s =
            LogContractDecision(**vault, true,
                                absl::StrCat((*next)->contract_id(), "@",
                                             (*next)->contract_version()));
        !s.ok()) {
      spdlog::error(
          "SIGHUP: new contract not put in force (its decision cannot be "
          "logged: {}); {} v{} stays",
          s.message(), policy->contract_id(), policy->contract_version());
      continue;
    }
    const std::string put =
        absl::StrCat((*next)->contract_id(), " v", (*next)->contract_version());
    if (!policy->Replace(
            std::shared_ptr<const policy::Policy>(std::move(*next)))) {
      spdlog::warn("SIGHUP: {} not put in force: v{} took effect meanwhile",
                   put, policy->contract_version());
    }
  }
  spdlog::info("signal {}: stopping lanes and API", signal_number);
  notifier.Stopping("stopping lanes and API");
  for (auto& lane : lanes) lane->Stop();
  finisher.join();
  // Stop accepting; in-flight calls get the grace period to finish.
  (*server)->Shutdown(absl::Seconds(
      limits.shutdown_grace_s() > 0 ? limits.shutdown_grace_s() : 10.0f));
  (*server)->Wait();
  stopping.Notify();
  health_watch.join();
  metrics.reset();  // no scrape reads the lanes or the vault from here on
  // The gate's last refusal summaries go into the log before the final
  // checkpoint signs it.
  server->reset();
  if (replica_keys.server != nullptr) replica_keys.server->Shutdown();
  (*vault)->StopMaintenance();
  checkpointer.Stop();   // a final signed head that covers everything logged
  (*witnesses)->Stop();  // and the witnesses are given it
  (*vault)->oversight().RemoveAlertListener(alert_listener);
  alert_pusher->reset();  // what is still queued is counted in the log
  spdlog::info("stopped");
  return 0;
}

}  // namespace
}  // namespace lanevault

int main(int argc, char** argv) { return lanevault::Main(argc, argv); }
