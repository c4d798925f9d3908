#ifndef LANEVAULT_CAPTURE_GEOMETRY_H_
#define LANEVAULT_CAPTURE_GEOMETRY_H_

#include "opencv2/core.hpp"

namespace lanevault::capture {

// Intersection over union of two boxes, 0 when neither has area.
inline double IoU(const cv::Rect& a, const cv::Rect& b) {
  const double inter = (a & b).area();
  const double uni = a.area() + b.area() - inter;
  return uni > 0 ? inter / uni : 0;
}

}  // namespace lanevault::capture

#endif  // LANEVAULT_CAPTURE_GEOMETRY_H_
