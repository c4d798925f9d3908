#include "footage/crops.h"

#include <algorithm>
#include <cmath>

#include "footage/scene.h"
#include "opencv2/imgcodecs.hpp"
#include "opencv2/imgproc.hpp"

namespace lanevault::footage {

std::string Encode(const std::string& ext, const cv::Mat& image,
                   const std::vector<int>& params) {
  std::vector<uint8_t> out;
  cv::imencode(ext, image, out, params);
  return std::string(out.begin(), out.end());
}

cv::Mat DecodeBytes(const std::string& bytes) {
  const cv::Mat buf(1, static_cast<int>(bytes.size()), CV_8U,
                    const_cast<char*>(bytes.data()));
  return cv::imdecode(buf, cv::IMREAD_COLOR);
}

std::string PlateText(std::mt19937& rng) {
  static constexpr char kLetters[] = "ABCDEFGHJKLMNPRSTUVWXYZ";
  std::string text;
  for (int i = 0; i < 3; ++i) text += kLetters[rng() % 23];
  for (int i = 0; i < 4; ++i) text += static_cast<char>('0' + rng() % 10);
  return text;
}

absl::StatusOr<std::vector<CropSet>> RenderCrops(int per_class, unsigned seed) {
  std::vector<CropSet> sets = {{"plate 250x50", {}},
                               {"face 60", {}},
                               {"face 100", {}},
                               {"face 150", {}}};
  const int sides[] = {0, 60, 100, 150};
  std::mt19937 rng(seed);
  const std::vector<int> jpeg90 = {cv::IMWRITE_JPEG_QUALITY, 90};
  for (unsigned s = seed; static_cast<int>(sets[0].jpeg.size()) < per_class;
       ++s) {
    footage::SceneOptions options;
    options.width = 960;
    options.height = 540;
    options.frames_per_vehicle = 16;
    options.gap_frames = 0;
    options.seed = s;
    for (int v = 0; v < 2; ++v) {
      footage::VehicleSpec spec;
      spec.plate_text = PlateText(rng);
      spec.body_color = cv::Scalar(rng() % 200, rng() % 200, rng() % 200);
      options.vehicles.push_back(spec);
    }
    absl::StatusOr<footage::Scene> scene = footage::RenderScene(options);
    if (!scene.ok()) return scene.status();
    for (size_t f = 0; f < scene->frames.size(); ++f) {
      const footage::FrameTruth& t = scene->truth[f];
      if (t.plate_box.area() == 0 || t.face_box.area() == 0) continue;
      if (static_cast<int>(sets[0].jpeg.size()) >= per_class) break;
      const cv::Mat& frame = scene->frames[f];
      const cv::Rect bounds(0, 0, frame.cols, frame.rows);
      // The plate with a little margin, as a plate finder would cut it.
      cv::Rect plate = t.plate_box;
      plate.x -= static_cast<int>(rng() % 5);
      plate.y -= static_cast<int>(rng() % 3);
      plate.width += 4;
      plate.height += 2;
      cv::Mat crop;
      cv::resize(frame(plate & bounds), crop, cv::Size(250, 50), 0, 0,
                 cv::INTER_AREA);
      sets[0].jpeg.push_back(Encode(".jpg", crop, jpeg90));
      // The face: a square around the face box, jittered.
      const int side = std::max(t.face_box.width, t.face_box.height);
      cv::Rect face(t.face_box.x + t.face_box.width / 2 - side / 2 +
                        static_cast<int>(rng() % 7) - 3,
                    t.face_box.y + t.face_box.height / 2 - side / 2 +
                        static_cast<int>(rng() % 7) - 3,
                    side, side);
      face &= bounds;
      for (int i = 1; i < 4; ++i) {
        cv::resize(frame(face), crop, cv::Size(sides[i], sides[i]), 0, 0,
                   sides[i] < face.width ? cv::INTER_AREA : cv::INTER_LINEAR);
        sets[i].jpeg.push_back(Encode(".jpg", crop, jpeg90));
      }
    }
  }
  return sets;
}

std::string Leak(const std::string& leak, const std::string& jpeg) {
  const cv::Mat image = DecodeBytes(jpeg);
  if (leak == "jpeg70") {
    return Encode(".jpg", image, {cv::IMWRITE_JPEG_QUALITY, 70});
  }
  if (leak == "scale80") {
    cv::Mat small;
    cv::resize(image, small,
               cv::Size(static_cast<int>(std::lround(image.cols * 0.8)),
                        static_cast<int>(std::lround(image.rows * 0.8))),
               0, 0, cv::INTER_AREA);
    return Encode(".png", small);
  }
  if (leak == "crop80") {
    const int w = static_cast<int>(std::lround(image.cols * 0.8));
    const int h = static_cast<int>(std::lround(image.rows * 0.8));
    return Encode(".png", image(cv::Rect((image.cols - w) / 2,
                                         (image.rows - h) / 2, w, h)));
  }
  return Encode(".png", image);
}

}  // namespace lanevault::footage
