#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <set>
#include <thread>

#include "absl/algorithm/container.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "capture/character_recut.h"
#include "capture/character_row.h"
#include "capture/crossing_tracker.h"
#include "capture/detectors.h"
#include "capture/geometry.h"
#include "capture/glyph_classifier.h"
#include "capture/glyph_training.h"
#include "capture/lane.h"
#include "capture/motion_gate.h"
#include "capture/mser_plate_rows.h"
#include "capture/plate_finder.h"
#include "capture/plate_regions.h"
#include "capture/plate_text.h"
#include "common/files.h"
#include "footage/scene.h"
#include "gtest/gtest.h"
#include "opencv2/imgproc.hpp"
#include "testing/collecting_sink.h"
#include "testing/test_util.h"

namespace lanevault::capture {
namespace {

using ::lanevault::testing::CollectingSink;

v1::LaneConfig FolderLane(const std::string& frames) {
  v1::LaneConfig c;
  c.set_lane_id("lane-t");
  c.set_checkpoint_id("cp-t");
  c.set_source("folder:" + frames);
  return c;
}

std::string PlateText(const v1::Record& r) {
  for (const auto& item : r.items()) {
    if (item.category() == v1::DATA_CATEGORY_PLATE_TEXT) return item.content();
  }
  return "";
}

int Count(const v1::Record& r, v1::DataCategory c) {
  int n = 0;
  for (const auto& item : r.items()) n += item.category() == c;
  return n;
}

// The footage is rendered once per test binary: it is the slow part.
class LaneOnFootage : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    testing::MakeFootage(dir_->Join("one"), {"KXR4821"});
    testing::MakeFootage(dir_->Join("two"), {"KXR4821", "MVB7350"});
  }
  static void TearDownTestSuite() { delete dir_; }
  static testing::TempDir* dir_;
};
testing::TempDir* LaneOnFootage::dir_ = nullptr;

TEST_F(LaneOnFootage, OneVehicleGivesExactlyOneRecordWithPlateAndFace) {
  CollectingSink sink;
  auto lane = Lane::Create(FolderLane(dir_->Join("one/frames")), &sink);
  ASSERT_TRUE(lane.ok()) << lane.status();
  ASSERT_TRUE((*lane)->Run().ok());
  auto records = sink.records();
  ASSERT_EQ(records.size(), 1u);
  const v1::Record& r = records[0];
  EXPECT_EQ(PlateText(r), "KXR4821");
  EXPECT_EQ(Count(r, v1::DATA_CATEGORY_PLATE_IMAGE), 1);
  EXPECT_GE(Count(r, v1::DATA_CATEGORY_FACE_IMAGE), 1);
  EXPECT_EQ(Count(r, v1::DATA_CATEGORY_SCENE_IMAGE), 0);  // crops, not frames
  EXPECT_EQ(r.lane_id(), "lane-t");
  EXPECT_EQ(r.checkpoint_id(), "cp-t");
  EXPECT_GT(r.frames_seen(), 10);
  const auto status = (*lane)->Status();
  EXPECT_EQ(status.state(), v1::LANE_STATE_FINISHED);
  EXPECT_EQ(status.counters().records_stored(), 1u);
  // The motion gate skipped at least part of the empty road.
  EXPECT_LT(status.counters().frames_analysed(),
            status.counters().frames_read());
}

// At a booth a vehicle stops: the picture is still, so the motion gate
// closes, but the crossing is not over until the vehicle has left.
TEST_F(LaneOnFootage, VehicleThatStopsAtTheBoothGivesOneRecord) {
  footage::SceneOptions options;
  options.vehicles.push_back({"KXR4821", {40, 40, 150}});
  options.stop_frames = 60;  // two seconds at 30 frames/s
  auto scene = footage::RenderScene(options);
  ASSERT_TRUE(scene.ok()) << scene.status();
  const std::string dir = dir_->Join("stop");
  ASSERT_TRUE(footage::WriteScene(*scene, options, dir).ok());

  CollectingSink sink;
  auto lane = Lane::Create(FolderLane(dir + "/frames"), &sink);
  ASSERT_TRUE(lane.ok()) << lane.status();
  ASSERT_TRUE((*lane)->Run().ok());
  auto records = sink.records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(PlateText(records[0]), "KXR4821");
  // The still frames were mostly not analysed: the gate saved the work.
  const auto status = (*lane)->Status();
  EXPECT_LT(status.counters().frames_analysed() + 40,
            status.counters().frames_read());
}

TEST_F(LaneOnFootage, TwoVehiclesGiveTwoRecords) {
  CollectingSink sink;
  auto lane = Lane::Create(FolderLane(dir_->Join("two/frames")), &sink);
  ASSERT_TRUE(lane.ok()) << lane.status();
  ASSERT_TRUE((*lane)->Run().ok());
  auto records = sink.records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(PlateText(records[0]), "KXR4821");
  EXPECT_EQ(PlateText(records[1]), "MVB7350");
  EXPECT_NE(records[0].record_id(), records[1].record_id());
}

TEST_F(LaneOnFootage, CorruptImageIsSkippedAndCounted) {
  testing::TempDir work;
  std::filesystem::copy(dir_->Join("one/frames"), work.Join("frames"));
  std::ofstream(work.Join("frames/frame_0020.jpg"), std::ios::trunc)
      << "not a jpeg at all";
  std::ofstream(work.Join("frames/frame_0021.jpg"), std::ios::trunc);  // empty
  CollectingSink sink;
  auto lane = Lane::Create(FolderLane(work.Join("frames")), &sink);
  ASSERT_TRUE(lane.ok());
  ASSERT_TRUE((*lane)->Run().ok());
  EXPECT_EQ((*lane)->Status().counters().frames_corrupt(), 2u);
  ASSERT_EQ(sink.records().size(), 1u);
  EXPECT_EQ(PlateText(sink.records()[0]), "KXR4821");
}

TEST_F(LaneOnFootage, VideoFileReplaysToTheSameRecord) {
  CollectingSink sink;
  v1::LaneConfig c = FolderLane("");
  c.set_source("file:" + dir_->Join("one/lane.avi"));
  auto lane = Lane::Create(c, &sink);
  ASSERT_TRUE(lane.ok()) << lane.status();
  ASSERT_TRUE((*lane)->Run().ok());
  ASSERT_EQ(sink.records().size(), 1u);
  EXPECT_EQ(PlateText(sink.records()[0]), "KXR4821");
}

// A vault that takes its time: every record waits, as under a slow disk.
class SlowSink : public RecordSink {
 public:
  explicit SlowSink(absl::Duration delay) : delay_(delay) {}
  absl::Status Submit(v1::Record record) override {
    absl::SleepFor(delay_);
    return inner_.Submit(std::move(record));
  }
  std::vector<v1::Record> records() { return inner_.records(); }

 private:
  absl::Duration delay_;
  CollectingSink inner_;
};

TEST_F(LaneOnFootage, OverloadDropsFramesButNoRecord) {
  // Frames arrive at 60 a second, faster than the lane analyses them, and
  // the vault takes two seconds a record: frames must be dropped and
  // counted, and every record formed must still reach the vault.
  SlowSink sink(absl::Seconds(2));
  v1::LaneConfig c = FolderLane(dir_->Join("two/frames"));
  c.set_pace_fps(60);
  c.set_queue_frames(2);
  auto lane = Lane::Create(c, &sink);
  ASSERT_TRUE(lane.ok()) << lane.status();
  ASSERT_TRUE((*lane)->Run().ok());
  const auto status = (*lane)->Status();
  const auto& n = status.counters();
  EXPECT_GT(n.frames_dropped(), 0u);
  EXPECT_EQ(n.frames_read(), 2u * 48 + 3 * 14);  // every frame was read
  EXPECT_LE(n.frames_analysed() + n.frames_dropped(), n.frames_read());
  EXPECT_GE(n.crossings(), 1u);
  EXPECT_EQ(n.records_stored(), n.crossings());  // none lost
  EXPECT_EQ(n.records_failed(), 0u);
  EXPECT_EQ(n.records_pending(), 0u);
  const auto records = sink.records();
  EXPECT_EQ(records.size(), n.crossings());
  // With most frames dropped the reader sees few views of each plate, and
  // its first reading may miss (how many it sees follows the machine's
  // load); the true plate must still be among the record's readings, which
  // is what a lookup matches.
  for (const v1::Record& r : records) {
    const std::string plate = PlateText(r);
    if (plate.empty()) continue;
    std::vector<std::string> readings = {plate};
    for (const v1::PlateCandidate& candidate : r.plate_candidates()) {
      readings.push_back(candidate.text());
    }
    const bool true_plate_read = absl::c_any_of(
        readings,
        [](const std::string& t) { return t == "KXR4821" || t == "MVB7350"; });
    EXPECT_TRUE(true_plate_read) << absl::StrJoin(readings, ",");
  }
}

TEST_F(LaneOnFootage, TruncatedVideoEndsTheLaneAndIsReported) {
  testing::TempDir work;
  const std::string path = work.Join("cut.avi");
  std::filesystem::copy_file(dir_->Join("two/lane.avi"), path);
  // Cut after the first vehicle has left.
  std::filesystem::resize_file(path,
                               std::filesystem::file_size(path) * 62 / 100);
  CollectingSink sink;
  v1::LaneConfig c = FolderLane("");
  c.set_source("file:" + path);
  auto lane = Lane::Create(c, &sink);
  ASSERT_TRUE(lane.ok()) << lane.status();
  ASSERT_TRUE((*lane)->Run().ok());
  const auto status = (*lane)->Status();
  EXPECT_EQ(status.state(), v1::LANE_STATE_FINISHED);
  EXPECT_LT(status.counters().frames_read(), 2u * 48 + 3 * 14);
  EXPECT_NE(status.last_error().find("ended early"), std::string::npos)
      << status.last_error();
  // The vehicle seen before the cut still made its record.
  ASSERT_GE(sink.records().size(), 1u);
  EXPECT_EQ(PlateText(sink.records()[0]), "KXR4821");
}

// Serves the first part of a file over HTTP once, then hangs up and stops
// listening: a camera stream that drops and does not come back.
class DroppingStreamServer {
 public:
  DroppingStreamServer(std::string bytes, size_t send)
      : bytes_(std::move(bytes)), send_(send) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    listen(fd_, 1);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~DroppingStreamServer() { thread_.join(); }
  int port() const { return port_; }

 private:
  void Serve() {
    const int c = accept(fd_, nullptr, nullptr);
    close(fd_);  // no second connection: reconnects are refused
    if (c < 0) return;
    char request[4096];
    (void)!read(c, request, sizeof request);
    const std::string header =
        "HTTP/1.1 200 OK\r\nContent-Type: video/x-msvideo\r\n"
        "Content-Length: " +
        std::to_string(bytes_.size()) + "\r\nConnection: close\r\n\r\n";
    (void)!write(c, header.data(), header.size());
    for (size_t off = 0; off < send_;) {
      const ssize_t n =
          write(c, bytes_.data() + off, std::min<size_t>(65536, send_ - off));
      if (n <= 0) break;
      off += n;
    }
    close(c);
  }

  std::string bytes_;
  size_t send_;
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

TEST_F(LaneOnFootage, StreamThatDropsIsReportedAndTheLaneSurvives) {
  std::ifstream in(dir_->Join("two/lane.avi"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)),
                    std::istreambuf_iterator<char>());
  DroppingStreamServer server(bytes, bytes.size() * 62 / 100);
  CollectingSink sink;
  v1::LaneConfig c = FolderLane("");
  c.set_source("http://127.0.0.1:" + std::to_string(server.port()) +
               "/lane.avi");
  auto lane = Lane::Create(c, &sink);
  ASSERT_TRUE(lane.ok()) << lane.status();
  (*lane)->Start();
  // Wait for the outage to be reported (the lane then retries with backoff).
  v1::LaneStatus status;
  for (int i = 0; i < 600; ++i) {
    status = (*lane)->Status();
    if (status.counters().source_outages() > 0) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(status.counters().source_outages(), 1u);
  EXPECT_EQ(status.state(), v1::LANE_STATE_RECONNECTING);
  EXPECT_FALSE(status.last_error().empty());
  EXPECT_GT(status.counters().frames_read(), 48u);
  (*lane)->Stop();
  (*lane)->Wait();
  // A stream delivers frames faster than the lane analyses them here, so
  // which crossings formed depends on the machine; that none formed was
  // lost does not.
  status = (*lane)->Status();
  EXPECT_EQ(status.counters().records_stored(), status.counters().crossings());
  EXPECT_EQ(sink.records().size(), status.counters().crossings());
}

// A missing source is the lane's state, never the program's failure.
TEST(Lane, MissingSourceIsReportedNotFatal) {
  CollectingSink sink;
  LaneOptions options;
  options.wait_for_missing_source = absl::ZeroDuration();
  auto lane = Lane::Create(FolderLane("/nonexistent/frames"), &sink, options);
  ASSERT_TRUE(lane.ok()) << lane.status();
  (*lane)->Start();
  (*lane)->Wait();
  const v1::LaneStatus status = (*lane)->Status();
  EXPECT_EQ(status.state(), v1::LANE_STATE_FAILED);
  EXPECT_NE(status.last_error().find("/nonexistent/frames"), std::string::npos)
      << status.last_error();
}

// A FIFO would block FFmpeg's open, which every lane waits on: refused
// before it is opened, so the other lanes and a stop never hang on it.
TEST(Lane, AFifoIsRefusedNotOpened) {
  testing::TempDir dir;
  const std::string fifo = dir.Join("lane.avi");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  CollectingSink sink;
  v1::LaneConfig config = FolderLane("");
  config.set_source("file:" + fifo);
  auto lane = Lane::Create(config, &sink);
  ASSERT_TRUE(lane.ok()) << lane.status();
  (*lane)->Start();
  (*lane)->Wait();
  const v1::LaneStatus status = (*lane)->Status();
  EXPECT_EQ(status.state(), v1::LANE_STATE_FAILED);
  EXPECT_NE(status.last_error().find("not a regular file"), std::string::npos)
      << status.last_error();
}

TEST(MotionGate, StillFramesCloseTheGateAndChangeOpensIt) {
  MotionGate::Options o;
  o.hold_frames = 2;
  MotionGate gate(o);
  cv::Mat still(240, 320, CV_8UC3, cv::Scalar(90, 90, 90));
  const cv::Rect all(0, 0, 320, 240);
  EXPECT_TRUE(gate.Moving(still, all));  // first frame is looked at
  EXPECT_TRUE(gate.changed());
  EXPECT_TRUE(gate.Moving(still, all));  // held
  EXPECT_FALSE(gate.changed()) << "held open, not changed";
  EXPECT_TRUE(gate.Moving(still, all));
  EXPECT_FALSE(gate.Moving(still, all));
  EXPECT_FALSE(gate.changed());
  cv::Mat moved = still.clone();
  // Bright against the grey road: the gate works on grey levels.
  cv::rectangle(moved, cv::Rect(100, 80, 60, 40), cv::Scalar(230, 230, 230),
                -1);
  EXPECT_TRUE(gate.Moving(moved, all));
  EXPECT_TRUE(gate.changed());
  EXPECT_TRUE(gate.Moving(moved, all));
  EXPECT_FALSE(gate.changed());
}

TEST(MotionGate, SaysWhereTheSceneMovedSoFacesAreSoughtThere) {
  MotionGate gate;
  cv::Mat road(720, 1280, CV_8UC3, cv::Scalar(90, 90, 90));
  const cv::Rect lane(0, 0, 1280, 720);
  ASSERT_TRUE(gate.Moving(road, lane));
  EXPECT_EQ(gate.moving_region(), lane);  // nothing to compare with yet
  cv::Mat car = road.clone();
  const cv::Rect body(700, 300, 300, 200);
  cv::rectangle(car, body, cv::Scalar(230, 230, 230), -1);
  ASSERT_TRUE(gate.Moving(car, lane));
  const cv::Rect region = gate.moving_region();
  EXPECT_EQ(region & body, body);             // the vehicle, whole
  EXPECT_LT(region.area(), lane.area() / 3);  // and not the empty road
  // Held open after the vehicle stopped: still where it was.
  ASSERT_TRUE(gate.Moving(car, lane));
  EXPECT_EQ(gate.moving_region(), region);
  // In a region of interest, in its own pixels.
  MotionGate roi_gate;
  const cv::Rect right(640, 0, 640, 720);
  ASSERT_TRUE(roi_gate.Moving(road, right));
  ASSERT_TRUE(roi_gate.Moving(car, right));
  const cv::Rect in_roi = roi_gate.moving_region();
  const cv::Rect body_in_roi = body - right.tl();
  EXPECT_EQ(in_roi & body_in_roi, body_in_roi);
  EXPECT_EQ(in_roi & cv::Rect(0, 0, 640, 720), in_roi);
}

// Whether one of `hits` is the face at `truth`.
bool HasFace(const std::vector<FaceHit>& hits, const cv::Rect& truth) {
  return std::any_of(hits.begin(), hits.end(), [&](const FaceHit& h) {
    return IoU(h.box, truth) >= 0.3;
  });
}

// The driver's face in every frame where it is at least `min_px` wide,
// and how many of those frames `detector` finds it in.
int FramesWithFaceFound(FaceDetector& detector, const footage::Scene& scene,
                        int min_px, int* frames_with_face) {
  int found = 0;
  *frames_with_face = 0;
  for (const footage::FrameTruth& t : scene.truth) {
    if (t.vehicle < 0 || t.face_box.width < min_px) continue;
    ++*frames_with_face;
    found += HasFace(detector.Detect(scene.frames[t.frame]), t.face_box);
  }
  return found;
}

// One vehicle's footage in memory, rendered once for the face tests;
// nullptr when it cannot be rendered.
const footage::Scene* OneVehicleScene() {
  static const footage::Scene* scene = [] {
    footage::SceneOptions options;
    options.vehicles.push_back({"KXR4821", {40, 40, 150}});
    auto rendered = footage::RenderScene(options);
    return rendered.ok() ? new footage::Scene(std::move(*rendered)) : nullptr;
  }();
  return scene;
}

TEST(FaceCascade, SearchThenRefineFindsWhatOneFullScanFinds) {
  const footage::Scene* scene = OneVehicleScene();
  ASSERT_NE(scene, nullptr) << "footage could not be rendered";
  auto refined = NewCascadeFaceDetector(DefaultFaceCascade(), {});
  ASSERT_TRUE(refined.ok()) << refined.status();
  CascadeOptions single;
  single.scale_step = 1.1;
  single.refine_step = -1;
  single.min_neighbours = 3;
  auto full = NewCascadeFaceDetector(DefaultFaceCascade(), single);
  ASSERT_TRUE(full.ok()) << full.status();

  int frames = 0;
  const int by_full = FramesWithFaceFound(**full, *scene, 40, &frames);
  const int by_refined = FramesWithFaceFound(**refined, *scene, 40, &frames);
  ASSERT_GT(frames, 10);
  EXPECT_GE(by_full, frames * 8 / 10) << by_full << " of " << frames;
  EXPECT_GE(by_refined, by_full) << by_refined << " of " << frames;
}

TEST(FaceCascade, FollowsAFaceBetweenFullSearches) {
  const footage::Scene* scene = OneVehicleScene();
  ASSERT_NE(scene, nullptr) << "footage could not be rendered";
  auto detector = NewCascadeFaceDetector(DefaultFaceCascade(), {});
  ASSERT_TRUE(detector.ok()) << detector.status();

  // As the lane does it: a full search, then three frames near its faces.
  int frames = 0, followed = 0, between = 0;
  std::vector<cv::Rect> recent;
  for (const footage::FrameTruth& t : scene->truth) {
    if (t.vehicle < 0 || t.face_box.width < 40) continue;
    const bool search = frames++ % 4 == 0;
    std::vector<FaceHit> hits =
        search ? (*detector)->Detect(scene->frames[t.frame])
               : (*detector)->DetectNear(scene->frames[t.frame], recent);
    recent.clear();
    for (const FaceHit& h : hits) recent.push_back(h.box);
    if (search) continue;
    ++between;
    followed += HasFace(hits, t.face_box);
  }
  ASSERT_GT(between, 8);
  EXPECT_GE(followed, between * 8 / 10) << followed << " of " << between;
  EXPECT_TRUE((*detector)->DetectNear(scene->frames[0], {}).empty())
      << "nothing recent: nothing to follow";
}

TEST(FaceCascade, ASearchAlsoFollowsKnownFacesWhereverTheyAre) {
  const footage::Scene* scene = OneVehicleScene();
  ASSERT_NE(scene, nullptr) << "footage could not be rendered";
  auto detector = NewCascadeFaceDetector(DefaultFaceCascade(), {});
  ASSERT_TRUE(detector.ok()) << detector.status();
  int frames = 0, by_search = 0, known_found = 0, known_outside_found = 0;
  for (const footage::FrameTruth& t : scene->truth) {
    if (t.vehicle < 0 || t.face_box.width < 40) continue;
    const cv::Mat& frame = scene->frames[t.frame];
    const cv::Rect whole(0, 0, frame.cols, frame.rows);
    ++frames;
    // Nothing known: the search alone, in the frame's coordinates.
    by_search += HasFace((*detector)->Search(frame, whole, {}), t.face_box);
    // The face known from the frame before (where it is, near enough):
    // found, whether or not it lies where new faces are sought.
    const std::vector<cv::Rect> known = {t.face_box + cv::Point(4, 2)};
    known_found +=
        HasFace((*detector)->Search(frame, whole, known), t.face_box);
    const cv::Rect elsewhere =
        t.face_box.x > frame.cols / 2
            ? cv::Rect(0, 0, frame.cols / 4, frame.rows)
            : cv::Rect(frame.cols * 3 / 4, 0, frame.cols / 4, frame.rows);
    ASSERT_TRUE((elsewhere & t.face_box).empty());
    known_outside_found +=
        HasFace((*detector)->Search(frame, elsewhere, known), t.face_box);
  }
  ASSERT_GT(frames, 10);
  EXPECT_GE(by_search, frames * 8 / 10) << by_search << " of " << frames;
  EXPECT_GE(known_found, by_search) << known_found << " of " << frames;
  EXPECT_GE(known_outside_found, frames * 8 / 10)
      << known_outside_found << " of " << frames;
}

TEST(FaceCascade, BesideFollowedFacesASearchLooksForFacesOfAboutTheirSize) {
  const footage::Scene* scene = OneVehicleScene();
  ASSERT_NE(scene, nullptr) << "footage could not be rendered";
  auto detector = NewCascadeFaceDetector(DefaultFaceCascade(), {});
  ASSERT_TRUE(detector.ok()) << detector.status();
  int frames = 0, beside_alike = 0, frames_larger = 0, beside_larger = 0;
  for (const footage::FrameTruth& t : scene->truth) {
    if (t.vehicle < 0 || t.face_box.width < 40) continue;
    const cv::Mat& frame = scene->frames[t.frame];
    const cv::Rect whole(0, 0, frame.cols, frame.rows);
    ++frames;
    // A face followed at the frame's left edge, away from the driver's.
    const int w = t.face_box.width;
    const cv::Rect alike(10, t.face_box.y, w, t.face_box.height);
    // As large as the driver's: the driver is a new face, found.
    beside_alike +=
        HasFace((*detector)->Search(frame, whole, {alike}), t.face_box);
    // Five times as wide: a face under half its width (a hit on the
    // driver's face at least 2.5 times its width would overlap it by
    // less than HasFace asks) is not sought.
    const cv::Rect larger(10, t.face_box.y, 5 * w, 5 * w);
    if (!(larger & t.face_box).empty()) continue;
    ++frames_larger;
    beside_larger +=
        HasFace((*detector)->Search(frame, whole, {larger}), t.face_box);
  }
  ASSERT_GT(frames, 10);
  EXPECT_GE(beside_alike, frames * 8 / 10) << beside_alike << " of " << frames;
  ASSERT_GT(frames_larger, 5);
  EXPECT_EQ(beside_larger, 0) << "of " << frames_larger;
}

TEST(FaceCascade, NonsenseScanIsRefused) {
  CascadeOptions flat;
  flat.scale_step = 1.0;
  EXPECT_EQ(NewCascadeFaceDetector(DefaultFaceCascade(), flat).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(NewCascadeFaceDetector("/nonexistent.xml", {}).status().code(),
            absl::StatusCode::kNotFound);
  testing::TempDir dir;
  std::ofstream(dir.Join("junk.xml")) << "<opencv_storage></opencv_storage>";
  EXPECT_EQ(NewCascadeFaceDetector(dir.Join("junk.xml"), {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(PlateReader, TesseractReadsARenderedPlate) {
  auto reader = NewTesseractPlateReader("", "eng");
  ASSERT_TRUE(reader.ok()) << reader.status();
  cv::Mat plate(60, 260, CV_8UC3, cv::Scalar(245, 245, 245));
  cv::putText(plate, "HTK2947", cv::Point(18, 45), cv::FONT_HERSHEY_DUPLEX, 1.4,
              cv::Scalar(20, 20, 20), 3);
  auto readings = (*reader)->Read(plate);
  ASSERT_FALSE(readings.empty());
  EXPECT_EQ(readings[0].text, "HTK2947");
  // Blank paint is not a plate.
  EXPECT_TRUE((*reader)
                  ->Read(cv::Mat(60, 260, CV_8UC3, cv::Scalar(245, 245, 245)))
                  .empty());
}

// The detectors of a lane that reads plates with the learned reader.
absl::StatusOr<DetectorSet> LearnedDetectors() {
  v1::DetectorConfig config;
  config.set_plate_reader(v1::PLATE_READER_LEARNED);
  return NewDetectorSet(config);
}

cv::Mat RenderedPlate(const std::string& text) {
  cv::Mat plate(60, 260, CV_8UC3, cv::Scalar(245, 245, 245));
  cv::putText(plate, text, cv::Point(18, 45), cv::FONT_HERSHEY_DUPLEX, 1.4,
              cv::Scalar(20, 20, 20), 3);
  return plate;
}

// RenderedPlate(text) scaled by `scale` into `frame` at `at`; its box.
cv::Rect PutScaledPlate(cv::Mat& frame, const std::string& text, double scale,
                        cv::Point at) {
  cv::Mat big;
  cv::resize(RenderedPlate(text), big, cv::Size(), scale, scale,
             cv::INTER_CUBIC);
  const cv::Rect box(at, big.size());
  big.copyTo(frame(box));
  return box;
}

TEST(PlateCascade, AddsToTheContourCandidatesAndRefusesBadFiles) {
  testing::TempDir dir;
  EXPECT_EQ(
      NewCascadePlateDetector(dir.Join("none.xml"), NewContourPlateDetector())
          .status()
          .code(),
      absl::StatusCode::kNotFound);
  std::ofstream(dir.Join("junk.xml")) << "<opencv_storage></opencv_storage>";
  EXPECT_EQ(
      NewCascadePlateDetector(dir.Join("junk.xml"), NewContourPlateDetector())
          .status()
          .code(),
      absl::StatusCode::kInvalidArgument);

  // A plate on a car-coloured background: the contour detector's
  // candidates come first and are all kept.
  cv::Mat scene(480, 640, CV_8UC3, cv::Scalar(60, 50, 140));
  RenderedPlate("KXR4821").copyTo(scene(cv::Rect(190, 300, 260, 60)));
  auto combined = NewCascadePlateDetector(
      "/usr/share/opencv4/haarcascades/haarcascade_russian_plate_number.xml",
      NewContourPlateDetector());
  ASSERT_TRUE(combined.ok()) << combined.status();
  const std::vector<cv::Rect> contours =
      NewContourPlateDetector()->Candidates(scene);
  const std::vector<cv::Rect> all = (*combined)->Candidates(scene);
  ASSERT_GE(all.size(), contours.size());
  for (size_t i = 0; i < contours.size(); ++i) EXPECT_EQ(all[i], contours[i]);
  bool plate = false;
  for (const cv::Rect& r : all)
    plate |= IoU(r, cv::Rect(190, 300, 260, 60)) > 0.3;
  EXPECT_TRUE(plate);
}

TEST(PlateReader, EveryReaderKindReadsARenderedPlate) {
  for (v1::PlateReader kind : {v1::PLATE_READER_FUSED, v1::PLATE_READER_GLYPHS,
                               v1::PLATE_READER_TESSERACT}) {
    v1::DetectorConfig c;
    c.set_plate_reader(kind);
    auto set = NewDetectorSet(c);
    ASSERT_TRUE(set.ok()) << set.status();
    auto readings = set->reader->Read(RenderedPlate("HTK2947"));
    ASSERT_FALSE(readings.empty()) << v1::PlateReader_Name(kind);
    EXPECT_LE(readings.size(), 10u);
    if (kind == v1::PLATE_READER_GLYPHS) {
      // The classifier alone confuses a few letters of this Hershey font
      // (H reads as Z): it must find all seven and get six right.
      ASSERT_EQ(readings[0].text.size(), 7u) << readings[0].text;
      int right = 0;
      for (int i = 0; i < 7; ++i) right += readings[0].text[i] == "HTK2947"[i];
      EXPECT_GE(right, 6) << readings[0].text;
    } else {
      EXPECT_EQ(readings[0].text, "HTK2947") << v1::PlateReader_Name(kind);
      EXPECT_GT(readings[0].confidence, 0.3f);
    }
  }
}

// FindPlates keeps the plate at `plate_box`, read as `text`, with the
// default options, and another row with `without` (one rule turned off).
void ExpectThePlateOnlyWithTheRule(const cv::Mat& frame, DetectorSet& set,
                                   const cv::Rect& plate_box,
                                   const std::string& text,
                                   const PlateFinderOptions& without) {
  std::vector<PlateSighting> found = FindPlates(frame, *set.plate, *set.reader);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_GT(IoU(found[0].box, plate_box), 0.3) << found[0].best().text;
  EXPECT_EQ(found[0].best().text, text);
  found = FindPlates(frame, *set.plate, *set.reader, without);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_LT(IoU(found[0].box, plate_box), 0.3) << found[0].best().text;
}

TEST(FindPlates, PrefersThePlateToTheCamerasTimestamp) {
  // A camera's date burnt into the frame's corner, dark on a light box: a
  // longer row of characters than the plate, of one height, on one line.
  cv::Mat frame(720, 1280, CV_8UC3, cv::Scalar(90, 95, 100));
  const cv::Rect plate_box(500, 450, 260, 60);
  RenderedPlate("KXR4821").copyTo(frame(plate_box));
  cv::rectangle(frame, cv::Rect(0, 0, 300, 40), cv::Scalar(235, 235, 235), -1);
  cv::putText(frame, "20140514", cv::Point(4, 32), cv::FONT_HERSHEY_DUPLEX, 1.0,
              cv::Scalar(20, 20, 20), 2);
  auto set = NewDetectorSet(v1::DetectorConfig());
  ASSERT_TRUE(set.ok()) << set.status();
  // Without the doubt about the frame's edges, the timestamp wins.
  PlateFinderOptions trusting;
  trusting.edge_penalty = 0;
  ExpectThePlateOnlyWithTheRule(frame, *set, plate_box, "KXR4821", trusting);
}

TEST(FindPlates, TheLearnedReadersMostConfidentRowIsNotAtTheFramesEdge) {
  // The learned reader reads the best rows and keeps the most confident
  // reading. A crisp plate in the frame's corner (a poster, or a plate cut
  // by the edge) reads more surely than the blurred one in the lane; a row
  // at the edge is kept only when no row away from it read.
  cv::Mat frame(720, 1280, CV_8UC3, cv::Scalar(90, 95, 100));
  const cv::Rect plate_box(500, 450, 260, 60);
  RenderedPlate("KXR4821").copyTo(frame(plate_box));
  cv::GaussianBlur(frame(plate_box), frame(plate_box), cv::Size(0, 0), 1.5);
  RenderedPlate("HTK2947").copyTo(frame(cv::Rect(0, 0, 260, 60)));
  auto set = LearnedDetectors();
  ASSERT_TRUE(set.ok()) << set.status();
  ASSERT_TRUE(set->reader->ReadsWholePlates());
  std::vector<PlateSighting> found =
      FindPlates(frame, *set->plate, *set->reader);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_GT(IoU(found[0].box, plate_box), 0.3) << found[0].best().text;
  // Without the doubt about the frame's edges, the crisp corner wins.
  PlateFinderOptions trusting;
  trusting.edge_penalty = 0;
  found = FindPlates(frame, *set->plate, *set->reader, trusting);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_LT(IoU(found[0].box, plate_box), 0.3) << found[0].best().text;
}

// A close-up: the plate fills the picture, and two of its characters'
// heights reach past the frame's edge though the plate stands well inside
// it. It is not taken for a row at the edge: read surely, it ends the search.
TEST(FindPlates, APlateThatFillsThePictureIsNotARowAtItsEdge) {
  cv::Mat frame(450, 711, CV_8UC3, cv::Scalar(90, 95, 100));
  const cv::Rect plate_box =
      PutScaledPlate(frame, "KXR4821", 1.8, cv::Point(120, 270));
  const cv::Rect other_box(330, 80, 260, 60);
  RenderedPlate("HTK2947").copyTo(frame(other_box));
  cv::GaussianBlur(frame(other_box), frame(other_box), cv::Size(0, 0), 2.5);
  auto set = LearnedDetectors();
  ASSERT_TRUE(set.ok()) << set.status();
  // Two heights alone put it at the edge: the search goes on, and a blurred
  // plate above it, found in a later round away from the edge, is kept.
  PlateFinderOptions heights_alone;
  heights_alone.edge_margin_share = 0;
  ExpectThePlateOnlyWithTheRule(frame, *set, plate_box, "KXR4821",
                                heights_alone);
}

// A detector that also counts the pixels it was asked to search, in every
// round.
class CountingDetector final : public PlateDetector {
 public:
  explicit CountingDetector(PlateDetector& real) : real_(real) {}
  std::vector<cv::Rect> Candidates(const cv::Mat& bgr) override {
    pixels += bgr.total();
    return real_.Candidates(bgr);
  }
  int MoreCandidateRounds() const override {
    return real_.MoreCandidateRounds();
  }
  std::vector<cv::Rect> MoreCandidates(const cv::Mat& bgr, int round) override {
    pixels += bgr.total();
    return real_.MoreCandidates(bgr, round);
  }
  size_t pixels = 0;

 private:
  PlateDetector& real_;
};

TEST(FindPlates, FollowsThePlateOfTheFrameBeforeAndLooksNowhereElse) {
  cv::Mat frame(720, 1280, CV_8UC3, cv::Scalar(90, 95, 100));
  const cv::Rect plate_box(500, 450, 260, 60), other_box(100, 100, 260, 60);
  RenderedPlate("KXR4821").copyTo(frame(plate_box));
  RenderedPlate("HTK2947").copyTo(frame(other_box));
  auto set = NewDetectorSet(v1::DetectorConfig());
  ASSERT_TRUE(set.ok()) << set.status();
  CountingDetector detector(*set->plate);
  std::vector<PlateSighting> all = FindPlates(frame, detector, *set->reader);
  ASSERT_EQ(all.size(), 1u);  // one plate a frame; either would do
  EXPECT_EQ(detector.pixels, frame.total());

  // The plate moved a little since the frame before: found where it is now,
  // in the frame's coordinates, from a search of a small part of the frame.
  for (const auto& [last, text] :
       {std::pair{plate_box + cv::Point(-12, -6), "KXR4821"},
        std::pair{other_box + cv::Point(10, 5), "HTK2947"}}) {
    PlateFinderOptions following;
    following.follow = last;
    detector.pixels = 0;
    std::vector<PlateSighting> found =
        FindPlates(frame, detector, *set->reader, following);
    ASSERT_EQ(found.size(), 1u) << text;
    EXPECT_EQ(found[0].best().text, text);
    EXPECT_GT(IoU(found[0].box,
                  text == std::string("KXR4821") ? plate_box : other_box),
              0.3);
    EXPECT_GT(detector.pixels, 0u);
    EXPECT_LE(detector.pixels, 15u * last.area());  // 3 widths, 5 heights
  }
  // Where the plate was there is none now, and the other is not looked for,
  // in any round.
  PlateFinderOptions gone;
  gone.follow = cv::Rect(900, 200, 260, 60);
  detector.pixels = 0;
  EXPECT_TRUE(FindPlates(frame, detector, *set->reader, gone).empty());
  EXPECT_LE(detector.pixels,
            (1u + detector.MoreCandidateRounds()) * 15u * gone.follow.area());
  gone.follow = cv::Rect(2000, 1000, 260, 60);  // off the frame
  EXPECT_TRUE(FindPlates(frame, detector, *set->reader, gone).empty());
}

// A detector that counts the rounds of further candidates asked of it.
class RoundCountingDetector final : public PlateDetector {
 public:
  explicit RoundCountingDetector(PlateDetector& real) : real_(real) {}
  std::vector<cv::Rect> Candidates(const cv::Mat& bgr) override {
    return real_.Candidates(bgr);
  }
  int MoreCandidateRounds() const override {
    return real_.MoreCandidateRounds();
  }
  std::vector<cv::Rect> MoreCandidates(const cv::Mat& bgr, int round) override {
    ++rounds_asked;
    return real_.MoreCandidates(bgr, round);
  }
  int rounds_asked = 0;

 private:
  PlateDetector& real_;
};

// The contour detector's kernels are fixed in pixels: a plate near the
// camera, its characters a hundred pixels tall, is found an octave down,
// which the finder looks at only when nothing it read reads surely.
TEST(FindPlates, FindsAPlateNearTheCameraAnOctaveDown) {
  auto set = LearnedDetectors();
  ASSERT_TRUE(set.ok()) << set.status();
  RoundCountingDetector detector(*set->plate);

  cv::Mat near(720, 1280, CV_8UC3, cv::Scalar(90, 95, 100));
  const cv::Rect near_box =
      PutScaledPlate(near, "KXR4821", 2.5, cv::Point(300, 300));
  // A camera's timestamp, read surely at the frame's edge, does not stop
  // the search.
  cv::rectangle(near, cv::Rect(0, 0, 300, 40), cv::Scalar(235, 235, 235), -1);
  cv::putText(near, "20140514", cv::Point(4, 32), cv::FONT_HERSHEY_DUPLEX, 1.0,
              cv::Scalar(20, 20, 20), 2);
  std::vector<PlateSighting> found = FindPlates(near, detector, *set->reader);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_GT(IoU(found[0].box, near_box), 0.3);
  EXPECT_EQ(found[0].best().text, "KXR4821");
  EXPECT_EQ(detector.rounds_asked, 1);
  // With no further rounds, the finder finds no plate there.
  PlateFinderOptions full_size_only;
  full_size_only.more_candidates_below = 0;
  detector.rounds_asked = 0;
  for (const PlateSighting& s :
       FindPlates(near, detector, *set->reader, full_size_only)) {
    EXPECT_LT(IoU(s.box, near_box), 0.3) << s.best().text;
  }
  EXPECT_EQ(detector.rounds_asked, 0);

  // A plate of the usual size reads surely: no search an octave down.
  cv::Mat usual(720, 1280, CV_8UC3, cv::Scalar(90, 95, 100));
  RenderedPlate("KXR4821").copyTo(usual(cv::Rect(500, 450, 260, 60)));
  detector.rounds_asked = 0;
  found = FindPlates(usual, detector, *set->reader);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].best().text, "KXR4821");
  EXPECT_EQ(detector.rounds_asked, 0);
}

// A plate whose two groups stand apart, a picture between them (the
// District's flag on its plates): the row of one height on one line stops
// at the picture, and its four characters read surely on their own.
TEST(FindPlates, ExtendsASurelyReadShortRowToThePlateAroundIt) {
  cv::Mat frame(720, 1280, CV_8UC3, cv::Scalar(90, 95, 100));
  const cv::Rect plate_box(480, 450, 280, 70);
  cv::Mat plate(plate_box.size(), CV_8UC3, cv::Scalar(245, 245, 245));
  cv::putText(plate, "KX", cv::Point(16, 52), cv::FONT_HERSHEY_DUPLEX, 1.5,
              cv::Scalar(20, 20, 20), 3);
  for (int y : {22, 36, 50}) {  // a flag's bars and stars
    cv::rectangle(plate, cv::Rect(82, y - 4, 30, 7), cv::Scalar(40, 40, 200),
                  -1);
  }
  cv::putText(plate, "4821", cv::Point(124, 52), cv::FONT_HERSHEY_DUPLEX, 1.5,
              cv::Scalar(20, 20, 20), 3);
  plate.copyTo(frame(plate_box));
  auto set = LearnedDetectors();
  ASSERT_TRUE(set.ok()) << set.status();

  PlateFinderOptions rows_alone;
  rows_alone.extend_short_rows = false;
  std::vector<PlateSighting> found =
      FindPlates(frame, *set->plate, *set->reader, rows_alone);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].best().text, "4821");

  found = FindPlates(frame, *set->plate, *set->reader);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].best().text, "KX4821");
  // The box kept (the crossing's plate crop and its box) takes in the "KX".
  EXPECT_LE(found[0].box.x, plate_box.x + 16);
  EXPECT_GT(IoU(found[0].box, plate_box), 0.5);
  // The short reading stays among the others, for lookups.
  bool short_kept = false;
  for (const PlateReading& r : found[0].readings)
    short_kept |= r.text == "4821";
  EXPECT_TRUE(short_kept);

  // A short plate with a grille beside it stays as it reads.
  cv::Mat lone(720, 1280, CV_8UC3, cv::Scalar(90, 95, 100));
  for (int x = 330; x < 470; x += 14) {
    cv::rectangle(lone, cv::Rect(x, 440, 6, 90), cv::Scalar(30, 30, 30), -1);
  }
  cv::Mat short_plate(70, 150, CV_8UC3, cv::Scalar(245, 245, 245));
  cv::putText(short_plate, "4821", cv::Point(12, 52), cv::FONT_HERSHEY_DUPLEX,
              1.5, cv::Scalar(20, 20, 20), 3);
  short_plate.copyTo(lone(cv::Rect(480, 450, 150, 70)));
  found = FindPlates(lone, *set->plate, *set->reader);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].best().text, "4821");
}

// A whole-plate reader that answers from a script: `wide` for a crop that
// reaches left of `wide_from_x` in the frame, `near` for any other. The
// finder's own rows, candidates and blob checks are the real ones.
class ScriptedWholePlateReader final : public PlateReader {
 public:
  std::vector<PlateReading> ReadRow(const CharacterRow&) override { return {}; }
  bool ReadsWholePlates() const override { return true; }
  std::vector<PlateReading> ReadPlate(const cv::Mat& crop,
                                      const CharacterRow&) override {
    cv::Size whole;
    cv::Point at;
    crop.locateROI(whole, at);
    return at.x < wide_from_x ? wide : near;
  }
  int wide_from_x = 0;
  std::vector<PlateReading> near, wide;
};

// A frame with "4821" on a plate and `beside` drawn at `beside_x` on the
// same plate (left of "4821" below 100, right of it from 200), as a scene
// for the extension's checks.
cv::Mat ShortPlateScene(const std::string& beside, int beside_x) {
  cv::Mat frame(720, 1280, CV_8UC3, cv::Scalar(90, 95, 100));
  cv::Mat plate(70, 300, CV_8UC3, cv::Scalar(245, 245, 245));
  cv::putText(plate, "4821", cv::Point(100, 52), cv::FONT_HERSHEY_DUPLEX, 1.5,
              cv::Scalar(20, 20, 20), 3);
  if (!beside.empty()) {
    cv::putText(plate, beside, cv::Point(beside_x, 52), cv::FONT_HERSHEY_DUPLEX,
                1.5, cv::Scalar(20, 20, 20), 3);
  }
  plate.copyTo(frame(cv::Rect(480, 450, 300, 70)));
  return frame;
}

TEST(FindPlates, ExtendsAShortRowOnlyWithCharactersOnTheSideItAdds) {
  v1::DetectorConfig config;
  auto set = NewDetectorSet(config);
  ASSERT_TRUE(set.ok()) << set.status();
  ScriptedWholePlateReader reader;
  reader.wide_from_x = 510;  // the row's own crop starts right of this
  reader.near = {{"4821", 0.99f}};
  reader.wide = {{"KX4821", 0.6f}};

  // Nothing beside the row: the wider reading is not taken.
  std::vector<PlateSighting> found =
      FindPlates(ShortPlateScene("", 0), *set->plate, reader);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].best().text, "4821");

  // Two characters beside it, but on its right: "KX" adds on the left.
  found = FindPlates(ShortPlateScene("KX", 220), *set->plate, reader);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].best().text, "4821");

  // On its left: taken, first, at its own confidence (0.99 over four
  // characters, 0.6 over two), the short reading kept just under it though
  // each crop gave one reading, and the box kept covers "KX".
  found = FindPlates(ShortPlateScene("KX", 14), *set->plate, reader);
  ASSERT_EQ(found.size(), 1u);
  ASSERT_EQ(found[0].readings.size(), 2u);
  EXPECT_EQ(found[0].readings[0].text, "KX4821");
  EXPECT_NEAR(found[0].readings[0].confidence,
              std::exp((4 * std::log(0.99) + 2 * std::log(0.6)) / 6), 1e-4);
  EXPECT_EQ(found[0].readings[1].text, "4821");
  EXPECT_LT(found[0].readings[1].confidence, found[0].readings[0].confidence);
  EXPECT_LE(found[0].box.x, 480 + 14);

  // The short row and the whole plate may read a look-alike O and 0
  // differently (a region's formats settle them in whole plates only):
  // still the same characters, extended.
  reader.near = {{"O821", 0.99f}};
  reader.wide = {{"KX0821", 0.6f}};
  found = FindPlates(ShortPlateScene("KX", 14), *set->plate, reader);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].best().text, "KX0821");
  reader.near = {{"4821", 0.99f}};
  reader.wide = {{"KX4821", 0.6f}};

  // In a lane: the next frame's plate, not read again, keeps the box that
  // covers "KX".
  PlateReadBudget budget;
  const cv::Mat scene = ShortPlateScene("KX", 14);
  budget.StartFrame(0);
  found = FindPlates(scene, *set->plate, reader, {}, &budget);
  ASSERT_EQ(found.size(), 1u);
  ASSERT_TRUE(found[0].read());
  budget.StartFrame(1);
  found = FindPlates(scene, *set->plate, reader, {}, &budget);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_FALSE(found[0].read());
  EXPECT_LE(found[0].box.x, 480 + 14);
}

TEST(MserPlateRows, FindsTheRowOfCharactersAndNothingInPlainTexture) {
  cv::Mat scene(720, 1280, CV_8UC3, cv::Scalar(90, 95, 100));
  const cv::Rect plate_box(500, 450, 260, 60);
  RenderedPlate("KXR4821").copyTo(scene(plate_box));
  // Lone blobs of a character's size, not in a row: a bolt, a light.
  cv::circle(scene, cv::Point(200, 200), 12, cv::Scalar(20, 20, 20), -1);
  cv::rectangle(scene, cv::Rect(900, 150, 14, 30), cv::Scalar(240, 240, 240),
                -1);
  const std::vector<cv::Rect> rows = MserPlateRows(scene, 8);
  ASSERT_FALSE(rows.empty());
  EXPECT_GT(IoU(rows[0], plate_box), 0.5) << rows[0];
  for (const cv::Rect& r : rows) {
    EXPECT_FALSE((r & cv::Rect(190, 190, 20, 20)).area() > 0) << r;
    EXPECT_FALSE((r & cv::Rect(900, 150, 14, 30)).area() > 0) << r;
  }
  cv::Mat noise(720, 1280, CV_8UC3);
  cv::randu(noise, cv::Scalar::all(0), cv::Scalar::all(255));
  cv::GaussianBlur(noise, noise, cv::Size(0, 0), 6);
  EXPECT_TRUE(MserPlateRows(noise, 8).empty());
  // Narrower than the copy MSER works on, grey or with alpha: the same row.
  cv::Mat grey, bgra;
  cv::cvtColor(scene(cv::Rect(400, 350, 500, 250)), grey, cv::COLOR_BGR2GRAY);
  cv::cvtColor(scene(cv::Rect(400, 350, 500, 250)), bgra, cv::COLOR_BGR2BGRA);
  for (const cv::Mat& small : {grey, bgra}) {
    const std::vector<cv::Rect> small_rows = MserPlateRows(small, 8);
    ASSERT_FALSE(small_rows.empty());
    EXPECT_GT(IoU(small_rows[0], plate_box - cv::Point(400, 350)), 0.5);
  }
  // Nothing to find, and no throw, in pictures too small or too thin.
  EXPECT_TRUE(MserPlateRows(cv::Mat(), 8).empty());
  EXPECT_TRUE(MserPlateRows(cv::Mat(1, 1, CV_8UC3), 8).empty());
  EXPECT_TRUE(
      MserPlateRows(cv::Mat(6, 3000, CV_8UC3, cv::Scalar::all(9)), 8).empty());
  EXPECT_TRUE(
      MserPlateRows(cv::Mat(720, 1280, CV_8UC3, cv::Scalar(128, 128, 128)), 8)
          .empty());
}

// A plate of little contrast beside a sunlit, high-contrast grille: the
// contour detector's threshold is the grille's, and it offers no box of the
// plate. Found from its characters up, in a later round.
TEST(FindPlates, FindsALowContrastPlateFromItsCharacters) {
  cv::Mat frame(720, 1280, CV_8UC3, cv::Scalar(90, 95, 100));
  for (int x = 100; x < 1180; x += 24) {
    cv::rectangle(frame, cv::Rect(x, 80, 12, 220), cv::Scalar(250, 250, 250),
                  -1);
  }
  const cv::Rect plate_box(500, 450, 260, 60);
  cv::Mat plate(60, 260, CV_8UC3, cv::Scalar(150, 150, 150));
  cv::putText(plate, "KXR4821", cv::Point(18, 45), cv::FONT_HERSHEY_DUPLEX, 1.4,
              cv::Scalar(90, 90, 90), 3);
  plate.copyTo(frame(plate_box));
  auto set = LearnedDetectors();
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_TRUE(set->plate->Candidates(frame).empty());
  EXPECT_TRUE(set->plate->MoreCandidates(frame, 1).empty());
  RoundCountingDetector detector(*set->plate);
  std::vector<PlateSighting> found = FindPlates(frame, detector, *set->reader);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_GT(IoU(found[0].box, plate_box), 0.3);
  EXPECT_EQ(found[0].best().text, "KXR4821");
  EXPECT_EQ(detector.rounds_asked, 2);
}

// The lane's real reader, counting the rows it is asked to read.
class CountingReader final : public PlateReader {
 public:
  explicit CountingReader(PlateReader& real) : real_(real) {}
  std::vector<PlateReading> ReadRow(const CharacterRow& row) override {
    ++rows_read;
    return real_.ReadRow(row);
  }
  float Plausibility(const CharacterRow& row) override {
    return real_.Plausibility(row);
  }
  int rows_read = 0;

 private:
  PlateReader& real_;
};

TEST(FindPlates, LooksAgainAtAPlateItDoubts) {
  cv::Mat frame(720, 1280, CV_8UC3, cv::Scalar(90, 95, 100));
  const cv::Rect plate_box(500, 450, 260, 60);
  RenderedPlate("KXR4821").copyTo(frame(plate_box));
  auto set = NewDetectorSet(v1::DetectorConfig());
  ASSERT_TRUE(set.ok()) << set.status();
  CountingReader reader(*set->reader);
  // Sure of it (a clean rendering reads at ~0.99): one read.
  std::vector<PlateSighting> found = FindPlates(frame, *set->plate, reader);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].best().text, "KXR4821");
  EXPECT_EQ(reader.rows_read, 1);
  // Doubting every reading: the plate's own crop is read too, and the two
  // readings merge, each text once.
  PlateFinderOptions doubting;
  doubting.second_look_below = 1.01;
  reader.rows_read = 0;
  found = FindPlates(frame, *set->plate, reader, doubting);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(reader.rows_read, 2);
  EXPECT_EQ(found[0].best().text, "KXR4821");
  std::set<std::string> texts;
  for (const PlateReading& r : found[0].readings) texts.insert(r.text);
  EXPECT_EQ(texts.size(), found[0].readings.size());
}

TEST(PlateText, TwoLooksMergeEachTextOnceAtItsHigherConfidence) {
  const std::vector<PlateReading> first = {
      {"5VCF2037", 0.6f}, {"5VCF203", 0.5f}, {"5VCE203", 0.2f}};
  const std::vector<PlateReading> second = {{"5VCF203", 0.8f},
                                            {"5VCF2O3", 0.3f}};
  std::vector<PlateReading> merged = MergeReadings(first, second, 3);
  ASSERT_EQ(merged.size(), 3u);
  EXPECT_EQ(merged[0].text, "5VCF203");
  EXPECT_FLOAT_EQ(merged[0].confidence, 0.8f);
  EXPECT_EQ(merged[1].text, "5VCF2037");
  EXPECT_EQ(merged[2].text, "5VCF2O3");
  // A first look the second cannot better keeps its confidence.
  merged = MergeReadings(second, {{"5VCF203", 0.1f}}, 5);
  ASSERT_EQ(merged.size(), 2u);
  EXPECT_FLOAT_EQ(merged[0].confidence, 0.8f);
  EXPECT_TRUE(MergeReadings({}, {}, 5).empty());
}

TEST(PlateReader, MissingOrForeignCharacterModelIsAClearError) {
  testing::TempDir dir;
  auto missing = NewGlyphPlateReader(dir.Join("none.yml.gz"));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  std::ofstream(dir.Join("junk.yml")) << "%YAML:1.0\nnot: a model\n";
  auto junk = NewGlyphPlateReader(dir.Join("junk.yml"));
  EXPECT_EQ(junk.status().code(), absl::StatusCode::kInvalidArgument)
      << junk.status();
}

CharacterRow RowOfHeight(int height) {
  CharacterRow row;
  for (int i = 0; i < 7; ++i) row.boxes.emplace_back(i * 20, 0, 12, height);
  return row;
}

TEST(PlateReadBudget, ReadsAPlateAgainOnlyWhenItIsWorthIt) {
  PlateReadBudget budget({.grow = 1.15, .shrink = 0.6, .refresh_frames = 6});
  const cv::Rect box(100, 100, 200, 50);
  budget.StartFrame(10);
  ASSERT_TRUE(budget.Wants(box, RowOfHeight(20)));  // nothing read yet
  budget.Spend(box, RowOfHeight(20));

  budget.StartFrame(11);
  EXPECT_FALSE(budget.Wants(box + cv::Point(3, 2), RowOfHeight(21)))
      << "same plate, same size";
  EXPECT_TRUE(budget.Wants(box + cv::Point(3, 2), RowOfHeight(23)))
      << "the vehicle came closer";
  EXPECT_TRUE(budget.Wants(box, RowOfHeight(11))) << "much smaller";
  EXPECT_TRUE(budget.Wants(box + cv::Point(400, 0), RowOfHeight(20)))
      << "somewhere else: another plate";

  budget.StartFrame(15);
  EXPECT_FALSE(budget.Wants(box, RowOfHeight(20)));
  budget.StartFrame(16);
  EXPECT_TRUE(budget.Wants(box, RowOfHeight(20))) << "refresh_frames passed";
  budget.Reset();
  budget.StartFrame(12);
  EXPECT_TRUE(budget.Wants(box, RowOfHeight(20))) << "a new crossing";
}

TEST(CrossingTracker, StillFramesHoldACrossingOnlyWhileItsVehicleWasSeen) {
  CrossingTracker tracker(
      {.lane_id = "l", .checkpoint_id = "c", .quiet_frames = 8});
  Frame frame{cv::Mat(120, 160, CV_8UC3, cv::Scalar(90, 90, 90)), 0,
              absl::Now()};
  const PlateSighting plate{cv::Rect(40, 60, 80, 20), {{"KXR4821", 0.9f}}};
  for (; frame.index < 3; ++frame.index) {
    ASSERT_FALSE(tracker.Observe(frame, {}, {plate}));
  }
  // Stopped at the booth for a long time: still frames keep it open.
  for (; frame.index < 300; ++frame.index) {
    ASSERT_FALSE(tracker.ObserveStill(frame.index)) << frame.index;
  }
  ASSERT_TRUE(tracker.open());
  // A re-checked still frame shows the lane empty: from then on still
  // frames are quiet, and the crossing closes after the quiet period.
  ASSERT_FALSE(tracker.Observe(frame, {}, {}));
  std::optional<v1::Record> record;
  int64_t closed_at = 0;
  for (++frame.index; frame.index < 320 && !record; ++frame.index) {
    record = tracker.ObserveStill(frame.index);
    closed_at = frame.index;
  }
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(closed_at, 299 + 8);
  EXPECT_EQ(PlateText(*record), "KXR4821");
}

TEST(CrossingTracker, OneMissBetweenDroppedFramesDoesNotSplitAVehicle) {
  CrossingTracker tracker(
      {.lane_id = "l", .checkpoint_id = "c", .quiet_frames = 8});
  Frame frame{cv::Mat(120, 160, CV_8UC3, cv::Scalar(90, 90, 90)), 0,
              absl::Now()};
  const PlateSighting plate{cv::Rect(40, 60, 80, 20), {{"KXR4821", 0.9f}}};
  ASSERT_FALSE(tracker.Observe(frame, {}, {plate}));
  // Under load: one frame where the detectors missed, then 11 dropped.
  frame.index = 1;
  ASSERT_FALSE(tracker.Observe(frame, {}, {}));
  frame.index = 12;
  ASSERT_FALSE(tracker.Observe(frame, {}, {plate})) << "split in two";
  // The lane seen empty three times, 8 frames on: the crossing closes.
  frame.index = 13;
  ASSERT_FALSE(tracker.Observe(frame, {}, {}));
  frame.index = 17;
  ASSERT_FALSE(tracker.Observe(frame, {}, {}));
  frame.index = 20;
  std::optional<v1::Record> record = tracker.Observe(frame, {}, {});
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->frames_seen(), 2);
}

TEST(PlateText, DoubtBetweenOAndZeroLeansToTheDigit) {
  const std::vector<CharacterChoices> positions = {
      {{'K', 1.0f}}, {{'O', 0.5f}, {'0', 0.5f}}, {{'7', 1.0f}}};
  const std::vector<PlateReading> readings = TopReadings(positions, 2, {});
  ASSERT_EQ(readings.size(), 2u);
  EXPECT_EQ(readings[0].text, "K07");
  EXPECT_EQ(readings[1].text, "KO7");  // still offered
  // O and 0 are one shape on a plate: without rules, the digit even where
  // the reader leans to the letter, and only one of them seen is both.
  EXPECT_EQ(TopReadings({{{'O', 0.9f}, {'0', 0.1f}}}, 1, {})[0].text, "0");
  const std::vector<PlateReading> one = TopReadings({{{'O', 0.9f}}}, 2, {});
  ASSERT_EQ(one.size(), 2u);
  EXPECT_EQ(one[0].text, "0");
  EXPECT_EQ(one[1].text, "O");
  // The others are left as they are.
  EXPECT_EQ(TopReadings({{{'Q', 0.9f}, {'0', 0.1f}}}, 1, {})[0].text, "Q");
}

TEST(PlateText, ThePlateNotTheReaderDecidesBetweenOAndZero) {
  // BB135BO: the reader takes the last O for a 0, as it does for most Os.
  const std::vector<CharacterChoices> positions = {{{'B', 0.9f}},
                                                   {{'B', 0.9f}},
                                                   {{'1', 0.9f}},
                                                   {{'3', 0.9f}},
                                                   {{'5', 0.9f}},
                                                   {{'B', 0.9f}},
                                                   {{'0', 0.7f}, {'O', 0.2f}}};
  PlateTextRules eu;
  eu.max_letter_digit_groups = 3;
  EXPECT_EQ(TopReadings(positions, 1, eu)[0].text, "BB135BO");
  // And the other way, where the reader saw only an O among digits.
  const std::vector<CharacterChoices> middle = {
      {{'R', 0.9f}}, {{'K', 0.9f}}, {{'1', 0.9f}}, {{'O', 0.9f}},
      {{'1', 0.9f}}, {{'A', 0.9f}}, {{'D', 0.9f}}};
  EXPECT_EQ(TopReadings(middle, 1, eu)[0].text, "RK101AD");
  // Without the region's rule, the digit.
  EXPECT_EQ(TopReadings(positions, 1, {})[0].text, "BB135B0");
}

TEST(PlateText, AFormatWhoseFontDrawsOAndZeroAlikeSettlesThem) {
  PlateTextRules rules;
  rules.zero_o_formats = {"LLDDDLL", "LLDDLLL", "DDDDLLL"};
  // Slovakia's BA 302 OZ with its letter O read as the digit, and the other
  // way: a digit read as O.
  EXPECT_EQ(ZeroOByFormat("BA3020Z", rules), "BA302OZ");
  EXPECT_EQ(ZeroOByFormat("RKO99AN", rules), "RK099AN");
  EXPECT_EQ(ZeroOByFormat("1O34BCD", rules), "1034BCD");
  // Readings that fit a format already are left as they are, even where
  // another format would fit with a swap (Britain's LM01 OBE).
  EXPECT_EQ(ZeroOByFormat("BA302OZ", rules), "");
  EXPECT_EQ(ZeroOByFormat("LM01OBE", rules), "");
  // A swap of O and 0 alone must make the reading fit: vanity plates, other
  // formats and other look-alikes are not touched.
  EXPECT_EQ(ZeroOByFormat("MOBVWMK4", rules), "");
  EXPECT_EQ(ZeroOByFormat("GWAGEN", rules), "");
  EXPECT_EQ(ZeroOByFormat("BA3Z2OB", rules), "");  // Z is no digit
  EXPECT_EQ(ZeroOByFormat("BA30Z8Z", rules), "");  // 8 is no letter
  // One swap at most: two that make a text fit are more likely a format
  // the list lacks (Denmark's AB 12300, not AB 123 OO).
  EXPECT_EQ(ZeroOByFormat("AB12300", rules), "");
  EXPECT_EQ(ZeroOByFormat("RKOO1AB", rules), "");
  // No formats, nothing settled.
  EXPECT_EQ(ZeroOByFormat("BA3020Z", PlateTextRules{}), "");
}

TEST(PlateText, LetterDigitGroupsSettleAmbiguousCharactersForTheRegion) {
  EXPECT_EQ(LetterDigitGroups("AB123CD"), 3);
  EXPECT_EQ(LetterDigitGroups("8FV480"), 3);
  EXPECT_EQ(LetterDigitGroups("HB8X9J"), 5);
  EXPECT_EQ(LetterDigitGroups(""), 0);
  // The classifier leans to S between digits and to 8 between letters.
  const std::vector<CharacterChoices> positions = {{{'A', 1.0f}},
                                                   {{'B', 1.0f}},
                                                   {{'1', 1.0f}},
                                                   {{'S', 0.6f}, {'5', 0.4f}},
                                                   {{'3', 1.0f}},
                                                   {{'C', 1.0f}},
                                                   {{'8', 0.6f}, {'B', 0.4f}}};
  // No rule (US plates mix letters and digits freely): the classifier wins.
  EXPECT_EQ(TopReadings(positions, 3, {})[0].text, "AB1S3C8");
  PlateTextRules eu;
  eu.max_letter_digit_groups = 3;
  const std::vector<PlateReading> readings = TopReadings(positions, 3, eu);
  EXPECT_EQ(readings[0].text, "AB153CB");
  EXPECT_GT(readings[0].confidence, readings[1].confidence);
}

TEST(PlateText, ADoubtfulCharacterAtTheEndOfALongRowMayGo) {
  // RK828AG and a piece of the frame after it, read as a doubtful F.
  std::vector<CharacterChoices> positions = {
      {{'R', 0.9f}}, {{'K', 0.9f}}, {{'8', 0.9f}}, {{'2', 0.9f}},
      {{'8', 0.9f}}, {{'A', 0.9f}}, {{'G', 0.9f}}, {{'F', 0.2f}, {'E', 0.1f}}};
  std::vector<PlateReading> readings = TopReadings(positions, 3, {});
  ASSERT_FALSE(readings.empty());
  EXPECT_EQ(readings[0].text, "RK828AG");
  EXPECT_EQ(readings[1].text, "RK828AGF");  // still offered
  // The same at the start.
  positions.insert(positions.begin(), positions.back());
  positions.pop_back();
  EXPECT_EQ(TopReadings(positions, 1, {})[0].text, "RK828AG");
  // A character the reader is sure of stays.
  positions.front() = {{'F', 0.9f}};
  EXPECT_EQ(TopReadings(positions, 1, {})[0].text, "FRK828AG");
  // A short row keeps all its characters, however doubtful.
  const std::vector<CharacterChoices> short_row = {
      {{'K', 0.9f}}, {{'X', 0.9f}}, {{'R', 0.9f}},
      {{'4', 0.9f}}, {{'8', 0.9f}}, {{'2', 0.2f}}};
  EXPECT_EQ(TopReadings(short_row, 1, {})[0].text, "KXR482");
}

TEST(PlateText, PatternsDoubtReadingsThatFitNoneWithoutRulingThemOut) {
  // A clear plate of a format the list lacks still reads as it is, though
  // faint second choices would make it fit one (CEM3470).
  const std::vector<CharacterChoices> vanity = {{{'C', 0.95f}},
                                                {{'E', 0.95f}},
                                                {{'M', 0.95f}},
                                                {{'E', 0.95f}, {'3', 0.05f}},
                                                {{'N', 0.95f}, {'4', 0.05f}},
                                                {{'T', 0.95f}, {'7', 0.05f}},
                                                {{'0', 0.95f}}};
  const PlateTextRules us = {{"DLLLDDD", "LLLDDDD", "LLLLDD"}};
  EXPECT_EQ(TopReadings(vanity, 10, us)[0].text, "CEMENT0");
  // But a real doubt between a letter and a digit goes to the reading
  // that fits.
  std::vector<CharacterChoices> doubt = vanity;
  doubt[3] = {{'E', 0.6f}, {'3', 0.4f}};
  doubt[4] = {{'N', 0.6f}, {'4', 0.4f}};
  doubt[5] = {{'T', 0.6f}, {'7', 0.4f}};
  EXPECT_EQ(TopReadings(doubt, 10, us)[0].text, "CEM3470");
  EXPECT_EQ(TopReadings(doubt, 10, {})[0].text, "CEMENT0");
}

// California's 4PCI264 as the reader sees it: its 2 much like a Z, with
// this probability.
std::vector<CharacterChoices> CaliforniaTwoAsZ(float z) {
  std::vector<CharacterChoices> positions;
  for (char c : std::string("4PCI264")) positions.push_back({{c, 0.95f}});
  positions[4] = {{'Z', z}, {'2', 1 - z}};
  return positions;
}

TEST(PlateText, ACharacterTheReaderIsSureOfStaysEvenIfTheRestWouldFit) {
  // Without the sure 4, PCIZ64 would fit another state's format (LLLLDD).
  const PlateTextRules us = {{"DLLLDDD", "LLLLDD"}};
  EXPECT_EQ(TopReadings(CaliforniaTwoAsZ(0.75f), 1, us)[0].text, "4PCI264");
}

TEST(PlateRegions, UsHoldsTheStatesFormatsAndEuItsGroups) {
  absl::StatusOr<PlateTextRules> us = RegionPlateRules("us");
  ASSERT_TRUE(us.ok()) << us.status();
  for (const char* format : {"DLLLDDD", "LLLDDDD", "DDDLLL", "LLDLDL"}) {
    EXPECT_NE(std::find(us->patterns.begin(), us->patterns.end(), format),
              us->patterns.end())
        << format;
  }
  for (const std::string& p : us->patterns) {
    EXPECT_TRUE(p.size() >= 3 && p.size() <= 7) << p;
    EXPECT_EQ(p.find_first_not_of("LD?"), std::string::npos) << p;
  }
  EXPECT_EQ(us->max_letter_digit_groups, 0);
  // The states' formats settle a 2 read as much like a Z, and leave a
  // vanity plate be.
  const std::vector<CharacterChoices> ca = CaliforniaTwoAsZ(0.6f);
  EXPECT_EQ(TopReadings(ca, 10, {})[0].text, "4PCIZ64");
  EXPECT_EQ(TopReadings(ca, 10, *us)[0].text, "4PCI264");
  std::vector<CharacterChoices> vanity;
  for (char c : std::string("BAJA4X4")) vanity.push_back({{c, 0.9f}});
  EXPECT_EQ(TopReadings(vanity, 10, *us)[0].text, "BAJA4X4");

  absl::StatusOr<PlateTextRules> eu = RegionPlateRules("eu");
  ASSERT_TRUE(eu.ok()) << eu.status();
  EXPECT_TRUE(eu->patterns.empty());
  EXPECT_EQ(eu->max_letter_digit_groups, 3);
  EXPECT_EQ(ZeroOByFormat("BA3020Z", *eu), "BA302OZ");
  EXPECT_EQ(ZeroOByFormat("BIMMIAN", *eu), "");
  // Plates of the countries the region does not settle stay as read:
  // Germany's OS A 1234, Poland's WA 12300, Czechia's 4B0 4979.
  for (const char* plate : {"OSA1234", "WA12300", "4BO4979", "4B04979"}) {
    EXPECT_EQ(ZeroOByFormat(plate, *eu), "") << plate;
  }
  EXPECT_TRUE(us->zero_o_formats.empty());
  absl::StatusOr<PlateTextRules> none = RegionPlateRules("");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->patterns.empty());
  EXPECT_EQ(none->max_letter_digit_groups, 0);
}

TEST(PlateRegions, AnUnknownRegionStopsTheLaneAndNamesTheKnownOnes) {
  absl::StatusOr<PlateTextRules> mars = RegionPlateRules("mars");
  EXPECT_EQ(mars.status().code(), absl::StatusCode::kInvalidArgument);
  v1::DetectorConfig c;
  c.set_plate_region("US ");  // a typo is not quietly "no rules"
  auto set = NewDetectorSet(c);
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(set.status().message().find("detectors.plate_region"),
            std::string::npos)
      << set.status();
  EXPECT_NE(set.status().message().find("eu, us"), std::string::npos)
      << set.status();
  // A known region reads a rendered plate of its format as before.
  c.set_plate_region("us");
  set = NewDetectorSet(c);
  ASSERT_TRUE(set.ok()) << set.status();
  auto readings = set->reader->Read(RenderedPlate("HTK2947"));
  ASSERT_FALSE(readings.empty());
  EXPECT_EQ(readings[0].text, "HTK2947");
}

TEST(PlateRegions, ALaneThatNamesNoReaderGetsItsRegionsBestReader) {
  // The learned reader measured best on us-dev and eu, and is the one
  // trained on Brazil's plates; a lane of no region gets the fused reader,
  // and a lane that names a reader keeps it.
  struct Case {
    std::string region;
    v1::PlateReader named;
    bool whole_plates;  // only the learned reader reads whole plates
  };
  for (const Case& test : {Case{"us", v1::PLATE_READER_REGION_DEFAULT, true},
                           Case{"eu", v1::PLATE_READER_REGION_DEFAULT, true},
                           Case{"br", v1::PLATE_READER_REGION_DEFAULT, true},
                           Case{"", v1::PLATE_READER_REGION_DEFAULT, false},
                           Case{"us", v1::PLATE_READER_FUSED, false},
                           Case{"eu", v1::PLATE_READER_LEARNED, true}}) {
    v1::DetectorConfig c;
    c.set_plate_region(test.region);
    c.set_plate_reader(test.named);
    auto set = NewDetectorSet(c);
    ASSERT_TRUE(set.ok()) << set.status();
    EXPECT_EQ(set->reader->ReadsWholePlates(), test.whole_plates)
        << "region '" << test.region << "', "
        << v1::PlateReader_Name(test.named);
  }
}

TEST(PlateText, PatternsRankFittingReadingsFirst) {
  // The classifier prefers B to 8 in the fifth place; California's pattern
  // wants a digit there.
  std::vector<CharacterChoices> positions = {{{'7', 0.9f}},
                                             {{'A', 0.9f}},
                                             {{'B', 0.9f}},
                                             {{'C', 0.9f}},
                                             {{'B', 0.6f}, {'8', 0.4f}},
                                             {{'1', 0.9f}},
                                             {{'2', 0.9f}}};
  EXPECT_EQ(TopReadings(positions, 5, {})[0].text, "7ABCB12");
  const auto ranked = TopReadings(positions, 5, {{"DLLLDDD"}});
  EXPECT_EQ(ranked[0].text, "7ABC812");
  EXPECT_TRUE(FitsPattern("7ABC812", "DLLLDDD"));
  EXPECT_FALSE(FitsPattern("7ABCB12", "DLLLDDD"));
  EXPECT_TRUE(FitsPattern("WA-1", "LL-D"));
  EXPECT_FALSE(FitsPattern("WA1", "LL-D"));
}

TEST(CharacterRow, FindsTheCharactersAndIgnoresTheFrame) {
  cv::Mat plate = RenderedPlate("KXR4821");
  cv::rectangle(plate, cv::Rect(0, 0, plate.cols, plate.rows),
                cv::Scalar(30, 30, 30), 4);  // a dark frame
  auto row = FindCharacterRow(plate);
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->glyphs.size(), 7u);
  EXPECT_FALSE(
      FindCharacterRow(cv::Mat(60, 260, CV_8UC3, cv::Scalar(200, 200, 200)))
          .has_value());
}

TEST(CharacterRow, FindsCharactersThatTouchTheFrame) {
  cv::Mat plate = RenderedPlate("KXR4821");
  // A frame whose lower bar runs into every character's foot, so that the
  // characters and the frame are one blob until the frame lines are taken
  // out.
  cv::rectangle(plate, cv::Rect(2, 2, plate.cols - 4, plate.rows - 4),
                cv::Scalar(20, 20, 20), 3);
  cv::rectangle(plate, cv::Rect(2, 44, plate.cols - 4, 14),
                cv::Scalar(20, 20, 20), -1);
  auto row = FindCharacterRow(plate);
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->glyphs.size(), 7u);
}

TEST(CharacterRow, LeavesOutBarsAtTheEndsThatAreNotCharacters) {
  // A bolt-like bar well clear of the last character, and a frame edge at
  // the start that runs lower than the characters.
  cv::Mat plate = RenderedPlate("KXR4821");
  cv::rectangle(plate, cv::Rect(250, 16, 4, 30), cv::Scalar(20, 20, 20), -1);
  cv::rectangle(plate, cv::Rect(8, 24, 4, 30), cv::Scalar(20, 20, 20), -1);
  auto row = FindCharacterRow(plate);
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->glyphs.size(), 7u);
  // The row's own thin characters stay: a 1 at either end is on its lines.
  row = FindCharacterRow(RenderedPlate("1XR4821"));
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->glyphs.size(), 7u);
}

TEST(CharacterRow, FindsFaintCharactersOnAPlateInADarkSurround) {
  // Light grey lettering on a white plate, the crop taking in the dark car
  // around it: a threshold over the whole crop sets its level between car
  // and plate, and the characters fall below it.
  cv::Mat crop(100, 300, CV_8UC3, cv::Scalar(40, 40, 40));
  cv::rectangle(crop, cv::Rect(12, 12, 276, 76), cv::Scalar(230, 230, 230), -1);
  cv::putText(crop, "PE3R2X", cv::Point(40, 70), cv::FONT_HERSHEY_SIMPLEX, 1.6,
              cv::Scalar(180, 180, 180), 3);
  auto row = FindCharacterRow(crop);
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->glyphs.size(), 6u);
}

TEST(CharacterRow, ReadsTheCharactersNotTheGapsBetweenThem) {
  // Thin-stroked characters whose tops and feet touch a line above and
  // below (a frame, a slogan's band): read light-on-dark, the gaps between
  // them are a neat row of tall blobs too, and the characters merged with
  // the lines are no row until the lines are taken out.
  cv::Mat plate(100, 300, CV_8U, cv::Scalar(230));
  for (int i = 0; i < 7; ++i) {
    cv::rectangle(plate, cv::Rect(20 + i * 38, 28, 28, 44), cv::Scalar(40), 4);
  }
  cv::line(plate, cv::Point(8, 28), cv::Point(292, 28), cv::Scalar(40), 2);
  cv::line(plate, cv::Point(8, 71), cv::Point(292, 71), cv::Scalar(40), 2);
  auto row = FindCharacterRow(plate);
  ASSERT_TRUE(row.has_value());
  ASSERT_EQ(row->glyphs.size(), 7u);
  for (const cv::Rect& box : row->boxes) EXPECT_GE(box.width, 24) << box;
}

// An EU plate: black characters after the blue band, whose rectangle
// binarises as one more dark blob of the characters' height.
cv::Mat PlateWithBlueBand(const cv::Scalar& ink) {
  cv::Mat plate(60, 300, CV_8UC3, cv::Scalar(245, 245, 245));
  cv::rectangle(plate, cv::Rect(8, 13, 22, 34), cv::Scalar(160, 60, 10), -1);
  cv::putText(plate, "RK291AT", cv::Point(44, 45), cv::FONT_HERSHEY_DUPLEX, 1.4,
              ink, 3);
  return plate;
}

TEST(CharacterRow, LeavesOutABlobAtAnEndThatIsNotTheCharactersColour) {
  auto row = FindCharacterRow(PlateWithBlueBand(cv::Scalar(20, 20, 20)));
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->glyphs.size(), 7u);
  EXPECT_GT(row->boxes.front().x, 30) << "the band is not a character";
  // Characters of the band's own colour: all of them stay.
  row = FindCharacterRow(PlateWithBlueBand(cv::Scalar(160, 60, 10)));
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->glyphs.size(), 8u);
  // Grey input has no colour to go by: the band stays a blob of the row.
  cv::Mat grey;
  cv::cvtColor(PlateWithBlueBand(cv::Scalar(20, 20, 20)), grey,
               cv::COLOR_BGR2GRAY);
  row = FindCharacterRow(grey);
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->glyphs.size(), 8u);
}

// A plate drawn one character at a time at the given left edges, so that
// characters can be made to touch.
cv::Mat PlateWithCharactersAt(const std::string& text,
                              const std::vector<int>& lefts) {
  cv::Mat plate(60, 280, CV_8UC3, cv::Scalar(245, 245, 245));
  for (size_t i = 0; i < text.size(); ++i) {
    cv::putText(plate, std::string(1, text[i]), cv::Point(lefts[i], 45),
                cv::FONT_HERSHEY_DUPLEX, 1.4, cv::Scalar(20, 20, 20), 3);
  }
  return plate;
}

std::string FirstChoices(const RecutRow& recut) {
  std::string text;
  for (const CharacterChoices& c : recut.choices) text += c[0].first;
  return text;
}

// Training options for a small model: these tests are about the parts.
GlyphTrainingOptions SmallTraining(int variants_per_font, int members) {
  GlyphTrainingOptions options;
  options.font_files = DefaultGlyphFonts();
  options.variants_per_font = variants_per_font;
  options.members = members;
  return options;
}

TEST(GlyphClassifier, MembersTrainedOnTheirOwnRenderingsVoteTogether) {
  testing::TempDir dir;
  GlyphTrainingOptions options = SmallTraining(3, 2);
  options.measure_held_out = true;
  const std::string path = dir.Join("glyphs.yml.gz");
  absl::StatusOr<std::optional<double>> accuracy =
      TrainGlyphClassifier(options, path);
  ASSERT_TRUE(accuracy.ok()) << accuracy.status();
  ASSERT_TRUE(accuracy->has_value());
  EXPECT_GT(**accuracy, 0.5);
  auto classifier = GlyphClassifier::Load(path);
  ASSERT_TRUE(classifier.ok()) << classifier.status();
  std::optional<CharacterRow> row = FindCharacterRow(RenderedPlate("KXR4821"));
  ASSERT_TRUE(row.has_value());
  ASSERT_EQ(row->glyphs.size(), 7u);
  int right = 0;
  float total = 0;
  for (size_t i = 0; i < 7; ++i) {
    const auto top = (*classifier)->Classify(row->glyphs[i], 3);
    right += top[0].first == "KXR4821"[i];
    for (const auto& [c, p] : top) total += p;
  }
  EXPECT_GE(right, 6);
  EXPECT_LE(total, 7.0f + 1e-3f);  // probabilities, averaged over members

  options.members = 0;
  EXPECT_EQ(
      TrainGlyphClassifier(options, dir.Join("none.yml.gz")).status().code(),
      absl::StatusCode::kInvalidArgument);
}

TEST(GlyphClassifier, OneThreadAndTwoFitTheSameModel) {
  testing::TempDir dir;
  GlyphTrainingOptions options = SmallTraining(1, 3);
  options.threads = 1;
  ASSERT_TRUE(TrainGlyphClassifier(options, dir.Join("one.yml")).ok());
  options.threads = 2;
  ASSERT_TRUE(TrainGlyphClassifier(options, dir.Join("two.yml")).ok());
  absl::StatusOr<std::string> one = ReadFileToString(dir.Join("one.yml"));
  absl::StatusOr<std::string> two = ReadFileToString(dir.Join("two.yml"));
  ASSERT_TRUE(one.ok() && two.ok());
  EXPECT_GT(one->size(), 1000u);
  EXPECT_TRUE(*one == *two);

  options.variants_per_font = 0;
  EXPECT_EQ(TrainGlyphClassifier(options, dir.Join("none.yml")).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(GlyphClassifier, RefusesAModelWithAMemberMissing) {
  testing::TempDir dir;
  const std::string path = dir.Join("glyphs.yml.gz");
  {
    cv::FileStorage file(path, cv::FileStorage::WRITE);
    file << "tag"
         << "lanevault_plate_glyphs_svm_knn_pca_v4"
         << "members" << 2;
  }
  auto classifier = GlyphClassifier::Load(path);
  ASSERT_FALSE(classifier.ok());
  EXPECT_EQ(classifier.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(classifier.status().message().find("a member is missing"),
            absl::string_view::npos)
      << classifier.status();
  std::ofstream(path, std::ios::trunc) << "not a model";
  EXPECT_EQ(GlyphClassifier::Load(path).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(GlyphClassifier, ItsSvmPicksWhatOpenCvsOwnPredictPicks) {
  auto classifier = GlyphClassifier::Load(DefaultGlyphModel());
  ASSERT_TRUE(classifier.ok()) << classifier.status();
  // Every character, sharp and blurred, and the halves a segmenter cuts
  // wide ones into: the SVM's vote computed from the neighbour search's
  // distances must be OpenCV's SVM::predict, member by member.
  int compared = 0;
  for (const char* text :
       {"ABCDEFG", "HIJKLMN", "OPQRSTU", "VWXYZ01", "2345678", "9KXR482"}) {
    for (double blur : {0.0, 1.5}) {
      cv::Mat plate = RenderedPlate(text);
      if (blur > 0) cv::GaussianBlur(plate, plate, cv::Size(0, 0), blur);
      std::optional<CharacterRow> row = FindCharacterRow(plate);
      ASSERT_TRUE(row.has_value()) << text;
      for (const cv::Mat& glyph : row->glyphs) {
        std::vector<cv::Mat> seen = {glyph};
        if (glyph.cols >= 4) {
          seen.push_back(glyph(cv::Rect(0, 0, glyph.cols / 2, glyph.rows)));
        }
        for (const cv::Mat& g : seen) {
          for (const auto& [ours, opencv] :
               (*classifier)->SvmPicksBothWays(g)) {
            EXPECT_EQ(ours, opencv) << text;
            ++compared;
          }
        }
      }
    }
  }
  EXPECT_GE(compared, 3 * 2 * 42);
}

TEST(GlyphClassifier, RefusesAModelWhoseSvmIsNotOverItsSamples) {
  testing::TempDir dir;
  const GlyphTrainingOptions options = SmallTraining(1, 1);
  const std::string trained = dir.Join("glyphs.yml.gz");
  absl::StatusOr<std::optional<double>> fitted =
      TrainGlyphClassifier(options, trained);
  ASSERT_TRUE(fitted.ok()) << fitted.status();
  EXPECT_FALSE(fitted->has_value());  // no held-out measure unless asked
  // The model written again, with its samples moved by `shift`.
  const auto rewrite = [&](float shift) {
    const std::string path = dir.Join(absl::StrCat("shift", shift, ".yml"));
    cv::FileStorage in(trained, cv::FileStorage::READ);
    const cv::FileNode member = in["member0"];
    cv::Mat mean, components, samples, labels;
    member["mean"] >> mean;
    member["components"] >> components;
    member["samples"] >> samples;
    member["labels"] >> labels;
    samples += shift;
    cv::Ptr<cv::ml::SVM> svm = cv::ml::SVM::create();
    svm->read(member["svm"]);
    cv::FileStorage out(path, cv::FileStorage::WRITE);
    out << "tag" << static_cast<std::string>(in["tag"]) << "members" << 1;
    out << "member0"
        << "{"
        << "mean" << mean << "components" << components << "samples" << samples
        << "labels" << labels << "svm"
        << "{";
    svm->write(out);
    out << "}"
        << "}";
    return path;
  };
  EXPECT_TRUE(GlyphClassifier::Load(rewrite(0)).ok());
  // Its support vectors are no longer among its samples.
  auto moved = GlyphClassifier::Load(rewrite(0.01f));
  ASSERT_FALSE(moved.ok());
  EXPECT_EQ(moved.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(moved.status().message().find("its SVM does not fit its samples"),
            absl::string_view::npos)
      << moved.status();
}

TEST(GlyphClassifier, AGlyphSeenAgainReadsAsItDidAndAnotherAsItself) {
  auto classifier = GlyphClassifier::Load(DefaultGlyphModel());
  ASSERT_TRUE(classifier.ok()) << classifier.status();
  std::optional<CharacterRow> row = FindCharacterRow(RenderedPlate("KXR4821"));
  ASSERT_TRUE(row.has_value());
  ASSERT_EQ(row->glyphs.size(), 7u);
  const cv::Mat& k = row->glyphs[0];
  const auto first = (*classifier)->Classify(k, 3);
  EXPECT_EQ(first[0].first, 'K');
  // Another character of the very same size is not taken for the K.
  cv::Mat x;
  cv::resize(row->glyphs[1], x, k.size(), 0, 0, cv::INTER_NEAREST);
  EXPECT_EQ((*classifier)->Classify(x, 1)[0].first, 'X');
  // The K again, also as a view into a larger image (rows not contiguous).
  cv::Mat wide(k.rows, k.cols + 9, k.type(), cv::Scalar(0));
  k.copyTo(wide(cv::Rect(cv::Point(0, 0), k.size())));
  const auto again =
      (*classifier)->Classify(wide(cv::Rect(0, 0, k.cols, k.rows)), 3);
  ASSERT_EQ(again.size(), first.size());
  for (size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(again[i].first, first[i].first);
    EXPECT_FLOAT_EQ(again[i].second, first[i].second);
  }
}

TEST(RecutCharacters, CutsTouchingCharactersApart) {
  auto classifier = GlyphClassifier::Load(DefaultGlyphModel());
  ASSERT_TRUE(classifier.ok()) << classifier.status();
  // Condensed lettering, as on US plates, where the 4 and the 8 touch: the
  // row finder sees one blob.
  cv::Mat plate =
      PlateWithCharactersAt("KXR4821", {12, 44, 76, 108, 134, 168, 200});
  cv::resize(plate, plate, cv::Size(), 0.6, 1.0, cv::INTER_AREA);
  std::optional<CharacterRow> row = FindCharacterRow(plate);
  ASSERT_TRUE(row.has_value());
  ASSERT_EQ(row->glyphs.size(), 6u);
  const RecutRow recut = RecutCharacters(*row, **classifier, 3);
  EXPECT_EQ(FirstChoices(recut), "KXR4821");
  EXPECT_EQ(recut.row.glyphs.size(), recut.row.boxes.size());
}

TEST(RecutCharacters, JoinsACharacterWhoseStrokesBrokeApart) {
  auto classifier = GlyphClassifier::Load(DefaultGlyphModel());
  ASSERT_TRUE(classifier.ok()) << classifier.status();
  cv::Mat plate =
      PlateWithCharactersAt("KXH4821", {12, 44, 76, 108, 140, 172, 204});
  // A gap through the H's crossbar: two bars, one with a stub.
  cv::line(plate, cv::Point(89, 15), cv::Point(89, 50),
           cv::Scalar(245, 245, 245), 3);
  std::optional<CharacterRow> row = FindCharacterRow(plate);
  ASSERT_TRUE(row.has_value());
  ASSERT_EQ(row->glyphs.size(), 8u);
  const RecutRow recut = RecutCharacters(*row, **classifier, 3);
  EXPECT_EQ(FirstChoices(recut), "KXH4821");
  // A clean row is left as it is.
  row = FindCharacterRow(RenderedPlate("KXR4821"));
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(FirstChoices(RecutCharacters(*row, **classifier, 3)), "KXR4821");
}

}  // namespace
}  // namespace lanevault::capture
