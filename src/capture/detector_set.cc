#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "capture/detectors.h"
#include "capture/glyph_classifier.h"
#include "capture/learned_plate_reader.h"
#include "capture/plate_regions.h"

namespace lanevault::capture {

absl::StatusOr<DetectorSet> NewDetectorSet(const v1::DetectorConfig& config) {
  DetectorSet set;
  const std::string cascade = config.face_cascade().empty()
                                  ? DefaultFaceCascade()
                                  : config.face_cascade();
  CascadeOptions scan;
  if (config.min_face_px() > 0) scan.min_face_px = config.min_face_px();
  if (config.face_scale_step() != 0) scan.scale_step = config.face_scale_step();
  if (config.face_refine_step() != 0) {
    scan.refine_step = config.face_refine_step();
  }
  if (config.face_min_neighbours() != 0) {
    scan.min_neighbours = config.face_min_neighbours();
  }
  auto face = config.face_model().empty()
                  ? NewCascadeFaceDetector(cascade, scan)
                  : NewDnnFaceDetector(config.face_model());
  if (!face.ok()) return face.status();
  set.face = std::move(*face);
  set.plate = NewContourPlateDetector();
  if (!config.plate_cascade().empty()) {
    auto plates =
        NewCascadePlateDetector(config.plate_cascade(), std::move(set.plate));
    if (!plates.ok()) return plates.status();
    set.plate = std::move(*plates);
  }
  absl::StatusOr<PlateTextRules> region =
      RegionPlateRules(config.plate_region());
  if (!region.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("detectors.plate_region: ", region.status().message()));
  }
  PlateTextRules rules = *std::move(region);
  rules.patterns.insert(rules.patterns.end(), config.plate_patterns().begin(),
                        config.plate_patterns().end());
  if (config.plate_letter_digit_groups() > 0) {
    rules.max_letter_digit_groups = config.plate_letter_digit_groups();
  }
  const std::string language =
      config.tesseract_language().empty() ? "eng" : config.tesseract_language();
  const std::string model = config.plate_glyph_model().empty()
                                ? DefaultGlyphModel()
                                : config.plate_glyph_model();
  absl::StatusOr<std::unique_ptr<PlateReader>> reader;
  v1::PlateReader kind = config.plate_reader();
  if (kind == v1::PLATE_READER_REGION_DEFAULT) {
    kind = RegionDefaultReader(config.plate_region());
  }
  switch (kind) {
    case v1::PLATE_READER_TESSERACT:
      reader = NewTesseractPlateReader(config.tesseract_datapath(), language,
                                       std::move(rules));
      break;
    case v1::PLATE_READER_GLYPHS:
      reader = NewGlyphPlateReader(model, std::move(rules));
      break;
    case v1::PLATE_READER_LEARNED:
      reader = NewLearnedPlateReader(config.plate_ocr_model().empty()
                                         ? DefaultPlateOcrModel()
                                         : config.plate_ocr_model(),
                                     std::move(rules));
      break;
    case v1::PLATE_READER_FUSED:
    default:
      reader = NewFusedPlateReader(config.tesseract_datapath(), language, model,
                                   std::move(rules));
  }
  if (!reader.ok()) return reader.status();
  set.reader = std::move(*reader);
  return set;
}

}  // namespace lanevault::capture
