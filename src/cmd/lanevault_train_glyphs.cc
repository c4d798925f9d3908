// lanevault-train-glyphs: builds the plate character model from characters
// rendered from the fonts Debian ships. The build runs it once.

#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>

#include "absl/flags/flag.h"
#include "capture/glyph_training.h"
#include "common/program.h"

ABSL_FLAG(std::string, out, "", "Where to write the model (.yml.gz).");
ABSL_FLAG(int, variants,
          lanevault::capture::GlyphTrainingOptions{}.variants_per_font,
          "Distorted copies of each character per font.");
ABSL_FLAG(int, members, lanevault::capture::GlyphTrainingOptions{}.members,
          "Models in the ensemble, each fitted to its own rendering (seeds "
          "--seed, --seed + 1, ...); their votes average.");
ABSL_FLAG(uint32_t, seed, lanevault::capture::GlyphTrainingOptions{}.seed,
          "Seed of the distortions. Another seed gives another model of the "
          "same quality: comparing a few shows how much of a change in read "
          "rates is the training's own noise.");
ABSL_FLAG(bool, held_out,
          lanevault::capture::GlyphTrainingOptions{}.measure_held_out,
          "First fit without a tenth of the glyphs and print the accuracy on "
          "them (doubles the fitting time).");

int main(int argc, char** argv) {
  using namespace lanevault;
  std::vector<std::string> args = InitProgram(
      argc, argv,
      "Trains the plate character classifier on rendered characters.\n\n"
      "  lanevault-train-glyphs --out FILE.yml.gz");
  if (!args.empty()) Fail("takes no positional arguments (see --help)", 2);
  const std::string out = absl::GetFlag(FLAGS_out);
  if (out.empty()) Fail("--out is required", 2);
  std::filesystem::create_directories(std::filesystem::path(out).parent_path());
  capture::GlyphTrainingOptions options;
  options.font_files = capture::DefaultGlyphFonts();
  options.variants_per_font = absl::GetFlag(FLAGS_variants);
  options.seed = absl::GetFlag(FLAGS_seed);
  options.members = absl::GetFlag(FLAGS_members);
  options.measure_held_out = absl::GetFlag(FLAGS_held_out);
  // Written beside, then renamed: an interrupted build leaves no half model.
  const std::string partial = out + ".partial.yml.gz";
  absl::StatusOr<std::optional<double>> accuracy =
      capture::TrainGlyphClassifier(options, partial);
  if (!accuracy.ok()) Fail(accuracy.status());
  std::filesystem::rename(partial, out);
  if (accuracy->has_value()) {
    std::fprintf(stderr,
                 "plate character model: %s (held-out accuracy %.1f%%)\n",
                 out.c_str(), 100 * **accuracy);
  } else {
    std::fprintf(stderr, "plate character model: %s\n", out.c_str());
  }
  return 0;
}
