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
  const cv::Rect whole(0, 0, roi.width, roi.height);
  bool moving = false;
  if (!previous_.empty() && previous_.size() == grey.size()) {
    cv::Mat diff;
    cv::absdiff(grey, previous_, diff);
    const cv::Mat changed = diff > options_.pixel_threshold;
    moving = cv::countNonZero(changed) >
             options_.changed_fraction * static_cast<double>(diff.total());
    if (moving) {
      // Back to the region of interest's pixels, with the margin.
      const cv::Rect box = cv::boundingRect(changed);
      const int mx = static_cast<int>(options_.region_margin * roi.width);
      const int my = static_cast<int>(options_.region_margin * roi.height);
      const cv::Point tl(static_cast<int>(box.x / scale) - mx,
                         static_cast<int>(box.y / scale) - my);
      const cv::Point br(static_cast<int>((box.x + box.width) / scale) + mx,
                         static_cast<int>((box.y + box.height) / scale) + my);
      region_ = cv::Rect(tl, br) & whole;
      // A region of interest a few pixels across can round it away.
      if (region_.empty()) region_ = whole;
    }
  } else {
    moving = true;  // the first frame is looked at, whole
    region_ = whole;
  }
  previous_ = grey;
  changed_ = moving;
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
