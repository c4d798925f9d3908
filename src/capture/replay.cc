#include "capture/replay.h"

#include <iterator>
#include <memory>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "capture/lane.h"

namespace lanevault::capture {
namespace {

// Notes what each record holds, for checking against the footage's truth.
class NotingSink final : public RecordSink {
 public:
  absl::Status Submit(v1::Record record) override {
    std::string plate;
    bool face = false;
    absl::MutexLock lock(&mu_);
    for (const v1::Item& item : record.items()) {
      switch (item.category()) {
        case v1::DATA_CATEGORY_PLATE_TEXT:
          plate = item.content();
          break;
        case v1::DATA_CATEGORY_PLATE_IMAGE:
          noted_.plate_crop_widths.push_back(item.box().width());
          break;
        case v1::DATA_CATEGORY_FACE_IMAGE:
          face = true;
          noted_.face_crop_widths.push_back(item.box().width());
          break;
        default:
          break;
      }
    }
    noted_.plate_texts.push_back(std::move(plate));
    noted_.records_with_face += face;
    return absl::OkStatus();
  }
  void MoveTo(ReplayResult& r) {
    absl::MutexLock lock(&mu_);
    auto append = [](auto& to, auto& from) {
      to.insert(to.end(), std::make_move_iterator(from.begin()),
                std::make_move_iterator(from.end()));
      from.clear();
    };
    append(r.plate_texts, noted_.plate_texts);
    append(r.plate_crop_widths, noted_.plate_crop_widths);
    append(r.face_crop_widths, noted_.face_crop_widths);
    r.records_with_face += noted_.records_with_face;
    noted_.records_with_face = 0;
  }

 private:
  absl::Mutex mu_;
  ReplayResult noted_ ABSL_GUARDED_BY(mu_);  // what the records held
};

}  // namespace

absl::StatusOr<std::vector<ReplayResult>> ReplayLanes(
    const ReplayOptions& options) {
  std::vector<ReplayResult> results(options.lanes);
  std::vector<NotingSink> sinks(options.lanes);
  for (int round = 0; round < options.repeat; ++round) {
    std::vector<std::unique_ptr<Lane>> lanes;
    for (int i = 0; i < options.lanes; ++i) {
      v1::LaneConfig c;
      c.set_lane_id(absl::StrCat("r", i + 1));
      c.set_checkpoint_id("replay");
      c.set_source(options.source);
      c.set_pace_fps(static_cast<float>(options.pace_fps));
      *c.mutable_detectors() = options.detectors;
      // A figure over a source that is not there means nothing: fail at
      // once instead of waiting for it.
      LaneOptions lane_options;
      lane_options.wait_for_missing_source = absl::ZeroDuration();
      absl::StatusOr<std::unique_ptr<Lane>> lane =
          Lane::Create(c, &sinks[i], lane_options);
      if (!lane.ok()) return lane.status();
      lanes.push_back(std::move(*lane));
    }
    const absl::Time start = absl::Now();
    for (auto& lane : lanes) lane->Start();
    // Before the lanes go, on every way out.
    absl::Cleanup stop = [&options] {
      if (options.on_stop) options.on_stop();
    };
    if (options.on_start) {
      options.on_start([&lanes] {
        std::vector<v1::LaneStatus> statuses;
        for (const auto& lane : lanes) statuses.push_back(lane->Status());
        return statuses;
      });
    }
    for (int i = 0; i < options.lanes; ++i) {
      lanes[i]->Wait();
      const v1::LaneStatus s = lanes[i]->Status();
      if (s.state() == v1::LANE_STATE_FAILED) {
        return absl::FailedPreconditionError(
            absl::StrCat("lane ", s.lane_id(), ": ", s.last_error()));
      }
      ReplayResult& r = results[i];
      r.lane_id = s.lane_id();
      r.frames_read += s.counters().frames_read();
      r.frames_analysed += s.counters().frames_analysed();
      r.frames_dropped += s.counters().frames_dropped();
      r.records += s.counters().records_stored();
      r.face_sightings += s.counters().face_detections();
      r.plate_sightings += s.counters().plate_detections();
      r.seconds += absl::ToDoubleSeconds(absl::Now() - start);
      sinks[i].MoveTo(r);
    }
  }
  for (ReplayResult& r : results) {
    r.frames_per_second = r.seconds > 0 ? r.frames_read / r.seconds : 0;
  }
  return results;
}

}  // namespace lanevault::capture
