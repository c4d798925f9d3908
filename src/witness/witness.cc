#include "witness/witness.h"

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "tlog/checkpoint.h"
#include "tlog/cosignature.h"
#include "tlog/merkle.h"

namespace lanevault::witness {
namespace {

constexpr int kMaxProofLines = 63;  // the spec's bound

Response Reply(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  if (!r.body.empty() && r.body.back() != '\n') r.body += '\n';
  return r;
}

// 409 with the size the witness holds, as the client needs it to retry.
Response SizeConflict(uint64_t size) {
  Response r;
  r.status = 409;
  r.content_type = "text/x.tlog.size";
  r.body = absl::StrCat(size, "\n");
  return r;
}

struct ParsedRequest {
  uint64_t old_size = 0;
  std::vector<std::string> proof;
  std::string note;
};

// "old N\n", proof lines (base64 hashes), "\n", then the checkpoint note.
absl::StatusOr<ParsedRequest> Parse(absl::string_view request) {
  ParsedRequest out;
  size_t pos = request.find('\n');
  if (pos == absl::string_view::npos) {
    return absl::InvalidArgumentError("no old size line");
  }
  const absl::string_view old_line = request.substr(0, pos);
  const absl::string_view digits =
      absl::StartsWith(old_line, "old ") ? old_line.substr(4) : "";
  if (digits.empty() || (digits.size() > 1 && digits[0] == '0') ||
      digits.find_first_not_of("0123456789") != absl::string_view::npos ||
      !absl::SimpleAtoi(digits, &out.old_size)) {
    return absl::InvalidArgumentError(
        "the first line must be 'old <size>' (decimal, no leading zeros)");
  }
  ++pos;
  while (true) {
    const size_t end = request.find('\n', pos);
    if (end == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          "no empty line between the proof and the checkpoint");
    }
    const absl::string_view line = request.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty()) break;
    std::string hash;
    if (!absl::Base64Unescape(line, &hash) || hash.size() != 32) {
      return absl::InvalidArgumentError(
          "a consistency proof line is not a base64 SHA-256 hash");
    }
    if (out.proof.size() == kMaxProofLines) {
      return absl::InvalidArgumentError("more than 63 consistency proof lines");
    }
    out.proof.push_back(std::move(hash));
  }
  out.note = std::string(request.substr(pos));
  return out;
}

}  // namespace

std::string AddCheckpointRequest(uint64_t old_size,
                                 const std::vector<std::string>& proof,
                                 absl::string_view checkpoint_note) {
  std::string out = absl::StrCat("old ", old_size, "\n");
  for (const std::string& h : proof) {
    absl::StrAppend(&out, absl::Base64Escape(h), "\n");
  }
  absl::StrAppend(&out, "\n", checkpoint_note);
  return out;
}

absl::StatusOr<std::unique_ptr<Witness>> Witness::Create(WitnessOptions opts) {
  if (opts.key == nullptr || opts.name.empty()) {
    return absl::InvalidArgumentError("a witness needs a name and a key");
  }
  if (opts.name.find_first_of(" \n+") != std::string::npos) {
    return absl::InvalidArgumentError(
        "a witness name may hold no space, newline or '+'");
  }
  for (const auto& [origin, vkey] : opts.logs) {
    if (!absl::StartsWith(vkey, origin + "+")) {
      return absl::InvalidArgumentError(
          absl::StrCat("the key of log '", origin, "' is '", vkey,
                       "', which is not named for that origin"));
    }
    // A well-formed key is proven by verifying a checkpoint with it; a
    // malformed one is INVALID_ARGUMENT there, DATA_LOSS for a bad note.
    const absl::Status probe = tlog::OpenCheckpoint("x\n\n", vkey).status();
    if (absl::IsInvalidArgument(probe)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the key of log '", origin, "' is not usable: ", probe.message()));
    }
    if (origin == opts.name) {
      return absl::InvalidArgumentError(
          "a witness may not share its name with a log it witnesses");
    }
  }
  return std::unique_ptr<Witness>(new Witness(std::move(opts)));
}

std::string Witness::VerifierKey() const {
  return tlog::CosignerVerifierKey(opts_.name, opts_.key->public_key());
}

Response Witness::AddCheckpoint(absl::string_view request) {
  absl::StatusOr<ParsedRequest> req = Parse(request);
  if (!req.ok()) return Reply(400, std::string(req.status().message()));
  const absl::string_view origin =
      absl::string_view(req->note).substr(0, req->note.find('\n'));
  const auto log = opts_.logs.find(std::string(origin));
  if (log == opts_.logs.end()) {
    spdlog::info("add-checkpoint: unknown log '{}'", origin);
    return Reply(404, absl::StrCat("unknown log '", origin, "'"));
  }
  absl::StatusOr<tlog::TreeHead> head =
      tlog::OpenCheckpoint(req->note, log->second);
  if (!head.ok()) {
    spdlog::warn("add-checkpoint: log '{}': {}", origin,
                 head.status().message());
    return Reply(403, std::string(head.status().message()));
  }
  if (req->old_size > head->size) {
    return Reply(400, absl::StrCat("old size ", req->old_size,
                                   " is above the checkpoint's ", head->size));
  }
  absl::StatusOr<std::string> body = tlog::NoteBody(req->note);
  if (!body.ok()) return Reply(400, std::string(body.status().message()));

  absl::MutexLock lock(&mu_);
  absl::StatusOr<std::optional<LogState>> held = state_.Load(origin);
  if (!held.ok()) {
    spdlog::error("{}", held.status().message());
    return Reply(500, "the witness cannot read its state");
  }
  const uint64_t held_size = held->has_value() ? (*held)->size : 0;
  if (req->old_size != held_size) {
    return SizeConflict(held_size);
  }
  if (held->has_value() && head->size == held_size) {
    if (head->root_hash != (*held)->root) {
      const std::string why = absl::StrCat(
          "FORK: log '", origin, "' signed a checkpoint of size ", head->size,
          " with a root other than the one cosigned at that size");
      spdlog::critical("{}", why);
      state_.KeepEvidence(origin, why, request);
      return SizeConflict(held_size);
    }
  } else if (req->old_size == 0) {
    if (!req->proof.empty()) {
      return Reply(400, "a consistency proof from size 0 must be empty");
    }
  } else if (absl::Status s =
                 tlog::VerifyConsistency(held_size, head->size, (*held)->root,
                                         head->root_hash, req->proof);
             !s.ok()) {
    const std::string why = absl::StrCat(
        "FORK: log '", origin, "' signed a checkpoint of size ", head->size,
        " that no proof joins to the one cosigned at size ", held_size, ": ",
        s.message());
    spdlog::critical("{}", why);
    state_.KeepEvidence(origin, why, request);
    return Reply(422, why);
  }
  if (!held->has_value() || head->size != held_size) {
    if (absl::Status s =
            state_.Store(origin, {head->size, head->root_hash, req->note});
        !s.ok()) {
      spdlog::error("state not stored, nothing cosigned: {}", s.message());
      return Reply(500, "the witness cannot store its state");
    }
    spdlog::info("log '{}': cosigned size {} (was {})", origin, head->size,
                 held_size);
  }
  const uint64_t now = static_cast<uint64_t>(absl::ToUnixSeconds(absl::Now()));
  return Reply(200, tlog::Cosign(*body, now, opts_.name, *opts_.key));
}

}  // namespace lanevault::witness
