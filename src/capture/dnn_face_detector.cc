#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "capture/detectors.h"
#include "opencv2/dnn.hpp"
#include "opencv2/objdetect.hpp"

namespace lanevault::capture {
namespace {

namespace fs = std::filesystem;

// Scores below this are not faces. YuNet's and the SSD's own samples use
// 0.9 and 0.5; these are the values that reproduce the models' published
// recall and precision on the face sets (see lanevault-eval).
constexpr float kYuNetScore = 0.9f;  // YuNet's own default
constexpr float kSsdScore = 0.5f;

class YuNetFaceDetector final : public FaceDetector {
 public:
  explicit YuNetFaceDetector(cv::Ptr<cv::FaceDetectorYN> net)
      : net_(std::move(net)) {}

  std::vector<FaceHit> Detect(const cv::Mat& bgr) override {
    // The network is shaped per input size; reshaping only on change keeps
    // a camera's steady stream cheap.
    if (bgr.size() != size_) {
      net_->setInputSize(bgr.size());
      size_ = bgr.size();
    }
    cv::Mat faces;
    net_->detect(bgr, faces);
    std::vector<FaceHit> hits;
    for (int i = 0; i < faces.rows; ++i) {
      const float* f = faces.ptr<float>(i);
      FaceHit hit;
      hit.box =
          cv::Rect(cv::Point(static_cast<int>(f[0]), static_cast<int>(f[1])),
                   cv::Size(static_cast<int>(f[2]), static_cast<int>(f[3]))) &
          cv::Rect(0, 0, bgr.cols, bgr.rows);
      hit.confidence = f[14];
      if (hit.box.area() > 0) hits.push_back(hit);
    }
    return hits;
  }

 private:
  cv::Ptr<cv::FaceDetectorYN> net_;
  cv::Size size_;
};

// OpenCV's ResNet-10 SSD: a 300x300 input, boxes as fractions.
class SsdFaceDetector final : public FaceDetector {
 public:
  explicit SsdFaceDetector(cv::dnn::Net net) : net_(std::move(net)) {}

  std::vector<FaceHit> Detect(const cv::Mat& bgr) override {
    cv::Mat blob = cv::dnn::blobFromImage(bgr, 1.0, cv::Size(300, 300),
                                          cv::Scalar(104, 177, 123));
    net_.setInput(blob);
    cv::Mat out = net_.forward();
    const cv::Mat detections(out.size[2], out.size[3], CV_32F,
                             out.ptr<float>());
    std::vector<FaceHit> hits;
    for (int i = 0; i < detections.rows; ++i) {
      const float* d = detections.ptr<float>(i);
      if (d[2] < kSsdScore) continue;
      const cv::Point tl(static_cast<int>(d[3] * bgr.cols),
                         static_cast<int>(d[4] * bgr.rows));
      const cv::Point br(static_cast<int>(d[5] * bgr.cols),
                         static_cast<int>(d[6] * bgr.rows));
      FaceHit hit;
      hit.box = cv::Rect(tl, br) & cv::Rect(0, 0, bgr.cols, bgr.rows);
      hit.confidence = d[2];
      if (hit.box.area() > 0) hits.push_back(hit);
    }
    return hits;
  }

 private:
  cv::dnn::Net net_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<FaceDetector>> NewDnnFaceDetector(
    const std::string& model_file) {
  if (!fs::exists(model_file)) {
    return absl::NotFoundError(absl::StrCat("no face model at ", model_file));
  }
  try {
    if (absl::EndsWithIgnoreCase(model_file, ".onnx")) {
      cv::Ptr<cv::FaceDetectorYN> net = cv::FaceDetectorYN::create(
          model_file, "", cv::Size(320, 320), kYuNetScore, 0.3f, 5000);
      return std::make_unique<YuNetFaceDetector>(std::move(net));
    }
    if (absl::EndsWithIgnoreCase(model_file, ".pb")) {
      // The graph description sits beside the weights.
      fs::path config = model_file;
      std::string stem = config.stem().string();
      if (absl::EndsWith(stem, "_uint8")) stem.resize(stem.size() - 6);
      config.replace_filename(stem + ".pbtxt");
      if (!fs::exists(config)) {
        return absl::NotFoundError(absl::StrCat("the SSD model ", model_file,
                                                " needs its graph ",
                                                config.string()));
      }
      cv::dnn::Net net =
          cv::dnn::readNetFromTensorflow(model_file, config.string());
      return std::make_unique<SsdFaceDetector>(std::move(net));
    }
  } catch (const cv::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(model_file, " cannot be loaded: ", e.what()));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("face model ", model_file,
                   ": expected a YuNet .onnx or an SSD .pb (with its .pbtxt)"));
}

}  // namespace lanevault::capture
