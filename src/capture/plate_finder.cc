#include "capture/plate_finder.h"

namespace lanevault::capture {

std::vector<PlateSighting> FindPlates(const cv::Mat& bgr,
                                      PlateDetector& detector,
                                      PlateReader& reader,
                                      const PlateFinderOptions& options) {
  std::vector<PlateSighting> found;
  int tried = 0;
  for (const cv::Rect& candidate : detector.Candidates(bgr)) {
    if (found.size() >= static_cast<size_t>(options.max_plates)) break;
    if (++tried > options.max_candidates) break;
    bool overlaps = false;
    for (const PlateSighting& s : found) {
      overlaps |= (s.box & candidate).area() > 0;
    }
    if (overlaps) continue;
    std::vector<PlateReading> readings = reader.Read(bgr(candidate));
    if (readings.empty()) continue;
    found.push_back({candidate, std::move(readings)});
  }
  return found;
}

}  // namespace lanevault::capture
