#ifndef LANEVAULT_CAPTURE_FRAME_SOURCE_H_
#define LANEVAULT_CAPTURE_FRAME_SOURCE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "opencv2/core.hpp"

namespace lanevault::capture {

struct Frame {
  cv::Mat image;  // BGR
  int64_t index = 0;
  absl::Time time;
};

// A sequence of frames from one camera or recording. Not thread-safe: one
// lane thread owns it.
class FrameSource {
 public:
  virtual ~FrameSource() = default;
  // The next frame; nullopt at the end of a file or folder. A corrupt frame
  // is skipped and counted, not returned. UNAVAILABLE when a live stream is
  // lost (the lane reopens it with backoff).
  virtual absl::StatusOr<std::optional<Frame>> Next() = 0;
  virtual uint64_t corrupt_frames() const = 0;
  // Whether the source can come back after UNAVAILABLE (streams, devices).
  virtual bool is_live() const = 0;
  virtual absl::Status Reopen() = 0;
  // After Next() gave nullopt: whether the file stopped before its own end
  // (truncated or damaged), which the lane reports.
  virtual bool ended_early() const { return false; }
};

// Opens "folder:PATH" (images in name order), "file:PATH" (a video file),
// "rtsp://…", "http(s)://…" (a stream) or "v4l2:/dev/videoN" (a device).
// NOT_FOUND for a missing file or folder, INVALID_ARGUMENT for a bad spec.
absl::StatusOr<std::unique_ptr<FrameSource>> OpenFrameSource(
    const std::string& spec);

}  // namespace lanevault::capture

#endif  // LANEVAULT_CAPTURE_FRAME_SOURCE_H_
