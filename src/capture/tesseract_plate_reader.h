#ifndef LANEVAULT_CAPTURE_TESSERACT_PLATE_READER_H_
#define LANEVAULT_CAPTURE_TESSERACT_PLATE_READER_H_

// The Tesseract reader, which the fused reader (fused_plate_reader.cc) uses
// too. Programs make readers through detectors.h.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "capture/character_row.h"
#include "capture/detectors.h"
#include "capture/plate_text.h"

namespace tesseract {
class TessBaseAPI;
}  // namespace tesseract

namespace lanevault::capture {

class TesseractPlateReader final : public PlateReader {
 public:
  TesseractPlateReader(std::unique_ptr<tesseract::TessBaseAPI> api,
                       PlateTextRules rules);
  ~TesseractPlateReader() override;

  std::vector<PlateReading> ReadRow(const CharacterRow& row) override;
  // Tesseract's alternatives for each character it saw in the row.
  std::vector<CharacterChoices> Positions(const CharacterRow& row);

 private:
  std::unique_ptr<tesseract::TessBaseAPI> api_;
  PlateTextRules rules_;
};

// `datapath` empty: Tesseract's default.
absl::StatusOr<std::unique_ptr<TesseractPlateReader>> MakeTesseractReader(
    const std::string& datapath, const std::string& language,
    PlateTextRules rules);

}  // namespace lanevault::capture

#endif  // LANEVAULT_CAPTURE_TESSERACT_PLATE_READER_H_
