#ifndef LANEVAULT_CAPTURE_GEOMETRY_H_
#define LANEVAULT_CAPTURE_GEOMETRY_H_

#include <algorithm>
#include <vector>

#include "opencv2/core.hpp"

namespace lanevault::capture {

// Intersection over union of two boxes, 0 when neither has area.
inline double IoU(const cv::Rect& a, const cv::Rect& b) {
  const double inter = (a & b).area();
  const double uni = a.area() + b.area() - inter;
  return uni > 0 ? inter / uni : 0;
}

// Whether a box of `boxes` covers most of `box` (IoU above one half): the
// same region found twice.
inline bool AlreadyFound(const cv::Rect& box,
                         const std::vector<cv::Rect>& boxes) {
  return std::any_of(boxes.begin(), boxes.end(),
                     [&](const cv::Rect& b) { return IoU(b, box) > 0.5; });
}

// Adds `box` to `boxes` unless it is AlreadyFound there.
inline void AddUnlessFound(const cv::Rect& box, std::vector<cv::Rect>& boxes) {
  if (!AlreadyFound(box, boxes)) boxes.push_back(box);
}

// A box found in a copy resized by `scale`, in the original picture's
// coordinates (rounded).
inline cv::Rect FromScaledCopy(const cv::Rect& r, double scale) {
  return cv::Rect(cvRound(r.x / scale), cvRound(r.y / scale),
                  cvRound(r.width / scale), cvRound(r.height / scale));
}

// The plate around a blob of its characters (a detector's tight box): the
// reader wants the whole plate. Cut to `frame`.
inline cv::Rect PaddedToPlate(const cv::Rect& characters,
                              const cv::Rect& frame) {
  const int px = characters.width / 8, py = characters.height / 3;
  return cv::Rect(characters.x - px, characters.y - py,
                  characters.width + 2 * px, characters.height + 2 * py) &
         frame;
}

// The middle value (the upper of the two middle ones when even); 0 when
// there are none.
inline double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::nth_element(values.begin(), values.begin() + values.size() / 2,
                   values.end());
  return values[values.size() / 2];
}

// y = a + b x.
struct Line {
  double a = 0, b = 0;
  double At(double x) const { return a + b * x; }
};

// Least squares through the points; flat through their mean when x does not
// vary.
inline Line FitLine(const std::vector<cv::Point2d>& points) {
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (const cv::Point2d& p : points) {
    sx += p.x;
    sy += p.y;
    sxx += p.x * p.x;
    sxy += p.x * p.y;
  }
  const double n = static_cast<double>(points.size());
  const double den = n * sxx - sx * sx;
  Line line;
  line.b = den != 0 ? (n * sxy - sx * sy) / den : 0;
  line.a = (sy - line.b * sx) / n;
  return line;
}

}  // namespace lanevault::capture

#endif  // LANEVAULT_CAPTURE_GEOMETRY_H_
