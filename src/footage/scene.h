#ifndef LANEVAULT_FOOTAGE_SCENE_H_
#define LANEVAULT_FOOTAGE_SCENE_H_

// Renders lane footage with known ground truth: vehicles approaching a
// head-on lane camera, each with a licence plate of known text and a driver
// whose face comes from an image a Debian package installs. The demo, the
// tests and the benchmarks use it, so none of them needs outside data.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "opencv2/core.hpp"

namespace lanevault::footage {

struct VehicleSpec {
  std::string plate_text;  // uppercase letters and digits
  cv::Scalar body_color{40, 40, 150};
};

struct SceneOptions {
  int width = 1280;
  int height = 720;
  int frames_per_vehicle = 48;  // frames from far to leaving the frame
  int gap_frames = 14;          // empty road before, between and after
  int stop_frames = 0;       // each vehicle halts halfway this long (a booth)
  double noise_sigma = 2.0;  // sensor noise, so the motion gate is tested
  unsigned seed = 1;
  std::vector<VehicleSpec> vehicles;
  std::string face_image;  // empty: the first of DefaultFaceImages() found
  std::string font_file;   // empty: the first of DefaultFontFiles() found
};

// Where the truth about one frame is.
struct FrameTruth {
  int frame = 0;
  int vehicle = -1;  // -1: empty road
  cv::Rect plate_box;
  cv::Rect face_box;
};

struct Scene {
  std::vector<cv::Mat> frames;
  std::vector<FrameTruth> truth;
};

// Candidate paths, in order, for the face and the plate font.
const std::vector<std::string>& DefaultFaceImages();
const std::vector<std::string>& DefaultFontFiles();

// Renders the scene. NOT_FOUND (naming the packages to install) when the
// face image or font is missing.
absl::StatusOr<Scene> RenderScene(const SceneOptions& options);

// Writes frames as frame_NNNN.jpg into `dir/frames`, the video as
// `dir/lane.avi` (MJPG), and the ground truth as `dir/truth.tsv` (one line a
// frame) and `dir/crossings.tsv` (one line a vehicle: index, plate text,
// first and last frame).
absl::Status WriteScene(const Scene& scene, const SceneOptions& options,
                        const std::string& dir);

}  // namespace lanevault::footage

#endif  // LANEVAULT_FOOTAGE_SCENE_H_
