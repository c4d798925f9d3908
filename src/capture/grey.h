#ifndef LANEVAULT_CAPTURE_GREY_H_
#define LANEVAULT_CAPTURE_GREY_H_

#include "opencv2/core.hpp"
#include "opencv2/imgproc.hpp"

namespace lanevault::capture {

// `image` (BGR, BGRA or already grey) as one grey channel; a grey image is
// returned as it is, not copied.
inline cv::Mat Grey(const cv::Mat& image) {
  cv::Mat grey;
  if (image.channels() == 3) {
    cv::cvtColor(image, grey, cv::COLOR_BGR2GRAY);
  } else if (image.channels() == 4) {
    cv::cvtColor(image, grey, cv::COLOR_BGRA2GRAY);
  } else {
    grey = image;
  }
  return grey;
}

}  // namespace lanevault::capture

#endif  // LANEVAULT_CAPTURE_GREY_H_
