#include "capture/tesseract_plate_reader.h"

#include <omp.h>
#include <tesseract/baseapi.h>
#include <tesseract/resultiterator.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "opencv2/imgproc.hpp"

namespace lanevault::capture {
namespace {

constexpr char kPlateCharacters[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
constexpr size_t kMinLength = 3;
constexpr size_t kMaxLength = 10;
// The clean line Tesseract is given: each character redrawn at this height
// (LSTM models read best with ~30-40 px glyphs), evenly spaced.
constexpr int kGlyphHeight = 40, kGap = 10, kMargin = 16;

// Redraws the row's characters as black on white, evenly spaced, with
// nothing else: no frame, no state name, no bolts, no tilt between them.
cv::Mat CleanLine(const CharacterRow& row) {
  int width = 2 * kMargin;
  std::vector<cv::Mat> scaled;
  for (const cv::Mat& g : row.glyphs) {
    const int w =
        std::max(2, static_cast<int>(std::lround(g.cols * kGlyphHeight /
                                                 static_cast<double>(g.rows))));
    cv::Mat s;
    cv::resize(g, s, cv::Size(w, kGlyphHeight), 0, 0, cv::INTER_AREA);
    width += w + kGap;
    scaled.push_back(std::move(s));
  }
  cv::Mat line(kGlyphHeight + 2 * kMargin, width, CV_8U, cv::Scalar(255));
  int x = kMargin;
  for (const cv::Mat& s : scaled) {
    cv::Mat dst = line(cv::Rect(x, kMargin, s.cols, s.rows));
    cv::Mat inverted = 255 - s;
    inverted.copyTo(dst);
    x += s.cols + kGap;
  }
  return line;
}

}  // namespace

TesseractPlateReader::TesseractPlateReader(
    std::unique_ptr<tesseract::TessBaseAPI> api, PlateTextRules rules)
    : api_(std::move(api)), rules_(std::move(rules)) {}

TesseractPlateReader::~TesseractPlateReader() { api_->End(); }

std::vector<PlateReading> TesseractPlateReader::ReadRow(
    const CharacterRow& row) {
  std::vector<CharacterChoices> positions = Positions(row);
  if (positions.size() < kMinLength || positions.size() > kMaxLength) {
    return {};
  }
  return TopReadings(positions, kReadingsPerRow, rules_);
}

std::vector<CharacterChoices> TesseractPlateReader::Positions(
    const CharacterRow& row) {
  // Tesseract's LSTM runs OpenMP teams. A lane is already one thread of
  // several, so a team only fights the other lanes for the cores (and
  // spins): on one core, 29.5 -> 33.8 frames/s with it kept to the
  // calling thread. No active parallel level does that, whatever team
  // size Tesseract asks for; the setting is per thread, hence here.
  omp_set_max_active_levels(0);
  const cv::Mat line = CleanLine(row);
  api_->SetImage(line.data, line.cols, line.rows, 1,
                 static_cast<int>(line.step));
  api_->SetSourceResolution(300);
  if (api_->Recognize(nullptr) != 0) return {};
  std::vector<CharacterChoices> positions;
  std::unique_ptr<tesseract::ResultIterator> it(api_->GetIterator());
  if (it) {
    do {
      if (it->Empty(tesseract::RIL_SYMBOL)) continue;
      CharacterChoices p;
      tesseract::ChoiceIterator choice(*it);
      do {
        const char* text = choice.GetUTF8Text();
        if (text == nullptr || text[0] == '\0') continue;
        const char c = absl::ascii_toupper(text[0]);
        if (!absl::ascii_isalnum(c)) continue;
        const float conf =
            std::clamp(choice.Confidence() / 100.0f, 0.01f, 1.0f);
        if (std::none_of(p.begin(), p.end(),
                         [c](const auto& e) { return e.first == c; })) {
          p.push_back({c, conf});
        }
      } while (choice.Next());
      if (!p.empty()) positions.push_back(std::move(p));
    } while (it->Next(tesseract::RIL_SYMBOL));
  }
  return positions;
}

absl::StatusOr<std::unique_ptr<TesseractPlateReader>> MakeTesseractReader(
    const std::string& datapath, const std::string& language,
    PlateTextRules rules) {
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
  // Per-character alternatives from the LSTM, for the top-N readings.
  api->SetVariable("lstm_choice_mode", "2");
  return std::make_unique<TesseractPlateReader>(std::move(api),
                                                std::move(rules));
}

absl::StatusOr<std::unique_ptr<PlateReader>> NewTesseractPlateReader(
    const std::string& datapath, const std::string& language,
    PlateTextRules rules) {
  auto reader = MakeTesseractReader(datapath, language, std::move(rules));
  if (!reader.ok()) return reader.status();
  return std::unique_ptr<PlateReader>(std::move(*reader));
}

}  // namespace lanevault::capture
