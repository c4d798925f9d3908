#ifndef LANEVAULT_WIRING_WITNESS_PUSHER_H_
#define LANEVAULT_WIRING_WITNESS_PUSHER_H_

// Gets the access log's checkpoints cosigned by the configured witnesses
// (C2SP tlog-witness), so that a history rewritten on the vault host cannot
// get a new root past them: a witness holds the largest tree it cosigned and
// refuses any checkpoint that does not extend it.
//
// - At start, before the API serves, the current checkpoint goes to every
//   witness. One that holds a tree this log does not extend (a larger size,
//   the same size with another root, or a root no proof reaches) stops the
//   start with a critical alert naming it and the sizes. One that cannot be
//   reached is warned about and retried: availability first, and the
//   auditors' quorum says whether enough witnesses keep up.
// - While serving, a background thread pushes each new checkpoint, with the
//   consistency proof from the size each witness last acknowledged (learnt
//   from its 409 when not known), never holding up intake.
// - Replicas of one vault on PostgreSQL each run a pusher, harmlessly: they
//   push the same log's checkpoints (signed by the role holder), a witness
//   answers a checkpoint it already cosigned from what it holds, and one
//   that holds a newer checkpoint than a replica read (another replica
//   pushed it meanwhile) is given the log's newest instead; a fork is
//   called only when the log itself holds less than the witness cosigned.
//   Only the role holder signs a checkpoint at start.
// - Cosigned() gives the checkpoint note with the witnesses' lines appended,
//   for GetCheckpoint; it pushes first when that head is not cosigned yet.
// What each witness acknowledged and its last cosignature are kept in a file
// in the state folder.

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "lanevault/v1/audit.pb.h"
#include "lanevault/v1/config.pb.h"
#include "tlog/cosignature.h"
#include "vault/vault.h"
#include "witness/client.h"

namespace lanevault::wiring {

struct WitnessPusherOptions {
  std::vector<v1::WitnessConfig> witnesses;
  int quorum = 0;  // 0: all of them
  std::string state_file;
  absl::Duration interval = absl::Seconds(1);
};

class WitnessPusher {
 public:
  // INVALID_ARGUMENT naming the witness whose url or key is unusable.
  static absl::StatusOr<std::unique_ptr<WitnessPusher>> Create(
      vault::Vault* vault, WitnessPusherOptions options);
  ~WitnessPusher();  // stops
  WitnessPusher(const WitnessPusher&) = delete;
  WitnessPusher& operator=(const WitnessPusher&) = delete;

  // Signs the current tree head and pushes it to every witness.
  // FAILED_PRECONDITION (with a critical alert) when a witness saw a tree
  // this log does not extend.
  absl::Status CheckAtStart();
  void Start();  // the background pushes
  void Stop();   // after one last push of the newest checkpoint

  // `cp`'s note with the cosignature lines of every witness that cosigned
  // that very head (pushing it to those not yet asked).
  std::string Cosigned(const v1::Checkpoint& cp);

  // One background round with `cp` as the newest checkpoint read: pushed
  // to every witness, a fork alerted. Another replica may have pushed a
  // newer checkpoint since `cp` was read; that is no fork.
  void PushToAll(const v1::Checkpoint& cp);

 private:
  struct Witness {
    v1::WitnessConfig config;
    tlog::Cosigner cosigner;
    std::unique_ptr<witness::WitnessClient> client;
    absl::Mutex mu;  // one request at a time per witness
    std::optional<uint64_t> acknowledged ABSL_GUARDED_BY(mu);
    std::string cosigned_body ABSL_GUARDED_BY(mu);
    std::string cosignature ABSL_GUARDED_BY(mu);  // its line for that body
    absl::Time retry_after ABSL_GUARDED_BY(mu) = absl::InfinitePast();
    absl::Duration backoff ABSL_GUARDED_BY(mu) = absl::Seconds(1);
    std::string last_problem ABSL_GUARDED_BY(mu);
  };
  enum class Outcome { kCosigned, kUnreachable, kFork, kError };
  struct PushResult {
    Outcome outcome;
    std::string message;
  };

  WitnessPusher(vault::Vault* vault, WitnessPusherOptions options)
      : vault_(vault), options_(std::move(options)) {}
  PushResult Push(Witness& w, const v1::Checkpoint& cp,
                  bool even_if_backing_off) ABSL_LOCKS_EXCLUDED(w.mu);
  void Round();
  void LoadState();
  void SaveState();

  vault::Vault* vault_;
  WitnessPusherOptions options_;
  std::vector<std::unique_ptr<Witness>> witnesses_;
  absl::Mutex save_mu_;
  absl::Notification stop_;
  std::thread thread_;
  absl::Time quorum_warned_ = absl::InfinitePast();
  std::atomic<bool> dirty_{false};  // a new cosignature to save
};

}  // namespace lanevault::wiring

#endif  // LANEVAULT_WIRING_WITNESS_PUSHER_H_
