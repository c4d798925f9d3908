#ifndef LANEVAULT_CAPTURE_PLATE_FINDER_H_
#define LANEVAULT_CAPTURE_PLATE_FINDER_H_

#include <vector>

#include "capture/detectors.h"

namespace lanevault::capture {

// A plate found in one image: where, and what the reader made of it (best
// reading first).
struct PlateSighting {
  cv::Rect box;
  std::vector<PlateReading> readings;
  const PlateReading& best() const { return readings.front(); }
};

struct PlateFinderOptions {
  int max_candidates =
      6;               // regions handed to the reader, most plate-like first
  int max_plates = 1;  // a lane sees one vehicle at a time
};

// The plate step the lane and the evaluation tool share: the detector's
// candidates are read in order, and a candidate the reader cannot read is
// not a plate. Overlapping candidates count once.
std::vector<PlateSighting> FindPlates(const cv::Mat& bgr,
                                      PlateDetector& detector,
                                      PlateReader& reader,
                                      const PlateFinderOptions& options = {});

}  // namespace lanevault::capture

#endif  // LANEVAULT_CAPTURE_PLATE_FINDER_H_
