#include <algorithm>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "capture/cascade_file.h"
#include "capture/detectors.h"
#include "capture/geometry.h"
#include "opencv2/imgproc.hpp"
#include "opencv2/objdetect.hpp"

namespace lanevault::capture {
namespace {

// A cascade finds faces no smaller than its training window (20-24 px).
// The image is scaled so that the smallest face wanted fills that window:
// down for a lane camera's large faces (cheaper), up for small ones.
constexpr double kMinWorkScale = 0.1, kMaxWorkScale = 3.0;

// How far around a region the fine scan looks: a margin (in widths) and
// the range of face widths.
struct RefineWindow {
  double margin, smaller, larger;
};
// Around a coarse search hit: a cascade still fires on a face up to one
// coarse step off its size, and a little off-centre.
constexpr RefineWindow kAroundSearchHit{0.5, 0.6, 1.6};
// Around a face found in the frame before: it moved and grew a little.
constexpr RefineWindow kAroundRecentFace{0.3, 0.8, 1.25};
// The part of the frame that scan can reach: its margin and growth.
constexpr double kRecentAreaMargin = 0.6;
// Search hits are one region when they overlap by half and differ in
// width by at most this factor (a wider range would scan too many sizes).
constexpr double kSameRegionWidths = 1.5;
// While faces are followed, a search for new ones looks only for faces at
// least this share of the smallest followed face's width: a vehicle's
// occupants sit at about one distance from the camera (a rear seat's face
// is about three quarters of a front seat's), and the smallest window
// sizes are most of a search's cost (on the lane's footage, windows from
// half a 100 px face up cost 40 % less than from 40 px). A smaller face,
// farther off (the next vehicle), is sought at every size once the faces
// followed are gone.
constexpr double kKnownFaceShare = 0.5;

// Where the coarse search fired: a region and the window widths seen there.
struct SearchRegion {
  cv::Rect box;
  int min_width, max_width;
};

std::vector<SearchRegion> GroupSearchHits(const std::vector<cv::Rect>& hits) {
  std::vector<SearchRegion> regions;
  for (const cv::Rect& hit : hits) {
    auto same = std::find_if(
        regions.begin(), regions.end(), [&hit](const SearchRegion& r) {
          return (r.box & hit).area() * 2 >= hit.area() &&
                 std::max(r.max_width, hit.width) <=
                     kSameRegionWidths * std::min(r.min_width, hit.width);
        });
    if (same == regions.end()) {
      regions.push_back({hit, hit.width, hit.width});
      continue;
    }
    same->box |= hit;
    same->min_width = std::min(same->min_width, hit.width);
    same->max_width = std::max(same->max_width, hit.width);
  }
  return regions;
}

cv::Rect Scaled(const cv::Rect& r, double scale) {
  return cv::Rect(static_cast<int>(r.x * scale), static_cast<int>(r.y * scale),
                  static_cast<int>(r.width * scale),
                  static_cast<int>(r.height * scale));
}

struct Scanned {
  cv::Rect box;  // in the work image
  int neighbours;
};

class CascadeFaceDetector final : public FaceDetector {
 public:
  CascadeFaceDetector(std::vector<cv::CascadeClassifier> cascades,
                      const CascadeOptions& options)
      : cascades_(std::move(cascades)), options_(options) {}

  std::vector<FaceHit> Detect(const cv::Mat& bgr) override {
    return Run(bgr, nullptr);
  }

  std::vector<FaceHit> DetectNear(
      const cv::Mat& bgr, const std::vector<cv::Rect>& recent) override {
    if (options_.refine_step <= 1.0) return Detect(bgr);
    if (recent.empty()) return {};
    return Run(bgr, &recent);
  }

  // A known face fires the coarse search too, and refining its hits there
  // cost as much as the search itself (measured on the lane's footage:
  // 15-35 ms a search at 1280x720, against a few ms to follow the face).
  std::vector<FaceHit> Search(const cv::Mat& bgr, const cv::Rect& where,
                              const std::vector<cv::Rect>& known) override {
    if (options_.refine_step <= 1.0 || known.empty()) {
      return FaceDetector::Search(bgr, where, known);
    }
    std::vector<FaceHit> hits = Run(bgr, &known);
    std::vector<cv::Rect> skip;
    int smallest = known.front().width;
    for (const cv::Rect& k : known) {
      skip.push_back(k - where.tl());
      smallest = std::min(smallest, k.width);
    }
    const int min_width = static_cast<int>(kKnownFaceShare * smallest);
    for (FaceHit& hit : Run(bgr(where), nullptr, skip, min_width)) {
      hit.box += where.tl();
      AddUnlessSeen(hits, hit);
    }
    return hits;
  }

 private:
  // Each cascade on the whole frame, or with `recent`, only around those
  // boxes. A search leaves its hits on the `skip` boxes unrefined, and
  // looks for no face narrower than `min_width` pixels of `bgr`.
  std::vector<FaceHit> Run(const cv::Mat& bgr,
                           const std::vector<cv::Rect>* recent,
                           const std::vector<cv::Rect>& skip = {},
                           int min_width = 0) {
    // Around recent faces, only the part of the frame they may have moved
    // to is converted and scaled (a whole 1280x720 frame costs ~4 ms).
    cv::Rect area(0, 0, bgr.cols, bgr.rows);
    if (recent != nullptr) {
      cv::Rect around;
      for (const cv::Rect& r : *recent) {
        const int m = static_cast<int>(r.width * kRecentAreaMargin);
        around |= cv::Rect(r.x - m, r.y - m, r.width + 2 * m, r.height + 2 * m);
      }
      area &= around;
      if (area.empty()) return {};
    }
    cv::Mat grey;
    cv::cvtColor(bgr(area), grey, cv::COLOR_BGR2GRAY);
    std::vector<FaceHit> hits;
    for (cv::CascadeClassifier& cascade : cascades_) {
      const cv::Size window = cascade.getOriginalWindowSize();
      const double scale = std::clamp(
          static_cast<double>(window.width) / std::max(1, options_.min_face_px),
          kMinWorkScale, kMaxWorkScale);
      cv::Mat work;
      cv::resize(grey, work, cv::Size(), scale, scale,
                 scale < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
      cv::equalizeHist(work, work);
      std::vector<Scanned> found;
      if (recent != nullptr) {
        std::vector<SearchRegion> regions;
        for (const cv::Rect& r : *recent) {
          const cv::Rect scaled = Scaled(r - area.tl(), scale);
          regions.push_back({scaled, scaled.width, scaled.width});
        }
        found = Refine(cascade, work, window, regions, kAroundRecentFace);
      } else if (options_.refine_step > 1.0) {
        std::vector<cv::Rect> scaled_skip;
        for (const cv::Rect& k : skip) scaled_skip.push_back(Scaled(k, scale));
        const int w =
            std::max(window.width, static_cast<int>(min_width * scale));
        found = SearchThenRefine(cascade, work, window, scaled_skip,
                                 cv::Size(w, w * window.height / window.width));
      } else {
        found = Scan(cascade, work, window);
      }
      for (const Scanned& s : found) {
        FaceHit hit;
        hit.box = cv::Rect(area.x + static_cast<int>(s.box.x / scale),
                           area.y + static_cast<int>(s.box.y / scale),
                           static_cast<int>(s.box.width / scale),
                           static_cast<int>(s.box.height / scale)) &
                  cv::Rect(0, 0, bgr.cols, bgr.rows);
        // More agreeing neighbours: more certain. 20 is a confident hit.
        hit.confidence = std::min(1.0f, s.neighbours / 20.0f);
        AddUnlessSeen(hits, hit);
      }
    }
    return hits;
  }

  // One scan of the whole image, as OpenCV's examples do it.
  std::vector<Scanned> Scan(cv::CascadeClassifier& cascade, const cv::Mat& work,
                            cv::Size window) const {
    std::vector<cv::Rect> boxes;
    std::vector<int> neighbours;
    cascade.detectMultiScale(work, boxes, neighbours, options_.scale_step,
                             options_.min_neighbours, 0, window);
    std::vector<Scanned> out;
    for (size_t i = 0; i < boxes.size(); ++i) {
      out.push_back({boxes[i], neighbours[i]});
    }
    return out;
  }

  // Most of a scan's time goes on window sizes where no face is. A coarse
  // search (large scale step, every single hit kept) finds where faces may
  // be; a fine scan of those regions alone finds and sizes them. Measured
  // with lanevault-eval: the recall of OpenCV's usual 1.1-step scan or
  // better, in under half its time on the mask set.
  // The search's scales are the same with a larger `smallest` window,
  // those below it left out.
  std::vector<Scanned> SearchThenRefine(cv::CascadeClassifier& cascade,
                                        const cv::Mat& work, cv::Size window,
                                        const std::vector<cv::Rect>& skip,
                                        cv::Size smallest) const {
    std::vector<cv::Rect> search_hits;
    cascade.detectMultiScale(work, search_hits, options_.scale_step,
                             /*minNeighbors=*/0, 0, smallest);
    std::vector<SearchRegion> regions = GroupSearchHits(search_hits);
    // A region on a face in `skip` (half of the smaller in common) is that
    // face, followed by the caller.
    std::erase_if(regions, [&skip](const SearchRegion& r) {
      return std::any_of(skip.begin(), skip.end(), [&r](const cv::Rect& k) {
        return (r.box & k).area() * 2 >= std::min(r.box.area(), k.area());
      });
    });
    return Refine(cascade, work, window, regions, kAroundSearchHit);
  }

  // The fine scan of `regions` only.
  std::vector<Scanned> Refine(cv::CascadeClassifier& cascade,
                              const cv::Mat& work, cv::Size window,
                              const std::vector<SearchRegion>& regions,
                              const RefineWindow& around) const {
    const cv::Rect whole(0, 0, work.cols, work.rows);
    std::vector<Scanned> out;
    for (const SearchRegion& region : regions) {
      const int margin = static_cast<int>(region.min_width * around.margin);
      const cv::Rect roi =
          cv::Rect(region.box.x - margin, region.box.y - margin,
                   region.box.width + 2 * margin,
                   region.box.height + 2 * margin) &
          whole;
      const auto size = [&window](double width) {
        const int w = static_cast<int>(width);
        return cv::Size(w, w * window.height / window.width);
      };
      std::vector<cv::Rect> boxes;
      std::vector<int> neighbours;
      cascade.detectMultiScale(
          work(roi), boxes, neighbours, options_.refine_step,
          options_.min_neighbours, 0,
          size(std::max<double>(window.width,
                                region.min_width * around.smaller)),
          size(region.max_width * around.larger + 1));
      for (size_t i = 0; i < boxes.size(); ++i) {
        const Scanned s{boxes[i] + roi.tl(), neighbours[i]};
        // Neighbouring regions' scans overlap: keep one box per face.
        auto seen = std::find_if(out.begin(), out.end(), [&s](const auto& o) {
          return IoU(o.box, s.box) > 0.4;
        });
        if (seen == out.end()) {
          out.push_back(s);
        } else if (s.neighbours > seen->neighbours) {
          *seen = s;
        }
      }
    }
    return out;
  }

  // A face the previous cascade found already is kept once, at the more
  // confident box.
  static void AddUnlessSeen(std::vector<FaceHit>& hits, const FaceHit& hit) {
    for (FaceHit& h : hits) {
      if (IoU(h.box, hit.box) > 0.4) {
        if (hit.confidence > h.confidence) h = hit;
        return;
      }
    }
    hits.push_back(hit);
  }

  std::vector<cv::CascadeClassifier> cascades_;
  CascadeOptions options_;
};

}  // namespace

std::string DefaultFaceCascade() {
  return "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml";
}

absl::StatusOr<std::unique_ptr<FaceDetector>> NewCascadeFaceDetector(
    const std::string& cascade_files, const CascadeOptions& options) {
  std::vector<cv::CascadeClassifier> cascades;
  for (absl::string_view file :
       absl::StrSplit(cascade_files, ',', absl::SkipEmpty())) {
    const std::string path(file);
    if (!std::filesystem::exists(path)) {
      return absl::NotFoundError(
          absl::StrCat("no face cascade at ", path,
                       " (install the Debian package opencv-data)"));
    }
    cv::CascadeClassifier cascade;
    if (!LoadCascade(path, cascade)) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, " is not an OpenCV cascade"));
    }
    cascades.push_back(std::move(cascade));
  }
  if (cascades.empty()) {
    return absl::InvalidArgumentError("no face cascade named");
  }
  if (options.scale_step <= 1.0 || options.min_neighbours < 0) {
    return absl::InvalidArgumentError(
        "a face cascade needs a scale step above 1 and neighbours of 0 or "
        "more");
  }
  return std::make_unique<CascadeFaceDetector>(std::move(cascades), options);
}

}  // namespace lanevault::capture
