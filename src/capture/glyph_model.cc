#include "capture/glyph_model.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "opencv2/imgproc.hpp"
#include "opencv2/objdetect.hpp"

namespace lanevault::capture {
namespace {

constexpr int kCellW = 20, kCellH = 32;  // a glyph is normalised into this
constexpr char kModelTag[] = "lanevault_plate_glyphs_svm_knn_pca_v4";

// Scales the glyph to the cell's height, keeping its shape (a '1' stays
// thin), centred; the width it had is a feature of its own.
cv::Mat Normalise(const cv::Mat& glyph) {
  cv::Mat cell(kCellH, kCellW, CV_8U, cv::Scalar(0));
  const double s = static_cast<double>(kCellH) / glyph.rows;
  const int w =
      std::clamp(static_cast<int>(std::lround(glyph.cols * s)), 1, kCellW);
  cv::Mat scaled;
  cv::resize(glyph, scaled, cv::Size(w, kCellH), 0, 0, cv::INTER_AREA);
  scaled.copyTo(cell(cv::Rect((kCellW - w) / 2, 0, w, kCellH)));
  return cell;
}

const cv::HOGDescriptor& Hog() {
  static const auto* hog =
      new cv::HOGDescriptor(cv::Size(kCellW, kCellH), cv::Size(10, 16),
                            cv::Size(5, 8), cv::Size(5, 8), 9);
  return *hog;
}

std::string MemberName(int m) { return absl::StrCat("member", m); }

}  // namespace

cv::Mat GlyphFeatures(const cv::Mat& glyph) {
  const cv::Mat cell = Normalise(glyph);
  std::vector<float> hog;
  Hog().compute(cell, hog);
  cv::Mat pixels;
  cv::resize(cell, pixels, cv::Size(kCellW / 2, kCellH / 2), 0, 0,
             cv::INTER_AREA);
  cv::Mat features(
      1, static_cast<int>(hog.size()) + pixels.cols * pixels.rows + 1, CV_32F);
  float* f = features.ptr<float>();
  for (float v : hog) *f++ = v;
  for (int y = 0; y < pixels.rows; ++y) {
    for (int x = 0; x < pixels.cols; ++x)
      *f++ = pixels.at<uchar>(y, x) / 255.0f;
  }
  *f = static_cast<float>(glyph.cols) / glyph.rows;
  return features;
}

bool GlyphModelWriter::Open(const std::string& path, int members) {
  file_.open(path, cv::FileStorage::WRITE | cv::FileStorage::BASE64);
  if (!file_.isOpened()) return false;
  file_ << "tag" << kModelTag << "members" << members;
  return true;
}

void GlyphModelWriter::Write(const GlyphModelMember& member) {
  file_ << MemberName(written_++) << "{";
  file_ << "mean" << member.mean << "components" << member.components
        << "samples" << member.samples << "labels" << member.labels;
  file_ << "svm"
        << "{";
  member.svm->write(file_);
  file_ << "}"
        << "}";
}

absl::StatusOr<std::unique_ptr<GlyphModelReader>> GlyphModelReader::Open(
    const std::string& path) {
  if (path.empty() || !std::filesystem::exists(path)) {
    return absl::NotFoundError(absl::StrCat(
        "no plate character model at '", path,
        "' (the build makes it: ninja -C build plate_glyph_model)"));
  }
  std::unique_ptr<GlyphModelReader> reader(new GlyphModelReader(path));
  try {
    cv::FileStorage& file = reader->file_;
    file.open(path, cv::FileStorage::READ);
    if (!file.isOpened()) return reader->NotAModel("unreadable");
    std::string tag;
    file["tag"] >> tag;
    if (tag != kModelTag) {
      return reader->NotAModel("wrong or no tag (rebuild it)");
    }
    file["members"] >> reader->members_;
    if (reader->members_ < 1 || reader->members_ > kMaxGlyphModelMembers) {
      return reader->NotAModel("bad member count");
    }
  } catch (const cv::Exception& e) {
    return reader->NotAModel(e.what());
  }
  return reader;
}

absl::StatusOr<GlyphModelMember> GlyphModelReader::Member(int m) const {
  static const int features =
      GlyphFeatures(cv::Mat::zeros(kCellH, kCellW, CV_8U)).cols;
  GlyphModelMember member;
  try {
    const cv::FileNode node = file_[MemberName(m)];
    if (node.empty()) return NotAModel("a member is missing");
    node["mean"] >> member.mean;
    node["components"] >> member.components;
    node["samples"] >> member.samples;
    node["labels"] >> member.labels;
    member.svm = cv::ml::SVM::create();
    member.svm->read(node["svm"]);
  } catch (const cv::Exception& e) {
    return NotAModel(e.what());
  }
  const cv::Mat& mean = member.mean;
  const cv::Mat& components = member.components;
  const cv::Mat& samples = member.samples;
  const cv::Mat& labels = member.labels;
  if (mean.type() != CV_32F || mean.rows != 1 || mean.cols != features ||
      components.type() != CV_32F || components.cols != features ||
      samples.type() != CV_32F || samples.empty() ||
      samples.cols != components.rows || labels.type() != CV_32S ||
      static_cast<int>(labels.total()) != samples.rows ||
      !member.svm->isTrained() || member.svm->getVarCount() != samples.cols) {
    return NotAModel("its parts do not fit together");
  }
  for (int i = 0; i < samples.rows; ++i) {
    const int label = labels.at<int>(i);
    if (label < 0 || label >= kGlyphClassesWithJunk) {
      return NotAModel("bad label");
    }
  }
  return member;
}

absl::Status GlyphModelReader::NotAModel(absl::string_view why) const {
  return absl::InvalidArgumentError(
      absl::StrCat(path_, " is not a plate character model: ", why));
}

}  // namespace lanevault::capture
