#include <filesystem>
#include <fstream>

#include "absl/synchronization/mutex.h"
#include "capture/lane.h"
#include "capture/motion_gate.h"
#include "gtest/gtest.h"
#include "opencv2/imgproc.hpp"
#include "testing/test_util.h"

namespace lanevault::capture {
namespace {

// Collects what a lane hands over, as the vault's intake would.
class CollectingSink : public RecordSink {
 public:
  absl::Status Submit(v1::Record record) override {
    absl::MutexLock lock(&mu_);
    records_.push_back(std::move(record));
    return absl::OkStatus();
  }
  std::vector<v1::Record> records() {
    absl::MutexLock lock(&mu_);
    return records_;
  }

 private:
  absl::Mutex mu_;
  std::vector<v1::Record> records_;
};

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

TEST(Lane, MissingSourceIsAClearError) {
  CollectingSink sink;
  auto lane = Lane::Create(FolderLane("/nonexistent/frames"), &sink);
  EXPECT_EQ(lane.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(lane.status().message().find("lane-t"), absl::string_view::npos);
}

TEST(MotionGate, StillFramesCloseTheGateAndChangeOpensIt) {
  MotionGate::Options o;
  o.hold_frames = 2;
  MotionGate gate(o);
  cv::Mat still(240, 320, CV_8UC3, cv::Scalar(90, 90, 90));
  const cv::Rect all(0, 0, 320, 240);
  EXPECT_TRUE(gate.Moving(still, all));  // first frame is looked at
  EXPECT_TRUE(gate.Moving(still, all));  // held
  EXPECT_TRUE(gate.Moving(still, all));
  EXPECT_FALSE(gate.Moving(still, all));
  cv::Mat moved = still.clone();
  // Bright against the grey road: the gate works on grey levels.
  cv::rectangle(moved, cv::Rect(100, 80, 60, 40), cv::Scalar(230, 230, 230),
                -1);
  EXPECT_TRUE(gate.Moving(moved, all));
}

TEST(PlateReader, ReadsARenderedPlate) {
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

}  // namespace
}  // namespace lanevault::capture
