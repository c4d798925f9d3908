#include "capture/crossing_tracker.h"

#include <algorithm>

#include "capture/geometry.h"
#include "common/ids.h"
#include "common/time_util.h"
#include "opencv2/imgcodecs.hpp"
#include "opencv2/imgproc.hpp"

namespace lanevault::capture {
namespace {

// A quiet period needs at least this many frames actually seen empty.
constexpr int kMinQuietSeen = 3;
// A row seen but not read stands for the plate only where it covers at
// least this share of the box where the plate was last seen (read, or
// standing for it), and is at most kUnreadCropGrowth times its area: a
// plate moves and grows little from one analysed frame to the next.
constexpr double kUnreadCropOverlap = 0.5;
constexpr double kUnreadCropGrowth = 1.6;

bool SameFace(const cv::Rect& previous, const cv::Rect& now) {
  if (IoU(previous, now) > 0.2) return true;
  // A vehicle approaching fast moves its occupants' faces far between
  // frames; near centres of similar size are the same face.
  const cv::Point2d dc =
      (previous.tl() + previous.br()) / 2.0 - (now.tl() + now.br()) / 2.0;
  const double size_ratio = static_cast<double>(now.width) / previous.width;
  return std::hypot(dc.x, dc.y) < 0.9 * std::max(previous.width, now.width) &&
         size_ratio > 0.6 && size_ratio < 1.7;
}

v1::BoundingBox ToProto(const cv::Rect& r) {
  v1::BoundingBox b;
  b.set_x(r.x);
  b.set_y(r.y);
  b.set_width(r.width);
  b.set_height(r.height);
  return b;
}

}  // namespace

double CrossingTracker::Quality(const cv::Mat& crop, float confidence) {
  // Bigger, sharper and more certain is better. Sharpness is the variance of
  // the Laplacian, the usual focus measure.
  cv::Mat grey, lap;
  cv::cvtColor(crop, grey, cv::COLOR_BGR2GRAY);
  cv::Laplacian(grey, lap, CV_32F);
  cv::Scalar mean, stddev;
  cv::meanStdDev(lap, mean, stddev);
  return crop.total() * std::log1p(stddev[0] * stddev[0]) * (0.5 + confidence);
}

void CrossingTracker::Offer(Crop& slot, const cv::Mat& frame,
                            const cv::Rect& box, float confidence,
                            int64_t frame_index) {
  const cv::Rect clipped = box & cv::Rect(0, 0, frame.cols, frame.rows);
  if (clipped.area() <= 0) return;
  const cv::Mat crop = frame(clipped);
  const double q = Quality(crop, confidence);
  if (q > slot.quality) {
    slot.image = crop.clone();
    slot.box = clipped;
    slot.confidence = confidence;
    slot.quality = q;
    slot.frame_index = frame_index;
  }
}

std::optional<v1::Record> CrossingTracker::Observe(
    const Frame& frame, const std::vector<FaceHit>& faces,
    const std::vector<PlateSighting>& plates, bool faces_looked) {
  if (faces.empty() && plates.empty()) {
    // Faces not looked for on this frame: it says nothing of a vehicle's
    // occupants, so it is not a frame seen empty (counted so, one real miss
    // between two such frames would split a vehicle in two).
    if (!faces_looked) return std::nullopt;
    return ObserveQuiet(frame.index);
  }
  // A quiet spell whose frames were mostly dropped under load still ends
  // the crossing in view before this frame's detections start the next one.
  std::optional<v1::Record> closed;
  if (open_ && QuietLongEnough(frame.index)) closed = Close();
  if (!open_) {
    Reset();
    open_ = true;
    first_seen_ = frame.time;
    first_active_ = frame.index;
  }
  last_active_ = frame.index;
  quiet_seen_ = 0;
  ++frames_;
  last_seen_ = frame.time;
  for (const FaceHit& hit : faces) {
    FaceTrack* track = nullptr;
    for (FaceTrack& t : faces_) {
      if (SameFace(t.last_box, hit.box)) {
        track = &t;
        break;
      }
    }
    if (track == nullptr) {
      if (faces_.size() >= static_cast<size_t>(4 * options_.max_faces))
        continue;
      track = &faces_.emplace_back();
    }
    track->last_box = hit.box;
    ++track->hits;
    Offer(track->best, frame.image, hit.box, hit.confidence, frame.index);
  }
  for (const PlateSighting& p : plates) {
    if (!p.read()) {
      // In view, read on an earlier frame (or settled): not a vote, but
      // its crop may be the best yet, nearer than at the last reading. Only
      // where it mostly covers the plate as last seen: an unread row is
      // unscreened, and a grille or a sticker beside the plate can outrank
      // it by shape.
      const double last = last_plate_.area();
      if (last > 0 &&
          (p.box & last_plate_).area() >= kUnreadCropOverlap * last &&
          p.box.area() <= kUnreadCropGrowth * last) {
        last_plate_ = p.box;
        Offer(best_plate_, frame.image, p.box, LeadingConfidence(),
              frame.index);
      }
      continue;
    }
    last_plate_ = p.box;
    // Larger plates are read more reliably: weigh the vote by height too.
    const double weight = p.best().confidence * std::sqrt(p.box.height);
    Vote& vote = VoteFor(p.best().text);
    vote.weight += weight;
    ++vote.votes;
    vote.best_confidence = std::max(vote.best_confidence, p.best().confidence);
    KeepAsRead(p, weight);
    Offer(best_plate_, frame.image, p.box, p.best().confidence, frame.index);
  }
  return closed;
}

void CrossingTracker::KeepAsRead(const PlateSighting& p, double weight) {
  const std::string& as_read = p.best().as_read;
  if (as_read.empty()) return;
  float confidence = 0;
  for (const PlateReading& r : p.readings) {
    if (r.text == as_read) confidence = std::max(confidence, r.confidence);
  }
  Vote& vote = VoteFor(as_read);
  // Just under the settled text's weight, so that it ranks next to it and
  // stays among the few readings intake keeps.
  vote.weight += kAsReadWeight * weight;
  vote.best_confidence = std::max(vote.best_confidence, confidence);
}

CrossingTracker::Vote& CrossingTracker::VoteFor(const std::string& text) {
  auto it = std::find_if(votes_.begin(), votes_.end(),
                         [&](const Vote& v) { return v.text == text; });
  if (it != votes_.end()) return *it;
  return votes_.emplace_back(Vote{text, 0, 0, 0});
}

float CrossingTracker::LeadingConfidence() const {
  const auto leading = std::max_element(
      votes_.begin(), votes_.end(),
      [](const Vote& a, const Vote& b) { return a.weight < b.weight; });
  return leading == votes_.end() ? 0 : leading->best_confidence;
}

std::optional<v1::Record> CrossingTracker::ObserveQuiet(int64_t frame_index) {
  if (!open_) return std::nullopt;
  ++quiet_seen_;
  if (QuietLongEnough(frame_index)) return Close();
  return std::nullopt;
}

std::optional<v1::Record> CrossingTracker::ObserveStill(int64_t frame_index) {
  if (open_ && quiet_seen_ == 0) {
    last_active_ = frame_index;  // the vehicle last seen is still there
    return std::nullopt;
  }
  return ObserveQuiet(frame_index);
}

bool CrossingTracker::QuietLongEnough(int64_t frame_index) const {
  // Frames dropped under load were seen neither empty nor busy: they count
  // toward the quiet period's length, but it also needs a few frames
  // actually seen empty. One miss (a face between searches, a plate not
  // found) followed by dropped frames would otherwise split a vehicle in two.
  return quiet_seen_ >= std::min(kMinQuietSeen, options_.quiet_frames) &&
         frame_index - last_active_ >= options_.quiet_frames;
}

std::optional<v1::Record> CrossingTracker::Flush() {
  if (!open_) return std::nullopt;
  return Close();
}

void CrossingTracker::Reset() {
  open_ = false;
  quiet_seen_ = 0;
  frames_ = 0;
  faces_.clear();
  votes_.clear();
  best_plate_ = Crop();
  last_plate_ = cv::Rect();
}

std::optional<v1::Record> CrossingTracker::Close() {
  std::sort(votes_.begin(), votes_.end(),
            [](const Vote& a, const Vote& b) { return a.weight > b.weight; });
  std::vector<FaceTrack*> faces;
  for (FaceTrack& t : faces_) {
    if (t.hits >= options_.min_face_hits && !t.best.image.empty()) {
      faces.push_back(&t);
    }
  }
  std::sort(faces.begin(), faces.end(),
            [](const FaceTrack* a, const FaceTrack* b) {
              return a->best.quality > b->best.quality;
            });
  if (faces.size() > static_cast<size_t>(options_.max_faces)) {
    faces.resize(options_.max_faces);
  }
  if (votes_.empty() && faces.empty()) {
    Reset();
    return std::nullopt;  // something moved, but nothing worth a record
  }
  v1::Record record;
  record.set_record_id(NewId("rec_"));
  record.set_lane_id(options_.lane_id);
  record.set_checkpoint_id(options_.checkpoint_id);
  *record.mutable_first_seen() = lanevault::ToProto(first_seen_);
  *record.mutable_last_seen() = lanevault::ToProto(last_seen_);
  record.set_frames_seen(frames_);
  const std::vector<int> jpeg = {cv::IMWRITE_JPEG_QUALITY,
                                 options_.jpeg_quality};
  auto add_image = [&](v1::DataCategory category, const Crop& crop) {
    std::vector<uchar> bytes;
    if (!cv::imencode(".jpg", crop.image, bytes, jpeg)) return;
    v1::Item* item = record.add_items();
    item->set_item_id(NewId("itm_"));
    item->set_category(category);
    item->set_content(bytes.data(), bytes.size());
    item->set_media_type("image/jpeg");
    *item->mutable_box() = ToProto(crop.box);
    item->set_confidence(crop.confidence);
    item->set_frame_index(crop.frame_index);
  };
  if (!votes_.empty()) {
    const Vote& best = votes_.front();
    v1::Item* text = record.add_items();
    text->set_item_id(NewId("itm_"));
    text->set_category(v1::DATA_CATEGORY_PLATE_TEXT);
    text->set_content(best.text);
    text->set_media_type("text/plain");
    *text->mutable_box() = ToProto(best_plate_.box);
    text->set_confidence(best.best_confidence);
    for (const Vote& v : votes_) {
      if (record.plate_candidates_size() >= 10) break;
      v1::PlateCandidate* c = record.add_plate_candidates();
      c->set_text(v.text);
      c->set_confidence(v.best_confidence);
      c->set_votes(v.votes);
    }
    add_image(v1::DATA_CATEGORY_PLATE_IMAGE, best_plate_);
  }
  for (const FaceTrack* t : faces)
    add_image(v1::DATA_CATEGORY_FACE_IMAGE, t->best);
  Reset();
  return record;
}

}  // namespace lanevault::capture
