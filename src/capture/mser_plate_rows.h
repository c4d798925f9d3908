#ifndef LANEVAULT_CAPTURE_MSER_PLATE_ROWS_H_
#define LANEVAULT_CAPTURE_MSER_PLATE_ROWS_H_

// Plate candidates found from the characters up: maximally stable extremal
// regions (OpenCV's MSER, dark and light) of a character's shape, chained
// into rows of 4..12 of one height on one line. It finds plates the contour
// detector's morphology does not make into one blob (low contrast, a
// plate's frame or its surroundings joined to its characters), at several
// times its cost: the contour detector offers these as a later round of
// candidates (PlateDetector::MoreCandidates).

#include <cstddef>
#include <vector>

#include "opencv2/core.hpp"

namespace lanevault::capture {

// At most `limit` rows of `bgr`, those of more characters first, each
// padded to the plate around its characters and cut to the picture.
std::vector<cv::Rect> MserPlateRows(const cv::Mat& bgr, size_t limit);

}  // namespace lanevault::capture

#endif  // LANEVAULT_CAPTURE_MSER_PLATE_ROWS_H_
