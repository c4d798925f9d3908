#ifndef LANEVAULT_WITNESS_CLIENT_H_
#define LANEVAULT_WITNESS_CLIENT_H_

// A log's side of C2SP tlog-witness: submits a checkpoint with its
// consistency proof to one witness and sorts the answer. HTTP keep-alive,
// one call at a time (callers serialise).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace lanevault::witness {

struct AddCheckpointResult {
  enum class Kind {
    kCosigned,  // 200: `lines` holds the signature lines
    kConflict,  // 409: the witness holds `witness_size`
    kRefused,   // 422 (proof does not verify) or any other code
  };
  Kind kind = Kind::kRefused;
  int http_status = 0;
  uint64_t witness_size = 0;
  std::string lines;    // for kCosigned, newline-terminated
  std::string message;  // the witness's body, for kRefused
};

class WitnessClient {
 public:
  // `url` is the submission prefix: http://host:port[/path].
  static absl::StatusOr<std::unique_ptr<WitnessClient>> Create(
      const std::string& url, absl::Duration timeout);
  ~WitnessClient();

  // UNAVAILABLE when the witness cannot be reached or answers nothing.
  absl::StatusOr<AddCheckpointResult> AddCheckpoint(
      uint64_t old_size, const std::vector<std::string>& proof,
      const std::string& checkpoint_note);

 private:
  struct Impl;
  explicit WitnessClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lanevault::witness

#endif  // LANEVAULT_WITNESS_CLIENT_H_
