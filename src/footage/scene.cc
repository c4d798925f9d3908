#include "footage/scene.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "opencv2/freetype.hpp"
#include "opencv2/imgcodecs.hpp"
#include "opencv2/imgproc.hpp"
#include "opencv2/videoio.hpp"

namespace lanevault::footage {
namespace {

namespace fs = std::filesystem;

// The face's box inside the source image, found once with the Haar cascade
// and widened to take in hair and chin, as a real driver would show.
constexpr int kFaceSourceX = 85, kFaceSourceY = 55, kFaceSourceW = 240,
              kFaceSourceH = 270;

std::string FirstExisting(const std::vector<std::string>& paths) {
  for (const auto& p : paths) {
    if (fs::exists(p)) return p;
  }
  return "";
}

// The plate at full resolution; it is scaled into each frame with area
// interpolation, as a camera would see it.
cv::Mat RenderPlate(const std::string& text, cv::freetype::FreeType2& font) {
  cv::Mat plate(120, 520, CV_8UC3, cv::Scalar(245, 245, 245));
  cv::rectangle(plate, cv::Rect(0, 0, plate.cols, plate.rows),
                cv::Scalar(120, 40, 20), 8);
  const int height = 84;
  int baseline = 0;
  cv::Size size = font.getTextSize(text, height, -1, &baseline);
  cv::Point origin((plate.cols - size.width) / 2,
                   (plate.rows + size.height) / 2 - 2);
  font.putText(plate, text, origin, height, cv::Scalar(20, 20, 20), -1,
               cv::LINE_AA, true);
  return plate;
}

void Paste(cv::Mat& frame, const cv::Mat& patch, cv::Rect where,
           double alpha = 1.0) {
  cv::Rect clipped = where & cv::Rect(0, 0, frame.cols, frame.rows);
  if (clipped.width <= 0 || clipped.height <= 0) return;
  cv::Mat scaled;
  cv::resize(patch, scaled, where.size(), 0, 0, cv::INTER_AREA);
  cv::Mat src = scaled(cv::Rect(clipped.x - where.x, clipped.y - where.y,
                                clipped.width, clipped.height));
  cv::Mat dst = frame(clipped);
  if (alpha >= 1.0) {
    src.copyTo(dst);
  } else {
    cv::addWeighted(src, alpha, dst, 1.0 - alpha, 0, dst);
  }
}

cv::Mat RenderRoad(int w, int h) {
  cv::Mat road(h, w, CV_8UC3, cv::Scalar(95, 98, 100));
  // Sky/buildings band, lane lines converging to a vanishing point, a booth.
  cv::rectangle(road, cv::Rect(0, 0, w, h / 5), cv::Scalar(170, 150, 130), -1);
  cv::Point vp(w / 2, h / 5);
  for (int x : {-w / 4, w / 2 - w / 2, w, w + w / 4}) {
    cv::line(road, vp, cv::Point(x, h), cv::Scalar(210, 210, 210), 6);
  }
  cv::rectangle(road, cv::Rect(w - 180, h / 5 - 60, 150, 260),
                cv::Scalar(60, 90, 120), -1);
  return road;
}

}  // namespace

const std::vector<std::string>& DefaultFaceImages() {
  static const auto* paths = new std::vector<std::string>{
      "/usr/share/doc/opencv-doc/opencv4/html/227943776_1.jpg",
      "/usr/local/share/lanevault/face.jpg"};
  return *paths;
}

const std::vector<std::string>& DefaultFontFiles() {
  static const auto* paths = new std::vector<std::string>{
      "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed-Bold.ttf",
      "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"};
  return *paths;
}

absl::StatusOr<Scene> RenderScene(const SceneOptions& options) {
  const std::string face_path = options.face_image.empty()
                                    ? FirstExisting(DefaultFaceImages())
                                    : options.face_image;
  cv::Mat face_src = face_path.empty() ? cv::Mat() : cv::imread(face_path);
  if (face_src.empty()) {
    return absl::NotFoundError(absl::StrCat(
        "no face image (looked for ",
        absl::StrJoin(options.face_image.empty()
                          ? DefaultFaceImages()
                          : std::vector<std::string>{options.face_image},
                      ", "),
        "); install the Debian package opencv-doc"));
  }
  cv::Mat face = face_src(cv::Rect(kFaceSourceX, kFaceSourceY, kFaceSourceW,
                                   kFaceSourceH) &
                          cv::Rect(0, 0, face_src.cols, face_src.rows))
                     .clone();
  const std::string font_path = options.font_file.empty()
                                    ? FirstExisting(DefaultFontFiles())
                                    : options.font_file;
  if (font_path.empty() || !fs::exists(font_path)) {
    return absl::NotFoundError(
        "no plate font found; install the Debian package fonts-dejavu-core");
  }
  cv::Ptr<cv::freetype::FreeType2> font = cv::freetype::createFreeType2();
  font->loadFontData(font_path, 0);

  const int w = options.width, h = options.height;
  const cv::Mat road = RenderRoad(w, h);
  std::mt19937 rng(options.seed);
  Scene scene;
  auto add_frame = [&](cv::Mat frame, FrameTruth truth) {
    if (options.noise_sigma > 0) {
      cv::Mat noise(frame.size(), CV_16SC3);
      cv::randn(noise, 0, options.noise_sigma);
      cv::Mat f16;
      frame.convertTo(f16, CV_16SC3);
      f16 += noise;
      f16.convertTo(frame, CV_8UC3);
    }
    truth.frame = static_cast<int>(scene.frames.size());
    scene.frames.push_back(std::move(frame));
    scene.truth.push_back(truth);
  };
  auto add_gap = [&] {
    for (int i = 0; i < options.gap_frames; ++i) add_frame(road.clone(), {});
  };

  add_gap();
  for (size_t v = 0; v < options.vehicles.size(); ++v) {
    const VehicleSpec& spec = options.vehicles[v];
    const cv::Mat plate = RenderPlate(spec.plate_text, *font);
    std::uniform_int_distribution<int> jitter(-12, 12);
    const int lateral = jitter(rng);
    const int halfway = options.frames_per_vehicle / 2;
    for (int frame_i = 0;
         frame_i < options.frames_per_vehicle + options.stop_frames;
         ++frame_i) {
      // Halted halfway for stop_frames: the same picture, only sensor noise.
      const int i = frame_i < halfway
                        ? frame_i
                        : std::max(halfway, frame_i - options.stop_frames);
      const double t =
          static_cast<double>(i) / (options.frames_per_vehicle - 1);
      // Approaching: the vehicle grows and moves down until it leaves.
      const double s = 0.40 + 0.75 * t;
      const int cx = w / 2 + lateral + static_cast<int>(40 * t);
      const int top = static_cast<int>(h * 0.08 + t * h * 0.30);
      const int bw = static_cast<int>(820 * s), bh = static_cast<int>(560 * s);
      cv::Mat frame = road.clone();
      cv::Rect body(cx - bw / 2, top, bw, bh);
      cv::rectangle(frame, body, spec.body_color, -1);
      cv::rectangle(frame, body, spec.body_color * 0.6, std::max(2, bw / 120));
      // Windscreen with the driver behind tinted glass.
      cv::Rect glass(body.x + bw / 10, body.y + bh / 12, bw * 8 / 10,
                     bh * 4 / 10);
      cv::rectangle(frame, glass, cv::Scalar(70, 60, 50), -1);
      const int fh = static_cast<int>(bh * 0.34);
      const int fw = fh * kFaceSourceW / kFaceSourceH;
      cv::Rect face_box(glass.x + glass.width * 2 / 3 - fw / 2,
                        glass.y + glass.height - fh, fw, fh);
      Paste(frame, face, face_box, 0.85);
      // Headlights, grille, plate on the bumper.
      const int lw = bw / 7, lh = bh / 12;
      const int ly = body.y + bh * 6 / 10;
      cv::rectangle(frame, cv::Rect(body.x + bw / 14, ly, lw, lh),
                    cv::Scalar(200, 230, 240), -1);
      cv::rectangle(frame, cv::Rect(body.x + bw - bw / 14 - lw, ly, lw, lh),
                    cv::Scalar(200, 230, 240), -1);
      cv::rectangle(frame, cv::Rect(body.x + bw * 3 / 10, ly, bw * 4 / 10, lh),
                    cv::Scalar(30, 30, 30), -1);
      const int pw = static_cast<int>(bw * 0.32);
      const int ph = pw * plate.rows / plate.cols;
      cv::Rect plate_box(cx - pw / 2, body.y + bh * 77 / 100, pw, ph);
      Paste(frame, plate, plate_box);
      FrameTruth truth;
      truth.vehicle = static_cast<int>(v);
      const cv::Rect bounds(0, 0, w, h);
      truth.plate_box =
          (plate_box & bounds) == plate_box ? plate_box : cv::Rect();
      truth.face_box = (face_box & bounds) == face_box ? face_box : cv::Rect();
      add_frame(std::move(frame), truth);
    }
    add_gap();
  }
  return scene;
}

absl::Status WriteScene(const Scene& scene, const SceneOptions& options,
                        const std::string& dir) {
  std::error_code ec;
  fs::create_directories(fs::path(dir) / "frames", ec);
  if (ec) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create ", dir, ": ", ec.message()));
  }
  const cv::Size size(options.width, options.height);
  cv::VideoWriter video((fs::path(dir) / "lane.avi").string(),
                        cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 15.0,
                        size);
  if (!video.isOpened()) {
    return absl::InternalError(absl::StrCat("cannot write ", dir, "/lane.avi"));
  }
  std::ofstream truth(fs::path(dir) / "truth.tsv");
  truth << "frame\tvehicle\tplate_x\tplate_y\tplate_w\tplate_h\tface_x\tface_y"
           "\tface_w\tface_h\n";
  for (size_t i = 0; i < scene.frames.size(); ++i) {
    const std::string name =
        (fs::path(dir) / "frames" / absl::StrFormat("frame_%04d.jpg", i))
            .string();
    if (!cv::imwrite(name, scene.frames[i], {cv::IMWRITE_JPEG_QUALITY, 92})) {
      return absl::InternalError(absl::StrCat("cannot write ", name));
    }
    video.write(scene.frames[i]);
    const FrameTruth& t = scene.truth[i];
    truth << absl::StrFormat(
        "%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", t.frame, t.vehicle,
        t.plate_box.x, t.plate_box.y, t.plate_box.width, t.plate_box.height,
        t.face_box.x, t.face_box.y, t.face_box.width, t.face_box.height);
  }
  std::ofstream crossings(fs::path(dir) / "crossings.tsv");
  crossings << "vehicle\tplate_text\tfirst_frame\tlast_frame\n";
  for (size_t v = 0; v < options.vehicles.size(); ++v) {
    int first = -1, last = -1;
    for (const FrameTruth& t : scene.truth) {
      if (t.vehicle != static_cast<int>(v)) continue;
      if (first < 0) first = t.frame;
      last = t.frame;
    }
    crossings << v << "\t" << options.vehicles[v].plate_text << "\t" << first
              << "\t" << last << "\n";
  }
  if (!truth || !crossings) {
    return absl::InternalError(
        absl::StrCat("cannot write ground truth in ", dir));
  }
  return absl::OkStatus();
}

}  // namespace lanevault::footage
