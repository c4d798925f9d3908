// lanevault-footage: renders sample lane footage with ground truth.

#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "common/program.h"
#include "footage/scene.h"

ABSL_FLAG(std::string, out, "var/footage",
          "Folder to write frames/, lane.avi and the ground truth into.");
ABSL_FLAG(std::string, plates, "KXR4821",
          "Comma-separated plate texts, one vehicle each, in order.");
ABSL_FLAG(int, frames_per_vehicle, 48,
          "Frames from a vehicle's first sight until it leaves.");
ABSL_FLAG(int, gap_frames, 14,
          "Empty-road frames before, between and after vehicles.");
ABSL_FLAG(int, seed, 1, "Random seed (noise, lateral position).");
ABSL_FLAG(std::string, face_image, "",
          "Face photo to place behind the windscreen (default: opencv-doc's "
          "sample).");

int main(int argc, char** argv) {
  using namespace lanevault;
  std::vector<std::string> args = InitProgram(
      argc, argv,
      "Renders a lane scene with known ground truth.\n\n"
      "  lanevault-footage --out DIR [--plates KXR4821,MVB7350]\n\n"
      "Writes DIR/frames/*.jpg, DIR/lane.avi, DIR/truth.tsv (boxes per frame)\n"
      "and DIR/crossings.tsv (plate text per vehicle).");
  if (!args.empty()) Fail("takes no positional arguments (see --help)", 2);
  footage::SceneOptions options;
  options.frames_per_vehicle = absl::GetFlag(FLAGS_frames_per_vehicle);
  options.gap_frames = absl::GetFlag(FLAGS_gap_frames);
  options.seed = static_cast<unsigned>(absl::GetFlag(FLAGS_seed));
  options.face_image = absl::GetFlag(FLAGS_face_image);
  if (options.frames_per_vehicle < 8 || options.gap_frames < 0) {
    Fail(
        "--frames_per_vehicle must be at least 8 and --gap_frames not negative",
        2);
  }
  for (absl::string_view text :
       absl::StrSplit(absl::GetFlag(FLAGS_plates), ',', absl::SkipEmpty())) {
    std::string plate = absl::AsciiStrToUpper(text);
    for (char c : plate) {
      if (!absl::ascii_isalnum(c)) {
        Fail("plate texts are letters and digits only: " + plate, 2);
      }
    }
    static const cv::Scalar kColours[] = {
        {40, 40, 150}, {120, 80, 30}, {50, 110, 50}};
    options.vehicles.push_back(
        {plate, kColours[options.vehicles.size() % std::size(kColours)]});
  }
  if (options.vehicles.empty()) Fail("--plates names no vehicle", 2);
  absl::StatusOr<footage::Scene> scene = footage::RenderScene(options);
  if (!scene.ok()) Fail(scene.status());
  const std::string out = absl::GetFlag(FLAGS_out);
  if (absl::Status s = footage::WriteScene(*scene, options, out); !s.ok())
    Fail(s);
  std::printf("wrote %zu frames, %zu vehicle(s) to %s\n", scene->frames.size(),
              options.vehicles.size(), out.c_str());
  return 0;
}
