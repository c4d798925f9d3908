#ifndef LANEVAULT_CAPTURE_CHARACTER_ROW_H_
#define LANEVAULT_CAPTURE_CHARACTER_ROW_H_

// Finds the row of characters inside a plate crop. This is where most plate
// reading is won or lost: a plate carries a frame, bolts, a state or country
// name, stickers and a slogan, and a reader given all of it reads noise. The
// row is the largest set of blobs of one height standing on one line.

#include <optional>
#include <vector>

#include "opencv2/core.hpp"

namespace lanevault::capture {

struct CharacterRow {
  // Each character as white strokes on black, cut to its own box, left to
  // right. Only the character's own blob is kept: neighbouring clutter that
  // falls inside its box is not.
  std::vector<cv::Mat> glyphs;
  std::vector<cv::Rect> boxes;  // in the crop's (unscaled) coordinates
  // How plate-like the row is (more characters, up to 8, of one height):
  // ranks the detector's candidates before the costlier reading.
  double score = 0;
  // For a reader that cuts the row again (RecutCharacters): the
  // binarisation the row was found in (ink white, at the glyphs' scale),
  // each glyph's box in it, and the scale from the crop to it.
  cv::Mat ink;
  std::vector<cv::Rect> ink_boxes;
  double ink_scale = 1;
};

// Thin: narrower than 0.3 of its height, as an I or a 1 is, and as a bolt,
// a frame's edge or a grille's slat is too.
inline bool IsThinGlyph(cv::Size size) {
  return size.width * 10 < size.height * 3;
}

// A box in the row's binarisation (`ink_boxes`) in the crop's coordinates.
cv::Rect CropBox(const cv::Rect& ink_box, double ink_scale);

// The best row of 3..10 characters in a plate crop (BGR or grey), trying
// dark-on-light and light-on-dark and several thresholds; nullopt when the
// crop holds no such row (it is then not a plate).
std::optional<CharacterRow> FindCharacterRow(const cv::Mat& crop);

}  // namespace lanevault::capture

#endif  // LANEVAULT_CAPTURE_CHARACTER_ROW_H_
