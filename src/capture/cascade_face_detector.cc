#include <filesystem>

#include "absl/strings/str_cat.h"
#include "capture/detectors.h"
#include "opencv2/imgproc.hpp"
#include "opencv2/objdetect.hpp"

namespace lanevault::capture {
namespace {

// Faces at a lane are large compared to the frame; detecting on a half-size
// copy finds them at a quarter of the cost.
constexpr double kWorkScale = 0.5;

class CascadeFaceDetector final : public FaceDetector {
 public:
  CascadeFaceDetector(cv::CascadeClassifier cascade, int min_face_px)
      : cascade_(std::move(cascade)), min_face_px_(min_face_px) {}

  std::vector<FaceHit> Detect(const cv::Mat& bgr) override {
    cv::Mat small, grey;
    cv::resize(bgr, small, cv::Size(), kWorkScale, kWorkScale, cv::INTER_AREA);
    cv::cvtColor(small, grey, cv::COLOR_BGR2GRAY);
    cv::equalizeHist(grey, grey);
    std::vector<cv::Rect> boxes;
    std::vector<int> neighbours;
    const int min_px =
        std::max(12, static_cast<int>(min_face_px_ * kWorkScale));
    cascade_.detectMultiScale(grey, boxes, neighbours, 1.1, 4, 0,
                              cv::Size(min_px, min_px));
    std::vector<FaceHit> hits;
    for (size_t i = 0; i < boxes.size(); ++i) {
      const cv::Rect& b = boxes[i];
      FaceHit hit;
      hit.box = cv::Rect(static_cast<int>(b.x / kWorkScale),
                         static_cast<int>(b.y / kWorkScale),
                         static_cast<int>(b.width / kWorkScale),
                         static_cast<int>(b.height / kWorkScale)) &
                cv::Rect(0, 0, bgr.cols, bgr.rows);
      // More agreeing neighbours: more certain. 20 is a confident hit.
      hit.confidence = std::min(1.0f, neighbours[i] / 20.0f);
      hits.push_back(hit);
    }
    return hits;
  }

 private:
  cv::CascadeClassifier cascade_;
  int min_face_px_;
};

}  // namespace

std::string DefaultFaceCascade() {
  return "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml";
}

absl::StatusOr<std::unique_ptr<FaceDetector>> NewCascadeFaceDetector(
    const std::string& cascade_file, int min_face_px) {
  if (!std::filesystem::exists(cascade_file)) {
    return absl::NotFoundError(
        absl::StrCat("no face cascade at ", cascade_file,
                     " (install the Debian package opencv-data)"));
  }
  cv::CascadeClassifier cascade;
  if (!cascade.load(cascade_file)) {
    return absl::InvalidArgumentError(
        absl::StrCat(cascade_file, " is not an OpenCV cascade"));
  }
  return std::make_unique<CascadeFaceDetector>(std::move(cascade), min_face_px);
}

}  // namespace lanevault::capture
