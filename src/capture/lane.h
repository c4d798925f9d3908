#ifndef LANEVAULT_CAPTURE_LANE_H_
#define LANEVAULT_CAPTURE_LANE_H_

// The capture module's public surface: a lane reads frames from its source,
// runs the detectors while something moves, forms one record per crossing,
// and hands each record to a sink (in the daemon, the policy-and-vault
// intake; on a capture node, a gRPC client).

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "capture/bounded_queue.h"
#include "capture/crossing_tracker.h"
#include "capture/detectors.h"
#include "capture/frame_source.h"
#include "capture/motion_gate.h"
#include "capture/plate_finder.h"
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

// A lane runs three threads, joined by bounded queues so that a slow step
// never grows memory without limit:
//   reader:   source -> frame queue (a live camera's frames are dropped and
//             counted when the queue is full; a replay waits, unless paced)
//   analyser: motion gate, detectors, crossing tracker -> record outbox
//   delivery: record outbox -> sink, retried with backoff
// The outbox makes the analyser wait when it is full, so under overload it
// is frames that are dropped, never a formed record.
class Lane {
 public:
  // Opens the source and loads the detectors. NOT_FOUND / INVALID_ARGUMENT
  // with a sentence when the config cannot work.
  static absl::StatusOr<std::unique_ptr<Lane>> Create(v1::LaneConfig config,
                                                      RecordSink* sink);
  ~Lane();  // stops and joins
  Lane(const Lane&) = delete;
  Lane& operator=(const Lane&) = delete;

  // Runs on threads of its own until the source ends or Stop().
  void Start();
  // Runs until the source ends or Stop(); the analysis happens in the calling
  // thread. Returns once every formed record has been acknowledged or, after
  // Stop(), counted as failed.
  absl::Status Run();
  void Stop();
  // Blocks until a Start()ed lane has finished.
  void Wait();

  // State and counters; safe to call from any thread.
  v1::LaneStatus Status() const;
  const std::string& id() const { return config_.lane_id(); }

 private:
  // What the reader hands the analyser: a frame, or news that the source
  // broke off (the open crossing is closed: the vehicle may be gone).
  struct Work {
    std::optional<Frame> frame;
  };

  Lane(v1::LaneConfig config, std::unique_ptr<FrameSource> source,
       DetectorSet detectors, RecordSink* sink);

  void ReadFrames();
  void AnalyseFrames();
  void DeliverRecords();
  void Analyse(const Frame& frame);
  void Enqueue(v1::Record record);
  void Deliver(const v1::Record& record);
  bool ReconnectWithBackoff(const absl::Status& why);
  cv::Rect RegionOfInterest(const cv::Mat& frame) const;
  void SetState(v1::LaneState state, std::string error = "");
  bool SleepUnlessStopped(absl::Duration d);

  v1::LaneConfig config_;
  std::unique_ptr<FrameSource> source_;  // the reader thread's
  DetectorSet detectors_;                // the analyser's
  RecordSink* sink_;
  MotionGate gate_;
  CrossingTracker tracker_;
  PlateReadBudget plate_budget_;
  int face_search_every_;
  int analysed_since_search_ = 0;
  int64_t last_still_check_ = 0;        // source index
  std::vector<cv::Rect> recent_faces_;  // in the region of interest
  // The plate of the last analysed frame, in the region of interest;
  // empty: the next plate search is of the whole region.
  cv::Rect last_plate_;
  int analysed_since_plate_search_ = 0;
  BoundedQueue<Work> frames_;
  BoundedQueue<v1::Record> outbox_;
  std::thread thread_;
  absl::Notification stop_;

  struct Counters {
    std::atomic<uint64_t> frames_read{0}, frames_dropped{0}, frames_corrupt{0},
        frames_analysed{0}, plate_detections{0}, face_detections{0},
        crossings{0}, records_stored{0}, records_failed{0}, source_outages{0},
        records_pending{0};
  } counters_;
  mutable absl::Mutex mu_;
  v1::LaneState state_ ABSL_GUARDED_BY(mu_) = v1::LANE_STATE_STARTING;
  std::string last_error_ ABSL_GUARDED_BY(mu_);
  absl::Time last_frame_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace lanevault::capture

#endif  // LANEVAULT_CAPTURE_LANE_H_
