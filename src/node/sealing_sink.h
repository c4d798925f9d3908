#ifndef LANEVAULT_NODE_SEALING_SINK_H_
#define LANEVAULT_NODE_SEALING_SINK_H_

// What a capture node's lanes hand their records to: each record is sealed
// to the vault's intake public key the moment it arrives, its plaintext
// wiped, and the sealed box spooled durably. OK means spooled: from then on
// the vault sender owns it, and nothing on this host can open it.

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "capture/record_sink.h"
#include "node/spool.h"

namespace lanevault::node {

class SealingSink final : public capture::RecordSink {
 public:
  // `intake_public_key`: the vault's 32-byte X25519 public key.
  SealingSink(std::string intake_public_key, Spool* spool);

  absl::Status Submit(v1::Record record) override;
  absl::Status Submit(v1::Record record,
                      const capture::Provenance& from) override;

 private:
  std::string public_key_;
  Spool* spool_;
};

// The key as `lanevaultd --print_intake_key` prints it (base64), or
// "@FILE" holding that line. INVALID_ARGUMENT unless it is 32 bytes.
absl::StatusOr<std::string> ParseIntakePublicKey(const std::string& text);

}  // namespace lanevault::node

#endif  // LANEVAULT_NODE_SEALING_SINK_H_
