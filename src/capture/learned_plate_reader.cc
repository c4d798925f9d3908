#include "capture/learned_plate_reader.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "capture/ctc_decoder.h"
#include "capture/grey.h"
#include "capture/plate_text.h"
#include "opencv2/imgproc.hpp"

namespace lanevault::capture {
namespace {

namespace fs = std::filesystem;

// Prefixes kept per column. A plate's beams settle within a few; 16 keeps
// the ten readings the lane's tracker votes over.
constexpr size_t kBeam = 16;

}  // namespace

cv::Mat PlateOcrInput(const cv::Mat& crop) {
  cv::Mat small;
  cv::resize(Grey(crop), small, cv::Size(kPlateOcrWidth, kPlateOcrHeight), 0, 0,
             cv::INTER_AREA);
  cv::normalize(small, small, 0, 255, cv::NORM_MINMAX);
  cv::Mat input;
  small.convertTo(input, CV_32F, 1 / 127.5, -1);
  const int shape[] = {1, 1, kPlateOcrHeight, kPlateOcrWidth};
  return input.reshape(1, 4, shape).clone();
}

std::vector<cv::Mat> PlateLooks(const cv::Mat& crop) {
  std::vector<cv::Mat> looks = {crop};
  const int shift = static_cast<int>(std::lround(kPlateLookShift * crop.cols));
  if (shift < 1) return looks;
  cv::Size whole;
  cv::Point offset;
  crop.locateROI(whole, offset);
  if (offset.x >= shift) {
    cv::Mat left = crop;
    left.adjustROI(0, 0, shift, -shift);
    looks.push_back(left);
  }
  if (whole.width - (offset.x + crop.cols) >= shift) {
    cv::Mat right = crop;
    right.adjustROI(0, 0, -shift, shift);
    looks.push_back(right);
  }
  return looks;
}

std::vector<CharacterReading> LearnedPlateReader::Characters(
    const cv::Mat& plate_bgr) {
  if (plate_bgr.empty()) return {};
  // A reading's score is its probability averaged over the looks read
  // (absent from a look's beams, it counts 0 there), so a text every look
  // agrees on outranks one that a single look's framing favoured.
  struct Pooled {
    double probability_sum = 0;
    double best = -1;  // the look that believed it most gives its characters
    std::vector<float> character_probabilities;
  };
  absl::flat_hash_map<std::string, Pooled> pooled;
  const auto read = [&](const cv::Mat& look) {
    const cv::Mat p = CtcSoftmax(net_.Logits(PlateOcrInput(look)));
    for (CtcText& t :
         CtcBeamSearch(p, kPlateOcrAlphabet, kBeam, kReadingsPerRow)) {
      // Plates carry 2..10 characters; fewer is a crop of something else.
      if (t.text.size() < 2 || t.text.size() > 10) continue;
      Pooled& e = pooled[t.text];
      e.probability_sum += t.probability;
      if (t.probability > e.best) {
        e.best = t.probability;
        e.character_probabilities = t.character_probabilities;
      }
    }
  };
  const auto ranked = [&](size_t looks_read) {
    // A text the region's formats settle (ZeroOByFormat) is read as the
    // text it settles to, at that text's own score (its letter/digit
    // groups) of the same probability, or at the score the network gave it
    // if that is higher. The text as read stays, just under it. Not pooled
    // with it: a 0 where a letter stands may be a Q or a D as well as an O.
    absl::flat_hash_map<std::string, Pooled> scored = pooled;
    absl::flat_hash_map<std::string, std::string> as_read;  // settled: read
    for (const auto& [text, e] : pooled) {
      const std::string settled = ZeroOByFormat(text, rules_);
      if (settled.empty()) continue;
      Pooled& f = scored[settled];
      if (e.probability_sum > f.probability_sum) {
        f = e;
        as_read[settled] = text;
      }
    }
    const auto confidence = [&](const std::string& text) {
      const auto it = scored.find(text);
      return RuledConfidence(
          text, it->second.probability_sum / static_cast<double>(looks_read),
          rules_);
    };
    std::vector<CharacterReading> out;
    for (const auto& [text, e] : scored) {
      CharacterReading r;
      r.reading.confidence = confidence(text);
      if (const std::string settled = ZeroOByFormat(text, rules_);
          !settled.empty()) {
        r.reading.confidence = std::min(
            r.reading.confidence, std::nextafter(confidence(settled), 0.0f));
      }
      r.reading.text = text;
      if (auto it = as_read.find(text); it != as_read.end()) {
        r.reading.as_read = it->second;
      }
      r.character_confidence = e.character_probabilities;
      out.push_back(std::move(r));
    }
    // Ties (rare) fall to the text, so the order never depends on the map's.
    std::sort(out.begin(), out.end(),
              [](const CharacterReading& a, const CharacterReading& b) {
                if (a.reading.confidence != b.reading.confidence) {
                  return a.reading.confidence > b.reading.confidence;
                }
                return a.reading.text < b.reading.text;
              });
    if (out.size() > kReadingsPerRow) out.resize(kReadingsPerRow);
    return out;
  };
  const std::vector<cv::Mat> looks = PlateLooks(plate_bgr);
  read(looks[0]);
  std::vector<CharacterReading> first = ranked(1);
  if (looks.size() == 1 ||
      (!first.empty() && first[0].reading.confidence >= kLookAgainBelow)) {
    return first;
  }
  for (size_t i = 1; i < looks.size(); ++i) read(looks[i]);
  return ranked(looks.size());
}

std::vector<PlateReading> LearnedPlateReader::ReadPlate(
    const cv::Mat& plate_bgr, const CharacterRow& /*row*/) {
  std::vector<PlateReading> out;
  for (CharacterReading& r : Characters(plate_bgr)) {
    out.push_back(std::move(r.reading));
  }
  return out;
}

absl::StatusOr<PlateOcrNet> PlateOcrNet::Load(const std::string& onnx_file) {
  if (!fs::exists(onnx_file)) {
    return absl::NotFoundError(
        absl::StrCat("plate OCR model not found: ", onnx_file));
  }
  cv::dnn::Net net;
  try {  // OpenCV reports a bad model by throwing; it stops here.
    net = cv::dnn::readNetFromONNX(onnx_file);
  } catch (const cv::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("plate OCR model ", onnx_file, ": ", e.what()));
  }
  if (net.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("plate OCR model ", onnx_file, " is empty"));
  }
  net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  PlateOcrNet loaded(std::move(net));
  // Checks the output's shape once, so Logits need not.
  loaded.net_.setInput(PlateOcrInput(
      cv::Mat(kPlateOcrHeight, kPlateOcrWidth, CV_8UC1, cv::Scalar(128))));
  const cv::Mat out = loaded.net_.forward();
  // The alphabet's characters and its terminating NUL: the classes.
  if (out.dims != 4 || out.size[0] != 1 ||
      out.size[1] != static_cast<int>(sizeof(kPlateOcrAlphabet)) ||
      out.size[2] != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "plate OCR model ", onnx_file, " has an unexpected output shape"));
  }
  return loaded;
}

cv::Mat PlateOcrNet::Logits(const cv::Mat& blob) {
  net_.setInput(blob);
  const cv::Mat out = net_.forward();  // 1 x classes x 1 x columns
  const cv::Mat classes_by_columns(out.size[1], out.size[3], CV_32F,
                                   const_cast<float*>(out.ptr<float>()));
  return classes_by_columns.t();
}

std::string DefaultPlateOcrModel() {
  for (const std::string& p :
       {std::string(LANEVAULT_PLATE_OCR_MODEL_SOURCE),
        std::string("/usr/local/share/lanevault/plate_ocr.onnx"),
        std::string("/usr/share/lanevault/plate_ocr.onnx")}) {
    if (!p.empty() && fs::exists(p)) return p;
  }
  return LANEVAULT_PLATE_OCR_MODEL_SOURCE;
}

absl::StatusOr<std::unique_ptr<PlateReader>> NewLearnedPlateReader(
    const std::string& model_file, PlateTextRules rules) {
  absl::StatusOr<PlateOcrNet> net = PlateOcrNet::Load(model_file);
  if (!net.ok()) return net.status();
  return std::make_unique<LearnedPlateReader>(*std::move(net),
                                              std::move(rules));
}

}  // namespace lanevault::capture
