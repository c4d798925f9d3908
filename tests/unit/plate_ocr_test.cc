// The learned plate reader (PLATE_READER_LEARNED): the committed network
// loads in OpenCV and gives the training framework's logits; it reads
// rendered plates of each region that no training or validation set held
// (training/plate_ocr/export.py wrote them from a held-back seed); and the
// CTC decoding sums alignments and ranks its beams.

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "capture/ctc_decoder.h"
#include "capture/detectors.h"
#include "capture/learned_plate_reader.h"
#include "capture/plate_regions.h"
#include "capture/plate_text.h"
#include "gtest/gtest.h"
#include "lanevault/v1/config.pb.h"
#include "opencv2/imgcodecs.hpp"
#include "testing/test_util.h"

namespace lanevault::capture {
namespace {

namespace fs = std::filesystem;

std::string SourcePath(const std::string& relative) {
  return std::string(LANEVAULT_SOURCE_DIR) + "/" + relative;
}

// Probabilities of a few columns over classes {blank, A, B}.
cv::Mat Columns(const std::vector<std::vector<float>>& rows) {
  cv::Mat p(static_cast<int>(rows.size()), 3, CV_32F);
  for (size_t t = 0; t < rows.size(); ++t) {
    for (int k = 0; k < 3; ++k)
      p.at<float>(static_cast<int>(t), k) = rows[t][k];
  }
  return p;
}

TEST(CtcDecoderTest, GreedyMergesRepeatsAndDropsBlanks) {
  const cv::Mat p = Columns({{0.1f, 0.8f, 0.1f},
                             {0.1f, 0.7f, 0.2f},
                             {0.9f, 0.05f, 0.05f},
                             {0.2f, 0.6f, 0.2f},
                             {0.1f, 0.1f, 0.8f}});
  const CtcText t = CtcGreedy(p, "AB");
  EXPECT_EQ(t.text, "AAB");
  ASSERT_EQ(t.character_probabilities.size(), 3u);
  EXPECT_FLOAT_EQ(t.character_probabilities[0], 0.8f);  // the run's best
  EXPECT_FLOAT_EQ(t.character_probabilities[2], 0.8f);
}

TEST(CtcDecoderTest, BeamSumsAlignmentsWhereTheBestPathDoesNot) {
  // Best path: blank, blank ("", 0.36). But "A" has three alignments (AA,
  // A-, -A): 0.16 + 0.24 + 0.24 = 0.64.
  const cv::Mat p = Columns({{0.6f, 0.4f, 0.0f}, {0.6f, 0.4f, 0.0f}});
  EXPECT_EQ(CtcGreedy(p, "AB").text, "");
  const std::vector<CtcText> beams = CtcBeamSearch(p, "AB", 8, 3);
  ASSERT_GE(beams.size(), 2u);
  EXPECT_EQ(beams[0].text, "A");
  EXPECT_NEAR(beams[0].probability, 0.64, 1e-6);
  EXPECT_EQ(beams[1].text, "");
  EXPECT_NEAR(beams[1].probability, 0.36, 1e-6);
}

TEST(CtcDecoderTest, RepeatedCharacterNeedsABlankBetween) {
  const cv::Mat p =
      Columns({{0.0f, 1.0f, 0.0f}, {1.0f, 0.0f, 0.0f}, {0.0f, 1.0f, 0.0f}});
  const std::vector<CtcText> beams = CtcBeamSearch(p, "AB", 8, 2);
  ASSERT_FALSE(beams.empty());
  EXPECT_EQ(beams[0].text, "AA");
  EXPECT_NEAR(beams[0].probability, 1.0, 1e-6);
}

TEST(CtcDecoderTest, ACharacterAColumnAllButRulesOutStartsNoPrefix) {
  // "B" has probability 1e-5 in the one column: under kCtcPruneBelow, so
  // no reading of it is grown, while "A" (above the cut) still is.
  const cv::Mat p = Columns({{0.99989f, 1e-4f, 1e-5f}});
  const std::vector<CtcText> beams = CtcBeamSearch(p, "AB", 8, 8);
  std::vector<std::string> texts;
  for (const CtcText& t : beams) texts.push_back(t.text);
  EXPECT_EQ(texts, (std::vector<std::string>{"", "A"}));
}

TEST(PlateOcrTest, LooksMoveTheCropWhereThePictureHasRoom) {
  cv::Mat picture(60, 300, CV_8UC1);
  for (int x = 0; x < picture.cols; ++x) picture.col(x).setTo(x % 256);
  // 100 wide: looks 4 px to each side.
  const cv::Mat crop = picture(cv::Rect(100, 10, 100, 40));
  const std::vector<cv::Mat> looks = PlateLooks(crop);
  ASSERT_EQ(looks.size(), 3u);
  EXPECT_EQ(looks[0].at<uint8_t>(0, 0), 100);
  EXPECT_EQ(looks[1].at<uint8_t>(0, 0), 96);
  EXPECT_EQ(looks[2].at<uint8_t>(0, 0), 104);
  for (const cv::Mat& look : looks) {
    EXPECT_EQ(look.size(), crop.size());
  }
  // At the picture's left edge only the right look has room; a picture of
  // its own is read as it is.
  EXPECT_EQ(PlateLooks(picture(cv::Rect(2, 10, 100, 40))).size(), 2u);
  EXPECT_EQ(PlateLooks(crop.clone()).size(), 1u);
}

TEST(PlateOcrTest, OpenCvGivesTheTrainingFrameworksLogits) {
  absl::StatusOr<PlateOcrNet> net = PlateOcrNet::Load(DefaultPlateOcrModel());
  ASSERT_TRUE(net.ok()) << net.status();
  const cv::Mat inputs = cv::imread(SourcePath("models/plate_ocr.parity.png"),
                                    cv::IMREAD_GRAYSCALE);
  ASSERT_FALSE(inputs.empty());
  std::ifstream expected_file(SourcePath("models/plate_ocr.parity.txt"));
  std::string line;
  std::getline(expected_file, line);  // the header
  int checked = 0;
  for (int y = 0; y + kPlateOcrHeight <= inputs.rows; y += kPlateOcrHeight) {
    ASSERT_TRUE(std::getline(expected_file, line));
    std::istringstream values(line);
    std::vector<float> expected;
    for (float v; values >> v;) expected.push_back(v);
    cv::Mat input;
    inputs.rowRange(y, y + kPlateOcrHeight)
        .convertTo(input, CV_32F, 1 / 127.5, -1);
    const int shape[] = {1, 1, kPlateOcrHeight, kPlateOcrWidth};
    const cv::Mat logits = net->Logits(input.reshape(1, 4, shape).clone());
    ASSERT_EQ(static_cast<size_t>(logits.total()), expected.size());
    // The file is classes x columns, Logits columns x classes.
    double worst = 0;
    for (int k = 0; k < logits.cols; ++k) {
      for (int t = 0; t < logits.rows; ++t) {
        worst = std::max(worst, static_cast<double>(
                                    std::abs(logits.at<float>(t, k) -
                                             expected[k * logits.rows + t])));
      }
    }
    EXPECT_LT(worst, 1e-3) << "input " << checked;
    ++checked;
  }
  EXPECT_EQ(checked, 3);
}

TEST(PlateOcrTest, ReadsHeldBackRenderedPlatesOfEachRegion) {
  absl::StatusOr<PlateOcrNet> net = PlateOcrNet::Load(DefaultPlateOcrModel());
  ASSERT_TRUE(net.ok()) << net.status();
  LearnedPlateReader reader(*std::move(net), PlateTextRules{});
  struct Count {
    int plates = 0, exact = 0, top10 = 0;
  };
  std::map<std::string, Count> regions;
  for (const auto& entry :
       fs::directory_iterator(SourcePath("tests/data/plate_ocr"))) {
    // REGION_INDEX_TEXT.png
    const std::string name = entry.path().stem().string();
    const std::string region = name.substr(0, name.find('_'));
    const std::string text = name.substr(name.rfind('_') + 1);
    const cv::Mat crop = cv::imread(entry.path().string(), cv::IMREAD_COLOR);
    ASSERT_FALSE(crop.empty()) << name;
    const std::vector<PlateReading> readings = reader.Read(crop);
    Count& c = regions[region];
    ++c.plates;
    if (!readings.empty() && readings[0].text == text) ++c.exact;
    for (const PlateReading& r : readings) {
      if (r.text == text) ++c.top10;
      EXPECT_LE(r.confidence, readings[0].confidence);  // best first
    }
    // The same readings, with a confidence per character.
    const std::vector<CharacterReading> characters = reader.Characters(crop);
    ASSERT_EQ(characters.size(), readings.size());
    for (size_t i = 0; i < characters.size(); ++i) {
      EXPECT_EQ(characters[i].reading.text, readings[i].text);
      ASSERT_EQ(characters[i].character_confidence.size(),
                readings[i].text.size());
      for (float p : characters[i].character_confidence) {
        EXPECT_GT(p, 0);
        EXPECT_LE(p, 1);
      }
    }
  }
  ASSERT_EQ(regions.size(), 3u);
  for (const auto& [region, c] : regions) {
    SCOPED_TRACE(region);
    EXPECT_EQ(c.plates, 12);
    // Stated rates: at least half read exactly, and two in three among the
    // ten readings (the manifest's 300 a region, through the same network:
    // us 80, eu 83, br 84 % exact in data recipe 4; most misreads are O for
    // 0 or I for 1, which a lane's region rules settle).
    EXPECT_GE(c.exact * 2, c.plates);
    EXPECT_GE(c.top10 * 3, c.plates * 2);
  }
}

TEST(PlateOcrTest, NothingToReadInABlankCrop) {
  absl::StatusOr<std::unique_ptr<PlateReader>> reader =
      NewLearnedPlateReader(DefaultPlateOcrModel());
  ASSERT_TRUE(reader.ok()) << reader.status();
  const cv::Mat blank(60, 200, CV_8UC3, cv::Scalar(128, 128, 128));
  const std::vector<PlateReading> readings = (*reader)->Read(blank);
  EXPECT_TRUE(readings.empty() || readings[0].confidence < 0.5);
}

TEST(PlateOcrTest, ABadModelIsAnErrorNotACrash) {
  EXPECT_EQ(
      NewLearnedPlateReader("/nonexistent/plate_ocr.onnx").status().code(),
      absl::StatusCode::kNotFound);
  testing::TempDir dir;
  std::ofstream(dir.Join("bad.onnx")) << "not a network";
  EXPECT_FALSE(NewLearnedPlateReader(dir.Join("bad.onnx")).ok());
}

// us-dev's misreads at the labelled box were mostly a letter for a digit
// the network gave more probability (B for 8, Z for 2) where only the digit
// fits a format the states issue.
TEST(PlateOcrTest, AReadingThatFitsTheRegionOutranksAMoreProbableMisfit) {
  absl::StatusOr<PlateTextRules> us = RegionPlateRules("us");
  ASSERT_TRUE(us.ok()) << us.status();
  EXPECT_GT(RuledConfidence("980YTB", 0.2, *us),
            RuledConfidence("9B0YTB", 0.6, *us));
  // Doubted, not ruled out: a reading of no standard format (a vanity
  // plate, a visitor's) that the network is sure of still comes first.
  EXPECT_GT(RuledConfidence("9B0YTB", 0.95, *us),
            RuledConfidence("980YTB", 0.005, *us));
  // With no rules, the per-character geometric mean.
  EXPECT_FLOAT_EQ(RuledConfidence("AB12", 0.0625, PlateTextRules{}), 0.5f);
  // Extra letter/digit groups are doubted on the probability.
  absl::StatusOr<PlateTextRules> eu = RegionPlateRules("eu");
  ASSERT_TRUE(eu.ok()) << eu.status();
  EXPECT_GT(RuledConfidence("BA302OZ", 0.1, *eu),
            RuledConfidence("BA3O2OZ", 0.4, *eu));
  EXPECT_LT(RuledConfidence("BA302OZ", 0.01, *eu),
            RuledConfidence("BA3O2OZ", 0.4, *eu));
  EXPECT_EQ(RuledConfidence("", 1, *us), 0);
}

// Where the region's format says which of O and 0 a position holds, the
// reading settled so comes first, and the network's own reading just after
// it (a lookup still finds it). The held-back Mercosul plate OAG3D89: the
// committed network reads its O as 0 (the rendered font draws the two
// alike); a format that puts the other one first settles it either way.
TEST(PlateOcrTest, TheRegionsFormatSettlesOAndZeroAndKeepsTheReadingGiven) {
  const cv::Mat crop = cv::imread(
      SourcePath("tests/data/plate_ocr/br_00_OAG3D89.png"), cv::IMREAD_COLOR);
  ASSERT_FALSE(crop.empty());
  absl::StatusOr<PlateOcrNet> plain_net =
      PlateOcrNet::Load(DefaultPlateOcrModel());
  ASSERT_TRUE(plain_net.ok()) << plain_net.status();
  LearnedPlateReader plain(*std::move(plain_net), PlateTextRules{});
  const std::vector<PlateReading> given = plain.Read(crop);
  ASSERT_FALSE(given.empty());
  ASSERT_EQ(given[0].text.substr(1), "AG3D89");
  const bool read_zero = given[0].text[0] == '0';
  ASSERT_TRUE(read_zero || given[0].text[0] == 'O') << given[0].text;
  const std::string settled = read_zero ? "OAG3D89" : "0AG3D89";

  absl::StatusOr<PlateOcrNet> net = PlateOcrNet::Load(DefaultPlateOcrModel());
  ASSERT_TRUE(net.ok()) << net.status();
  PlateTextRules rules;
  rules.zero_o_formats = {read_zero ? "LLLDLDD" : "DLLDLDD"};
  LearnedPlateReader reader(*std::move(net), rules);
  const std::vector<PlateReading> readings = reader.Read(crop);
  ASSERT_GE(readings.size(), 2u);
  EXPECT_EQ(readings[0].text, settled);
  EXPECT_FLOAT_EQ(readings[0].confidence, given[0].confidence);  // its own
  EXPECT_EQ(readings[0].as_read, given[0].text);
  EXPECT_EQ(readings[1].text, given[0].text);
  EXPECT_EQ(readings[1].as_read, "");
  EXPECT_LT(readings[1].confidence, readings[0].confidence);
  EXPECT_LE(readings.size(), kReadingsPerRow);
  for (size_t i = 1; i < readings.size(); ++i) {
    EXPECT_LE(readings[i].confidence, readings[i - 1].confidence);
    for (size_t j = 0; j < i; ++j) {
      EXPECT_NE(readings[i].text, readings[j].text);
    }
  }
  // Per character, the same list.
  const std::vector<CharacterReading> characters = reader.Characters(crop);
  ASSERT_EQ(characters.size(), readings.size());
  for (size_t i = 0; i < characters.size(); ++i) {
    EXPECT_EQ(characters[i].reading.text, readings[i].text);
    EXPECT_EQ(characters[i].character_confidence.size(),
              readings[i].text.size());
  }
}

TEST(PlateOcrTest, ALaneChoosesTheLearnedReader) {
  v1::DetectorConfig config;
  config.set_plate_reader(v1::PLATE_READER_LEARNED);
  config.set_plate_region("eu");
  absl::StatusOr<DetectorSet> set = NewDetectorSet(config);
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_TRUE(set->reader->ReadsWholePlates());
  config.set_plate_ocr_model("/nonexistent/plate_ocr.onnx");
  EXPECT_FALSE(NewDetectorSet(config).ok());
}

}  // namespace
}  // namespace lanevault::capture
