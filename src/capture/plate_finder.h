#ifndef LANEVAULT_CAPTURE_PLATE_FINDER_H_
#define LANEVAULT_CAPTURE_PLATE_FINDER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "capture/detectors.h"

namespace lanevault::capture {

// A plate found in one image: where, and what the reader made of it (best
// reading first; none when a PlateReadBudget skipped the reading).
struct PlateSighting {
  cv::Rect box;
  std::vector<PlateReading> readings;
  bool read() const { return !readings.empty(); }
  const PlateReading& best() const { return readings.front(); }
};

struct PlateFinderOptions {
  // Regions checked for a row of characters: the contour detector gives up
  // to 16, and a plate cascade adds its hits after those.
  int max_candidates = 24;
  int max_reads = 3;   // of those, the best rows read
  int max_plates = 1;  // a lane sees one vehicle at a time
  // With a reader of whole plates (the learned one), the best max_reads
  // rows are all read and the most confident readings kept, instead of the
  // first row that reads as anything: a grille or a sticker that outranks
  // the plate by shape reads as something too, but with less confidence
  // than the plate.
  bool most_confident_read = true;
  // The best rows by shape are ranked again with the reader's
  // Plausibility() times this weight added to their shape score. Measured
  // with lanevault-eval: 4 rows at weight 4 read 2 more us-dev plates than
  // shape alone (20.4 -> 22.4%), eu the same; weight 8 or 8 rows no more.
  int screen_rows = 4;
  double plausibility_weight = 4;
  // Cameras burn the date and time into a corner of the frame, in a row of
  // characters that outranks a plate by shape. Rows whose characters come
  // within `edge_margin` character heights of the frame's edge lose
  // `edge_penalty` from their rank (a plate there is usually cut, and is
  // seen whole a few frames later). Measured with lanevault-eval: us-dev
  // 58.2 -> 76.5% detected and 26.5 -> 33.7% exact; eu loses one detection
  // and no read. Margins of 0.5 and 1 character gained less; 4 lost a read.
  double edge_margin = 2;
  double edge_penalty = 10;
  // The margin is at most this share of the frame's shorter side (the frame
  // FindPlates is given: a lane's region of interest); 0: no cap. Two
  // heights of a plate that fills a close-up picture reach well inside the
  // frame. Measured with lanevault-eval: eu 88.9 -> 89.8 % exact (a plate
  // whose characters stand 16 % of the picture lost to a grille's reading),
  // us-dev the same; 0.15 and 0.2 read the same, 0.05 lost a us-dev box.
  double edge_margin_share = 0.1;
  // A row read with less confidence than this, or read as nothing, is
  // looked at again: the plate around it is cropped from the frame and its
  // row found and read anew, at the scale of the plate rather than of the
  // detector's region (often a bumper or a grille), and the two readings
  // merged. 0: only a row read as nothing, as in a lane, which reads the
  // plate again on later frames instead.
  double second_look_below = 0.9;
  // The detector's further rounds of candidates (PlateDetector::
  // MoreCandidates) are checked and read, each round's best max_reads rows,
  // while no row read so far (away from the frame's edge) reads with this
  // confidence or more and no plate was kept or followed. A reader that
  // keeps the first row it reads (most_confident_read off, or a reader of
  // rows) stops at the first plate it reads; the learned reader keeps the
  // most confident reading of every round read. 0: no further rounds.
  double more_candidates_below = 0.9;
  // With a reader of whole plates: a short row read surely is often one
  // group of a plate whose other group the row stopped before (across a
  // picture, a dash, a wide gap), so a widened crop is read too, and its
  // reading goes first when it holds the short one and the characters it
  // adds stand beside the row; the box kept grows with it. The thresholds
  // and why: ExtendShortRow in plate_finder.cc.
  bool extend_short_rows = true;
  // The plate found on the frame before, to follow (empty: none). A plate
  // moves little from one frame to the next: the detector looks only
  // around it (its width again on each side, twice its height above and
  // below: room for a vehicle coming closer, and for frames dropped under
  // load), and only candidates that overlap it are checked for a row.
  // Plates keep the whole image's coordinates, and its edges stay the
  // frame's edges.
  cv::Rect follow;
};

// How far the plate kept at a read reached past its row's own plate box,
// in the row's character heights, on the left and on the right: a short row
// extended to its plate (FindPlates). A frame not read keeps the reach of
// the last read, so its box still covers the whole plate.
struct PlateReach {
  double left = 0, right = 0;
};

// Which plate rows a lane reads. A vehicle's plate stays in view for dozens
// of frames, and reading it (~30 ms) is the costliest step; reading it again
// at the same size adds little to the vote. A row is read when nothing has
// been read since Reset(), when its characters are `grow` times taller than
// at the last read (the vehicle came closer) or much shorter, when it does
// not overlap the plate last read or followed (another plate), or when
// `refresh_frames` source frames have passed since then. Once the plate is
// settled (`settle_reads` confident readings of one text in a row), it is
// not read again for time, and for growing only once it is `settled_grow`
// times taller than at its last reading; another plate, or a much smaller
// row, is read as before.
class PlateReadBudget {
 public:
  struct Options {
    double grow = 1.15;
    double shrink = 0.6;
    int refresh_frames = 6;
    // Readings at `settle_confidence` or above that settle a plate when
    // they agree, one after another (less confident readings in between
    // neither count nor break the run; a confident other text starts it
    // again). 0: a plate is never settled. A misreading seldom comes out
    // sure, and three sure alike from frames at different distances are
    // what the vote would elect anyway.
    int settle_reads = 3;
    float settle_confidence = 0.95f;
    // A settled plate is still read again once its characters are this many
    // times taller than at its last reading: nearer readings weigh more in
    // the vote, and a reading made sure at a distance can be wrong.
    double settled_grow = 1.5;
  };
  PlateReadBudget() : PlateReadBudget(Options{}) {}
  explicit PlateReadBudget(Options options) : options_(options) {}
  // What a lane's detector config asks for, the defaults filled in.
  static Options ForLane(const v1::DetectorConfig& config);

  void StartFrame(int64_t frame_index) { frame_ = frame_index; }
  bool Wants(const cv::Rect& box, const CharacterRow& row) const;
  // The row at `box` was read, its best reading `best`, the plate kept
  // reaching `reach` past the row.
  void Spend(const cv::Rect& box, const CharacterRow& row,
             const PlateReading& best = {}, PlateReach reach = {});
  PlateReach reach() const { return reach_; }
  // The plate last read, not read again on this frame, is now at `box`:
  // a plate that moves across the frame stays the same plate.
  void Follow(const cv::Rect& box) { last_box_ = box; }
  bool settled() const {
    return options_.settle_reads > 0 && agreeing_ >= options_.settle_reads;
  }
  void Reset();

 private:
  Options options_;
  int64_t frame_ = 0;
  int64_t last_frame_ = 0;
  double last_height_ = 0;  // 0: nothing read since Reset()
  cv::Rect last_box_;
  PlateReach reach_;
  std::string agreeing_text_;  // the run of confident readings
  int agreeing_ = 0;
};

// The plate step the lane and the evaluation tool share: each of the
// detector's candidates is checked for a row of characters, the best rows
// are read, and a candidate without a row, or that the reader cannot read,
// is not a plate. Overlapping candidates count once. With a `budget`, a
// row it does not want read is still reported, with no readings: the plate
// is in view, and was read on an earlier frame.
std::vector<PlateSighting> FindPlates(const cv::Mat& bgr,
                                      PlateDetector& detector,
                                      PlateReader& reader,
                                      const PlateFinderOptions& options = {},
                                      PlateReadBudget* budget = nullptr);

}  // namespace lanevault::capture

#endif  // LANEVAULT_CAPTURE_PLATE_FINDER_H_
