#include "wiring/witness_pusher.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/files.h"
#include "common/logging.h"

namespace lanevault::wiring {
namespace {

constexpr absl::Duration kMaxBackoff = absl::Seconds(60);
constexpr int kMaxConflictRetries = 3;

}  // namespace

absl::StatusOr<std::unique_ptr<WitnessPusher>> WitnessPusher::Create(
    vault::Vault* vault, WitnessPusherOptions options) {
  auto out = std::unique_ptr<WitnessPusher>(
      new WitnessPusher(vault, std::move(options)));
  for (size_t i = 0; i < out->options_.witnesses.size(); ++i) {
    const v1::WitnessConfig& c = out->options_.witnesses[i];
    const std::string field = absl::StrCat("witnesses[", i, "]");
    auto cosigner = tlog::ParseCosignerVerifierKey(c.verifier_key());
    if (!cosigner.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".verifier_key: ", cosigner.status().message()));
    }
    auto client = witness::WitnessClient::Create(
        c.url(), absl::Seconds(c.timeout_s() > 0 ? c.timeout_s() : 5.0f));
    if (!client.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".url: ", client.status().message()));
    }
    auto w = std::make_unique<Witness>();
    w->config = c;
    if (w->config.name().empty()) w->config.set_name(cosigner->name);
    w->cosigner = std::move(*cosigner);
    w->client = std::move(*client);
    out->witnesses_.push_back(std::move(w));
  }
  const int n = static_cast<int>(out->witnesses_.size());
  if (out->options_.quorum < 0 || out->options_.quorum > n) {
    return absl::InvalidArgumentError(absl::StrCat(
        "witness_quorum: ", out->options_.quorum, " of ", n, " witnesses"));
  }
  if (out->options_.quorum == 0) out->options_.quorum = n;
  out->LoadState();
  return out;
}

WitnessPusher::~WitnessPusher() { Stop(); }

void WitnessPusher::Start() {
  if (witnesses_.empty() || thread_.joinable()) return;
  thread_ = std::thread([this] {
    while (!stop_.WaitForNotificationWithTimeout(options_.interval)) Round();
  });
}

void WitnessPusher::Stop() {
  if (!thread_.joinable()) return;
  stop_.Notify();
  thread_.join();
  Round();  // the final head, signed as the daemon stops
}

// The file: one line per witness, "<vkey> <acknowledged size> <base64
// body> <base64 line>", so a restart resumes without a 409 round trip and
// GetCheckpoint can serve the last cosignatures at once.
void WitnessPusher::LoadState() {
  absl::StatusOr<std::string> text = ReadFileToString(options_.state_file);
  if (!text.ok()) return;
  for (absl::string_view line :
       absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
    std::vector<std::string> f = absl::StrSplit(line, ' ');
    uint64_t size = 0;
    std::string body, sig;
    if (f.size() != 4 || !absl::SimpleAtoi(f[1], &size) ||
        !absl::Base64Unescape(f[2], &body) ||
        !absl::Base64Unescape(f[3], &sig)) {
      continue;  // a hint only: a witness's own answer is what counts
    }
    for (auto& w : witnesses_) {
      if (w->config.verifier_key() != f[0]) continue;
      absl::MutexLock lock(&w->mu);
      w->acknowledged = size;
      w->cosigned_body = std::move(body);
      w->cosignature = std::move(sig);
    }
  }
}

void WitnessPusher::SaveState() {
  std::string text;
  for (auto& w : witnesses_) {
    absl::MutexLock lock(&w->mu);
    if (!w->acknowledged.has_value()) continue;
    absl::StrAppend(&text, w->config.verifier_key(), " ", *w->acknowledged, " ",
                    absl::Base64Escape(w->cosigned_body), " ",
                    absl::Base64Escape(w->cosignature), "\n");
  }
  absl::MutexLock lock(&save_mu_);
  if (absl::Status s = WriteFileAtomically(options_.state_file, text, 0600);
      !s.ok()) {
    spdlog::warn("witness state not saved: {}", s.message());
  }
}

WitnessPusher::PushResult WitnessPusher::Push(Witness& w,
                                              const v1::Checkpoint& cp,
                                              bool even_if_backing_off) {
  absl::StatusOr<std::string> body = tlog::NoteBody(cp.signed_note());
  if (!body.ok())
    return {Outcome::kError, std::string(body.status().message())};
  absl::MutexLock lock(&w.mu);
  if (w.cosigned_body == *body) return {Outcome::kCosigned, ""};
  if (!even_if_backing_off && absl::Now() < w.retry_after) {
    return {Outcome::kUnreachable, w.last_problem};
  }
  const std::string& name = w.config.name();
  uint64_t old = w.acknowledged.value_or(0);
  // What goes to the witness: `cp`, or a newer checkpoint of the log when
  // the witness already holds more than `cp` (below).
  v1::Checkpoint pushed = cp;
  for (int attempt = 0; attempt <= kMaxConflictRetries; ++attempt) {
    if (old > pushed.tree_size()) {
      // Replicas of one vault push the same log, each from its own reading
      // of the newest checkpoint: another may have pushed a newer one since
      // this one read. That is a fork only if the log itself holds less.
      absl::StatusOr<v1::Checkpoint> newest = vault_->log().LatestCheckpoint();
      if (!newest.ok()) {
        return {Outcome::kError,
                absl::StrCat("witness ", name, " holds ", old,
                             " entries; the log's newest checkpoint cannot "
                             "be read: ",
                             newest.status().message())};
      }
      if (newest->tree_size() < old) {
        return {
            Outcome::kFork,
            absl::StrCat("witness ", name, " cosigned a tree of ", old,
                         " entries; this log has only ", newest->tree_size(),
                         ": it was rolled back or rewritten")};
      }
      // The witness still checks the proof from its size to this one.
      pushed = *std::move(newest);
      if (absl::StatusOr<std::string> newer_body =
              tlog::NoteBody(pushed.signed_note());
          newer_body.ok() && w.cosigned_body == *newer_body) {
        return {Outcome::kCosigned, ""};
      }
    }
    std::vector<std::string> proof;
    if (old > 0) {
      auto p = vault_->log().ConsistencyProof(old, pushed.tree_size());
      if (!p.ok()) {
        return {Outcome::kError,
                absl::StrCat("no consistency proof from ", old, " to ",
                             pushed.tree_size(), ": ", p.status().message())};
      }
      proof = std::move(*p);
    }
    auto r = w.client->AddCheckpoint(old, proof, pushed.signed_note());
    if (!r.ok()) {
      w.last_problem = std::string(r.status().message());
      w.retry_after = absl::Now() + w.backoff;
      w.backoff = std::min(w.backoff * 2, kMaxBackoff);
      return {Outcome::kUnreachable, w.last_problem};
    }
    w.backoff = absl::Seconds(1);
    w.retry_after = absl::InfinitePast();
    switch (r->kind) {
      case witness::AddCheckpointResult::Kind::kCosigned: {
        absl::StatusOr<std::string> pushed_body =
            tlog::NoteBody(pushed.signed_note());
        if (!pushed_body.ok()) {
          return {Outcome::kError, std::string(pushed_body.status().message())};
        }
        const std::string note = pushed.signed_note() + r->lines;
        auto valid = tlog::VerifyCosignatures(note, {w.cosigner});
        if (!valid.ok() || valid->empty()) {
          return {Outcome::kError,
                  absl::StrCat("witness ", name,
                               " answered 200 without a valid cosignature "
                               "by its configured key")};
        }
        // Keep only its own line(s): the witness may sign with others.
        std::string mine;
        for (absl::string_view line :
             absl::StrSplit(r->lines, '\n', absl::SkipEmpty())) {
          auto one = tlog::VerifyCosignatures(
              absl::StrCat(*pushed_body, "\n", line, "\n"), {w.cosigner});
          if (one.ok() && !one->empty()) absl::StrAppend(&mine, line, "\n");
        }
        w.acknowledged = pushed.tree_size();
        w.cosigned_body = *std::move(pushed_body);
        w.cosignature = std::move(mine);
        w.last_problem.clear();
        dirty_ = true;
        return {Outcome::kCosigned, ""};
      }
      case witness::AddCheckpointResult::Kind::kConflict:
        if (r->witness_size == old) {
          // It holds our old size and still conflicts: it holds that size
          // with another root.
          return {Outcome::kFork,
                  absl::StrCat("witness ", name, " cosigned a tree of ", old,
                               " entries with another root than this log's")};
        }
        spdlog::info("witness {} holds size {} (we thought {})", name,
                     r->witness_size, old);
        old = r->witness_size;
        w.acknowledged = old;
        continue;
      case witness::AddCheckpointResult::Kind::kRefused:
        if (r->http_status == 422) {
          return {Outcome::kFork,
                  absl::StrCat("witness ", name, " refused the proof from its ",
                               old, " entries to this log's ",
                               pushed.tree_size(), ": ", r->message)};
        }
        w.last_problem = absl::StrCat("witness ", name, " answered ",
                                      r->http_status, ": ", r->message);
        w.retry_after = absl::Now() + kMaxBackoff;
        return {Outcome::kError, w.last_problem};
    }
  }
  return {Outcome::kError,
          absl::StrCat("witness ", name, " kept changing its size")};
}

absl::Status WitnessPusher::CheckAtStart() {
  if (witnesses_.empty()) return absl::OkStatus();
  // Checkpoints are signed by one replica at a time (the role holder); any
  // other checks the newest one the log holds.
  absl::StatusOr<v1::Checkpoint> cp = vault_->HoldsReplicaRole()
                                          ? vault_->log().SignCheckpoint()
                                          : vault_->log().LatestCheckpoint();
  if (!cp.ok()) return cp.status();
  int cosigned = 0;
  for (auto& w : witnesses_) {
    const PushResult r = Push(*w, *cp, /*even_if_backing_off=*/true);
    switch (r.outcome) {
      case Outcome::kCosigned:
        ++cosigned;
        break;
      case Outcome::kFork: {
        const std::string what = absl::StrCat(
            r.message, " (this log's checkpoint: ", cp->tree_size(),
            " entries)");
        vault_->oversight().RaiseAlert("critical", "witness_fork", "system",
                                       what);
        return absl::FailedPreconditionError(absl::StrCat(
            "REFUSING TO SERVE: ", what,
            ". The access log is not the one the witness saw: restore the "
            "database that witness cosigned, or find who rewrote it"));
      }
      case Outcome::kUnreachable:
        spdlog::warn(
            "witness {} not reachable at start ({}); serving anyway and "
            "retrying in the background",
            w->config.name(), r.message);
        break;
      case Outcome::kError:
        spdlog::error("witness {}: {}", w->config.name(), r.message);
        break;
    }
  }
  dirty_ = false;
  SaveState();
  spdlog::info("witnesses at start: {} of {} cosigned {} entries (quorum {})",
               cosigned, witnesses_.size(), cp->tree_size(), options_.quorum);
  return absl::OkStatus();
}

void WitnessPusher::Round() {
  absl::StatusOr<v1::Checkpoint> cp = vault_->log().LatestCheckpoint();
  if (cp.ok()) PushToAll(*cp);
}

void WitnessPusher::PushToAll(const v1::Checkpoint& cp) {
  int cosigned = 0;
  for (auto& w : witnesses_) {
    const PushResult r = Push(*w, cp, /*even_if_backing_off=*/false);
    if (r.outcome == Outcome::kCosigned) {
      ++cosigned;
    } else if (r.outcome == Outcome::kFork) {
      // Serving goes on (the witness may be the one at fault), but
      // compliance hears of it at once.
      vault_->oversight().RaiseAlert("critical", "witness_fork", "system",
                                     r.message);
    } else if (r.outcome == Outcome::kError) {
      spdlog::warn("{}", r.message);
    }
  }
  if (dirty_.exchange(false)) SaveState();
  if (cosigned < options_.quorum &&
      absl::Now() - quorum_warned_ > absl::Minutes(1)) {
    quorum_warned_ = absl::Now();
    spdlog::warn(
        "only {} of {} witnesses cosigned the access log at {} entries; "
        "auditors requiring {} will refuse it",
        cosigned, witnesses_.size(), cp.tree_size(), options_.quorum);
  }
}

std::string WitnessPusher::Cosigned(const v1::Checkpoint& cp) {
  std::string note = cp.signed_note();
  absl::StatusOr<std::string> body = tlog::NoteBody(note);
  if (!body.ok()) return note;
  for (auto& w : witnesses_) {
    // A witness backing off is not waited for: the auditor's call returns
    // with the cosignatures there are.
    const PushResult r = Push(*w, cp, /*even_if_backing_off=*/false);
    if (r.outcome != Outcome::kCosigned) continue;
    absl::MutexLock lock(&w->mu);
    if (w->cosigned_body == *body) note += w->cosignature;
  }
  return note;
}

}  // namespace lanevault::wiring
