// The plate character classifier's time per glyph, the step that leads a
// plate reading's cost. Glyphs are cut from rendered plates, each a little
// different (shift, blur), with a pixel flipped so that the classifier has
// not seen it (it remembers recent glyphs) and classifies afresh.
//
//   build/bench/glyph_bench [--benchmark_repetitions=5]
//
// Run on one core (taskset -c 1) to compare with lanevault-eval's figures.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "capture/character_row.h"
#include "capture/glyph_classifier.h"
#include "opencv2/core/utility.hpp"
#include "opencv2/imgproc.hpp"

namespace lanevault::capture {
namespace {

constexpr size_t kGlyphs = 1500;

std::vector<cv::Mat> DistinctGlyphs() {
  std::vector<cv::Mat> glyphs;
  const char* texts[] = {"ABCDEFG", "HIJKLMN", "OPQRSTU",
                         "VWXYZ01", "2345678", "9KXR482"};
  for (int variant = 0; glyphs.size() < kGlyphs; ++variant) {
    cv::Mat plate(60, 260, CV_8UC3, cv::Scalar(245, 245, 245));
    cv::putText(plate, texts[variant % 6],
                cv::Point(14 + variant % 9, 42 + variant / 9 % 5),
                cv::FONT_HERSHEY_DUPLEX, 1.3 + 0.02 * (variant % 7),
                cv::Scalar(20, 20, 20), 3);
    cv::GaussianBlur(plate, plate, cv::Size(0, 0), 0.5 + 0.1 * (variant % 11));
    std::optional<CharacterRow> row = FindCharacterRow(plate);
    if (!row) continue;
    for (const cv::Mat& g : row->glyphs) glyphs.push_back(g.clone());
  }
  return glyphs;
}

void BM_ClassifyGlyph(benchmark::State& state) {
  cv::setNumThreads(0);  // single-threaded, as lanevault-eval measures
  static absl::StatusOr<std::unique_ptr<GlyphClassifier>> classifier =
      GlyphClassifier::Load(DefaultGlyphModel());
  if (!classifier.ok()) {
    state.SkipWithError(std::string(classifier.status().message()).c_str());
    return;
  }
  static const auto* glyphs = new std::vector<cv::Mat>(DistinctGlyphs());
  static size_t i = 0;  // on across repetitions: no glyph comes twice
  for (auto _ : state) {
    // One pixel flipped, a different one each round through the glyphs:
    // the classifier has never seen this glyph.
    cv::Mat glyph = (*glyphs)[i % glyphs->size()].clone();
    const size_t round = i++ / glyphs->size();
    glyph.at<uchar>(static_cast<int>(round % glyph.total())) ^= 255;
    benchmark::DoNotOptimize((*classifier)->Classify(glyph, 3));
  }
}
BENCHMARK(BM_ClassifyGlyph)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace lanevault::capture

BENCHMARK_MAIN();
