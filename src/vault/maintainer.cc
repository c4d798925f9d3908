#include "vault/maintainer.h"

#include <algorithm>

#include "absl/time/clock.h"
#include "common/logging.h"
#include "vault/vault.h"

namespace lanevault::vault {
namespace {

// Re-wrap batch: small enough that one transaction holds the store briefly.
constexpr int kRewrapBatch = 256;
// The longest sleep: a guard against wall-clock jumps, not a poll.
constexpr absl::Duration kLongestSleep = absl::Minutes(10);
// After an error (a full disk), try again after this long.
constexpr absl::Duration kRetryAfterError = absl::Seconds(5);
// A re-wrap after a rotation can run for minutes: its progress is logged
// this often, and its end once.
constexpr absl::Duration kRewrapProgressEvery = absl::Seconds(10);
// A replica without the role asks for it this often: the bound on how long
// retention and re-wrapping pause after the holder dies.
constexpr absl::Duration kAskForRoleEvery = absl::Seconds(1);
// With replicas, another one's intake of an earlier deadline does not wake
// this thread: the holder looks at the database at least this often.
constexpr absl::Duration kReplicatedLongestSleep = absl::Seconds(10);

}  // namespace

Maintainer::Maintainer(Vault* vault) : vault_(vault) {
  thread_ = std::thread([this] { Run(); });
}

Maintainer::~Maintainer() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

void Maintainer::Wake() {
  absl::MutexLock lock(&mu_);
  woken_ = true;
}

void Maintainer::NoteDeadline(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  if (deadline < planned_) woken_ = true;
}

void Maintainer::Run() {
  bool keys_checked = false;
  uint64_t rewrapped_total = 0;  // since the re-wrap under way began
  absl::Time rewrap_logged = absl::InfinitePast();
  while (true) {
    if (!vault_->HoldsReplicaRole()) {
      // Another replica sweeps and re-wraps; this one waits to take over.
      keys_checked = false;
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&stop_), kAskForRoleEvery);
      if (stop_) return;
      woken_ = false;
      continue;
    }
    absl::Duration sleep =
        vault_->Replicated() ? kReplicatedLongestSleep : kLongestSleep;
    bool more_rewrap = false;
    if (absl::StatusOr<PurgeResult> purged = vault_->SweepExpired();
        !purged.ok()) {
      spdlog::error("retention sweep failed (will retry): {}",
                    purged.status().message());
      sleep = kRetryAfterError;
    } else if (purged->items > 0) {
      spdlog::info("retention: purged {} items ({} records emptied)",
                   purged->items, purged->records);
    }
    if (!keys_checked) {
      // Once, after the first sweep (so the items of periods destroyed
      // while a restored backup was away are gone first): a data key whose
      // KEK is missing is found now, not at its first read.
      keys_checked = true;
      if (absl::StatusOr<uint64_t> missing = vault_->CheckKeysPresent();
          !missing.ok()) {
        spdlog::error("could not check the key store against the items: {}",
                      missing.status().message());
      }
    }
    if (absl::StatusOr<uint64_t> rewrapped = vault_->RewrapStep(kRewrapBatch);
        !rewrapped.ok()) {
      spdlog::error("key re-wrap failed (will retry): {}",
                    rewrapped.status().message());
      sleep = std::min(sleep, kRetryAfterError);
    } else {
      more_rewrap = *rewrapped > 0;
      rewrapped_total += *rewrapped;
      if (more_rewrap && absl::Now() - rewrap_logged >= kRewrapProgressEvery) {
        spdlog::info("key re-wrap: {} data keys re-wrapped so far",
                     rewrapped_total);
        rewrap_logged = absl::Now();
      } else if (!more_rewrap && rewrapped_total > 0) {
        spdlog::info(
            "key re-wrap done: {} data keys now under the current "
            "key-encryption keys",
            rewrapped_total);
        rewrapped_total = 0;
        rewrap_logged = absl::InfinitePast();
      }
    }
    absl::Time next = absl::InfiniteFuture();
    if (absl::StatusOr<absl::Time> t = vault_->NextDeadline(); t.ok()) {
      next = *t;
    } else {
      sleep = std::min(sleep, kRetryAfterError);
    }
    const absl::Time now = vault_->clock()->Now();
    if (next != absl::InfiniteFuture()) {
      sleep = std::min(sleep, std::max(next - now, absl::ZeroDuration()));
    }
    if (more_rewrap) sleep = absl::ZeroDuration();

    absl::MutexLock lock(&mu_);
    planned_ = next;
    // Wakes on stop or Wake(); otherwise sleeps until the deadline. The
    // condition is re-checked, so a Wake() just before the wait is kept.
    mu_.AwaitWithTimeout(absl::Condition(this, &Maintainer::Ready), sleep);
    if (stop_) return;
    woken_ = false;
  }
}

}  // namespace lanevault::vault
