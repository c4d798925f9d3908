#include "capture/lane.h"

#include <string.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "capture/snapshot_mask.h"
#include "common/files.h"
#include "common/logging.h"
#include "common/time_util.h"

namespace lanevault::capture {
namespace {

constexpr int kDefaultQueueFrames = 4;
// Records waiting for the vault. Each is a few crops (~100 KB); when the
// vault is this far behind, the analyser waits and frames are dropped.
constexpr int kOutboxRecords = 16;
// After Stop(), a record still refused is retried this often, then counted
// as failed and logged by id.
constexpr int kAttemptsAfterStop = 3;
// While a crossing is open and nothing moves, one frame in this many is
// analysed anyway (at 30 frames/s, twice a second).
constexpr int64_t kStillCheckFrames = 15;
// While no crossing is open, a resumable lane moves its position on every
// this many frames (10 s at 30 frames/s), so that a restart does not read a
// long empty stretch again.
constexpr int64_t kMarkEveryFrames = 300;

CrossingTracker::Options TrackerOptions(const v1::LaneConfig& c) {
  CrossingTracker::Options o;
  o.lane_id = c.lane_id();
  o.checkpoint_id = c.checkpoint_id();
  if (c.quiet_frames_to_close() > 0) o.quiet_frames = c.quiet_frames_to_close();
  return o;
}

// A lane takes no second look at a doubtful plate (only at a row that read
// as nothing): it reads the plate again on later frames (PlateReadBudget),
// nearer and from other angles, and votes. Measured with lanevault-eval replay
// on one core: with second looks, 28.0-28.7 frames/s instead of 30.5-32.1, and
// two lanes at camera rate dropped more frames and once misread a crossing's
// plate.
PlateFinderOptions LanePlateOptions() {
  PlateFinderOptions o;
  o.second_look_below = 0;
  return o;
}

// The lane follows the plate of the frame before (PlateFinderOptions::
// follow), and every few analysed frames, and whenever the plate was lost,
// searches the whole region again, so that a better candidate elsewhere is
// not missed for long.
constexpr int kPlateSearchEvery = 4;
// The finder's further rounds of candidates (where nothing reads surely)
// search the whole region again, twice. With no plate to follow, the lane
// runs them on every few analysed frames only: a crossing's plate stays in
// view for dozens. Following a plate, they search only around it, on every
// frame.
constexpr int kMoreCandidatesEvery = 4;

}  // namespace

absl::StatusOr<std::unique_ptr<Lane>> Lane::Create(v1::LaneConfig config,
                                                   RecordSink* sink,
                                                   LaneOptions options) {
  auto in_lane = [&](const absl::Status& s) {
    return absl::Status(
        s.code(), absl::StrCat("lane ", config.lane_id(), ": ", s.message()));
  };
  // Only what can never work fails here; the source itself is the reader's
  // to open (and to wait for), so one bad source does not stop a daemon.
  absl::StatusOr<SourceSpec> spec = ParseSourceSpec(config.source());
  if (!spec.ok()) return in_lane(spec.status());
  auto detectors = NewDetectorSet(config.detectors());
  if (!detectors.ok()) return in_lane(detectors.status());
  if (!options.state_dir.empty() && !spec->live()) {
    if (absl::Status s = MakeDirectories(options.state_dir); !s.ok()) {
      return in_lane(s);
    }
  }
  return std::unique_ptr<Lane>(new Lane(std::move(config), std::move(*spec),
                                        std::move(options),
                                        std::move(*detectors), sink));
}

Lane::Lane(v1::LaneConfig config, SourceSpec spec, LaneOptions options,
           DetectorSet detectors, RecordSink* sink)
    : config_(std::move(config)),
      spec_(std::move(spec)),
      options_(std::move(options)),
      detectors_(std::move(detectors)),
      sink_(sink),
      tracker_(TrackerOptions(config_)),
      plate_budget_(PlateReadBudget::ForLane(config_.detectors())),
      face_search_every_(config_.detectors().face_search_every() > 0
                             ? config_.detectors().face_search_every()
                             : 4),
      face_follow_every_(config_.detectors().face_follow_every() > 0
                             ? config_.detectors().face_follow_every()
                             : 2),
      frames_(config_.queue_frames() > 0 ? config_.queue_frames()
                                         : kDefaultQueueFrames),
      outbox_(kOutboxRecords) {}

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

bool Lane::resumable() const {
  return !options_.state_dir.empty() && !spec_.live() && !config_.loop();
}

absl::Status Lane::Run() {
  spdlog::info("lane {} (checkpoint {}) reading {}", id(),
               config_.checkpoint_id(), spec_.display);
  std::thread reader([this] { ReadFrames(); });
  std::thread delivery([this] { DeliverRecords(); });
  AnalyseFrames();
  reader.join();
  delivery.join();
  {
    // A source that never opened did nothing: last_error says why.
    absl::MutexLock lock(&mu_);
    if (state_ != v1::LANE_STATE_FAILED) {
      state_ = source_opened_ ? v1::LANE_STATE_FINISHED : v1::LANE_STATE_FAILED;
    }
  }
  spdlog::info(
      "lane {} finished: {} frames, {} analysed, {} dropped, {} corrupt, {} "
      "crossings, {} stored, {} failed",
      id(), counters_.frames_read.load(), counters_.frames_analysed.load(),
      counters_.frames_dropped.load(), counters_.frames_corrupt.load(),
      counters_.crossings.load(), counters_.records_stored.load(),
      counters_.records_failed.load());
  return absl::OkStatus();
}

bool Lane::OpenSource() {
  absl::Duration backoff = options_.initial_backoff;
  const absl::Time since = absl::Now();
  bool missing = false;  // within an episode of a missing source
  std::string appeared;  // its fingerprint when last looked at
  while (!stop_.HasBeenNotified()) {
    absl::Status why;  // NOT_FOUND while the source is missing
    if (!spec_.live()) {
      absl::StatusOr<std::string> fingerprint = SourceFingerprint(spec_);
      if (fingerprint.ok() && missing && *fingerprint != appeared) {
        // It has just appeared, and may still be being copied in: it is
        // opened once it has held still for a moment, not half-written.
        appeared = *fingerprint;
        SleepUnlessStopped(options_.initial_backoff);
        continue;
      }
      if (absl::IsNotFound(fingerprint.status())) why = fingerprint.status();
    }
    if (why.ok()) {
      absl::StatusOr<std::unique_ptr<FrameSource>> source =
          OpenFrameSource(config_.source());
      if (source.ok()) {
        if (missing) {
          spdlog::info("lane {}: source {} is there after {}", id(),
                       spec_.display,
                       absl::FormatDuration(absl::Trunc(
                           absl::Now() - since, absl::Milliseconds(100))));
        }
        source_ = std::move(*source);
        source_opened_ = true;
        return true;
      }
      if (!absl::IsNotFound(source.status())) {
        // There but unreadable (no video, no permission): waiting would not
        // change it; the operator replaces it and restarts the lane.
        const std::string error = absl::StrCat("source ", spec_.display, ": ",
                                               source.status().message());
        spdlog::error("lane {}: {}", id(), error);
        SetState(v1::LANE_STATE_FAILED, error);
        return false;
      }
      why = source.status();  // gone between the look and the open
    }
    if (!missing) {
      // Once per episode, not once per retry.
      missing = true;
      ++counters_.source_outages;
      const std::string error = absl::StrCat(
          "source ", spec_.display,
          " does not exist; waiting for it (retrying with backoff)");
      spdlog::warn("lane {}: {}", id(), error);
      SetState(v1::LANE_STATE_RECONNECTING, error);
    }
    appeared.clear();
    if (absl::Now() - since >= options_.wait_for_missing_source) {
      const std::string error =
          absl::StrCat("source ", spec_.display, " did not appear within ",
                       absl::FormatDuration(options_.wait_for_missing_source));
      spdlog::error("lane {}: {}", id(), error);
      SetState(v1::LANE_STATE_FAILED, error);
      return false;
    }
    SleepUnlessStopped(backoff);
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
  return false;
}

void Lane::ResumeFromKeptPosition() {
  absl::StatusOr<std::string> identity = SourceIdentity(spec_);
  if (!identity.ok()) {
    // Without an identity a position could be applied to another file.
    spdlog::error("lane {}: no resume position kept: {}", id(),
                  identity.status().message());
    return;
  }
  position_ = std::make_unique<ResumePosition>(options_.state_dir, id(),
                                               std::move(*identity));
  const int64_t kept = position_->Load();
  if (kept <= 0) return;
  const int64_t reached = source_->SkipTo(kept);
  const int64_t count = source_->frame_count();
  end_index_ = reached;
  {
    absl::MutexLock lock(&mu_);
    resumed_at_ = reached;
  }
  spdlog::info(
      "lane {}: resumed at frame {} of {} ({}): the crossings before it were "
      "stored in an earlier run{}",
      id(), reached, count >= 0 ? absl::StrCat(count) : "an unknown number",
      spec_.display,
      count >= 0 && reached >= count ? "; nothing left to read" : "");
}

void Lane::ReadFrames() {
  if (!OpenSource()) {
    frames_.Close();
    return;
  }
  if (resumable()) ResumeFromKeptPosition();
  SetState(v1::LANE_STATE_RUNNING);
  const bool live = source_->is_live();
  // A replay that is not paced waits for the analyser (every frame is seen);
  // a camera, or a paced replay, does not wait and loses frames instead.
  const double pace = live ? 0 : config_.pace_fps();
  const bool lockstep = !live && pace <= 0;
  const absl::Duration tick =
      pace > 0 ? absl::Seconds(1.0 / pace) : absl::ZeroDuration();
  const absl::Duration cap = config_.max_fps() > 0
                                 ? absl::Seconds(1.0 / config_.max_fps())
                                 : absl::ZeroDuration();
  absl::Time next_release = absl::Now();
  absl::Time next_allowed = absl::InfinitePast();
  while (!stop_.HasBeenNotified()) {
    absl::StatusOr<std::optional<Frame>> frame = source_->Next();
    counters_.frames_corrupt = source_->corrupt_frames();
    if (!frame.ok()) {
      if (live) {
        frames_.PushWait(Work{});  // the crossing in view is cut off
        if (ReconnectWithBackoff(frame.status())) continue;
      } else {
        spdlog::error("lane {}: {}", id(), frame.status().message());
        SetState(v1::LANE_STATE_FAILED, std::string(frame.status().message()));
      }
      break;
    }
    if (!frame->has_value()) {
      bool resumed;
      {
        absl::MutexLock lock(&mu_);
        resumed = resumed_at_ > 0;
      }
      if (counters_.frames_read == 0 && !resumed) {
        // An empty folder or a video without a frame is a mistake to say
        // out loud, not a replay that finished.
        const uint64_t corrupt = source_->corrupt_frames();
        const std::string why = absl::StrCat(
            "source ", spec_.display, " has no frames",
            corrupt > 0 ? absl::StrCat(" (", corrupt, " unreadable)") : "");
        spdlog::warn("lane {}: {}", id(), why);
        SetState(v1::LANE_STATE_FAILED, why);
        break;
      }
      if (source_->ended_early()) {
        const std::string why = absl::StrCat(
            spec_.display, " ended early (truncated or damaged), after ",
            counters_.frames_read.load(), " frames");
        spdlog::warn("lane {}: {}", id(), why);
        SetState(v1::LANE_STATE_FINISHED, why);
      }
      if (config_.loop()) {
        if (auto reopened = OpenFrameSource(config_.source()); reopened.ok()) {
          source_ = std::move(*reopened);
          continue;
        }
      }
      source_ended_ = true;
      break;
    }
    ++counters_.frames_read;
    end_index_ = (*frame)->index + 1;
    {
      absl::MutexLock lock(&mu_);
      last_frame_ = (*frame)->time;
      const absl::Time now = absl::Now();
      latest_ = (*frame)->image;
      latest_read_ = now;
      ++rate_window_frames_;
      if (rate_window_start_ == absl::InfinitePast()) {
        rate_window_start_ = now;
        rate_window_frames_ = 0;
      } else if (now - rate_window_start_ >= absl::Seconds(2)) {
        frame_rate_ = rate_window_frames_ /
                      absl::ToDoubleSeconds(now - rate_window_start_);
        rate_window_start_ = now;
        rate_window_frames_ = 0;
      }
    }
    if (tick > absl::ZeroDuration()) {
      next_release += tick;
      const absl::Time now = absl::Now();
      if (next_release > now) {
        SleepUnlessStopped(next_release - now);
      } else {
        next_release = now;  // the source itself is slower than the pace
      }
    }
    if (cap > absl::ZeroDuration()) {
      const absl::Time now = absl::Now();
      if (now < next_allowed) {
        if (!lockstep) continue;  // over the cap: skipped, by configuration
        SleepUnlessStopped(next_allowed - now);
      }
      next_allowed = std::max(now, next_allowed) + cap;
    }
    Work work{std::move(**frame)};
    if (lockstep) {
      if (!frames_.PushWait(std::move(work))) break;
    } else if (frames_.PushDropOldest(std::move(work)) > 0) {
      ++counters_.frames_dropped;
    }
  }
  frames_.Close();
}

void Lane::AnalyseFrames() {
  while (std::optional<Work> work = frames_.Pop()) {
    if (!work->frame.has_value()) {
      if (auto record = tracker_.Flush()) {
        Enqueue(std::move(*record), next_index_);
      }
      continue;
    }
    Analyse(*work->frame);
    next_index_ = work->frame->index + 1;
    MarkIfQuiet();
  }
  // Read to its end, or replayed only from before a resume position.
  const int64_t end = std::max(next_index_, end_index_.load());
  if (source_ended_ || !resumable()) {
    // A crossing still open at the end is closed and delivered, never
    // dropped.
    if (auto record = tracker_.Flush()) Enqueue(std::move(*record), end);
    // The end is settled once all before it is: a restart has nothing to do.
    if (source_ended_ && resumable()) outbox_.PushWait(Outgoing{{}, end});
  } else if (tracker_.open()) {
    // Stopped with a vehicle in view: closing it now would store half of it
    // here and the other half after the restart. The position is before it,
    // so the restart reads it whole.
    spdlog::info(
        "lane {}: stopped with a crossing open since frame {}; a restart "
        "reads it again from there",
        id(), tracker_.open_since());
  }
  outbox_.Close();
}

void Lane::MarkIfQuiet() {
  // With no crossing open, every crossing before the next frame has been
  // formed and queued; the mark passes them only once they are
  // acknowledged, since the delivery thread takes the outbox in order. A
  // full outbox means the vault is behind: the mark is left for later.
  if (!resumable() || tracker_.open() ||
      next_index_ - last_mark_ < kMarkEveryFrames) {
    return;
  }
  if (outbox_.TryPush(Outgoing{{}, next_index_})) last_mark_ = next_index_;
}

void Lane::DeliverRecords() {
  while (std::optional<Outgoing> out = outbox_.Pop()) {
    bool settled = true;
    if (out->record.has_value()) {
      settled = Deliver(*out->record, out->settled_before);
      --counters_.records_pending;
      // The sink has its own copy (sealed, stored or given up): the crops
      // of this one do not linger in freed memory.
      for (v1::Item& item : *out->record->mutable_items()) {
        std::string* content = item.mutable_content();
        explicit_bzero(content->data(), content->size());
      }
    }
    if (!settled && !position_held_ && position_ != nullptr) {
      position_held_ = true;
      spdlog::warn(
          "lane {}: resume position stays at frame {} for the rest of the "
          "run: record {} was not stored, so a restart forms it again",
          id(), position_->kept(), out->record->record_id());
    }
    if (!position_held_) KeepPosition(out->settled_before);
  }
}

void Lane::KeepPosition(int64_t next_frame) {
  if (position_ == nullptr) return;
  if (absl::Status s = position_->Save(next_frame); !s.ok()) {
    // The records are stored; only the restart would store them again.
    if (!keep_failing_) {
      spdlog::error("lane {}: resume position not kept: {}", id(), s.message());
    }
    keep_failing_ = true;
    absl::MutexLock lock(&mu_);
    last_error_ = absl::StrCat("resume position not kept: ", s.message());
    return;
  }
  if (keep_failing_) {
    spdlog::info("lane {}: resume position kept again ({})", id(),
                 position_->path());
  }
  keep_failing_ = false;
}

bool Lane::ReconnectWithBackoff(const absl::Status& why) {
  ++counters_.source_outages;
  SetState(v1::LANE_STATE_RECONNECTING, std::string(why.message()));
  spdlog::warn("lane {}: {}; reconnecting", id(), why.message());
  absl::Duration backoff = options_.initial_backoff;
  const absl::Time lost = absl::Now();
  while (SleepUnlessStopped(backoff)) {
    if (absl::Status s = source_->Reopen(); s.ok()) {
      spdlog::info("lane {}: source back after {}", id(),
                   absl::FormatDuration(absl::Trunc(absl::Now() - lost,
                                                    absl::Milliseconds(100))));
      SetState(v1::LANE_STATE_RUNNING);
      return true;
    }
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
  return false;
}

void Lane::Analyse(const Frame& frame) {
  const cv::Rect roi = RegionOfInterest(frame.image);
  const bool moving = gate_.Moving(frame.image, roi);
  if (!moving) {
    // Nothing moved. A vehicle stopped at the booth is still in view, so a
    // still frame says what the last analysed one said; and now and then
    // one is analysed, so that a vehicle that crept away unseen by the gate
    // does not hold its crossing open for ever.
    const bool recheck =
        tracker_.open() && frame.index - last_still_check_ >= kStillCheckFrames;
    if (!recheck) {
      analysed_since_search_ = 0;  // the next moving frame is searched whole
      recent_faces_.clear();
      last_plate_ = cv::Rect();
      if (auto record = tracker_.ObserveStill(frame.index)) {
        Enqueue(std::move(*record), frame.index);
      }
      return;
    }
    last_still_check_ = frame.index;
  } else if (!gate_.changed() && last_seen_empty_) {
    // Held open after motion stopped, and unchanged since an analysed frame
    // that showed nothing: it shows nothing either, and is seen empty
    // without the detectors. After each vehicle the gate holds for a few
    // frames: on the generated footage an eighth of the analysed frames, each
    // costing a whole-lane search for plates and faces on an empty road.
    if (auto record = tracker_.ObserveQuiet(frame.index)) {
      Enqueue(std::move(*record), frame.index);
    }
    return;
  }
  ++counters_.frames_analysed;
  const cv::Mat lane = frame.image(roi);
  // Faces: every few frames a search for new ones where the scene moved
  // (a new face comes in with its vehicle; the whole lane on a still
  // frame's recheck), and in between only around the faces found last,
  // which costs a fraction, and on every few frames only: a crossing keeps
  // its occupants' best crops, and a face moves little in a frame or two.
  // While faces are followed, the search comes half as often: the
  // vehicle's occupants were sought as it came in, and the search costs as
  // much as the rest of the frame's analysis.
  std::vector<FaceHit> faces;
  const int every =
      recent_faces_.empty() ? face_search_every_ : 2 * face_search_every_;
  if (analysed_since_search_ >= every) analysed_since_search_ = 0;
  const int since_search = analysed_since_search_++;
  bool looked = true;
  if (since_search == 0) {
    const cv::Rect search =
        moving ? gate_.moving_region() : cv::Rect(0, 0, lane.cols, lane.rows);
    faces = detectors_.face->Search(lane, search, recent_faces_);
  } else if (since_search % face_follow_every_ == 0) {
    faces = detectors_.face->DetectNear(lane, recent_faces_);
  } else {
    looked = false;  // the faces found last are followed on a later frame
  }
  if (looked) {
    recent_faces_.clear();
    for (const FaceHit& f : faces) recent_faces_.push_back(f.box);
  }
  for (FaceHit& f : faces) f.box += roi.tl();
  counters_.face_detections += faces.size();
  // A new crossing reads its plate afresh.
  if (!tracker_.open()) {
    plate_budget_.Reset();
    last_plate_ = cv::Rect();
  }
  plate_budget_.StartFrame(frame.index);
  PlateFinderOptions plate_options = LanePlateOptions();
  if (last_plate_.empty() ||
      analysed_since_plate_search_ >= kPlateSearchEvery) {
    analysed_since_plate_search_ = 0;
  }
  if (analysed_since_plate_search_++ > 0) plate_options.follow = last_plate_;
  if (plate_options.follow.empty()) {
    if (analysed_without_more_candidates_ != 0) {
      plate_options.more_candidates_below = 0;
    }
    analysed_without_more_candidates_ =
        (analysed_without_more_candidates_ + 1) % kMoreCandidatesEvery;
  }
  std::vector<PlateSighting> plates =
      FindPlates(lane, *detectors_.plate, *detectors_.reader, plate_options,
                 &plate_budget_);
  last_plate_ = plates.empty() ? cv::Rect() : plates[0].box;
  for (PlateSighting& p : plates) p.box += roi.tl();
  counters_.plate_detections += plates.size();
  last_seen_empty_ = looked && faces.empty() && plates.empty();
  // A record that this frame closed holds nothing from it: this frame may
  // open the next crossing, so a resume starts at it.
  if (auto record = tracker_.Observe(frame, faces, plates, looked)) {
    // The crossing closed at this frame; the next one reads its plate
    // afresh, even where it overlaps the plate settled on before.
    plate_budget_.Reset();
    Enqueue(std::move(*record), frame.index);
  }
}

void Lane::Enqueue(v1::Record record, int64_t settled_before) {
  ++counters_.crossings;
  ++counters_.records_pending;
  // Waits while the vault is behind: the reader drops frames meanwhile.
  outbox_.PushWait(Outgoing{std::move(record), settled_before});
}

bool Lane::Deliver(const v1::Record& record, int64_t settled_before) {
  Provenance from;
  if (position_ != nullptr) {
    from.source = position_->identity();
    from.settled_before = settled_before;
  }
  absl::Duration backoff = absl::Milliseconds(100);
  for (int attempt = 1;; ++attempt) {
    absl::Status s = sink_->Submit(record, from);
    if (s.ok()) {
      ++counters_.records_stored;
      return true;
    }
    // Log the first failure and then at doubling intervals, not every retry.
    if ((attempt & (attempt - 1)) == 0) {
      spdlog::warn("lane {}: record {} not acknowledged (attempt {}): {}", id(),
                   record.record_id(), attempt, s.message());
    }
    if (s.code() == absl::StatusCode::kInvalidArgument) break;  // won't change
    if (stop_.HasBeenNotified() && attempt >= kAttemptsAfterStop) break;
    if (!SleepUnlessStopped(backoff)) absl::SleepFor(backoff);
    backoff = std::min(backoff * 2, absl::Seconds(5));
  }
  ++counters_.records_failed;
  {
    absl::MutexLock lock(&mu_);
    last_error_ =
        absl::StrCat("record ", record.record_id(), " could not be stored");
  }
  if (position_ != nullptr) {
    spdlog::error(
        "lane {}: record {} could not be stored; its crossing is read again "
        "when the lane restarts",
        id(), record.record_id());
  } else {
    spdlog::error("lane {}: record {} could not be stored and is lost", id(),
                  record.record_id());
  }
  return false;
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
    status.set_resumed_at_frame(resumed_at_);
    const absl::Time now = absl::Now();
    status.set_last_frame_age_ms(
        latest_read_ == absl::InfinitePast()
            ? -1
            : absl::ToInt64Milliseconds(now - latest_read_));
    // A source that stopped has no rate, whatever its last window said.
    status.set_frame_rate(now - latest_read_ > absl::Seconds(5) ? 0
                                                                : frame_rate_);
  }
  v1::LaneCounters* c = status.mutable_counters();
  c->set_frames_read(counters_.frames_read);
  c->set_frames_dropped(counters_.frames_dropped);
  c->set_frames_corrupt(counters_.frames_corrupt);
  c->set_records_pending(counters_.records_pending);
  c->set_frames_analysed(counters_.frames_analysed);
  c->set_plate_detections(counters_.plate_detections);
  c->set_face_detections(counters_.face_detections);
  c->set_crossings(counters_.crossings);
  c->set_records_stored(counters_.records_stored);
  c->set_records_failed(counters_.records_failed);
  c->set_source_outages(counters_.source_outages);
  return status;
}

absl::StatusOr<v1::Snapshot> Lane::Snapshot() {
  cv::Mat frame;
  absl::Time taken;
  {
    absl::MutexLock lock(&mu_);
    frame = latest_;
    taken = last_frame_;
  }
  if (frame.empty()) {
    return absl::UnavailableError(
        absl::StrCat("lane ", id(), " has read no frame yet"));
  }
  absl::MutexLock lock(&snapshot_mu_);
  if (!snapshot_detectors_.has_value()) {
    absl::StatusOr<DetectorSet> made = NewDetectorSet(config_.detectors());
    if (!made.ok()) return made.status();
    snapshot_detectors_ = std::move(*made);
  }
  absl::StatusOr<MaskedSnapshot> masked =
      MaskSnapshot(frame, RegionOfInterest(frame), *snapshot_detectors_->face,
                   *snapshot_detectors_->plate);
  if (!masked.ok()) return masked.status();
  v1::Snapshot out;
  out.set_lane_id(id());
  out.set_jpeg(std::move(masked->jpeg));
  if (taken != absl::InfinitePast()) *out.mutable_taken() = ToProto(taken);
  out.set_faces_masked(static_cast<int>(masked->faces.size()));
  out.set_plates_masked(static_cast<int>(masked->plates.size()));
  return out;
}

}  // namespace lanevault::capture
