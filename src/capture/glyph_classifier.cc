#include "capture/glyph_classifier.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>

#include "absl/strings/str_cat.h"
#include "opencv2/freetype.hpp"
#include "opencv2/imgproc.hpp"
#include "opencv2/objdetect.hpp"

#ifndef LANEVAULT_GLYPH_MODEL_BUILT
#define LANEVAULT_GLYPH_MODEL_BUILT ""
#endif

namespace lanevault::capture {
namespace {

namespace fs = std::filesystem;

constexpr int kCellW = 20, kCellH = 32;  // a glyph is normalised into this
constexpr int kHidden = 128;

// Scales the glyph to the cell's height, keeping its shape (a '1' stays
// thin), centred; the width it had is a feature of its own.
cv::Mat Normalise(const cv::Mat& glyph) {
  cv::Mat cell(kCellH, kCellW, CV_8U, cv::Scalar(0));
  const double s = static_cast<double>(kCellH) / glyph.rows;
  const int w =
      std::clamp(static_cast<int>(std::lround(glyph.cols * s)), 1, kCellW);
  cv::Mat scaled;
  cv::resize(glyph, scaled, cv::Size(w, kCellH), 0, 0, cv::INTER_AREA);
  scaled.copyTo(cell(cv::Rect((kCellW - w) / 2, 0, w, kCellH)));
  return cell;
}

const cv::HOGDescriptor& Hog() {
  static const auto* hog =
      new cv::HOGDescriptor(cv::Size(kCellW, kCellH), cv::Size(10, 16),
                            cv::Size(5, 8), cv::Size(5, 8), 9);
  return *hog;
}

// One character drawn large, black on white, then distorted: squeezed,
// sheared, tilted, shrunk to a distant camera's resolution, blurred, noised,
// and thresholded at a random level (thin or bold strokes). The glyph is
// then cut out exactly as the segmenter cuts real ones.
cv::Mat RenderVariant(char c, cv::freetype::FreeType2* font, int hershey,
                      std::mt19937& rng) {
  std::uniform_real_distribution<double> u(0, 1);
  cv::Mat canvas(128, 128, CV_8U, cv::Scalar(255));
  const std::string text(1, c);
  if (font != nullptr) {
    cv::Mat colour(128, 128, CV_8UC3, cv::Scalar::all(255));  // FreeType's need
    int baseline = 0;
    const cv::Size size = font->getTextSize(text, 80, -1, &baseline);
    font->putText(colour, text,
                  cv::Point((128 - size.width) / 2, (128 + size.height) / 2),
                  80, cv::Scalar::all(0), -1, cv::LINE_AA, true);
    cv::cvtColor(colour, canvas, cv::COLOR_BGR2GRAY);
  } else {
    int baseline = 0;
    const int thickness = 4 + static_cast<int>(u(rng) * 6);
    const cv::Size size =
        cv::getTextSize(text, hershey, 2.6, thickness, &baseline);
    cv::putText(canvas, text,
                cv::Point((128 - size.width) / 2, (128 + size.height) / 2),
                hershey, 2.6, cv::Scalar(0), thickness, cv::LINE_AA);
  }
  const double sx = 0.55 + 0.6 * u(rng), shear = (u(rng) - 0.5) * 0.3,
               angle = (u(rng) - 0.5) * 10 * CV_PI / 180;
  cv::Mat m = (cv::Mat_<double>(2, 2) << sx * std::cos(angle),
               shear - std::sin(angle), sx * std::sin(angle), std::cos(angle));
  cv::Mat affine(2, 3, CV_64F);
  m.copyTo(affine(cv::Rect(0, 0, 2, 2)));
  const cv::Mat centre = (cv::Mat_<double>(2, 1) << 64, 64);
  cv::Mat shift = centre - m * centre;
  shift.copyTo(affine(cv::Rect(2, 0, 1, 2)));
  cv::warpAffine(canvas, canvas, affine, canvas.size(), cv::INTER_LINEAR,
                 cv::BORDER_CONSTANT, cv::Scalar(255));
  // A distant plate: characters 12-40 px tall.
  const double low = (12 + 28 * u(rng)) / 80.0;
  cv::Mat small;
  cv::resize(canvas, small, cv::Size(), low, low, cv::INTER_AREA);
  const double sigma = 1.2 * u(rng);
  if (sigma > 0.3) cv::GaussianBlur(small, small, cv::Size(0, 0), sigma);
  cv::Mat noise(small.size(), CV_16S);
  cv::randn(noise, 0, 10 * u(rng));
  cv::Mat s16;
  small.convertTo(s16, CV_16S);
  s16 += noise;
  s16.convertTo(small, CV_8U);
  cv::resize(small, canvas, canvas.size(), 0, 0, cv::INTER_CUBIC);
  cv::Mat ink;
  cv::threshold(canvas, ink, 90 + 80 * u(rng), 255, cv::THRESH_BINARY_INV);
  cv::Mat labels, stats, centroids;
  const int n = cv::connectedComponentsWithStats(ink, labels, stats, centroids);
  int best = 0, best_area = 0;
  for (int i = 1; i < n; ++i) {
    if (stats.at<int>(i, cv::CC_STAT_AREA) > best_area) {
      best = i;
      best_area = stats.at<int>(i, cv::CC_STAT_AREA);
    }
  }
  if (best == 0) return cv::Mat();
  const cv::Rect box(stats.at<int>(best, cv::CC_STAT_LEFT),
                     stats.at<int>(best, cv::CC_STAT_TOP),
                     stats.at<int>(best, cv::CC_STAT_WIDTH),
                     stats.at<int>(best, cv::CC_STAT_HEIGHT));
  return labels(box) == best;
}

}  // namespace

cv::Mat GlyphFeatures(const cv::Mat& glyph) {
  const cv::Mat cell = Normalise(glyph);
  std::vector<float> hog;
  Hog().compute(cell, hog);
  cv::Mat pixels;
  cv::resize(cell, pixels, cv::Size(kCellW / 2, kCellH / 2), 0, 0,
             cv::INTER_AREA);
  cv::Mat features(
      1, static_cast<int>(hog.size()) + pixels.cols * pixels.rows + 1, CV_32F);
  float* f = features.ptr<float>();
  for (float v : hog) *f++ = v;
  for (int y = 0; y < pixels.rows; ++y) {
    for (int x = 0; x < pixels.cols; ++x)
      *f++ = pixels.at<uchar>(y, x) / 255.0f;
  }
  *f = static_cast<float>(glyph.cols) / glyph.rows;
  return features;
}

absl::StatusOr<std::unique_ptr<GlyphClassifier>> GlyphClassifier::Load(
    const std::string& path) {
  if (path.empty() || !fs::exists(path)) {
    return absl::NotFoundError(absl::StrCat(
        "no plate character model at '", path,
        "' (the build makes it: ninja -C build plate_glyph_model)"));
  }
  cv::Ptr<cv::ml::ANN_MLP> net;
  try {
    net = cv::ml::ANN_MLP::load(path);
  } catch (const cv::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is not a plate character model: ", e.what()));
  }
  if (net.empty() || !net->isTrained() ||
      net->getLayerSizes().at<int>(net->getLayerSizes().rows - 1) !=
          kGlyphClassCount) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is not a plate character model"));
  }
  return std::unique_ptr<GlyphClassifier>(new GlyphClassifier(std::move(net)));
}

std::vector<std::pair<char, float>> GlyphClassifier::Classify(
    const cv::Mat& glyph, int k) const {
  cv::Mat out;
  net_->predict(GlyphFeatures(glyph), out);
  // Softmax over the outputs: probabilities that sum to one.
  std::vector<std::pair<float, int>> scored;
  float max = -1e9f;
  for (int i = 0; i < kGlyphClassCount; ++i)
    max = std::max(max, out.at<float>(i));
  float sum = 0;
  for (int i = 0; i < kGlyphClassCount; ++i) {
    const float e = std::exp(4.0f * (out.at<float>(i) - max));
    scored.push_back({e, i});
    sum += e;
  }
  std::partial_sort(scored.begin(), scored.begin() + k, scored.end(),
                    std::greater<>());
  std::vector<std::pair<char, float>> top;
  for (int i = 0; i < k; ++i) {
    top.push_back({kGlyphClasses[scored[i].second], scored[i].first / sum});
  }
  return top;
}

absl::StatusOr<double> TrainGlyphClassifier(const GlyphTrainingOptions& options,
                                            const std::string& path) {
  std::mt19937 rng(options.seed);
  std::vector<cv::Ptr<cv::freetype::FreeType2>> fonts;
  for (const std::string& file : options.font_files) {
    if (!fs::exists(file)) continue;
    cv::Ptr<cv::freetype::FreeType2> f = cv::freetype::createFreeType2();
    f->loadFontData(file, 0);
    fonts.push_back(f);
  }
  if (fonts.empty()) {
    return absl::NotFoundError(
        "no font to train on (install fonts-dejavu-core)");
  }
  const int hershey[] = {cv::FONT_HERSHEY_SIMPLEX, cv::FONT_HERSHEY_DUPLEX};
  const int sources = static_cast<int>(fonts.size()) + 2;
  cv::Mat samples, responses;
  for (int c = 0; c < kGlyphClassCount; ++c) {
    for (int s = 0; s < sources; ++s) {
      for (int v = 0; v < options.variants_per_font; ++v) {
        const cv::Mat glyph = RenderVariant(
            kGlyphClasses[c],
            s < static_cast<int>(fonts.size()) ? fonts[s].get() : nullptr,
            s < static_cast<int>(fonts.size()) ? 0 : hershey[s - fonts.size()],
            rng);
        if (glyph.empty() || glyph.rows < 4) continue;
        samples.push_back(GlyphFeatures(glyph));
        cv::Mat target(1, kGlyphClassCount, CV_32F, cv::Scalar(-1));
        target.at<float>(c) = 1;
        responses.push_back(target);
      }
    }
  }
  std::fprintf(
      stderr, "training the plate character model on %d glyphs from %d fonts\n",
      samples.rows, sources);
  cv::Ptr<cv::ml::ANN_MLP> net = cv::ml::ANN_MLP::create();
  const cv::Mat layers =
      (cv::Mat_<int>(1, 3) << samples.cols, kHidden, kGlyphClassCount);
  net->setLayerSizes(layers);
  net->setActivationFunction(cv::ml::ANN_MLP::SIGMOID_SYM, 1, 1);
  net->setTrainMethod(cv::ml::ANN_MLP::RPROP);
  net->setTermCriteria(cv::TermCriteria(
      cv::TermCriteria::MAX_ITER + cv::TermCriteria::EPS, 300, 1e-4));
  if (!net->train(
          cv::ml::TrainData::create(samples, cv::ml::ROW_SAMPLE, responses))) {
    return absl::InternalError("training the plate character model failed");
  }
  cv::Mat predicted;
  net->predict(samples, predicted);
  int right = 0;
  for (int i = 0; i < samples.rows; ++i) {
    cv::Point want, got;
    cv::minMaxLoc(responses.row(i), nullptr, nullptr, nullptr, &want);
    cv::minMaxLoc(predicted.row(i), nullptr, nullptr, nullptr, &got);
    right += want == got;
  }
  net->save(path);
  return static_cast<double>(right) / samples.rows;
}

std::vector<std::string> DefaultGlyphFonts() {
  const std::string dejavu = "/usr/share/fonts/truetype/dejavu/";
  const std::string liberation = "/usr/share/fonts/truetype/liberation/";
  return {dejavu + "DejaVuSans-Bold.ttf",
          dejavu + "DejaVuSans.ttf",
          dejavu + "DejaVuSansMono-Bold.ttf",
          dejavu + "DejaVuSansCondensed-Bold.ttf",
          dejavu + "DejaVuSansCondensed.ttf",
          liberation + "LiberationSansNarrow-Bold.ttf",
          liberation + "LiberationSansNarrow-Regular.ttf",
          liberation + "LiberationSans-Bold.ttf",
          liberation + "LiberationMono-Bold.ttf"};
}

std::string DefaultGlyphModel() {
  for (const std::string& p :
       {std::string(LANEVAULT_GLYPH_MODEL_BUILT),
        std::string("/usr/local/share/lanevault/plate_glyphs.yml.gz"),
        std::string("/usr/share/lanevault/plate_glyphs.yml.gz")}) {
    if (!p.empty() && fs::exists(p)) return p;
  }
  return LANEVAULT_GLYPH_MODEL_BUILT;
}

}  // namespace lanevault::capture
