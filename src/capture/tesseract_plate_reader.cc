#include <tesseract/baseapi.h>

#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "capture/detectors.h"
#include "opencv2/imgproc.hpp"

namespace lanevault::capture {
namespace {

constexpr char kPlateCharacters[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
constexpr int kWorkHeight = 64;  // Tesseract reads best with ~30-40 px glyphs
constexpr size_t kMinLength = 4;
constexpr size_t kMaxLength = 9;

// Crop away the plate's frame: Tesseract reads a border as 'I' or '1'.
cv::Mat Interior(const cv::Mat& grey) {
  const int mx = grey.cols * 5 / 100, my = grey.rows * 12 / 100;
  return grey(cv::Rect(mx, my, grey.cols - 2 * mx, grey.rows - 2 * my));
}

cv::Mat Prepare(const cv::Mat& bgr) {
  cv::Mat grey;
  cv::cvtColor(bgr, grey, cv::COLOR_BGR2GRAY);
  grey = Interior(grey);
  const double scale = static_cast<double>(kWorkHeight) / grey.rows;
  cv::resize(grey, grey, cv::Size(), scale, scale, cv::INTER_CUBIC);
  cv::Mat bin;
  cv::threshold(grey, bin, 0, 255, cv::THRESH_BINARY | cv::THRESH_OTSU);
  // Tesseract wants dark text on light; light-on-dark plates are inverted.
  if (cv::mean(bin)[0] < 127) cv::bitwise_not(bin, bin);
  cv::copyMakeBorder(bin, bin, 12, 12, 12, 12, cv::BORDER_CONSTANT,
                     cv::Scalar(255));
  return bin;
}

class TesseractPlateReader final : public PlateReader {
 public:
  explicit TesseractPlateReader(std::unique_ptr<tesseract::TessBaseAPI> api)
      : api_(std::move(api)) {}
  ~TesseractPlateReader() override { api_->End(); }

  std::vector<PlateReading> Read(const cv::Mat& plate_bgr) override {
    if (plate_bgr.cols < 20 || plate_bgr.rows < 8) return {};
    const cv::Mat bin = Prepare(plate_bgr);
    api_->SetImage(bin.data, bin.cols, bin.rows, 1, static_cast<int>(bin.step));
    api_->SetSourceResolution(300);
    std::unique_ptr<char[]> raw(api_->GetUTF8Text());
    std::string text;
    for (const char* p = raw.get(); p && *p; ++p) {
      const char c = absl::ascii_toupper(*p);
      if (absl::ascii_isalnum(c)) text.push_back(c);
    }
    if (text.size() < kMinLength || text.size() > kMaxLength) return {};
    return {PlateReading{text, api_->MeanTextConf() / 100.0f}};
  }

 private:
  std::unique_ptr<tesseract::TessBaseAPI> api_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<PlateReader>> NewTesseractPlateReader(
    const std::string& datapath, const std::string& language) {
  auto api = std::make_unique<tesseract::TessBaseAPI>();
  // Dictionaries are for words; plates are not words. These take effect
  // only when given at Init.
  const std::vector<std::string> names = {"load_system_dawg", "load_freq_dawg"};
  const std::vector<std::string> values = {"0", "0"};
  if (api->Init(datapath.empty() ? nullptr : datapath.c_str(), language.c_str(),
                tesseract::OEM_LSTM_ONLY, nullptr, 0, &names, &values,
                false) != 0) {
    return absl::NotFoundError(absl::StrCat(
        "Tesseract cannot load language '", language,
        "' (install the Debian package tesseract-ocr-", language, ")"));
  }
  api->SetPageSegMode(tesseract::PSM_SINGLE_LINE);
  api->SetVariable("tessedit_char_whitelist", kPlateCharacters);
  api->SetVariable("debug_file", "/dev/null");
  return std::make_unique<TesseractPlateReader>(std::move(api));
}

absl::StatusOr<DetectorSet> NewDetectorSet(const v1::DetectorConfig& config) {
  DetectorSet set;
  const std::string cascade = config.face_cascade().empty()
                                  ? DefaultFaceCascade()
                                  : config.face_cascade();
  auto face =
      config.face_model().empty()
          ? NewCascadeFaceDetector(
                cascade, config.min_face_px() > 0 ? config.min_face_px() : 40)
          : NewDnnFaceDetector(config.face_model());
  if (!face.ok()) return face.status();
  set.face = std::move(*face);
  set.plate = NewContourPlateDetector();
  auto reader = NewTesseractPlateReader(config.tesseract_datapath(),
                                        config.tesseract_language().empty()
                                            ? "eng"
                                            : config.tesseract_language());
  if (!reader.ok()) return reader.status();
  set.reader = std::move(*reader);
  return set;
}

}  // namespace lanevault::capture
