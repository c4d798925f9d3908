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

// A URL with its user:password@ left out.
std::string WithoutCredentials(const std::string& url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const size_t host = scheme + 3;
  const size_t end = url.find('/', host);
  const size_t at = url.rfind('@', end == std::string::npos ? url.size() : end);
  if (at == std::string::npos || at < host) return url;
  return absl::StrCat(url.substr(0, host), "***@", url.substr(at + 1));
}

class ImageFolderSource final : public FrameSource {
 public:
  explicit ImageFolderSource(std::vector<fs::path> files)
      : files_(std::move(files)) {}

  absl::StatusOr<std::optional<Frame>> Next() override {
    while (next_ < files_.size()) {
      // The index is the file's place in the folder, readable or not, so
      // that a resumed lane can skip files without reading them.
      const int64_t index = static_cast<int64_t>(next_);
      const fs::path& path = files_[next_++];
      cv::Mat image = cv::imread(path.string(), cv::IMREAD_COLOR);
      if (image.empty()) {
        ++corrupt_;
        spdlog::warn("skipping unreadable image {} ({} so far)",
                     path.filename().string(), corrupt_);
        continue;
      }
      return Frame{std::move(image), index, absl::Now()};
    }
    return std::nullopt;
  }
  uint64_t corrupt_frames() const override { return corrupt_; }
  bool is_live() const override { return false; }
  absl::Status Reopen() override { return absl::OkStatus(); }
  int64_t SkipTo(int64_t index) override {
    next_ =
        std::max(next_, static_cast<size_t>(std::clamp<int64_t>(
                            index, 0, static_cast<int64_t>(files_.size()))));
    return static_cast<int64_t>(next_);
  }
  int64_t frame_count() const override {
    return static_cast<int64_t>(files_.size());
  }

 private:
  std::vector<fs::path> files_;
  size_t next_ = 0;
  uint64_t corrupt_ = 0;
};

class VideoSource final : public FrameSource {
 public:
  VideoSource(std::string target, std::string display, bool live, int device)
      : target_(std::move(target)),
        display_(std::move(display)),
        live_(live),
        device_(device) {}

  absl::Status Reopen() override {
    capture_.release();
    // A stream that accepts and never answers must not hold the open (and
    // FFmpeg's lock, which every lane shares) for long.
    const std::vector<int> timeouts = {
        cv::CAP_PROP_OPEN_TIMEOUT_MSEC, kOpenTimeoutMs,
        cv::CAP_PROP_READ_TIMEOUT_MSEC, kReadTimeoutMs};
    const bool opened = device_ >= 0
                            ? capture_.open(device_, cv::CAP_V4L2)
                            : capture_.open(target_, cv::CAP_FFMPEG, timeouts);
    if (!opened || !capture_.isOpened()) {
      return absl::UnavailableError(absl::StrCat("cannot open ", display_));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::optional<Frame>> Next() override {
    cv::Mat image;
    // A corrupt frame in a file reads as empty; a few in a row mean the end
    // (or a truncated file), which a file lane treats as its end.
    for (int attempt = 0; attempt < kMaxConsecutiveBad; ++attempt) {
      if (!capture_.isOpened()) {
        return absl::UnavailableError(absl::StrCat("cannot open ", display_));
      }
      if (capture_.read(image) && !image.empty()) {
        return Frame{std::move(image), index_++, absl::Now()};
      }
      if (live_) {
        return absl::UnavailableError(absl::StrCat("lost stream ", display_));
      }
      if (AtEnd()) return std::nullopt;
      ++corrupt_;
      ++index_;  // it had its place in the file
    }
    ended_early_ = true;
    return std::nullopt;
  }
  bool ended_early() const override { return ended_early_; }
  uint64_t corrupt_frames() const override { return corrupt_; }
  bool is_live() const override { return live_; }

  int64_t SkipTo(int64_t index) override {
    if (live_) return index_;
    // grab() demuxes without converting the picture; an unreadable frame
    // takes its place in the count as Next() gives it one.
    int bad = 0;
    while (index_ < index && capture_.isOpened()) {
      if (capture_.grab()) {
        ++index_;
        bad = 0;
        continue;
      }
      if (AtEnd() || ++bad >= kMaxConsecutiveBad) break;
      ++index_;
    }
    return index_;
  }
  int64_t frame_count() const override {
    if (live_ || !capture_.isOpened()) return -1;
    const double count = capture_.get(cv::CAP_PROP_FRAME_COUNT);
    return count > 0 ? static_cast<int64_t>(count) : -1;
  }

 private:
  static constexpr int kMaxConsecutiveBad = 5;
  static constexpr int kOpenTimeoutMs = 5000;
  static constexpr int kReadTimeoutMs = 10000;

  bool AtEnd() {
    const double pos = capture_.get(cv::CAP_PROP_POS_FRAMES);
    const double count = capture_.get(cv::CAP_PROP_FRAME_COUNT);
    return count <= 0 || pos >= count;
  }

  cv::VideoCapture capture_;
  std::string target_;
  std::string display_;
  bool live_;
  int device_;
  int64_t index_ = 0;
  uint64_t corrupt_ = 0;
  bool ended_early_ = false;
};

}  // namespace

absl::StatusOr<SourceSpec> ParseSourceSpec(const std::string& spec) {
  SourceSpec s;
  s.display = spec;
  if (absl::StartsWith(spec, "folder:")) {
    s.kind = SourceSpec::Kind::kFolder;
    s.target = spec.substr(7);
  } else if (absl::StartsWith(spec, "file:")) {
    s.kind = SourceSpec::Kind::kFile;
    s.target = spec.substr(5);
  } else if (absl::StartsWith(spec, "rtsp://") ||
             absl::StartsWith(spec, "http://") ||
             absl::StartsWith(spec, "https://")) {
    s.kind = SourceSpec::Kind::kStream;
    s.target = spec;
    s.display = WithoutCredentials(spec);
  } else if (absl::StartsWith(spec, "v4l2:")) {
    s.kind = SourceSpec::Kind::kDevice;
    s.target = spec.substr(5);
    if (!absl::StartsWith(s.target, "/dev/video") ||
        !absl::SimpleAtoi(s.target.substr(10), &s.device) || s.device < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("v4l2 source must be v4l2:/dev/videoN, got ", spec));
    }
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown source \"", WithoutCredentials(spec),
                     "\" (folder:PATH, file:PATH, rtsp://, http(s):// or "
                     "v4l2:/dev/videoN)"));
  }
  if (s.target.empty() || (!s.live() && s.target.find('\n') != s.target.npos)) {
    return absl::InvalidArgumentError(
        absl::StrCat("source \"", s.display, "\" names no path"));
  }
  return s;
}

absl::StatusOr<std::unique_ptr<FrameSource>> OpenFrameSource(
    const std::string& spec_text) {
  absl::StatusOr<SourceSpec> spec = ParseSourceSpec(spec_text);
  if (!spec.ok()) return spec.status();
  std::error_code ec;
  if (spec->kind == SourceSpec::Kind::kFolder) {
    const fs::path dir(spec->target);
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
    if (ec) {
      return absl::UnavailableError(
          absl::StrCat("cannot list ", dir.string(), ": ", ec.message()));
    }
    std::sort(files.begin(), files.end());
    return std::make_unique<ImageFolderSource>(std::move(files));
  }
  if (spec->kind == SourceSpec::Kind::kFile && !fs::exists(spec->target, ec)) {
    return absl::NotFoundError(absl::StrCat("no video file ", spec->target));
  }
  if (spec->kind == SourceSpec::Kind::kFile &&
      !fs::is_regular_file(spec->target, ec)) {
    // A FIFO or a device would block the open, and FFmpeg opens under a
    // lock every lane shares: one such source would stall them all.
    return absl::FailedPreconditionError(
        absl::StrCat(spec->target, " is not a regular file"));
  }
  auto source = std::make_unique<VideoSource>(spec->target, spec->display,
                                              spec->live(), spec->device);
  if (absl::Status s = source->Reopen(); !s.ok()) {
    if (!source->is_live()) {
      const auto size = fs::file_size(spec->target, ec);
      return absl::UnavailableError(
          absl::StrCat("cannot open ", spec->target, " as a video",
                       ec ? "" : absl::StrCat(" (", size, " bytes)")));
    }
    // A live source that is down at start is retried by the lane.
    spdlog::warn("{}; will retry", s.message());
  }
  return source;
}

}  // namespace lanevault::capture
