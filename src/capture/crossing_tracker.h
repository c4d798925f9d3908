#ifndef LANEVAULT_CAPTURE_CROSSING_TRACKER_H_
#define LANEVAULT_CAPTURE_CROSSING_TRACKER_H_

#include <optional>
#include <string>
#include <vector>

#include "capture/detectors.h"
#include "capture/frame_source.h"
#include "capture/plate_finder.h"
#include "lanevault/v1/types.pb.h"

namespace lanevault::capture {

// Turns per-frame detections into one record per vehicle crossing: faces
// are associated across frames into one track per occupant, plate readings
// are voted across frames, and only the best crop of each (size, sharpness,
// confidence) is kept, never a stream of near-duplicates. A crossing closes
// after `quiet_frames` source frames with nothing detected, or at Flush(). Not
// thread-safe.
class CrossingTracker {
 public:
  struct Options {
    std::string lane_id;
    std::string checkpoint_id;
    int quiet_frames = 8;
    int min_face_hits = 2;  // a face seen once is more likely a false hit
    int max_faces = 6;
    int jpeg_quality = 90;
  };
  explicit CrossingTracker(Options options) : options_(std::move(options)) {}

  // Feeds one analysed frame. Returns a record when this frame closed one.
  // `faces_looked`: whether faces were looked for on it at all; a frame
  // with no plate whose faces were not looked for is not seen empty.
  std::optional<v1::Record> Observe(const Frame& frame,
                                    const std::vector<FaceHit>& faces,
                                    const std::vector<PlateSighting>& plates,
                                    bool faces_looked = true);
  // Feeds a frame that was not analysed (no motion): counts as quiet. The
  // quiet period is measured in source frames, so frames dropped under load
  // count toward its length once a frame has been seen empty.
  std::optional<v1::Record> ObserveQuiet(int64_t frame_index);
  // Feeds a frame that was not analysed because nothing in it moved: it
  // shows what the last analysed frame showed. A vehicle stopped at the
  // booth keeps its crossing open; an empty lane stays quiet.
  std::optional<v1::Record> ObserveStill(int64_t frame_index);
  // Closes the open crossing, if any (end of source, shutdown).
  std::optional<v1::Record> Flush();

  bool open() const { return open_; }
  // The source index of the open crossing's first frame with a detection.
  int64_t open_since() const { return first_active_; }

 private:
  struct Crop {
    cv::Mat image;
    cv::Rect box;
    float confidence = 0;
    double quality = -1;
    int64_t frame_index = 0;
  };
  struct FaceTrack {
    cv::Rect last_box;
    int hits = 0;
    Crop best;
  };
  struct Vote {
    std::string text;
    double weight = 0;
    int votes = 0;
    float best_confidence = 0;
  };

  // A sighting whose best reading a region's format settled: its text as
  // read joins the candidates, with no vote and kAsReadWeight of the
  // weight the settled text got.
  void KeepAsRead(const PlateSighting& p, double weight);
  // The vote for `text`, added empty if there is none yet.
  Vote& VoteFor(const std::string& text);
  static constexpr double kAsReadWeight = 0.999;
  std::optional<v1::Record> Close();
  void Reset();
  static double Quality(const cv::Mat& crop, float confidence);
  static void Offer(Crop& slot, const cv::Mat& frame, const cv::Rect& box,
                    float confidence, int64_t frame_index);

  bool QuietLongEnough(int64_t frame_index) const;
  // The best confidence of the text leading the vote so far: what a plate
  // in view but not read again is taken to read as.
  float LeadingConfidence() const;

  Options options_;
  bool open_ = false;
  int64_t first_active_ = 0;  // source index of the first, while open
  int64_t last_active_ = 0;   // source index of the last frame with a detection
  int quiet_seen_ = 0;        // frames seen empty since then
  int frames_ = 0;
  absl::Time first_seen_, last_seen_;
  std::vector<FaceTrack> faces_;
  std::vector<Vote> votes_;
  Crop best_plate_;
  cv::Rect last_plate_;  // where the plate was last read or stood for
};

}  // namespace lanevault::capture

#endif  // LANEVAULT_CAPTURE_CROSSING_TRACKER_H_
