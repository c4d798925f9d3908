// How often a lane does its costly steps: reading a plate it has already
// read surely (and keeping the best crop of a plate it no longer reads),
// and following faces between searches.

#include <optional>

#include "absl/time/clock.h"
#include "capture/crossing_tracker.h"
#include "capture/lane.h"
#include "capture/plate_finder.h"
#include "gtest/gtest.h"
#include "opencv2/imgproc.hpp"
#include "testing/collecting_sink.h"
#include "testing/test_util.h"

namespace lanevault::capture {
namespace {

CharacterRow RowOfHeight(int height) {
  CharacterRow row;
  for (int i = 0; i < 7; ++i) row.boxes.emplace_back(i * 20, 0, 12, height);
  return row;
}

PlateReading Sure(const char* text) { return {text, 0.99f}; }

TEST(PlateReadBudget, APlateReadSurelyThreeTimesIsNotReadAgainAsItNears) {
  PlateReadBudget budget({.grow = 1.15,
                          .shrink = 0.6,
                          .refresh_frames = 6,
                          .settle_reads = 3,
                          .settle_confidence = 0.95f});
  cv::Rect box(100, 100, 200, 50);
  int height = 20;
  int64_t frame = 0;
  // Each frame the vehicle is nearer: every one is worth a read until the
  // plate is settled.
  for (int read = 0; read < 3; ++read) {
    budget.StartFrame(++frame);
    height = height * 6 / 5;
    ASSERT_TRUE(budget.Wants(box, RowOfHeight(height))) << read;
    budget.Spend(box, RowOfHeight(height), Sure("KXR4821"));
  }
  ASSERT_TRUE(budget.settled());
  // Nearer, long after the last read: not read again until its characters
  // are 1.5 times as tall as at the last reading.
  const int settled_at = height;
  for (int i = 0; i < 20; ++i) {
    budget.StartFrame(++frame);
    height = settled_at + (settled_at * i) / 50;  // up to 1.38 times
    box += cv::Point(4, 3);
    EXPECT_FALSE(budget.Wants(box, RowOfHeight(height))) << i;
    budget.Follow(box);
  }
  EXPECT_TRUE(budget.Wants(box, RowOfHeight(settled_at * 3 / 2 + 1)))
      << "much nearer: a reading that weighs more in the vote";
  // It moved far from where it was last read, but was followed there.
  EXPECT_TRUE((box & cv::Rect(100, 100, 200, 50)).empty());
  EXPECT_TRUE(budget.Wants(box + cv::Point(600, 0), RowOfHeight(height)))
      << "another plate elsewhere";
  EXPECT_TRUE(budget.Wants(box, RowOfHeight(12)))
      << "a row much smaller than the plate read: something else";
  budget.Reset();
  EXPECT_FALSE(budget.settled()) << "a new crossing";
  EXPECT_TRUE(budget.Wants(box, RowOfHeight(height)));
}

TEST(PlateReadBudget, OnlyConfidentAgreeingReadingsSettleAPlate) {
  PlateReadBudget budget({.settle_reads = 3, .settle_confidence = 0.95f});
  const cv::Rect box(100, 100, 200, 50);
  budget.StartFrame(1);
  budget.Spend(box, RowOfHeight(20), Sure("KXR4821"));
  budget.Spend(box, RowOfHeight(20), {"KXR4B21", 0.4f});  // neither counts
  budget.Spend(box, RowOfHeight(20), Sure("KXR4821"));    // nor breaks
  EXPECT_FALSE(budget.settled());
  budget.Spend(box, RowOfHeight(20), Sure("KXR4B21"));  // a sure other text
  budget.Spend(box, RowOfHeight(20), Sure("KXR4821"));
  budget.Spend(box, RowOfHeight(20), Sure("KXR4821"));
  EXPECT_FALSE(budget.settled()) << "the run started again at KXR4B21";
  budget.Spend(box, RowOfHeight(20), Sure("KXR4821"));
  EXPECT_TRUE(budget.settled());
  budget.Spend(box + cv::Point(600, 0), RowOfHeight(20), Sure("KXR4821"));
  EXPECT_FALSE(budget.settled()) << "another plate has a run of its own";
}

TEST(PlateReadBudget, ASettleOfZeroReadsAsBeforeForEver) {
  PlateReadBudget budget({.refresh_frames = 6, .settle_reads = 0});
  const cv::Rect box(100, 100, 200, 50);
  for (int64_t frame = 0; frame < 10; ++frame) {
    budget.StartFrame(frame);
    budget.Spend(box, RowOfHeight(20), Sure("KXR4821"));
  }
  EXPECT_FALSE(budget.settled());
  budget.StartFrame(16);
  EXPECT_TRUE(budget.Wants(box, RowOfHeight(20))) << "refresh_frames passed";
}

TEST(PlateReadBudget, ALaneSettlesAfterThreeSureReadingsUnlessConfigured) {
  v1::DetectorConfig config;
  EXPECT_EQ(PlateReadBudget::ForLane(config).settle_reads, 3);
  EXPECT_EQ(PlateReadBudget::ForLane(config).refresh_frames, 6);
  config.set_plate_settle_reads(5);
  EXPECT_EQ(PlateReadBudget::ForLane(config).settle_reads, 5);
  config.set_plate_settle_reads(-1);
  EXPECT_EQ(PlateReadBudget::ForLane(config).settle_reads, 0) << "never";
}

// Stripes: a frame whose every crop has detail, as a plate has.
cv::Mat StripedImage() {
  cv::Mat image(400, 600, CV_8UC3, cv::Scalar(90, 90, 90));
  for (int x = 0; x < image.cols; x += 6) {
    cv::line(image, {x, 0}, {x, image.rows}, cv::Scalar(250, 250, 250), 2);
  }
  return image;
}

TEST(CrossingTracker, KeepsTheNearestCropOfAPlateNoLongerRead) {
  CrossingTracker tracker(
      {.lane_id = "l", .checkpoint_id = "c", .quiet_frames = 4});
  Frame frame{StripedImage(), 0, absl::Now()};
  const cv::Rect read_at(40, 60, 80, 20), later(36, 58, 96, 24);
  ASSERT_FALSE(tracker.Observe(frame, {}, {{read_at, {Sure("KXR4821")}}}));
  // Settled: the nearer plate is in view, not read.
  frame.index = 1;
  ASSERT_FALSE(tracker.Observe(frame, {}, {{later, {}}}));
  std::optional<v1::Record> record = tracker.Flush();
  ASSERT_TRUE(record.has_value());
  bool saw_crop = false;
  for (const v1::Item& item : record->items()) {
    if (item.category() == v1::DATA_CATEGORY_PLATE_TEXT) {
      EXPECT_EQ(item.content(), "KXR4821");
    }
    if (item.category() != v1::DATA_CATEGORY_PLATE_IMAGE) continue;
    saw_crop = true;
    EXPECT_EQ(item.box().width(), later.width);
    EXPECT_EQ(item.frame_index(), 1);
    EXPECT_FLOAT_EQ(item.confidence(), 0.99f) << "as the plate read";
  }
  EXPECT_TRUE(saw_crop);
  EXPECT_EQ(record->plate_candidates_size(), 1);
  EXPECT_EQ(record->plate_candidates(0).votes(), 1) << "no vote unread";
}

// A reading the region's format settled (an O read as 0 where the format
// has a letter) keeps the text as read among the crossing's candidates, so
// that a lookup still finds the plate if the format settled it wrongly.
TEST(CrossingTracker, KeepsTheTextAsReadOfAReadingTheFormatSettled) {
  CrossingTracker tracker(
      {.lane_id = "l", .checkpoint_id = "c", .quiet_frames = 4});
  Frame frame{StripedImage(), 0, absl::Now()};
  const cv::Rect read_at(40, 60, 80, 20);
  PlateReading settled = {"BA302OZ", 0.9f};
  settled.as_read = "BA3020Z";
  const std::vector<PlateReading> readings = {
      settled, {"BA3020Z", 0.89f}, {"BA302QZ", 0.3f}};
  ASSERT_FALSE(tracker.Observe(frame, {}, {{read_at, readings}}));
  // Other frames read other texts, less surely: the text as read still
  // ranks next to the settled one, among the few intake keeps.
  for (const char* other : {"BA3O2OZ", "8A302OZ", "BA3D2OZ", "BA302DZ"}) {
    ++frame.index;
    ASSERT_FALSE(tracker.Observe(frame, {}, {{read_at, {{other, 0.5f}}}}));
  }
  ++frame.index;
  ASSERT_FALSE(tracker.Observe(frame, {}, {{read_at, readings}}));
  std::optional<v1::Record> record = tracker.Flush();
  ASSERT_TRUE(record.has_value());
  ASSERT_EQ(record->plate_candidates_size(), 6);
  EXPECT_EQ(record->plate_candidates(0).text(), "BA302OZ");
  EXPECT_EQ(record->plate_candidates(0).votes(), 2);
  EXPECT_EQ(record->plate_candidates(1).text(), "BA3020Z");
  EXPECT_EQ(record->plate_candidates(1).votes(), 0) << "kept, not voted";
  EXPECT_FLOAT_EQ(record->plate_candidates(1).confidence(), 0.89f);
  for (const v1::Item& item : record->items()) {
    if (item.category() == v1::DATA_CATEGORY_PLATE_TEXT) {
      EXPECT_EQ(item.content(), "BA302OZ");
    }
  }
}

TEST(CrossingTracker, AnUnreadRowAwayFromThePlateReadIsNotItsCrop) {
  CrossingTracker tracker(
      {.lane_id = "l", .checkpoint_id = "c", .quiet_frames = 4});
  Frame frame{StripedImage(), 0, absl::Now()};
  const cv::Rect read_at(40, 60, 80, 20);
  ASSERT_FALSE(tracker.Observe(frame, {}, {{read_at, {Sure("KXR4821")}}}));
  // Unread and unscreened: a grille beside the plate, and a large region
  // around it; either would be a bigger, sharper crop than the plate.
  frame.index = 1;
  ASSERT_FALSE(tracker.Observe(frame, {}, {{cv::Rect(150, 60, 160, 40), {}}}));
  frame.index = 2;
  ASSERT_FALSE(tracker.Observe(frame, {}, {{cv::Rect(0, 0, 400, 200), {}}}));
  std::optional<v1::Record> record = tracker.Flush();
  ASSERT_TRUE(record.has_value());
  int crops = 0;
  for (const v1::Item& item : record->items()) {
    if (item.category() != v1::DATA_CATEGORY_PLATE_IMAGE) continue;
    ++crops;
    EXPECT_EQ(item.box().x(), read_at.x);
    EXPECT_EQ(item.box().width(), read_at.width);
    EXPECT_EQ(item.frame_index(), 0);
  }
  EXPECT_EQ(crops, 1);
}

TEST(CrossingTracker, FramesWhoseFacesWereNotLookedForAreNotSeenEmpty) {
  CrossingTracker tracker(
      {.lane_id = "l", .checkpoint_id = "c", .quiet_frames = 4});
  cv::Mat image(400, 600, CV_8UC3, cv::Scalar(120, 120, 120));
  Frame frame{image, 0, absl::Now()};
  ASSERT_FALSE(tracker.Observe(frame, {}, {{{40, 60, 80, 20}, {Sure("A1")}}}));
  // A loaded lane: frames dropped between analysed ones, faces looked for on
  // every other one, and the plate missed on two of them. Only one frame
  // was seen empty: the vehicle is still the same crossing.
  for (int64_t index : {3, 6, 9}) {
    frame.index = index;
    EXPECT_FALSE(tracker.Observe(frame, {}, {}, /*faces_looked=*/index == 6))
        << index;
  }
  EXPECT_TRUE(tracker.open());
  frame.index = 10;
  EXPECT_FALSE(tracker.Observe(frame, {}, {{{40, 60, 80, 20}, {Sure("A1")}}}));
  EXPECT_TRUE(tracker.open()) << "one crossing, not two";
  // Seen empty, faces looked for, long enough: it ends.
  std::optional<v1::Record> closed;
  for (int64_t index = 11; index < 20 && !closed; ++index) {
    frame.index = index;
    closed = tracker.Observe(frame, {}, {}, true);
  }
  EXPECT_TRUE(closed.has_value());
}

// A lane's counters and its one record, with faces followed on every Nth
// analysed frame.
struct FollowRun {
  v1::LaneCounters counters;
  std::vector<v1::Record> records;
};
FollowRun RunFollowingEvery(const std::string& frames, int every) {
  v1::LaneConfig config;
  config.set_lane_id("lane-t");
  config.set_checkpoint_id("cp-t");
  config.set_source("folder:" + frames);
  config.mutable_detectors()->set_face_follow_every(every);
  testing::CollectingSink sink;
  auto lane = Lane::Create(config, &sink);
  EXPECT_TRUE(lane.ok()) << lane.status();
  if (!lane.ok()) return {};
  EXPECT_TRUE((*lane)->Run().ok());
  return {(*lane)->Status().counters(), sink.records()};
}

TEST(Lane, FollowsFacesOnEveryOtherFrameAndStillKeepsTheCrossingsFace) {
  testing::TempDir dir;
  testing::MakeFootage(dir.Join("one"), {"KXR4821"});
  const std::string frames = dir.Join("one/frames");
  const FollowRun every_frame = RunFollowingEvery(frames, 1);
  const FollowRun by_default = RunFollowingEvery(frames, 0);  // 2
  for (const FollowRun* run : {&every_frame, &by_default}) {
    ASSERT_EQ(run->records.size(), 1u);
    int faces = 0;
    for (const v1::Item& item : run->records[0].items()) {
      faces += item.category() == v1::DATA_CATEGORY_FACE_IMAGE;
    }
    EXPECT_GE(faces, 1);
  }
  // The same frames analysed, but for one: a frame the gate only holds
  // open is not analysed after one seen empty, and a frame whose faces were
  // not looked for is not seen empty, so the default may analyse one more
  // held frame after the vehicle has gone.
  EXPECT_NEAR(static_cast<double>(by_default.counters.frames_analysed()),
              static_cast<double>(every_frame.counters.frames_analysed()), 1);
  // Looked for on fewer frames: found fewer times, by about half.
  EXPECT_LT(by_default.counters.face_detections(),
            0.75 * every_frame.counters.face_detections());
  EXPECT_GT(by_default.counters.face_detections(), 0u);
}

TEST(Lane, DoesNotAnalyseTheFramesItsGateHoldsOpenOnAnEmptyRoad) {
  testing::TempDir dir;
  testing::MakeFootage(dir.Join("one"), {"KXR4821"});
  const FollowRun run = RunFollowingEvery(dir.Join("one/frames"), 0);
  ASSERT_EQ(run.records.size(), 1u);
  bool read = false;
  int faces = 0;
  for (const v1::Item& item : run.records[0].items()) {
    read |= item.category() == v1::DATA_CATEGORY_PLATE_TEXT &&
            item.content() == "KXR4821";
    faces += item.category() == v1::DATA_CATEGORY_FACE_IMAGE;
  }
  EXPECT_TRUE(read);
  EXPECT_GE(faces, 1);
  // 14 frames of empty road, the vehicle's 48, then 14 of empty road: the
  // first frame is looked at whole, and after it and after the vehicle the
  // gate holds open for 6 frames on an unchanged, empty picture. Those are
  // seen empty without the detectors (the crossing still closes: one
  // record); analysing them made 63.
  EXPECT_EQ(run.counters.frames_read(), 76u);
  EXPECT_LE(run.counters.frames_analysed(), 1u + 48u + 6u);
}

}  // namespace
}  // namespace lanevault::capture
