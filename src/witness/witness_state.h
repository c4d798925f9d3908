#ifndef LANEVAULT_WITNESS_WITNESS_STATE_H_
#define LANEVAULT_WITNESS_WITNESS_STATE_H_

// What a witness remembers of each log: the size and root of the latest
// checkpoint it cosigned, and that checkpoint. One file per log in the
// state folder, replaced atomically (temporary file, fsync, rename, fsync of
// the folder), so a crash leaves the old state or the new one, and a
// cosignature is only ever returned for a state already on disk.

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace lanevault::witness {

struct LogState {
  uint64_t size = 0;
  std::string root;        // 32 bytes
  std::string checkpoint;  // the note cosigned at that size
};

class WitnessStateDir {
 public:
  explicit WitnessStateDir(std::string dir) : dir_(std::move(dir)) {}

  // Nothing when the log was never cosigned; DATA_LOSS for a damaged file
  // (the witness must not start over from zero: it would cosign a fork).
  absl::StatusOr<std::optional<LogState>> Load(absl::string_view origin) const;
  absl::Status Store(absl::string_view origin, const LogState& state) const;
  // Keeps a refused request that a valid log signature covers: it may be
  // evidence of a log that forked. Best effort.
  void KeepEvidence(absl::string_view origin, absl::string_view why,
                    absl::string_view request) const;

  std::string PathFor(absl::string_view origin) const;
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

}  // namespace lanevault::witness

#endif  // LANEVAULT_WITNESS_WITNESS_STATE_H_
