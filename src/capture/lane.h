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
#include "absl/time/time.h"
#include "capture/bounded_queue.h"
#include "capture/crossing_tracker.h"
#include "capture/detectors.h"
#include "capture/frame_source.h"
#include "capture/motion_gate.h"
#include "capture/plate_finder.h"
#include "capture/record_sink.h"
#include "capture/resume_position.h"
#include "lanevault/v1/config.pb.h"
#include "lanevault/v1/lanes.pb.h"

namespace lanevault::capture {

// How a program runs its lanes, as opposed to what each lane's config says
// (lanevaultd passes its own state_dir joined with "lanes").
struct LaneOptions {
  // Where file and folder lanes keep their resume positions
  // (resume_position.h); made if missing. Empty: none kept, and a
  // restarted replay starts again at frame 0 and stores its crossings again.
  std::string state_dir;
  // A source that cannot be opened or is lost is retried after this, then
  // after twice as long each time, up to max_backoff.
  absl::Duration initial_backoff = absl::Milliseconds(500);
  absl::Duration max_backoff = absl::Seconds(30);
  // How long a file or folder lane waits for a source that does not exist
  // before it finishes FAILED. Infinite: until Stop(), since an operator may
  // copy the file in. A run that must end by itself (lanevaultd
  // --exit_when_lanes_done, replay benchmarks) passes a finite one, zero
  // to give up at once.
  absl::Duration wait_for_missing_source = absl::InfiniteDuration();
};

// A lane runs three threads, joined by bounded queues so that a slow step
// never grows memory without limit:
//   reader:   source -> frame queue (a live camera's frames are dropped and
//             counted when the queue is full; a replay waits, unless paced)
//   analyser: motion gate, detectors, crossing tracker -> record outbox
//   delivery: record outbox -> sink, retried with backoff
// The outbox makes the analyser wait when it is full, so under overload it
// is frames that are dropped, never a formed record.
//
// The source is opened by the reader, not by Create: a source that cannot
// be read is the lane's state, not the program's failure.
//   - A live source (stream, device) that is down, at start or later, is
//     RECONNECTING and reopened with backoff until Stop().
//   - A file or folder that does not exist is RECONNECTING ("waiting for
//     it", logged once) and looked for again with backoff, until it appears
//     (and has stopped changing), Stop(), or wait_for_missing_source.
//   - A file that exists but is no video, or a folder or video with no
//     frames, is FAILED, with last_error naming the source and why.
//
// Resuming (with LaneOptions::state_dir; not for live or looping lanes):
// after the sink acknowledges a record, the lane durably keeps the position
// "every crossing that ended before frame N is acknowledged and none was
// open at N", and a restarted lane skips the frames before N. Records reach
// the sink in the order they were formed, each with the frame that closed
// it; the position moves to that frame only once the record and all before
// it are acknowledged, and once a record is not, it stays where it is for
// the rest of the run. Stop() leaves an open crossing of such a lane
// unclosed: the position is before it, so the restarted lane reads it whole
// instead of storing half of it twice.
class Lane {
 public:
  // Checks the config and loads the detectors; does not touch the source.
  // INVALID_ARGUMENT / NOT_FOUND with a sentence naming the lane only when
  // the config can never work: a malformed source spec, bad detector
  // settings or models, an unknown plate region, a state_dir that cannot be
  // made.
  static absl::StatusOr<std::unique_ptr<Lane>> Create(v1::LaneConfig config,
                                                      RecordSink* sink,
                                                      LaneOptions options = {});
  ~Lane();  // stops and joins
  Lane(const Lane&) = delete;
  Lane& operator=(const Lane&) = delete;

  // Runs on threads of its own until done (see Wait()).
  void Start();
  // Runs until done; the analysis happens in the calling thread. Returns
  // once every formed record has been acknowledged or, after Stop(),
  // counted as failed.
  absl::Status Run();
  void Stop();
  // Blocks until a Start()ed lane is done: its file or folder has been read
  // to the end (also when it was resumed at its end: nothing to do), it
  // turned out unreadable or to have no frames (FAILED), its missing source
  // did not appear within wait_for_missing_source (FAILED), or Stop() was
  // called. A live lane is done only at Stop(); so is a file or folder lane
  // whose source is missing, unless wait_for_missing_source is finite (one
  // stopped before its source ever opened ends FAILED: it read nothing).
  void Wait();

  // State and counters; safe to call from any thread.
  v1::LaneStatus Status() const;
  // The latest frame read, with every face and plate masked here
  // (snapshot_mask.h) and the region of interest drawn: no unmasked frame
  // leaves the lane. UNAVAILABLE before the first frame. Safe from any
  // thread; runs detectors of its own, not the analyser's. Never kept.
  absl::StatusOr<v1::Snapshot> Snapshot();
  const std::string& id() const { return config_.lane_id(); }

 private:
  // What the reader hands the analyser: a frame, or news that the source
  // broke off (the open crossing is closed: the vehicle may be gone).
  struct Work {
    std::optional<Frame> frame;
  };
  // What the analyser hands the delivery thread: a record, or only a mark
  // that the position may move (a quiet stretch, the end of the source).
  struct Outgoing {
    std::optional<v1::Record> record;
    // Frames before this are settled once `record` and everything queued
    // before it are acknowledged.
    int64_t settled_before = 0;
  };

  Lane(v1::LaneConfig config, SourceSpec spec, LaneOptions options,
       DetectorSet detectors, RecordSink* sink);

  bool resumable() const;
  bool OpenSource();
  void ResumeFromKeptPosition();
  void ReadFrames();
  void AnalyseFrames();
  void DeliverRecords();
  void Analyse(const Frame& frame);
  void MarkIfQuiet();
  void Enqueue(v1::Record record, int64_t settled_before);
  bool Deliver(const v1::Record& record, int64_t settled_before);
  void KeepPosition(int64_t next_frame);
  bool ReconnectWithBackoff(const absl::Status& why);
  cv::Rect RegionOfInterest(const cv::Mat& frame) const;
  void SetState(v1::LaneState state, std::string error = "");
  bool SleepUnlessStopped(absl::Duration d);

  v1::LaneConfig config_;
  SourceSpec spec_;
  LaneOptions options_;
  std::unique_ptr<FrameSource> source_;  // the reader thread's
  // Made by the reader before its first frame, used by the delivery thread
  // after (the queues between them order the two).
  std::unique_ptr<ResumePosition> position_;
  DetectorSet detectors_;  // the analyser's
  RecordSink* sink_;
  MotionGate gate_;
  CrossingTracker tracker_;
  PlateReadBudget plate_budget_;
  int face_search_every_;
  int face_follow_every_;
  int analysed_since_search_ = 0;
  int64_t last_still_check_ = 0;        // source index
  std::vector<cv::Rect> recent_faces_;  // in the region of interest
  // The plate of the last analysed frame, in the region of interest;
  // empty: the next plate search is of the whole region.
  cv::Rect last_plate_;
  int analysed_since_plate_search_ = 0;
  // Analysed frames with no plate followed, modulo kMoreCandidatesEvery
  // (a lane runs for years: a plain count would overflow).
  int analysed_without_more_candidates_ = 0;
  // The last analysed frame looked for faces and found neither a face nor
  // a plate: frames the motion gate only holds open after it are not
  // analysed.
  bool last_seen_empty_ = false;
  int64_t next_index_ = 0;      // the analyser's: after the last frame it saw
  int64_t last_mark_ = 0;       // the analyser's: the last position mark
  bool position_held_ = false;  // the delivery thread's
  bool keep_failing_ = false;   // the delivery thread's
  BoundedQueue<Work> frames_;
  BoundedQueue<Outgoing> outbox_;
  std::thread thread_;
  absl::Notification stop_;
  // Set by the reader before it closes the frame queue: whether the source
  // was read to its end, and the index after its last frame.
  std::atomic<bool> source_ended_{false};
  std::atomic<bool> source_opened_{false};
  std::atomic<int64_t> end_index_{0};

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
  int64_t resumed_at_ ABSL_GUARDED_BY(mu_) = 0;
  // The latest frame (shared, not copied: each read makes a new buffer) and
  // the frame rate, counted by the wall clock over windows of 2 s.
  cv::Mat latest_ ABSL_GUARDED_BY(mu_);
  absl::Time latest_read_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time rate_window_start_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  int rate_window_frames_ ABSL_GUARDED_BY(mu_) = 0;
  double frame_rate_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Mutex snapshot_mu_;  // one snapshot at a time, its detectors
  std::optional<DetectorSet> snapshot_detectors_ ABSL_GUARDED_BY(snapshot_mu_);
};

}  // namespace lanevault::capture

#endif  // LANEVAULT_CAPTURE_LANE_H_
