#include <algorithm>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "capture/cascade_file.h"
#include "capture/detectors.h"
#include "capture/geometry.h"
#include "opencv2/imgproc.hpp"
#include "opencv2/objdetect.hpp"

namespace lanevault::capture {
namespace {

// Plate cascades (such as opencv-data's Russian plate ones) fire on the
// characters' band and miss the plate's edges: the box is widened a little
// so that the reader sees whole characters.
constexpr double kPadX = 0.08, kPadY = 0.2;
// The cascade scans a copy at most this wide: its 60x20 window still fits a
// plate a 1280-wide camera sees at 120 px, in a quarter of the time.
constexpr double kWorkWidth = 640;

// Another detector's candidates, then the cascade's hits that are new.
class CascadePlateDetector final : public PlateDetector {
 public:
  CascadePlateDetector(cv::CascadeClassifier cascade,
                       std::unique_ptr<PlateDetector> first)
      : cascade_(std::move(cascade)), first_(std::move(first)) {}

  std::vector<cv::Rect> Candidates(const cv::Mat& bgr) override {
    std::vector<cv::Rect> out = first_->Candidates(bgr);
    cv::Mat grey;
    cv::cvtColor(bgr, grey, cv::COLOR_BGR2GRAY);
    const double scale = std::min(1.0, kWorkWidth / grey.cols);
    if (scale < 1) {
      cv::resize(grey, grey, cv::Size(), scale, scale, cv::INTER_AREA);
    }
    std::vector<cv::Rect> hits;
    cascade_.detectMultiScale(grey, hits, 1.1, 3, 0,
                              cascade_.getOriginalWindowSize());
    const cv::Rect frame(0, 0, bgr.cols, bgr.rows);
    for (cv::Rect h : hits) {
      h = cv::Rect(static_cast<int>(h.x / scale), static_cast<int>(h.y / scale),
                   static_cast<int>(h.width / scale),
                   static_cast<int>(h.height / scale));
      const int px = static_cast<int>(h.width * kPadX);
      const int py = static_cast<int>(h.height * kPadY);
      const cv::Rect box =
          cv::Rect(h.x - px, h.y - py, h.width + 2 * px, h.height + 2 * py) &
          frame;
      AddUnlessFound(box, out);
    }
    return out;
  }

  int MoreCandidateRounds() const override {
    return first_->MoreCandidateRounds();
  }
  std::vector<cv::Rect> MoreCandidates(const cv::Mat& bgr, int round) override {
    return first_->MoreCandidates(bgr, round);
  }

 private:
  cv::CascadeClassifier cascade_;
  std::unique_ptr<PlateDetector> first_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<PlateDetector>> NewCascadePlateDetector(
    const std::string& cascade_file, std::unique_ptr<PlateDetector> first) {
  if (!std::filesystem::exists(cascade_file)) {
    return absl::NotFoundError(
        absl::StrCat("no plate cascade at ", cascade_file));
  }
  cv::CascadeClassifier cascade;
  if (!LoadCascade(cascade_file, cascade)) {
    return absl::InvalidArgumentError(
        absl::StrCat(cascade_file, " is not an OpenCV cascade"));
  }
  return std::make_unique<CascadePlateDetector>(std::move(cascade),
                                                std::move(first));
}

}  // namespace lanevault::capture
