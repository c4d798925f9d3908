#ifndef LANEVAULT_CAPTURE_RECORD_SINK_H_
#define LANEVAULT_CAPTURE_RECORD_SINK_H_

// Where a lane's finished crossings go. Header-only and free of OpenCV, so
// the vault side can take crossings without linking capture.

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "lanevault/v1/types.pb.h"

namespace lanevault::capture {

// Where in its source a record was formed: a file or folder lane's source
// identity (resume_position.h) and the frame before which every crossing is
// formed once this record is acknowledged. Empty `source`: a live lane, or
// a lane that keeps no position.
struct Provenance {
  std::string source;
  int64_t settled_before = 0;
};

// Thread-safe: several lanes share one sink.
class RecordSink {
 public:
  virtual ~RecordSink() = default;
  // OK means acknowledged: stored durably, or dropped on purpose by policy.
  // Any error means it was not, and the lane retries with backoff;
  // INVALID_ARGUMENT means a retry cannot help.
  virtual absl::Status Submit(v1::Record record) = 0;
  // What a lane calls. A sink that keeps records for later (a capture
  // node's spool) also keeps where they came from, so that a restart after
  // a crash does not form them again.
  virtual absl::Status Submit(v1::Record record, const Provenance& /*from*/) {
    return Submit(std::move(record));
  }
};

}  // namespace lanevault::capture

#endif  // LANEVAULT_CAPTURE_RECORD_SINK_H_
