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
  int max_candidates = 16;  // regions checked for a row of characters
  int max_reads = 3;        // of those, the best rows read
  int max_plates = 1;       // a lane sees one vehicle at a time
};

// The plate step the lane and the evaluation tool share: each of the
// detector's candidates is checked for a row of characters, the best rows
// are read, and a candidate without a row, or that the reader cannot read,
// is not a plate. Overlapping candidates count once.
std::vector<PlateSighting> FindPlates(const cv::Mat& bgr,
                                      PlateDetector& detector,
                                      PlateReader& reader,
                                      const PlateFinderOptions& options = {});

}  // namespace lanevault::capture

#endif  // LANEVAULT_CAPTURE_PLATE_FINDER_H_
