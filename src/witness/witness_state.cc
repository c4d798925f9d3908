#include "witness/witness_state.h"

#include <algorithm>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/files.h"
#include "common/logging.h"
#include "crypto/digest.h"

namespace lanevault::witness {
namespace {

constexpr absl::string_view kMagic = "lanevault-witness-state v1\n";

// Origins are free text (slashes, spaces): the file is named by a hash.
std::string FileStem(absl::string_view origin) {
  return absl::BytesToHexString(crypto::Sha256(origin).substr(0, 16));
}

}  // namespace

std::string WitnessStateDir::PathFor(absl::string_view origin) const {
  return absl::StrCat(dir_, "/", FileStem(origin), ".state");
}

absl::StatusOr<std::optional<LogState>> WitnessStateDir::Load(
    absl::string_view origin) const {
  const std::string path = PathFor(origin);
  absl::StatusOr<std::string> text = ReadFileToString(path);
  if (absl::IsNotFound(text.status())) return std::nullopt;
  if (!text.ok()) return text.status();
  // magic, origin, size, base64 root, then the note to the end.
  std::vector<std::string> parts = absl::StrSplit(
      absl::string_view(*text).substr(std::min(text->size(), kMagic.size())),
      absl::MaxSplits('\n', 3));
  LogState state;
  if (!absl::StartsWith(*text, kMagic) || parts.size() != 4 ||
      parts[0] != origin || !absl::SimpleAtoi(parts[1], &state.size) ||
      !absl::Base64Unescape(parts[2], &state.root) || state.root.size() != 32) {
    return absl::DataLossError(absl::StrCat(
        "witness state ", path, " for log '", origin,
        "' is damaged; refusing to forget what was cosigned (restore it "
        "from a backup, or retire this witness key)"));
  }
  state.checkpoint = parts[3];
  return state;
}

absl::Status WitnessStateDir::Store(absl::string_view origin,
                                    const LogState& state) const {
  const std::string path = PathFor(origin);
  if (absl::Status s = WriteFileAtomically(
          path,
          absl::StrCat(kMagic, origin, "\n", state.size, "\n",
                       absl::Base64Escape(state.root), "\n", state.checkpoint),
          0600);
      !s.ok()) {
    return s;
  }
  // The rename is durable only once the folder is.
  return SyncDirectory(dir_);
}

void WitnessStateDir::KeepEvidence(absl::string_view origin,
                                   absl::string_view why,
                                   absl::string_view request) const {
  const std::string path =
      absl::StrCat(dir_, "/evidence/", FileStem(origin), "-",
                   absl::ToUnixMicros(absl::Now()), ".txt");
  absl::Status s = MakeParentDirectories(path);
  if (s.ok()) {
    s = WriteFileAtomically(path, absl::StrCat(why, "\n\n", request), 0600);
  }
  if (!s.ok()) spdlog::warn("evidence not kept: {}", s.message());
}

}  // namespace lanevault::witness
