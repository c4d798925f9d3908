#include "capture/frame_source.h"

#include <algorithm>
#include <filesystem>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "opencv2/imgcodecs.hpp"
#include "opencv2/videoio.hpp"

namespace lanevault::capture {
namespace {

namespace fs = std::filesystem;

bool IsImageFile(const fs::path& p) {
  std::string ext = absl::AsciiStrToLower(p.extension().string());
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp" ||
         ext == ".ppm" || ext == ".pgm" || ext == ".tif" || ext == ".tiff";
}

class ImageFolderSource final : public FrameSource {
 public:
  explicit ImageFolderSource(std::vector<fs::path> files)
      : files_(std::move(files)) {}

  absl::StatusOr<std::optional<Frame>> Next() override {
    while (next_ < files_.size()) {
      const fs::path& path = files_[next_++];
      cv::Mat image = cv::imread(path.string(), cv::IMREAD_COLOR);
      if (image.empty()) {
        ++corrupt_;
        spdlog::warn("skipping unreadable image {} ({} so far)",
                     path.filename().string(), corrupt_);
        continue;
      }
      return Frame{std::move(image), index_++, absl::Now()};
    }
    return std::nullopt;
  }
  uint64_t corrupt_frames() const override { return corrupt_; }
  bool is_live() const override { return false; }
  absl::Status Reopen() override { return absl::OkStatus(); }

 private:
  std::vector<fs::path> files_;
  size_t next_ = 0;
  int64_t index_ = 0;
  uint64_t corrupt_ = 0;
};

class VideoSource final : public FrameSource {
 public:
  VideoSource(std::string target, bool live, int device)
      : target_(std::move(target)), live_(live), device_(device) {}

  absl::Status Reopen() override {
    capture_.release();
    const bool opened = device_ >= 0 ? capture_.open(device_, cv::CAP_V4L2)
                                     : capture_.open(target_, cv::CAP_FFMPEG);
    if (!opened || !capture_.isOpened()) {
      return absl::UnavailableError(absl::StrCat("cannot open ", target_));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::optional<Frame>> Next() override {
    cv::Mat image;
    // A corrupt frame in a file reads as empty; a few in a row mean the end
    // (or a truncated file), which a file lane treats as its end.
    for (int attempt = 0; attempt < kMaxConsecutiveBad; ++attempt) {
      if (!capture_.isOpened()) {
        return absl::UnavailableError(absl::StrCat(target_, " is not open"));
      }
      if (capture_.read(image) && !image.empty()) {
        return Frame{std::move(image), index_++, absl::Now()};
      }
      if (live_) {
        return absl::UnavailableError(absl::StrCat("lost stream ", target_));
      }
      const double pos = capture_.get(cv::CAP_PROP_POS_FRAMES);
      const double count = capture_.get(cv::CAP_PROP_FRAME_COUNT);
      if (count <= 0 || pos >= count) return std::nullopt;
      ++corrupt_;
    }
    ended_early_ = true;
    return std::nullopt;
  }
  bool ended_early() const override { return ended_early_; }
  uint64_t corrupt_frames() const override { return corrupt_; }
  bool is_live() const override { return live_; }

 private:
  static constexpr int kMaxConsecutiveBad = 5;
  cv::VideoCapture capture_;
  std::string target_;
  bool live_;
  int device_;
  int64_t index_ = 0;
  uint64_t corrupt_ = 0;
  bool ended_early_ = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<FrameSource>> OpenFrameSource(
    const std::string& spec) {
  if (absl::StartsWith(spec, "folder:")) {
    const fs::path dir(spec.substr(7));
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
      return absl::NotFoundError(
          absl::StrCat("no image folder ", dir.string()));
    }
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (entry.is_regular_file() && IsImageFile(entry.path())) {
        files.push_back(entry.path());
      }
    }
    std::sort(files.begin(), files.end());
    return std::make_unique<ImageFolderSource>(std::move(files));
  }
  std::unique_ptr<VideoSource> source;
  if (absl::StartsWith(spec, "file:")) {
    const std::string path = spec.substr(5);
    if (!fs::exists(path)) {
      return absl::NotFoundError(absl::StrCat("no video file ", path));
    }
    source = std::make_unique<VideoSource>(path, false, -1);
  } else if (absl::StartsWith(spec, "rtsp://") ||
             absl::StartsWith(spec, "http://") ||
             absl::StartsWith(spec, "https://")) {
    source = std::make_unique<VideoSource>(spec, true, -1);
  } else if (absl::StartsWith(spec, "v4l2:")) {
    const std::string dev = spec.substr(5);
    int n = -1;
    if (!absl::StartsWith(dev, "/dev/video") ||
        !absl::SimpleAtoi(dev.substr(10), &n)) {
      return absl::InvalidArgumentError(
          absl::StrCat("v4l2 source must be v4l2:/dev/videoN, got ", spec));
    }
    source = std::make_unique<VideoSource>(dev, true, n);
  } else {
    return absl::InvalidArgumentError(absl::StrCat("unknown source ", spec));
  }
  if (absl::Status s = source->Reopen(); !s.ok()) {
    if (!source->is_live()) return s;
    // A live source that is down at start is retried by the lane.
    spdlog::warn("{}; will retry", s.message());
  }
  return source;
}

}  // namespace lanevault::capture
