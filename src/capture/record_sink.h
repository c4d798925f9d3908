#ifndef LANEVAULT_CAPTURE_RECORD_SINK_H_
#define LANEVAULT_CAPTURE_RECORD_SINK_H_

// Where a lane's finished crossings go. Header-only and free of OpenCV, so
// the vault side can take crossings without linking capture.

#include "absl/status/status.h"
#include "lanevault/v1/types.pb.h"

namespace lanevault::capture {

// Thread-safe: several lanes share one sink.
class RecordSink {
 public:
  virtual ~RecordSink() = default;
  // OK means acknowledged: stored durably, or dropped on purpose by policy.
  // Any error means it was not, and the lane retries with backoff.
  virtual absl::Status Submit(v1::Record record) = 0;
};

}  // namespace lanevault::capture

#endif  // LANEVAULT_CAPTURE_RECORD_SINK_H_
