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
  // Position in the source: a folder's file in name order, a video's frame
  // in the file (unreadable ones included), a stream's frame since start.
  // A file or folder lane resumes by it, so it does not depend on what
  // could be decoded.
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
  // A file or folder only: moves on so that the next frame's index is
  // `index`, without decoding what it passes where the format allows.
  // Returns the index reached: less than `index` when the source is
  // shorter (its end).
  virtual int64_t SkipTo(int64_t index) {
    (void)index;
    return 0;
  }
  // How many frames a file or folder holds (a video's own count, which its
  // header states); -1 when unknown or live.
  virtual int64_t frame_count() const { return -1; }
};

// What a source spec names, checked without touching the source.
struct SourceSpec {
  enum class Kind { kFolder, kFile, kStream, kDevice };
  Kind kind = Kind::kFile;
  std::string target;  // the folder, file, URL or device path
  int device = -1;     // kDevice: N of /dev/videoN
  // The spec as logs and the lane's status may show it: a URL's
  // user:password@ is left out, since status goes to operators.
  std::string display;
  bool live() const { return kind == Kind::kStream || kind == Kind::kDevice; }
};

// Parses "folder:PATH", "file:PATH", "rtsp://…", "http(s)://…" or
// "v4l2:/dev/videoN". INVALID_ARGUMENT for a spec that can never work.
absl::StatusOr<SourceSpec> ParseSourceSpec(const std::string& spec);

// Opens a source. NOT_FOUND for a missing file or folder; UNAVAILABLE for a
// video file that exists but does not open as one; INVALID_ARGUMENT for a
// bad spec. A live source that is down is returned all the same (its
// Next() says UNAVAILABLE and the lane reopens it with backoff).
absl::StatusOr<std::unique_ptr<FrameSource>> OpenFrameSource(
    const std::string& spec);

}  // namespace lanevault::capture

#endif  // LANEVAULT_CAPTURE_FRAME_SOURCE_H_
