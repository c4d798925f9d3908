#ifndef LANEVAULT_WITNESS_WITNESS_H_
#define LANEVAULT_WITNESS_WITNESS_H_

// A C2SP tlog-witness: add-checkpoint without the HTTP around it. For each
// configured log (origin + the log's verifier key) it keeps the size and
// root it last cosigned, and cosigns a new checkpoint only when the log's
// signature verifies, the client's old size is the one it holds and the
// consistency proof joins its root to the new one. So it never cosigns two
// views of one log that disagree: a rewritten history (same size, other
// root; or a root no proof reaches) is refused, and the refused request is
// kept as evidence. Check and store happen under one lock, and the state is
// on disk before the cosignature leaves.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "crypto/signing.h"
#include "witness/witness_state.h"

namespace lanevault::witness {

// What to answer, in HTTP terms (the spec defines the codes).
struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

struct WitnessOptions {
  std::string name;  // the key name in cosignature lines
  const crypto::SigningKey* key = nullptr;
  std::map<std::string, std::string> logs;  // origin -> log verifier key
  std::string state_dir;
};

class Witness {
 public:
  // INVALID_ARGUMENT for a log verifier key that does not parse or whose
  // name is not its origin.
  static absl::StatusOr<std::unique_ptr<Witness>> Create(WitnessOptions opts);

  // The body of POST /add-checkpoint, answered per C2SP tlog-witness.
  Response AddCheckpoint(absl::string_view request);

  // "<name>+<hex key ID>+<base64(0x04 || key)>": what verifiers pin.
  std::string VerifierKey() const;

 private:
  explicit Witness(WitnessOptions opts)
      : opts_(std::move(opts)), state_(opts_.state_dir) {}

  WitnessOptions opts_;
  WitnessStateDir state_;
  absl::Mutex mu_;  // one add-checkpoint at a time: check and store atomic
};

// The request body of add-checkpoint, for clients and tests.
std::string AddCheckpointRequest(uint64_t old_size,
                                 const std::vector<std::string>& proof,
                                 absl::string_view checkpoint_note);

}  // namespace lanevault::witness

#endif  // LANEVAULT_WITNESS_WITNESS_H_
