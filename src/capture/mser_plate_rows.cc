#include "capture/mser_plate_rows.h"

#include <algorithm>
#include <numeric>

#include "capture/geometry.h"
#include "capture/grey.h"
#include "opencv2/features2d.hpp"
#include "opencv2/imgproc.hpp"

namespace lanevault::capture {
namespace {

// Regions are looked for in a copy at most this wide: the cost falls with
// the pixels, and a 1280-wide picture's characters of 16 pixels stay 10.
// Measured with lanevault-eval: the same plates read as at full size on
// us-dev and eu, us-dev's p90 186 -> 134 ms; 640 read one plate fewer.
constexpr double kWorkWidth = 800;
// A character's box (in the copy): 10 pixels tall or more (smaller ones read as
// nothing), at most a quarter of the picture's height, and between an I and a W
// in width.
constexpr int kMinHeight = 10;
constexpr double kMaxHeightOfPicture = 0.25;
constexpr double kMinAspect = 0.12, kMaxAspect = 1.1;
// MSER keeps a region at several thresholds; boxes this alike are one.
constexpr double kSameRegionIoU = 0.7;
// Neighbours in a row: heights and centres within this share of the
// taller, and at most this many heights of space between them.
constexpr double kHeightTolerance = 0.25;
constexpr double kMaxGapHeights = 1.2;
constexpr size_t kMinCharacters = 4, kMaxCharacters = 12;

std::vector<cv::Rect> CharacterShapedRegions(const cv::Mat& grey) {
  cv::Ptr<cv::MSER> mser =
      cv::MSER::create(/*delta=*/5, /*min_area=*/40,
                       /*max_area=*/static_cast<int>(grey.total() / 100));
  std::vector<std::vector<cv::Point>> regions;
  std::vector<cv::Rect> boxes;
  mser->detectRegions(grey, regions, boxes);
  std::erase_if(boxes, [&](const cv::Rect& b) {
    const double aspect = static_cast<double>(b.width) / b.height;
    return b.height < kMinHeight ||
           b.height > kMaxHeightOfPicture * grey.rows || aspect < kMinAspect ||
           aspect > kMaxAspect;
  });
  std::sort(boxes.begin(), boxes.end(),
            [](const cv::Rect& a, const cv::Rect& b) { return a.x < b.x; });
  // Sorted by x, each box is compared only with those kept before it that
  // still reach past its left edge, so that a textured picture's thousands
  // of regions cost no more than a pass (a copy left behind a narrower box
  // only adds a character to its row's count).
  std::vector<cv::Rect> out;
  for (const cv::Rect& b : boxes) {
    bool same = false;
    for (auto o = out.rbegin(); o != out.rend() && o->x + o->width > b.x; ++o) {
      if (IoU(*o, b) > kSameRegionIoU) {
        same = true;
        break;
      }
    }
    if (!same) out.push_back(b);
  }
  return out;
}

// Whether `b`, to the right of `a`, can be the next character of its row.
bool NextInRow(const cv::Rect& a, const cv::Rect& b) {
  const double h = std::max(a.height, b.height);
  if (std::abs(a.height - b.height) > kHeightTolerance * h) return false;
  const double centre_a = a.y + a.height / 2.0, centre_b = b.y + b.height / 2.0;
  if (std::abs(centre_a - centre_b) > kHeightTolerance * h) return false;
  if (b.x > a.br().x + kMaxGapHeights * h) return false;
  // Overlapping most of `a`: a part of the same character, not the next.
  return b.x >= a.x + a.width / 2;
}

// How far right of `a` its row's next character can start: the gap allowed
// beside the tallest neighbour NextInRow accepts.
double FarthestNext(const cv::Rect& a) {
  return a.br().x + kMaxGapHeights * a.height / (1 - kHeightTolerance);
}

int Root(std::vector<int>& parent, int i) {
  while (parent[i] != i) i = parent[i] = parent[parent[i]];
  return i;
}

}  // namespace

std::vector<cv::Rect> MserPlateRows(const cv::Mat& bgr, size_t limit) {
  if (bgr.empty() || bgr.depth() != CV_8U) return {};
  cv::Mat grey = Grey(bgr);
  const double scale = std::min(1.0, kWorkWidth / grey.cols);
  if (scale < 1) {
    cv::resize(grey, grey, cv::Size(), scale, scale, cv::INTER_AREA);
  }
  // No character fits a smaller copy (and MSER refuses one under 3x3).
  if (grey.rows < kMinHeight || grey.cols < kMinHeight) return {};
  std::vector<cv::Rect> chars = CharacterShapedRegions(grey);
  for (cv::Rect& c : chars) c = FromScaledCopy(c, scale);
  std::vector<int> parent(chars.size());
  std::iota(parent.begin(), parent.end(), 0);
  for (size_t i = 0; i < chars.size(); ++i) {
    const cv::Rect& a = chars[i];
    for (size_t j = i + 1; j < chars.size(); ++j) {
      const cv::Rect& b = chars[j];
      if (b.x > FarthestNext(a)) break;  // sorted by x: none further is
      if (NextInRow(a, b)) {
        parent[Root(parent, static_cast<int>(i))] =
            Root(parent, static_cast<int>(j));
      }
    }
  }
  struct Row {
    cv::Rect box;
    size_t characters = 0;
  };
  std::vector<Row> rows(chars.size());
  for (size_t i = 0; i < chars.size(); ++i) {
    Row& row = rows[Root(parent, static_cast<int>(i))];
    row.box |= chars[i];
    ++row.characters;
  }
  std::erase_if(rows, [](const Row& r) {
    return r.characters < kMinCharacters || r.characters > kMaxCharacters;
  });
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return a.characters > b.characters;
  });
  const cv::Rect frame(0, 0, bgr.cols, bgr.rows);
  std::vector<cv::Rect> out;
  for (const Row& r : rows) {
    if (out.size() >= limit) break;
    out.push_back(PaddedToPlate(r.box, frame));
  }
  return out;
}

}  // namespace lanevault::capture
