#include <omp.h>
#include <tesseract/baseapi.h>
#include <tesseract/resultiterator.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "capture/character_recut.h"
#include "capture/character_row.h"
#include "capture/detectors.h"
#include "capture/glyph_classifier.h"
#include "capture/plate_text.h"
#include "opencv2/imgproc.hpp"

namespace lanevault::capture {
namespace {

constexpr char kPlateCharacters[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
constexpr size_t kMinLength = 3;
constexpr size_t kMaxLength = 10;
constexpr size_t kTopN = 10;
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

// The geometric mean of the classifier's belief in its first choice for
// each character, thin bars doubted: a bumper sticker's or a grille's
// blobs are characters it is unsure of.
float GlyphPlausibility(const GlyphClassifier& classifier,
                        const CharacterRow& row) {
  if (row.glyphs.empty()) return 0;
  double log_sum = 0;
  for (const cv::Mat& glyph : row.glyphs) {
    // A fence, a grille or a radiator's slats segment into rows of thin
    // bars that read as I and 1; a plate has few. Measured with
    // lanevault-eval: a quarter (a tenth reads one more us-dev plate)
    // takes us-dev from 22.4 to 25.5% exact; eu reads one more.
    const float doubt = IsThinGlyph(glyph.size()) ? 0.25f : 1.0f;
    log_sum += std::log(
        std::max(doubt * classifier.Classify(glyph, 1)[0].second, 1e-3f));
  }
  return static_cast<float>(std::exp(log_sum / row.glyphs.size()));
}

class TesseractPlateReader final : public PlateReader {
 public:
  TesseractPlateReader(std::unique_ptr<tesseract::TessBaseAPI> api,
                       PlateTextRules rules)
      : api_(std::move(api)), rules_(std::move(rules)) {}
  ~TesseractPlateReader() override { api_->End(); }

  std::vector<PlateReading> ReadRow(const CharacterRow& row) override {
    std::vector<CharacterChoices> positions = Positions(row);
    if (positions.size() < kMinLength || positions.size() > kMaxLength) {
      return {};
    }
    return TopReadings(positions, kTopN, rules_);
  }

  // Tesseract's alternatives for each character it saw in the row.
  std::vector<CharacterChoices> Positions(const CharacterRow& row) {
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

 private:
  std::unique_ptr<tesseract::TessBaseAPI> api_;
  PlateTextRules rules_;
};

// Both on the same row: where Tesseract saw as many characters as the row
// holds, each position's alternatives are the mean of the two readers';
// otherwise the classifier's alone (its segmentation is the row's own).
class FusedPlateReader final : public PlateReader {
 public:
  FusedPlateReader(std::unique_ptr<TesseractPlateReader> tesseract,
                   std::unique_ptr<GlyphClassifier> classifier,
                   PlateTextRules rules)
      : tesseract_(std::move(tesseract)),
        classifier_(std::move(classifier)),
        rules_(std::move(rules)) {}

  std::vector<PlateReading> ReadRow(const CharacterRow& row) override {
    RecutRow recut = RecutCharacters(row, *classifier_, kGlyphChoices);
    std::vector<CharacterChoices>& glyphs = recut.choices;
    const std::vector<CharacterChoices> tess = tesseract_->Positions(recut.row);
    if (tess.size() == glyphs.size()) {
      for (size_t i = 0; i < glyphs.size(); ++i) {
        glyphs[i] = Mix(glyphs[i], tess[i]);
      }
    }
    return TopReadings(glyphs, kTopN, rules_);
  }

  float Plausibility(const CharacterRow& row) override {
    return GlyphPlausibility(*classifier_, row);
  }

 private:
  static constexpr int kGlyphChoices = 4;
  // The classifier counts for more since an SVM picks its first choice:
  // measured with lanevault-eval --oracle_box, 0.6 reads 31.6% of us-dev
  // and 63.9% of eu plates where 0.4 reads 27.6% and 61.1%.
  static constexpr float kGlyphWeight = 0.6f;

  static CharacterChoices Mix(const CharacterChoices& a,
                              const CharacterChoices& b) {
    CharacterChoices out;
    auto add = [&out](char c, float p) {
      for (auto& e : out) {
        if (e.first == c) {
          e.second += p;
          return;
        }
      }
      out.push_back({c, p});
    };
    for (const auto& [c, p] : a) add(c, kGlyphWeight * p);
    float sum = 0;
    for (const auto& e : b) sum += e.second;
    for (const auto& [c, p] : b) {
      add(c, sum > 0 ? (1 - kGlyphWeight) * p / sum : 0);
    }
    std::sort(out.begin(), out.end(),
              [](const auto& x, const auto& y) { return x.second > y.second; });
    return out;
  }

  std::unique_ptr<TesseractPlateReader> tesseract_;
  std::unique_ptr<GlyphClassifier> classifier_;
  PlateTextRules rules_;
};

// The project's own classifier on each segmented character.
class GlyphPlateReader final : public PlateReader {
 public:
  GlyphPlateReader(std::unique_ptr<GlyphClassifier> classifier,
                   PlateTextRules rules)
      : classifier_(std::move(classifier)), rules_(std::move(rules)) {}

  std::vector<PlateReading> ReadRow(const CharacterRow& row) override {
    return TopReadings(
        RecutCharacters(row, *classifier_, kChoicesPerGlyph).choices, kTopN,
        rules_);
  }

  float Plausibility(const CharacterRow& row) override {
    return GlyphPlausibility(*classifier_, row);
  }

 private:
  static constexpr int kChoicesPerGlyph = 3;
  std::unique_ptr<GlyphClassifier> classifier_;
  PlateTextRules rules_;
};

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

}  // namespace

std::vector<PlateReading> PlateReader::Read(const cv::Mat& plate_bgr) {
  std::optional<CharacterRow> row = FindCharacterRow(plate_bgr);
  if (!row) return {};
  return ReadRow(*row);
}

absl::StatusOr<std::unique_ptr<PlateReader>> NewTesseractPlateReader(
    const std::string& datapath, const std::string& language,
    PlateTextRules rules) {
  auto reader = MakeTesseractReader(datapath, language, std::move(rules));
  if (!reader.ok()) return reader.status();
  return std::unique_ptr<PlateReader>(std::move(*reader));
}

absl::StatusOr<std::unique_ptr<PlateReader>> NewGlyphPlateReader(
    const std::string& model_file, PlateTextRules rules) {
  absl::StatusOr<std::unique_ptr<GlyphClassifier>> classifier =
      GlyphClassifier::Load(model_file);
  if (!classifier.ok()) return classifier.status();
  return std::make_unique<GlyphPlateReader>(std::move(*classifier),
                                            std::move(rules));
}

absl::StatusOr<std::unique_ptr<PlateReader>> NewFusedPlateReader(
    const std::string& datapath, const std::string& language,
    const std::string& model_file, PlateTextRules rules) {
  auto tesseract = MakeTesseractReader(datapath, language, rules);
  if (!tesseract.ok()) return tesseract.status();
  absl::StatusOr<std::unique_ptr<GlyphClassifier>> classifier =
      GlyphClassifier::Load(model_file);
  if (!classifier.ok()) return classifier.status();
  return std::make_unique<FusedPlateReader>(
      std::move(*tesseract), std::move(*classifier), std::move(rules));
}

}  // namespace lanevault::capture
