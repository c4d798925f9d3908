#ifndef LANEVAULT_CAPTURE_MOTION_GATE_H_
#define LANEVAULT_CAPTURE_MOTION_GATE_H_

#include "opencv2/core.hpp"

namespace lanevault::capture {

// Says whether something moves inside the region of interest, by comparing
// a small blurred grey copy of each frame with the previous one. Detectors
// run only while it says yes: on an empty lane the CPU idles (the technique
// that keeps NVRs cheap). Not thread-safe.
class MotionGate {
 public:
  struct Options {
    int width = 160;                  // working width, pixels
    int pixel_threshold = 18;         // grey-level change that counts
    double changed_fraction = 0.004;  // share of changed pixels that is motion
    int hold_frames = 6;              // stay open this long after motion
    // moving_region()'s margin around the changed pixels, as a share of
    // the region of interest's width and height.
    double region_margin = 0.1;
  };
  MotionGate() : MotionGate(Options{}) {}
  explicit MotionGate(Options options) : options_(options) {}

  // `roi` selects the lane inside the frame.
  bool Moving(const cv::Mat& frame, const cv::Rect& roi);

  // Where the last frame that moved changed, with a margin, in the region
  // of interest's pixels: what is new in view (a vehicle coming in, and
  // its occupants) is inside it. Set whenever Moving() says yes: the whole
  // region on the first frame, and while held open after motion stopped,
  // the last moving frame's region; never empty.
  cv::Rect moving_region() const { return region_; }

  // Whether the last frame itself changed (or was the first): false when
  // Moving() said yes only to hold the gate open after motion stopped.
  bool changed() const { return changed_; }

 private:
  Options options_;
  cv::Mat previous_;
  int hold_ = 0;
  bool changed_ = false;
  cv::Rect region_;
};

}  // namespace lanevault::capture

#endif  // LANEVAULT_CAPTURE_MOTION_GATE_H_
