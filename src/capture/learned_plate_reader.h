#ifndef LANEVAULT_CAPTURE_LEARNED_PLATE_READER_H_
#define LANEVAULT_CAPTURE_LEARNED_PLATE_READER_H_

// The learned plate reader (PLATE_READER_LEARNED): a small convolutional
// network with CTC output, trained by training/plate_ocr on rendered plates
// and run from ONNX with OpenCV's DNN module. It reads the whole plate crop
// at once, with no row of characters to find first.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "capture/detectors.h"
#include "opencv2/core.hpp"
#include "opencv2/dnn.hpp"

namespace lanevault::capture {

// The network's characters: class k > 0 is kPlateOcrAlphabet[k - 1], class
// 0 the CTC blank (training/plate_ocr/render.py's ALPHABET).
inline constexpr char kPlateOcrAlphabet[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
inline constexpr int kPlateOcrHeight = 48;
inline constexpr int kPlateOcrWidth = 160;

// The network's input from a plate crop (BGR or grey): grey, resized to
// 160 x 48, stretched to the full range, (v - 127.5) / 127.5, as a
// 1 x 1 x 48 x 160 blob (render.py's to_input).
cv::Mat PlateOcrInput(const cv::Mat& crop);

// A plate crop and the same crop moved kPlateLookShift of its width left
// and right, where the picture it is a view into has the pixels (a crop
// that is a whole picture is read as it is). Each look frames the
// characters a little differently, and a misread of one framing is
// seldom repeated by the others. Measured on the labelled box of the
// photographs (model selection only), three looks against one: us-dev
// 69.4 -> 71.4 % exact, eu 82.4 -> 88.9 %; 2 % or 6 % shifts gained less.
inline constexpr double kPlateLookShift = 0.04;
// The other looks are read only when the crop as given reads with less
// confidence than this (per character): the network is seldom that sure of
// a misread. On the labelled boxes the same plates read right as with
// every look read, and half to two thirds of the crops need one look.
inline constexpr float kLookAgainBelow = 0.97f;
std::vector<cv::Mat> PlateLooks(const cv::Mat& crop);

// The loaded network.
class PlateOcrNet {
 public:
  static absl::StatusOr<PlateOcrNet> Load(const std::string& onnx_file);
  // Logits for a blob from PlateOcrInput: columns x classes, CV_32F.
  cv::Mat Logits(const cv::Mat& blob);

 private:
  explicit PlateOcrNet(cv::dnn::Net net) : net_(std::move(net)) {}
  cv::dnn::Net net_;
};

// A reading with a confidence per character (0..1: the highest
// probability the character's class had in a column that emitted it).
struct CharacterReading {
  PlateReading reading;
  std::vector<float> character_confidence;  // one per character of the text
};

// The learned reader. PlateReader's ReadPlate gives its readings; Characters
// gives them with each character's confidence.
class LearnedPlateReader : public PlateReader {
 public:
  LearnedPlateReader(PlateOcrNet net, PlateTextRules rules)
      : net_(std::move(net)), rules_(std::move(rules)) {}

  // Readings of a plate crop, best first: the CTC beams' texts of 2..10
  // characters over the crop's looks (PlateLooks; one look when the crop
  // as given reads surely), ranked by RuledConfidence of their probability
  // averaged over the looks, at most kReadingsPerRow.
  std::vector<CharacterReading> Characters(const cv::Mat& plate_bgr);

  // The network reads crops, not rows cut into characters.
  std::vector<PlateReading> ReadRow(const CharacterRow& /*row*/) override {
    return {};
  }
  // The finder reads its best rows by shape and keeps the most confident
  // reading (PlateFinderOptions::most_confident_read), which a screen of
  // the rows by the glyph classifier (as the glyph and fused readers rank
  // them) no longer improved on us-dev or eu, at a third of us-dev's time.
  bool ReadsWholePlates() const override { return true; }
  float Plausibility(const CharacterRow& /*row*/) override { return 0; }
  std::vector<PlateReading> ReadPlate(const cv::Mat& plate_bgr,
                                      const CharacterRow& row) override;

 private:
  PlateOcrNet net_;
  PlateTextRules rules_;
};

// The model the project trained and committed (models/plate_ocr.onnx),
// from the source tree or where it was installed.
std::string DefaultPlateOcrModel();

// Readings, best first, from the CTC beams ranked by the region's `rules`
// (PlateTextRules: a reading that fits none of its patterns is doubted),
// each with a confidence per character.
absl::StatusOr<std::unique_ptr<PlateReader>> NewLearnedPlateReader(
    const std::string& model_file, PlateTextRules rules = {});

}  // namespace lanevault::capture

#endif  // LANEVAULT_CAPTURE_LEARNED_PLATE_READER_H_
