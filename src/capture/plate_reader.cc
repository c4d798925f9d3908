#include <optional>
#include <vector>

#include "capture/character_row.h"
#include "capture/detectors.h"

namespace lanevault::capture {

std::vector<PlateReading> PlateReader::Read(const cv::Mat& plate_bgr) {
  if (ReadsWholePlates()) return ReadPlate(plate_bgr, CharacterRow{});
  std::optional<CharacterRow> row = FindCharacterRow(plate_bgr);
  if (!row) return {};
  return ReadRow(*row);
}

}  // namespace lanevault::capture
