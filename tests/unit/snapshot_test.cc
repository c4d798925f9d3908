// Operators' lane snapshots: the masked frame of generated footage holds no
// plate the project's own reader can read and no face its detector finds
// (while the same frame unmasked holds both); only operators get one, and
// each request is in the access log; a capture node's lane answers through
// the daemon with a picture the node masked.

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "capture/detectors.h"
#include "capture/plate_finder.h"
#include "capture/snapshot_mask.h"
#include "footage/scene.h"
#include "gtest/gtest.h"
#include "lanevault/v1/lanes.grpc.pb.h"
#include "node/snapshot_responder.h"
#include "opencv2/imgcodecs.hpp"
#include "rpc/tls.h"
#include "testing/api_fixture.h"
#include "testing/test_util.h"
#include "watermark/watermark.h"

namespace lanevault {
namespace {

using capture::DetectorSet;
using capture::FindPlates;
using capture::MaskedSnapshot;
using capture::MaskSnapshot;
using capture::PlateSighting;
using testing::WithDeadline;

constexpr char kPlate[] = "KXR4821";

// A frame of generated footage whose plate the reader reads and whose face
// the detector finds, unmasked: the test could fail.
struct ReadableFrame {
  cv::Mat image;
  cv::Rect plate_box, face_box;
};

std::optional<ReadableFrame> FindReadableFrame(DetectorSet& set) {
  footage::SceneOptions options;
  options.vehicles = {{kPlate}};
  absl::StatusOr<footage::Scene> scene = footage::RenderScene(options);
  if (!scene.ok()) return std::nullopt;
  // From the middle out: the vehicle is nearest and largest there.
  const int n = static_cast<int>(scene->frames.size());
  for (int step = 0; step < n; ++step) {
    const int i = n / 2 + ((step % 2) ? -(step + 1) / 2 : step / 2);
    if (i < 0 || i >= n) continue;
    const footage::FrameTruth& truth = scene->truth[i];
    if (truth.plate_box.empty() || truth.face_box.empty()) continue;
    const cv::Mat& frame = scene->frames[i];
    bool read = false;
    for (const PlateSighting& s : FindPlates(frame, *set.plate, *set.reader)) {
      read = read || (s.read() && s.best().text == kPlate);
    }
    if (!read || set.face->Detect(frame).empty()) continue;
    return ReadableFrame{frame, truth.plate_box, truth.face_box};
  }
  return std::nullopt;
}

class SnapshotMaskTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto made = capture::NewDetectorSet(v1::DetectorConfig());
    ASSERT_TRUE(made.ok()) << made.status();
    set_ = new DetectorSet(std::move(*made));
    frame_ = new std::optional<ReadableFrame>(FindReadableFrame(*set_));
  }
  // The masked JPEG of `f`: the reader finds no text in it at all (not only
  // not the plate's), not even in the plate's own crop, and the face
  // detector finds no face.
  static void ExpectNothingReadable(const MaskedSnapshot& masked,
                                    const ReadableFrame& f) {
    cv::Mat picture =
        cv::imdecode(std::vector<uchar>(masked.jpeg.begin(), masked.jpeg.end()),
                     cv::IMREAD_COLOR);
    ASSERT_EQ(picture.size(), f.image.size());
    for (const PlateSighting& s :
         FindPlates(picture, *set_->plate, *set_->reader)) {
      EXPECT_FALSE(s.read()) << "read '" << s.best().text << "' at " << s.box;
    }
    EXPECT_TRUE(set_->face->Detect(picture).empty());
    const cv::Rect plate =
        f.plate_box & cv::Rect(0, 0, f.image.cols, f.image.rows);
    EXPECT_TRUE(set_->reader->Read(picture(plate)).empty());
  }

  static inline DetectorSet* set_ = nullptr;
  static inline std::optional<ReadableFrame>* frame_ = nullptr;
};

// Detectors that find nothing: what a profile, a small face or a plate the
// contour search passes over is to the real ones.
class BlindFaces final : public capture::FaceDetector {
 public:
  std::vector<capture::FaceHit> Detect(const cv::Mat&) override { return {}; }
};
class BlindPlates final : public capture::PlateDetector {
 public:
  std::vector<cv::Rect> Candidates(const cv::Mat&) override { return {}; }
};

TEST_F(SnapshotMaskTest, WhatTheDetectorsMissIsUnreadableToo) {
  ASSERT_TRUE(frame_->has_value());
  const ReadableFrame& f = **frame_;
  BlindFaces blind_faces;
  BlindPlates blind_plates;
  absl::StatusOr<MaskedSnapshot> masked =
      MaskSnapshot(f.image, cv::Rect(0, 0, 8, 8), blind_faces, blind_plates);
  ASSERT_TRUE(masked.ok()) << masked.status();
  EXPECT_TRUE(masked->faces.empty());
  EXPECT_TRUE(masked->plates.empty());
  ExpectNothingReadable(*masked, f);
}

// A detector that offers its plates only in a later round of candidates.
class LatePlates final : public capture::PlateDetector {
 public:
  explicit LatePlates(capture::PlateDetector& real) : real_(real) {}
  std::vector<cv::Rect> Candidates(const cv::Mat&) override { return {}; }
  int MoreCandidateRounds() const override { return 2; }
  std::vector<cv::Rect> MoreCandidates(const cv::Mat& bgr, int round) override {
    return round == 2 ? real_.Candidates(bgr) : std::vector<cv::Rect>{};
  }

 private:
  capture::PlateDetector& real_;
};

TEST_F(SnapshotMaskTest, PlatesOfALaterRoundAreMaskedToo) {
  ASSERT_TRUE(frame_->has_value());
  const ReadableFrame& f = **frame_;
  LatePlates late(*set_->plate);
  absl::StatusOr<MaskedSnapshot> masked =
      MaskSnapshot(f.image, cv::Rect(0, 0, 8, 8), *set_->face, late);
  ASSERT_TRUE(masked.ok()) << masked.status();
  const cv::Rect plate =
      f.plate_box & cv::Rect(0, 0, f.image.cols, f.image.rows);
  bool covered = false;
  for (const cv::Rect& m : masked->plates) covered |= (m & plate).area() > 0;
  EXPECT_TRUE(covered);
  ExpectNothingReadable(*masked, f);
}

TEST_F(SnapshotMaskTest, NoReadablePlateAndNoFaceSurviveTheMask) {
  ASSERT_TRUE(frame_->has_value())
      << "no frame of the footage has a readable plate and a detectable "
         "face unmasked: the test would prove nothing";
  const ReadableFrame& f = **frame_;
  const cv::Rect roi(0, f.image.rows / 4, f.image.cols, f.image.rows / 2);
  absl::StatusOr<MaskedSnapshot> masked =
      MaskSnapshot(f.image, roi, *set_->face, *set_->plate);
  ASSERT_TRUE(masked.ok()) << masked.status();
  ExpectNothingReadable(*masked, f);
  // The same crop of the unmasked frame does read.
  const cv::Rect plate =
      f.plate_box & cv::Rect(0, 0, f.image.cols, f.image.rows);
  EXPECT_FALSE(set_->reader->Read(f.image(plate)).empty());
  // What was masked covers the true boxes.
  auto covered = [](const std::vector<cv::Rect>& boxes, const cv::Rect& b) {
    for (const cv::Rect& m : boxes) {
      if ((m & b).area() >= b.area() * 9 / 10) return true;
    }
    return false;
  };
  EXPECT_TRUE(covered(masked->plates, plate));
  EXPECT_TRUE(covered(masked->faces, f.face_box));
}

// The server's side: the daemon's own lane answers with a frame it masked.
class SnapshotApiTest : public testing::ApiFixture {
 protected:
  void Configure(api::ServerOptions& so) override {
    so.lane_snapshot = [](const std::string& lane_id)
        -> std::optional<absl::StatusOr<v1::Snapshot>> {
      if (lane_id != "lane-1") return std::nullopt;
      v1::Snapshot s;
      s.set_lane_id(lane_id);
      s.set_jpeg(testing::TestJpeg(96, 64));
      s.set_faces_masked(1);
      return s;
    };
  }

  grpc::Status Get(const std::string& who, const std::string& lane,
                   v1::Snapshot* out) {
    auto stub = v1::LaneService::NewStub(Channel(who));
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    v1::GetSnapshotRequest req;
    req.set_lane_id(lane);
    return stub->GetSnapshot(&ctx, req, out);
  }

  // The operator's call for a capture node's lane: until the node's first
  // poll arrives the lane is unknown, so it is asked again for a while.
  grpc::Status GetOnceTheNodePolls(const std::string& lane, v1::Snapshot* out) {
    grpc::Status s;
    for (int attempt = 0; attempt < 100; ++attempt) {
      out->Clear();
      s = Get("operator-dev", lane, out);
      if (s.error_code() != grpc::StatusCode::NOT_FOUND) break;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return s;
  }

  // A capture node's connection to this server, as lane-dev.
  void NodeOptions(node::SenderOptions& options) {
    options.addresses = {absl::StrCat("127.0.0.1:", server_->port())};
    auto creds = rpc::ClientTlsCredentials(dir_->Join("pki/ca.pem"),
                                           dir_->Join("pki/lane-dev.pem"),
                                           dir_->Join("pki/lane-dev.key"));
    ASSERT_TRUE(creds.ok()) << creds.status();
    options.credentials = *creds;
  }

  // The access log's snapshot entries, as (principal, verdict).
  std::vector<std::pair<std::string, v1::Verdict>> SnapshotEntries() {
    std::vector<std::pair<std::string, v1::Verdict>> out;
    for (const v1::AuditEntry& e : Log()) {
      if (e.action() == v1::ACTION_VIEW_SNAPSHOT) {
        out.emplace_back(e.principal(), e.verdict());
      }
    }
    return out;
  }
};

TEST_F(SnapshotApiTest, OnlyOperatorsGetOneAndEveryRequestIsLogged) {
  v1::Snapshot snap;
  grpc::Status s = Get("operator-dev", "lane-1", &snap);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(snap.lane_id(), "lane-1");
  EXPECT_EQ(snap.faces_masked(), 1);
  for (const char* who : {"inspector-dev", "auditor-dev", "lane-dev"}) {
    v1::Snapshot refused;
    EXPECT_EQ(Get(who, "lane-1", &refused).error_code(),
              grpc::StatusCode::PERMISSION_DENIED)
        << who;
    EXPECT_TRUE(refused.jpeg().empty());
  }
  auto entries = SnapshotEntries();
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries[0].first, "operator-dev");
  EXPECT_EQ(entries[0].second, v1::VERDICT_ALLOW);
  for (size_t i = 1; i < entries.size(); ++i) {
    EXPECT_EQ(entries[i].second, v1::VERDICT_DENY) << entries[i].first;
  }
}

// A node's snapshot that cannot be marked (not a JPEG) is not shown.
TEST_F(SnapshotApiTest, ASnapshotThatCannotBeMarkedIsNotShown) {
  node::SenderOptions options;
  ASSERT_NO_FATAL_FAILURE(NodeOptions(options));
  node::SnapshotResponder responder(
      options, {{"lane-7", record_.checkpoint_id(), [] {
                   v1::Snapshot s;
                   s.set_lane_id("lane-7");
                   std::vector<uchar> png;
                   cv::imencode(
                       ".png",
                       cv::Mat(64, 96, CV_8UC3, cv::Scalar(90, 120, 150)), png);
                   s.set_jpeg(std::string(png.begin(), png.end()));
                   return absl::StatusOr<v1::Snapshot>(s);
                 }}});
  v1::Snapshot snap;
  const grpc::Status s = GetOnceTheNodePolls("lane-7", &snap);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_NE(s.error_message().find("cannot be watermarked"), std::string::npos)
      << s.error_message();
  EXPECT_TRUE(snap.jpeg().empty());
  responder.Stop();
}

TEST_F(SnapshotApiTest, ALaneNobodyRunsIsNotFound) {
  v1::Snapshot snap;
  grpc::Status s = Get("operator-dev", "lane-9", &snap);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
  EXPECT_NE(s.error_message().find("lane-9"), std::string::npos);
}

// A capture node's lane: the node polls, masks, uploads; the operator's
// call waits for it.
TEST_F(SnapshotApiTest, ACaptureNodesLaneAnswersThroughTheDaemon) {
  node::SenderOptions options;
  ASSERT_NO_FATAL_FAILURE(NodeOptions(options));
  std::atomic<int> asked = 0;
  node::SnapshotResponder responder(
      options, {{"lane-7", record_.checkpoint_id(), [&asked] {
                   ++asked;
                   v1::Snapshot s;
                   s.set_lane_id("lane-7");
                   s.set_jpeg(testing::TestJpeg(96, 64, 7));
                   s.set_plates_masked(2);
                   return absl::StatusOr<v1::Snapshot>(s);
                 }}});
  v1::Snapshot snap;
  const grpc::Status s = GetOnceTheNodePolls("lane-7", &snap);
  ASSERT_TRUE(s.ok()) << s.error_message();
  // Not the node's bytes: marked, naming the operator's call.
  EXPECT_NE(snap.jpeg(), testing::TestJpeg(96, 64, 7));
  absl::StatusOr<watermark::Traced> traced =
      watermark::TraceEncoded(vault_->watermark_key(), snap.jpeg());
  ASSERT_TRUE(traced.ok()) << traced.status();
  EXPECT_TRUE(traced->found) << traced->detail;
  uint64_t call = 0;
  for (const v1::AuditEntry& e : Log()) {
    if (e.action() == v1::ACTION_VIEW_SNAPSHOT &&
        e.verdict() == v1::VERDICT_ALLOW) {
      call = e.sequence();
    }
  }
  const uint64_t mask = traced->token_bits >= 32
                            ? 0xffffffffu
                            : (uint64_t{1} << traced->token_bits) - 1;
  EXPECT_EQ(traced->token & mask, call & mask);
  EXPECT_EQ(snap.plates_masked(), 2);
  EXPECT_EQ(asked, 1);
  responder.Stop();
}

// A node with no picture says why; the operator gets one short printable
// line of it, whatever a compromised node sends.
TEST_F(SnapshotApiTest, ANodesErrorReachesTheOperatorBounded) {
  node::SenderOptions options;
  ASSERT_NO_FATAL_FAILURE(NodeOptions(options));
  const std::string hostile =
      absl::StrCat("camera gone\nFAKE line\x1b[2J", std::string(5000, 'x'));
  node::SnapshotResponder responder(
      options,
      {{"lane-7", record_.checkpoint_id(), [&hostile] {
          return absl::StatusOr<v1::Snapshot>(absl::UnavailableError(hostile));
        }}});
  v1::Snapshot snap;
  const grpc::Status s = GetOnceTheNodePolls("lane-7", &snap);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_NE(s.error_message().find("camera gone?FAKE line?[2J"),
            std::string::npos)
      << s.error_message();
  EXPECT_LT(s.error_message().size(), 300u);
  EXPECT_TRUE(snap.jpeg().empty());
  responder.Stop();
}

}  // namespace
}  // namespace lanevault
