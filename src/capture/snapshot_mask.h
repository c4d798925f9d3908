#ifndef LANEVAULT_CAPTURE_SNAPSHOT_MASK_H_
#define LANEVAULT_CAPTURE_SNAPSHOT_MASK_H_

// A picture of a lane for its operator, made where the frame was read so
// that no unmasked frame leaves the lane's process: every face and every
// plate-like region pixelated past reading, the whole frame too coarse to
// read what the detectors missed, then the region of interest and the
// masked boxes drawn over it.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "capture/detectors.h"
#include "opencv2/core.hpp"

namespace lanevault::capture {

struct MaskedSnapshot {
  std::string jpeg;
  std::vector<cv::Rect> faces;   // masked, margins included
  std::vector<cv::Rect> plates;  // masked, margins included
};

// Masks a copy of `bgr`: each face `faces` finds and each plate candidate
// `plates` offers (read or not: a region the reader cannot read may still
// be legible to a person), and each of `also` (the lane's latest
// detections), grown by a margin and pixelated into a few blurred blocks.
// The masked frame is searched again and anything found masked too, so a
// face or plate that a mask's edge revealed does not survive. Whatever the
// detectors missed is covered as well: the whole frame is brought down to
// 64 pixels across and smoothed back to its size. Then the ROI
// (green) and the masked boxes (faces red, plates yellow) are drawn and the
// result encoded as JPEG. INTERNAL if encoding fails.
absl::StatusOr<MaskedSnapshot> MaskSnapshot(
    const cv::Mat& bgr, const cv::Rect& roi, FaceDetector& faces,
    PlateDetector& plates, const std::vector<cv::Rect>& also = {});

}  // namespace lanevault::capture

#endif  // LANEVAULT_CAPTURE_SNAPSHOT_MASK_H_
