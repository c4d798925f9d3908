// Masking an operator's snapshot: generous boxes, coarse blocks, blurred.

#include "capture/snapshot_mask.h"

#include <algorithm>
#include <vector>

#include "absl/status/status.h"
#include "capture/geometry.h"
#include "opencv2/imgcodecs.hpp"
#include "opencv2/imgproc.hpp"

namespace lanevault::capture {
namespace {

// A plate's characters run past a tight candidate box, and a face's chin
// and hair past the detector's square: each side grows by this share of
// the box.
constexpr double kPlateMargin = 0.5;
constexpr double kFaceMargin = 0.35;
// Blocks across the masked box's shorter side: three cannot hold a
// character or an eye.
constexpr int kBlocksAcross = 3;
// Detect, mask, and look again this many times.
constexpr int kPasses = 2;
// Masking by detection fails open: a face or plate the detectors miss (a
// profile, a small face, a plate the contour search passes over) would
// leave unmasked. So the whole frame also leaves at most this many pixels
// wide, smoothed back up: the scene's layout, the vehicles and the region
// of interest stay visible; a face is a few pixels and a character less
// than one.
constexpr int kSceneWidth = 64;

cv::Rect Grow(const cv::Rect& box, double margin, const cv::Size& frame) {
  const int dx = static_cast<int>(box.width * margin + 4);
  const int dy = static_cast<int>(box.height * margin + 4);
  return cv::Rect(box.x - dx, box.y - dy, box.width + 2 * dx,
                  box.height + 2 * dy) &
         cv::Rect(0, 0, frame.width, frame.height);
}

void Pixelate(cv::Mat& image, const cv::Rect& box) {
  if (box.width < 2 || box.height < 2) return;
  cv::Mat region = image(box);
  const int block =
      std::max(4, std::min(box.width, box.height) / kBlocksAcross);
  cv::Mat small;
  cv::resize(
      region, small,
      cv::Size(std::max(1, box.width / block), std::max(1, box.height / block)),
      0, 0, cv::INTER_AREA);
  cv::Mat blocks;
  cv::resize(small, blocks, box.size(), 0, 0, cv::INTER_NEAREST);
  // Blurred so the blocks' edges do not form a row of character-like
  // shapes of their own.
  const int k = (block | 1) * 2 + 1;
  cv::GaussianBlur(blocks, region, cv::Size(k, k), 0);
}

}  // namespace

absl::StatusOr<MaskedSnapshot> MaskSnapshot(const cv::Mat& bgr,
                                            const cv::Rect& roi,
                                            FaceDetector& faces,
                                            PlateDetector& plates,
                                            const std::vector<cv::Rect>& also) {
  MaskedSnapshot out;
  cv::Mat image = bgr.clone();
  for (const cv::Rect& box : also) {
    const cv::Rect grown = Grow(box, kPlateMargin, image.size());
    Pixelate(image, grown);
    out.plates.push_back(grown);
  }
  for (int pass = 0; pass < kPasses; ++pass) {
    bool found = false;
    for (const FaceHit& hit : faces.Detect(image)) {
      const cv::Rect grown = Grow(hit.box, kFaceMargin, image.size());
      Pixelate(image, grown);
      out.faces.push_back(grown);
      found = true;
    }
    std::vector<cv::Rect> boxes = plates.Candidates(image);
    for (int round = 1; round <= plates.MoreCandidateRounds(); ++round) {
      for (const cv::Rect& box : plates.MoreCandidates(image, round)) {
        AddUnlessFound(box, boxes);
      }
    }
    for (const cv::Rect& box : boxes) {
      const cv::Rect grown = Grow(box, kPlateMargin, image.size());
      Pixelate(image, grown);
      out.plates.push_back(grown);
      found = true;
    }
    if (!found) break;
  }
  if (image.cols > kSceneWidth) {
    cv::Mat coarse;
    const double scale = static_cast<double>(kSceneWidth) / image.cols;
    cv::resize(image, coarse, cv::Size(), scale, scale, cv::INTER_AREA);
    cv::resize(coarse, image, image.size(), 0, 0, cv::INTER_LINEAR);
  }
  // Drawn after masking, in colours the detectors were not asked about.
  cv::rectangle(image, roi, cv::Scalar(0, 200, 0), 2);
  for (const cv::Rect& box : out.plates)
    cv::rectangle(image, box, cv::Scalar(0, 220, 255), 2);
  for (const cv::Rect& box : out.faces)
    cv::rectangle(image, box, cv::Scalar(0, 0, 230), 2);
  std::vector<uchar> jpeg;
  if (!cv::imencode(".jpg", image, jpeg, {cv::IMWRITE_JPEG_QUALITY, 85})) {
    return absl::InternalError("the snapshot could not be encoded as JPEG");
  }
  out.jpeg.assign(jpeg.begin(), jpeg.end());
  return out;
}

}  // namespace lanevault::capture
