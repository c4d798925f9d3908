#include "capture/plate_finder.h"

#include <algorithm>
#include <optional>

#include "capture/character_row.h"

namespace lanevault::capture {

std::vector<PlateSighting> FindPlates(const cv::Mat& bgr,
                                      PlateDetector& detector,
                                      PlateReader& reader,
                                      const PlateFinderOptions& options) {
  // Finding the row of characters costs ~1 ms; reading it costs more. So
  // every candidate is checked for a row, and the best rows are read.
  struct Ranked {
    cv::Rect box;
    CharacterRow row;
  };
  std::vector<Ranked> ranked;
  for (const cv::Rect& candidate : detector.Candidates(bgr)) {
    if (ranked.size() >= static_cast<size_t>(options.max_candidates)) break;
    std::optional<CharacterRow> row = FindCharacterRow(bgr(candidate));
    if (row) ranked.push_back({candidate, std::move(*row)});
  }
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const Ranked& a, const Ranked& b) {
                     return a.row.score > b.row.score;
                   });
  std::vector<PlateSighting> found;
  int read = 0;
  for (const Ranked& r : ranked) {
    if (found.size() >= static_cast<size_t>(options.max_plates)) break;
    if (read >= options.max_reads) break;
    bool overlaps = false;
    for (const PlateSighting& s : found) {
      overlaps |= (s.box & r.box).area() > 0;
    }
    if (overlaps) continue;
    ++read;
    std::vector<PlateReading> readings = reader.ReadRow(r.row);
    if (readings.empty()) continue;
    found.push_back({r.box, std::move(readings)});
  }
  return found;
}

}  // namespace lanevault::capture
