#ifndef LANEVAULT_CAPTURE_REPLAY_H_
#define LANEVAULT_CAPTURE_REPLAY_H_

// Runs several lanes at once over one recording and reports how fast each
// went: the evaluation tool's "frames per second per lane" figure.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "lanevault/v1/config.pb.h"
#include "lanevault/v1/lanes.pb.h"

namespace lanevault::capture {

struct ReplayOptions {
  std::string source;  // a lane source spec (file:…, folder:…)
  int lanes = 1;
  double pace_fps = 0;  // 0: as fast as each lane analyses
  int repeat = 1;       // times each lane plays the source
  v1::DetectorConfig detectors;
  // Called once the lanes of a play have started, with a way to read their
  // status (as a daemon's metrics endpoint does), and once they have all
  // finished: what a benchmark runs beside the lanes.
  std::function<void(std::function<std::vector<v1::LaneStatus>()>)> on_start;
  std::function<void()> on_stop;
};

struct ReplayResult {
  std::string lane_id;
  uint64_t frames_read = 0, frames_analysed = 0, frames_dropped = 0,
           records = 0, records_with_face = 0;
  // Faces and plates the lane found, summed over analysed frames: how
  // closely it followed what was in view.
  uint64_t face_sightings = 0, plate_sightings = 0;
  std::vector<std::string> plate_texts;  // each record's, in order
  // The width in pixels of each record's plate crop and face crops: how
  // near the vehicle was when the kept crop was taken.
  std::vector<int> plate_crop_widths, face_crop_widths;
  double seconds = 0;
  double frames_per_second = 0;
};

// Every lane's records are looked at and thrown away (nothing is stored).
absl::StatusOr<std::vector<ReplayResult>> ReplayLanes(
    const ReplayOptions& options);

}  // namespace lanevault::capture

#endif  // LANEVAULT_CAPTURE_REPLAY_H_
