// A lane over a file or folder resumes where its stored crossings end, and a
// source that cannot be read is the lane's state, not its program's end.
// Real footage (lanevault_footage), real OpenCV and detectors; only the
// vault is replaced, by sinks that say what was acknowledged.

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "capture/lane.h"
#include "gtest/gtest.h"
#include "spdlog/sinks/base_sink.h"
#include "spdlog/spdlog.h"
#include "testing/collecting_sink.h"
#include "testing/test_util.h"

namespace lanevault::capture {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kPlates = {"KXR4821", "MVB7350", "HTK2947"};

std::string PlateText(const v1::Record& r) {
  for (const auto& item : r.items()) {
    if (item.category() == v1::DATA_CATEGORY_PLATE_TEXT) return item.content();
  }
  return "";
}

// The source frame of the record's plate crop: where in the footage the
// crossing was, comparable across runs (record ids and times are not).
int64_t PlateFrame(const v1::Record& r) {
  for (const auto& item : r.items()) {
    if (item.category() == v1::DATA_CATEGORY_PLATE_IMAGE) {
      return item.frame_index();
    }
  }
  return -1;
}

using ::lanevault::testing::CollectingSink;

// Acknowledges the first record, then none: the vault as seen by a process
// that is killed right after its first commit.
class AckOnceSink : public RecordSink {
 public:
  absl::Status Submit(v1::Record record) override {
    absl::MutexLock lock(&mu_);
    if (!acked_.empty()) return absl::UnavailableError("vault gone");
    acked_.push_back(std::move(record));
    first_.Notify();
    return absl::OkStatus();
  }
  std::vector<v1::Record> acked() {
    absl::MutexLock lock(&mu_);
    return acked_;
  }
  absl::Notification& first() { return first_; }

 private:
  absl::Mutex mu_;
  std::vector<v1::Record> acked_ ABSL_GUARDED_BY(mu_);
  absl::Notification first_;
};

// Everything logged while it lives. Made before, and gone after, the lanes
// whose logs it reads, since the default logger's sinks are not guarded.
class LogCapture {
 public:
  LogCapture() : sink_(std::make_shared<TextSink>()) {
    spdlog::default_logger()->sinks().push_back(sink_);
  }
  ~LogCapture() {
    auto& sinks = spdlog::default_logger()->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
  }
  // How often `text` was logged.
  int Count(const std::string& text) {
    const std::string all = sink_->text();
    int n = 0;
    for (size_t at = all.find(text); at != std::string::npos;
         at = all.find(text, at + text.size())) {
      ++n;
    }
    return n;
  }

 private:
  class TextSink : public spdlog::sinks::base_sink<std::mutex> {
   public:
    std::string text() {
      std::lock_guard<std::mutex> lock(mutex_);
      return text_;
    }

   protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
      text_.append(msg.payload.data(), msg.payload.size());
      text_.push_back('\n');
    }
    void flush_() override {}

   private:
    std::string text_;
  };
  std::shared_ptr<TextSink> sink_;
};

v1::LaneConfig LaneOn(const std::string& source) {
  v1::LaneConfig c;
  c.set_lane_id("lane-r");
  c.set_checkpoint_id("cp-r");
  c.set_source(source);
  return c;
}

// Short backoffs, so that the tests wait milliseconds, not seconds.
LaneOptions FastOptions(const std::string& state_dir) {
  LaneOptions o;
  o.state_dir = state_dir;
  o.initial_backoff = absl::Milliseconds(20);
  o.max_backoff = absl::Milliseconds(100);
  return o;
}

// Polls until `done` holds for the lane's status, at most `limit`.
template <typename Pred>
v1::LaneStatus AwaitStatus(const Lane& lane, Pred done,
                           absl::Duration limit = absl::Seconds(30)) {
  const absl::Time until = absl::Now() + limit;
  v1::LaneStatus s = lane.Status();
  while (!done(s) && absl::Now() < until) {
    absl::SleepFor(absl::Milliseconds(10));
    s = lane.Status();
  }
  return s;
}

// Three vehicles, 48 frames each with 14 of empty road around: 200 frames.
constexpr int kFrames = 3 * 48 + 4 * 14;

class LaneResume : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    testing::MakeFootage(dir_->Join("three"), kPlates);
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string Frames() { return dir_->Join("three/frames"); }
  static std::string Video() { return dir_->Join("three/lane.avi"); }
  static testing::TempDir* dir_;

  testing::TempDir work_;
};
testing::TempDir* LaneResume::dir_ = nullptr;

TEST_F(LaneResume, ASecondRunOverTheSameFolderStoresNothingAgain) {
  const std::string state = work_.Join("state/lanes");
  CollectingSink first;
  {
    auto lane =
        Lane::Create(LaneOn("folder:" + Frames()), &first, FastOptions(state));
    ASSERT_TRUE(lane.ok()) << lane.status();
    ASSERT_TRUE((*lane)->Run().ok());
    EXPECT_EQ((*lane)->Status().state(), v1::LANE_STATE_FINISHED);
    EXPECT_EQ((*lane)->Status().resumed_at_frame(), 0);
  }
  ASSERT_EQ(first.records().size(), kPlates.size());
  for (size_t i = 0; i < kPlates.size(); ++i) {
    EXPECT_EQ(PlateText(first.records()[i]), kPlates[i]);
  }
  EXPECT_TRUE(fs::exists(state + "/lane-r.position"));

  LogCapture log;
  CollectingSink second;
  auto lane =
      Lane::Create(LaneOn("folder:" + Frames()), &second, FastOptions(state));
  ASSERT_TRUE(lane.ok()) << lane.status();
  ASSERT_TRUE((*lane)->Run().ok());
  const v1::LaneStatus s = (*lane)->Status();
  EXPECT_TRUE(second.records().empty());
  EXPECT_EQ(s.state(), v1::LANE_STATE_FINISHED) << s.last_error();
  EXPECT_EQ(s.resumed_at_frame(), kFrames);
  EXPECT_EQ(s.counters().frames_read(), 0u);
  EXPECT_EQ(
      log.Count(absl::StrCat("resumed at frame ", kFrames, " of ", kFrames)),
      1);
}

TEST_F(LaneResume, AReplacedFileUnderTheSameLaneStartsAtFrameZero) {
  const std::string state = work_.Join("state");
  const std::string video = work_.Join("lane.avi");
  fs::copy_file(Video(), video);
  AckOnceSink first;
  {
    auto lane =
        Lane::Create(LaneOn("file:" + video), &first, FastOptions(state));
    ASSERT_TRUE(lane.ok()) << lane.status();
    (*lane)->Start();
    ASSERT_TRUE(
        first.first().WaitForNotificationWithTimeout(absl::Seconds(60)));
    (*lane)->Stop();
  }
  // The same path, other content (as its modification time says): the
  // position kept for the old file does not apply.
  fs::last_write_time(video,
                      fs::last_write_time(video) + std::chrono::seconds(5));
  CollectingSink second;
  auto lane =
      Lane::Create(LaneOn("file:" + video), &second, FastOptions(state));
  ASSERT_TRUE(lane.ok()) << lane.status();
  (*lane)->Start();
  const v1::LaneStatus s = AwaitStatus(**lane, [](const v1::LaneStatus& now) {
    return now.counters().frames_read() > 0;
  });
  EXPECT_EQ(s.resumed_at_frame(), 0);
  EXPECT_GT(s.counters().frames_read(), 0u);
}

// A crossing of the footage, from its crossings.tsv.
struct Crossing {
  std::string plate;
  int64_t first_frame = 0, last_frame = 0;
};

std::vector<Crossing> TruthOf(const std::string& footage) {
  std::vector<Crossing> out;
  std::ifstream in(footage + "/crossings.tsv");
  std::string header;
  std::getline(in, header);
  int vehicle;
  Crossing c;
  while (in >> vehicle >> c.plate >> c.first_frame >> c.last_frame) {
    out.push_back(c);
  }
  return out;
}

// The lane is stopped right after the vault's first acknowledgement, as a
// process killed then would be; a new lane over the same state and source
// must store exactly the rest.
void KillAfterFirstAckThenResume(const std::string& source,
                                 const std::string& state,
                                 const std::vector<Crossing>& truth) {
  AckOnceSink killed;
  {
    auto lane = Lane::Create(LaneOn(source), &killed, FastOptions(state));
    ASSERT_TRUE(lane.ok()) << lane.status();
    (*lane)->Start();
    ASSERT_TRUE(
        killed.first().WaitForNotificationWithTimeout(absl::Seconds(60)));
    (*lane)->Stop();
    (*lane)->Wait();
  }
  ASSERT_EQ(killed.acked().size(), 1u);

  CollectingSink restarted;
  auto lane = Lane::Create(LaneOn(source), &restarted, FastOptions(state));
  ASSERT_TRUE(lane.ok()) << lane.status();
  ASSERT_TRUE((*lane)->Run().ok());
  const v1::LaneStatus s = (*lane)->Status();
  EXPECT_GT(s.resumed_at_frame(), truth[0].last_frame);
  EXPECT_LT(s.resumed_at_frame(), truth[1].first_frame);
  EXPECT_EQ(s.state(), v1::LANE_STATE_FINISHED);

  std::vector<v1::Record> stored = killed.acked();
  for (v1::Record& r : restarted.records()) stored.push_back(std::move(r));
  // Every crossing once, in the footage's order, each from its own frames.
  ASSERT_EQ(stored.size(), truth.size());
  for (size_t i = 0; i < truth.size(); ++i) {
    EXPECT_EQ(PlateText(stored[i]), truth[i].plate) << i;
    EXPECT_GE(PlateFrame(stored[i]), truth[i].first_frame) << i;
    EXPECT_LE(PlateFrame(stored[i]), truth[i].last_frame) << i;
  }
}

TEST_F(LaneResume, AfterAKillEachCrossingOfAFolderIsStoredOnce) {
  KillAfterFirstAckThenResume("folder:" + Frames(), work_.Join("state"),
                              TruthOf(dir_->Join("three")));
}

TEST_F(LaneResume, AfterAKillEachCrossingOfAVideoIsStoredOnce) {
  KillAfterFirstAckThenResume("file:" + Video(), work_.Join("state"),
                              TruthOf(dir_->Join("three")));
}

// Refuses the second record for good and takes the others.
class RefuseSecondSink : public RecordSink {
 public:
  absl::Status Submit(v1::Record record) override {
    absl::MutexLock lock(&mu_);
    if (++calls_ == 2) return absl::InvalidArgumentError("refused");
    acked_.push_back(std::move(record));
    return absl::OkStatus();
  }
  std::vector<v1::Record> acked() {
    absl::MutexLock lock(&mu_);
    return acked_;
  }

 private:
  absl::Mutex mu_;
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<v1::Record> acked_ ABSL_GUARDED_BY(mu_);
};

// The position never passes a record that was not acknowledged, even when
// later ones were: the restart forms it again (and those after it).
TEST_F(LaneResume, ARefusedRecordHoldsThePositionBeforeIt) {
  const std::string state = work_.Join("state");
  const std::vector<Crossing> truth = TruthOf(dir_->Join("three"));
  RefuseSecondSink refusing;
  {
    auto lane = Lane::Create(LaneOn("folder:" + Frames()), &refusing,
                             FastOptions(state));
    ASSERT_TRUE(lane.ok()) << lane.status();
    ASSERT_TRUE((*lane)->Run().ok());
    EXPECT_EQ((*lane)->Status().counters().records_failed(), 1u);
  }
  ASSERT_EQ(refusing.acked().size(), 2u);

  CollectingSink restarted;
  auto lane = Lane::Create(LaneOn("folder:" + Frames()), &restarted,
                           FastOptions(state));
  ASSERT_TRUE(lane.ok()) << lane.status();
  ASSERT_TRUE((*lane)->Run().ok());
  EXPECT_GT((*lane)->Status().resumed_at_frame(), truth[0].last_frame);
  EXPECT_LT((*lane)->Status().resumed_at_frame(), truth[1].first_frame);
  ASSERT_EQ(restarted.records().size(), 2u);
  EXPECT_EQ(PlateText(restarted.records()[0]), truth[1].plate);
  EXPECT_EQ(PlateText(restarted.records()[1]), truth[2].plate);
}

TEST_F(LaneResume, AMissingFileIsAwaitedThenRead) {
  const std::string path = work_.Join("incoming/lane.avi");
  CollectingSink sink;
  auto lane =
      Lane::Create(LaneOn("file:" + path), &sink, FastOptions(work_.Join("s")));
  ASSERT_TRUE(lane.ok()) << lane.status();
  LogCapture log;
  (*lane)->Start();
  v1::LaneStatus s = AwaitStatus(**lane, [](const v1::LaneStatus& now) {
    return now.state() == v1::LANE_STATE_RECONNECTING;
  });
  EXPECT_EQ(s.state(), v1::LANE_STATE_RECONNECTING);
  EXPECT_TRUE(absl::StrContains(s.last_error(), path)) << s.last_error();
  // Several retries later it is still one outage, logged once.
  absl::SleepFor(absl::Milliseconds(400));
  s = (*lane)->Status();
  EXPECT_EQ(s.counters().source_outages(), 1u);
  EXPECT_EQ(s.state(), v1::LANE_STATE_RECONNECTING);
  EXPECT_EQ(log.Count("waiting for it"), 1);

  fs::create_directories(work_.Join("incoming"));
  fs::copy_file(Video(), path);
  (*lane)->Wait();
  s = (*lane)->Status();
  EXPECT_EQ(s.state(), v1::LANE_STATE_FINISHED) << s.last_error();
  ASSERT_EQ(sink.records().size(), kPlates.size());
  for (size_t i = 0; i < kPlates.size(); ++i) {
    EXPECT_EQ(PlateText(sink.records()[i]), kPlates[i]);
  }
}

TEST(LaneSource, AnEmptyFolderSaysItHasNoFrames) {
  testing::TempDir work;
  fs::create_directories(work.Join("frames"));
  CollectingSink sink;
  auto lane = Lane::Create(LaneOn("folder:" + work.Join("frames")), &sink,
                           FastOptions(work.Join("state")));
  ASSERT_TRUE(lane.ok()) << lane.status();
  ASSERT_TRUE((*lane)->Run().ok());
  const v1::LaneStatus s = (*lane)->Status();
  EXPECT_EQ(s.state(), v1::LANE_STATE_FAILED);
  EXPECT_TRUE(absl::StrContains(s.last_error(), "has no frames"))
      << s.last_error();
  EXPECT_TRUE(absl::StrContains(s.last_error(), work.Join("frames")));
}

TEST(LaneSource, AFileThatIsNoVideoFailsTheLaneNotItsCreation) {
  testing::TempDir work;
  const std::string path = work.Join("cut.avi");
  std::ofstream(path) << std::string(3 * 1024, 'x');
  CollectingSink sink;
  auto lane = Lane::Create(LaneOn("file:" + path), &sink, FastOptions(""));
  ASSERT_TRUE(lane.ok()) << lane.status();
  ASSERT_TRUE((*lane)->Run().ok());
  const v1::LaneStatus s = (*lane)->Status();
  EXPECT_EQ(s.state(), v1::LANE_STATE_FAILED);
  EXPECT_TRUE(absl::StrContains(s.last_error(), path)) << s.last_error();
}

TEST(LaneSource, AMissingSourceIsGivenUpWhenTheProgramSaysSo) {
  testing::TempDir work;
  CollectingSink sink;
  LaneOptions options = FastOptions("");
  options.wait_for_missing_source = absl::Milliseconds(100);
  auto lane =
      Lane::Create(LaneOn("folder:" + work.Join("none")), &sink, options);
  ASSERT_TRUE(lane.ok()) << lane.status();
  ASSERT_TRUE((*lane)->Run().ok());
  const v1::LaneStatus s = (*lane)->Status();
  EXPECT_EQ(s.state(), v1::LANE_STATE_FAILED);
  EXPECT_TRUE(absl::StrContains(s.last_error(), work.Join("none")))
      << s.last_error();
}

TEST(LaneSource, StopEndsTheWaitForAMissingSource) {
  testing::TempDir work;
  CollectingSink sink;
  LaneOptions options;  // the daemon's: waits for ever, 0.5 s then longer
  auto lane =
      Lane::Create(LaneOn("file:" + work.Join("none.avi")), &sink, options);
  ASSERT_TRUE(lane.ok()) << lane.status();
  (*lane)->Start();
  AwaitStatus(**lane, [](const v1::LaneStatus& s) {
    return s.state() == v1::LANE_STATE_RECONNECTING;
  });
  const absl::Time stop = absl::Now();
  (*lane)->Stop();
  (*lane)->Wait();
  EXPECT_LT(absl::Now() - stop, absl::Seconds(2));
  EXPECT_EQ((*lane)->Status().state(), v1::LANE_STATE_FAILED);
}

TEST(LaneSource, ADeadCameraIsRetriedAndItsPasswordNotShown) {
  CollectingSink sink;
  // Port 1 on loopback: nothing listens, the connection is refused.
  auto lane = Lane::Create(LaneOn("http://op:s3cret@127.0.0.1:1/cam"), &sink,
                           FastOptions(""));
  ASSERT_TRUE(lane.ok()) << lane.status();
  (*lane)->Start();
  const v1::LaneStatus s = AwaitStatus(**lane, [](const v1::LaneStatus& now) {
    return now.state() == v1::LANE_STATE_RECONNECTING;
  });
  EXPECT_EQ(s.state(), v1::LANE_STATE_RECONNECTING);
  EXPECT_TRUE(absl::StrContains(s.last_error(), "127.0.0.1:1/cam"))
      << s.last_error();
  EXPECT_FALSE(absl::StrContains(s.last_error(), "s3cret"));
  (*lane)->Stop();
  (*lane)->Wait();
}

TEST(LaneSource, OnlyAConfigThatCanNeverWorkFailsCreate) {
  CollectingSink sink;
  for (const char* spec : {"ftp://host/x", "folder:", "v4l2:/dev/sda"}) {
    auto lane = Lane::Create(LaneOn(spec), &sink);
    EXPECT_EQ(lane.status().code(), absl::StatusCode::kInvalidArgument) << spec;
    EXPECT_TRUE(absl::StrContains(lane.status().message(), "lane-r"));
  }
  auto missing = Lane::Create(LaneOn("folder:/nonexistent/frames"), &sink);
  EXPECT_TRUE(missing.ok()) << missing.status();
}

}  // namespace
}  // namespace lanevault::capture
