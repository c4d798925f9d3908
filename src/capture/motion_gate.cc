#include "capture/motion_gate.h"

#include "opencv2/imgproc.hpp"

namespace lanevault::capture {

bool MotionGate::Moving(const cv::Mat& frame, const cv::Rect& roi) {
  const cv::Mat lane = frame(roi);
  const double scale = static_cast<double>(options_.width) / lane.cols;
  cv::Mat small, grey;
  cv::resize(lane, small, cv::Size(), scale, scale, cv::INTER_AREA);
  cv::cvtColor(small, grey, cv::COLOR_BGR2GRAY);
  cv::GaussianBlur(grey, grey, cv::Size(5, 5), 0);
  bool moving = false;
  if (!previous_.empty() && previous_.size() == grey.size()) {
    cv::Mat diff;
    cv::absdiff(grey, previous_, diff);
    const int changed = cv::countNonZero(diff > options_.pixel_threshold);
    moving = changed > options_.changed_fraction * diff.total();
  } else {
    moving = true;  // the first frame is looked at
  }
  previous_ = grey;
  if (moving) {
    hold_ = options_.hold_frames;
    return true;
  }
  if (hold_ > 0) {
    --hold_;
    return true;
  }
  return false;
}

}  // namespace lanevault::capture
