#ifndef LANEVAULT_CAPTURE_RESUME_POSITION_H_
#define LANEVAULT_CAPTURE_RESUME_POSITION_H_

// Where a file or folder lane has got to, kept across restarts so that a
// replay after a crash or a stop does not store its crossings again.
//
// A stored position N means: every crossing that ended before source frame
// N has been acknowledged by the sink, and no crossing was open at N. A
// restarted lane skips the frames before N. The lane (lane.h) decides when
// that holds; this file only keeps the number durably.
//
// One file a lane, `<dir>/<lane id>.position`, in lines of "key value":
//
//   lanevault lane position v1
//   lane lane-1
//   source file:/var/footage/lane.avi size=1834912 mtime_ns=1714...
//   next_frame 138
//
// `source` is the source's identity (SourceIdentity): a position kept for
// another file, or for the same path holding other content, is not used.

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "capture/frame_source.h"

namespace lanevault::capture {

// Tells the content a position was kept for from any other: the absolute
// path, and for a file its size and modification time (a file copied in
// anew, or replaced, has another). A folder is its path: files added later
// must sort after those already read. NOT_FOUND when it is missing.
absl::StatusOr<std::string> SourceIdentity(const SourceSpec& spec);

// Changes while a file or folder is being written (sizes, times, entries):
// a lane waits for it to hold still before it opens a source that has just
// appeared. NOT_FOUND when it is missing.
absl::StatusOr<std::string> SourceFingerprint(const SourceSpec& spec);

class ResumePosition {
 public:
  // `dir` must exist. `identity` is the source's SourceIdentity.
  ResumePosition(std::string dir, std::string lane_id, std::string identity);

  // The stored position for this lane and source; 0 when there is none,
  // when it was kept for another source, or when the file cannot be read
  // (logged: starting over stores crossings again, but loses none).
  int64_t Load();

  // Durably records `next_frame` (temporary file, fsync, rename, fsync of
  // the folder), so that after a crash the file holds this position or the
  // one before. Does nothing unless `next_frame` is past the last one kept.
  absl::Status Save(int64_t next_frame);

  const std::string& path() const { return path_; }
  const std::string& identity() const { return identity_; }
  // The position on disk, as far as this object knows.
  int64_t kept() const { return kept_; }

 private:
  std::string dir_;
  std::string lane_id_;
  std::string identity_;
  std::string path_;
  int64_t kept_ = 0;  // the position on disk
};

}  // namespace lanevault::capture

#endif  // LANEVAULT_CAPTURE_RESUME_POSITION_H_
