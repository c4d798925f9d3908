#ifndef LANEVAULT_CAPTURE_LANE_H_
#define LANEVAULT_CAPTURE_LANE_H_

// The capture module's public surface: a lane reads frames from its source,
// runs the detectors while something moves, forms one record per crossing,
// and hands each record to a sink (in the daemon, the policy-and-vault
// intake; on a capture node, a gRPC client).

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "capture/crossing_tracker.h"
#include "capture/detectors.h"
#include "capture/frame_source.h"
#include "capture/motion_gate.h"
#include "lanevault/v1/config.pb.h"
#include "lanevault/v1/lanes.pb.h"

namespace lanevault::capture {

// Where finished crossings go. Thread-safe: several lanes share one sink.
class RecordSink {
 public:
  virtual ~RecordSink() = default;
  // OK means acknowledged: stored durably, or dropped on purpose by policy.
  // Any error means it was not, and the lane retries with backoff.
  virtual absl::Status Submit(v1::Record record) = 0;
};

class Lane {
 public:
  // Opens the source and loads the detectors. NOT_FOUND / INVALID_ARGUMENT
  // with a sentence when the config cannot work.
  static absl::StatusOr<std::unique_ptr<Lane>> Create(v1::LaneConfig config,
                                                      RecordSink* sink);
  ~Lane();  // stops and joins
  Lane(const Lane&) = delete;
  Lane& operator=(const Lane&) = delete;

  // Runs on a thread of its own until the source ends or Stop().
  void Start();
  // Runs in the calling thread; returns when the source ends or on Stop().
  absl::Status Run();
  void Stop();
  // Blocks until a Start()ed lane has finished.
  void Wait();

  // State and counters; safe to call from any thread.
  v1::LaneStatus Status() const;
  const std::string& id() const { return config_.lane_id(); }

 private:
  Lane(v1::LaneConfig config, std::unique_ptr<FrameSource> source,
       DetectorSet detectors, RecordSink* sink);

  void Analyse(const Frame& frame);
  void Deliver(v1::Record record);
  bool ReconnectWithBackoff(const absl::Status& why);
  cv::Rect RegionOfInterest(const cv::Mat& frame) const;
  void SetState(v1::LaneState state, std::string error = "");
  bool SleepUnlessStopped(absl::Duration d);

  v1::LaneConfig config_;
  std::unique_ptr<FrameSource> source_;
  DetectorSet detectors_;
  RecordSink* sink_;
  MotionGate gate_;
  CrossingTracker tracker_;
  std::thread thread_;
  absl::Notification stop_;

  struct Counters {
    std::atomic<uint64_t> frames_read{0}, frames_dropped{0}, frames_analysed{0},
        plate_detections{0}, face_detections{0}, crossings{0},
        records_stored{0}, records_failed{0}, source_outages{0};
  } counters_;
  mutable absl::Mutex mu_;
  v1::LaneState state_ ABSL_GUARDED_BY(mu_) = v1::LANE_STATE_STARTING;
  std::string last_error_ ABSL_GUARDED_BY(mu_);
  absl::Time last_frame_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace lanevault::capture

#endif  // LANEVAULT_CAPTURE_LANE_H_
