#include "capture/lane.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "common/time_util.h"

namespace lanevault::capture {
namespace {

constexpr int kMaxPlateCandidatesRead = 4;
constexpr int kMaxDeliveryAttempts = 30;

CrossingTracker::Options TrackerOptions(const v1::LaneConfig& c) {
  CrossingTracker::Options o;
  o.lane_id = c.lane_id();
  o.checkpoint_id = c.checkpoint_id();
  if (c.quiet_frames_to_close() > 0) o.quiet_frames = c.quiet_frames_to_close();
  return o;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Lane>> Lane::Create(v1::LaneConfig config,
                                                   RecordSink* sink) {
  auto source = OpenFrameSource(config.source());
  if (!source.ok()) {
    return absl::Status(source.status().code(),
                        absl::StrCat("lane ", config.lane_id(), ": ",
                                     source.status().message()));
  }
  auto detectors = NewDetectorSet(config.detectors());
  if (!detectors.ok()) {
    return absl::Status(detectors.status().code(),
                        absl::StrCat("lane ", config.lane_id(), ": ",
                                     detectors.status().message()));
  }
  return std::unique_ptr<Lane>(new Lane(std::move(config), std::move(*source),
                                        std::move(*detectors), sink));
}

Lane::Lane(v1::LaneConfig config, std::unique_ptr<FrameSource> source,
           DetectorSet detectors, RecordSink* sink)
    : config_(std::move(config)),
      source_(std::move(source)),
      detectors_(std::move(detectors)),
      sink_(sink),
      tracker_(TrackerOptions(config_)) {}

Lane::~Lane() {
  Stop();
  Wait();
}

void Lane::Start() {
  thread_ = std::thread([this] {
    absl::Status s = Run();
    if (!s.ok()) spdlog::error("lane {} stopped: {}", id(), s.message());
  });
}

void Lane::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
}

void Lane::Wait() {
  if (thread_.joinable()) thread_.join();
}

bool Lane::SleepUnlessStopped(absl::Duration d) {
  return !stop_.WaitForNotificationWithTimeout(d);
}

void Lane::SetState(v1::LaneState state, std::string error) {
  absl::MutexLock lock(&mu_);
  state_ = state;
  if (!error.empty()) last_error_ = std::move(error);
}

cv::Rect Lane::RegionOfInterest(const cv::Mat& frame) const {
  const cv::Rect whole(0, 0, frame.cols, frame.rows);
  if (!config_.has_roi()) return whole;
  const auto& r = config_.roi();
  return cv::Rect(static_cast<int>(r.x() * frame.cols),
                  static_cast<int>(r.y() * frame.rows),
                  static_cast<int>(r.width() * frame.cols),
                  static_cast<int>(r.height() * frame.rows)) &
         whole;
}

absl::Status Lane::Run() {
  SetState(v1::LANE_STATE_RUNNING);
  spdlog::info("lane {} (checkpoint {}) reading {}", id(),
               config_.checkpoint_id(), config_.source());
  const absl::Duration min_interval =
      config_.max_fps() > 0 ? absl::Seconds(1.0 / config_.max_fps())
                            : absl::ZeroDuration();
  absl::Time next_frame = absl::Now();
  while (!stop_.HasBeenNotified()) {
    absl::StatusOr<std::optional<Frame>> frame = source_->Next();
    if (!frame.ok()) {
      if (source_->is_live() && ReconnectWithBackoff(frame.status())) continue;
      break;
    }
    if (!frame->has_value()) {
      if (config_.loop()) {
        if (auto reopened = OpenFrameSource(config_.source()); reopened.ok()) {
          source_ = std::move(*reopened);
          continue;
        }
      }
      break;
    }
    ++counters_.frames_read;
    {
      absl::MutexLock lock(&mu_);
      last_frame_ = (*frame)->time;
    }
    Analyse(**frame);
    if (min_interval > absl::ZeroDuration()) {
      next_frame += min_interval;
      const absl::Time now = absl::Now();
      if (next_frame > now) {
        SleepUnlessStopped(next_frame - now);
      } else {
        next_frame = now;
      }
    }
  }
  // A record formed before the end is delivered, never dropped.
  if (auto record = tracker_.Flush()) Deliver(std::move(*record));
  SetState(v1::LANE_STATE_FINISHED);
  spdlog::info(
      "lane {} finished: {} frames, {} analysed, {} corrupt, {} crossings, {} "
      "stored, {} failed",
      id(), counters_.frames_read.load(), counters_.frames_analysed.load(),
      source_->corrupt_frames(), counters_.crossings.load(),
      counters_.records_stored.load(), counters_.records_failed.load());
  return absl::OkStatus();
}

bool Lane::ReconnectWithBackoff(const absl::Status& why) {
  ++counters_.source_outages;
  SetState(v1::LANE_STATE_RECONNECTING, std::string(why.message()));
  spdlog::warn("lane {}: {}; reconnecting", id(), why.message());
  if (auto record = tracker_.Flush()) Deliver(std::move(*record));
  absl::Duration backoff = absl::Milliseconds(500);
  while (SleepUnlessStopped(backoff)) {
    if (absl::Status s = source_->Reopen(); s.ok()) {
      spdlog::info("lane {}: source back", id());
      SetState(v1::LANE_STATE_RUNNING);
      return true;
    }
    backoff = std::min(backoff * 2, absl::Seconds(30));
  }
  return false;
}

void Lane::Analyse(const Frame& frame) {
  const cv::Rect roi = RegionOfInterest(frame.image);
  if (!gate_.Moving(frame.image, roi)) {
    if (auto record = tracker_.ObserveQuiet()) Deliver(std::move(*record));
    return;
  }
  ++counters_.frames_analysed;
  const cv::Mat lane = frame.image(roi);
  std::vector<FaceHit> faces = detectors_.face->Detect(lane);
  for (FaceHit& f : faces) f.box += roi.tl();
  counters_.face_detections += faces.size();

  std::vector<PlateSighting> plates;
  int tried = 0;
  for (const cv::Rect& candidate : detectors_.plate->Candidates(lane)) {
    if (++tried > kMaxPlateCandidatesRead) break;
    std::vector<PlateReading> readings =
        detectors_.reader->Read(lane(candidate));
    if (readings.empty()) continue;
    plates.push_back({candidate + roi.tl(), readings.front()});
    break;  // one plate per frame: the most plate-like that reads
  }
  counters_.plate_detections += plates.size();
  if (auto record = tracker_.Observe(frame, faces, plates)) {
    Deliver(std::move(*record));
  }
}

void Lane::Deliver(v1::Record record) {
  ++counters_.crossings;
  const std::string record_id = record.record_id();
  absl::Duration backoff = absl::Milliseconds(100);
  for (int attempt = 1; attempt <= kMaxDeliveryAttempts; ++attempt) {
    absl::Status s = sink_->Submit(record);
    if (s.ok()) {
      ++counters_.records_stored;
      return;
    }
    spdlog::warn("lane {}: record {} not acknowledged (attempt {}): {}", id(),
                 record_id, attempt, s.message());
    if (s.code() == absl::StatusCode::kInvalidArgument)
      break;  // retry won't help
    if (!SleepUnlessStopped(backoff) && attempt > 3) break;
    backoff = std::min(backoff * 2, absl::Seconds(5));
  }
  ++counters_.records_failed;
  {
    absl::MutexLock lock(&mu_);
    last_error_ = absl::StrCat("record ", record_id, " could not be stored");
  }
  spdlog::error("lane {}: record {} could not be stored and is lost", id(),
                record_id);
}

v1::LaneStatus Lane::Status() const {
  v1::LaneStatus status;
  status.set_lane_id(config_.lane_id());
  status.set_checkpoint_id(config_.checkpoint_id());
  {
    absl::MutexLock lock(&mu_);
    status.set_state(state_);
    status.set_last_error(last_error_);
    if (last_frame_ != absl::InfinitePast()) {
      *status.mutable_last_frame() = ToProto(last_frame_);
    }
  }
  v1::LaneCounters* c = status.mutable_counters();
  c->set_frames_read(counters_.frames_read);
  c->set_frames_dropped(counters_.frames_dropped);
  c->set_frames_corrupt(source_ ? source_->corrupt_frames() : 0);
  c->set_frames_analysed(counters_.frames_analysed);
  c->set_plate_detections(counters_.plate_detections);
  c->set_face_detections(counters_.face_detections);
  c->set_crossings(counters_.crossings);
  c->set_records_stored(counters_.records_stored);
  c->set_records_failed(counters_.records_failed);
  c->set_source_outages(counters_.source_outages);
  return status;
}

}  // namespace lanevault::capture
