#ifndef LANEVAULT_CAPTURE_DETECTORS_H_
#define LANEVAULT_CAPTURE_DETECTORS_H_

// Small interfaces for what the lane looks for, so that a better model can
// replace a cascade without touching the tracker or the lane. Instances are
// not thread-safe (OpenCV cascades and Tesseract are not): each lane thread
// owns its own.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "capture/character_row.h"
#include "lanevault/v1/config.pb.h"
#include "opencv2/core.hpp"

namespace lanevault::capture {

struct FaceHit {
  cv::Rect box;
  float confidence = 0;  // 0..1
};

class FaceDetector {
 public:
  virtual ~FaceDetector() = default;
  virtual std::vector<FaceHit> Detect(const cv::Mat& bgr) = 0;
  // Faces near `recent` (boxes found in a recent frame) only: for the frames
  // between full searches, when a face seldom moves far. The default
  // searches the whole frame.
  virtual std::vector<FaceHit> DetectNear(const cv::Mat& bgr,
                                          const std::vector<cv::Rect>& recent) {
    (void)recent;
    return Detect(bgr);
  }
  // A search for new faces in `where` (a part of `bgr`) on a frame that
  // also follows `known` faces, found in a recent frame, wherever they are.
  // A detector that refines its search looks closely at each known face
  // once, around where it was (as DetectNear), and refines only its
  // search's other hits. Boxes are in `bgr`. The default: Detect on
  // `where`.
  virtual std::vector<FaceHit> Search(const cv::Mat& bgr, const cv::Rect& where,
                                      const std::vector<cv::Rect>& known) {
    (void)known;
    std::vector<FaceHit> hits = Detect(bgr(where));
    for (FaceHit& hit : hits) hit.box += where.tl();
    return hits;
  }
};

class PlateDetector {
 public:
  virtual ~PlateDetector() = default;
  // Regions that may hold a plate, most plate-like first. The reader
  // verifies them: a region it cannot read is not a plate.
  virtual std::vector<cv::Rect> Candidates(const cv::Mat& bgr) = 0;
  // Regions Candidates() leaves out, found at more cost, in rounds 1 to
  // MoreCandidateRounds(): FindPlates asks for a round only when nothing it
  // read from the rounds before reads surely. None by default.
  virtual int MoreCandidateRounds() const { return 0; }
  virtual std::vector<cv::Rect> MoreCandidates(const cv::Mat& /*bgr*/,
                                               int /*round*/) {
    return {};
  }
};

struct PlateReading {
  std::string text;      // uppercase letters and digits only
  float confidence = 0;  // 0..1
  // Where the region's formats settled an O or a 0 (ZeroOByFormat): the
  // text as the reader gave it, which a crossing keeps among its candidates
  // so that a lookup still finds a plate the format settled wrongly.
  std::string as_read = {};
};

// What a region's plates look like (the lane's DetectorConfig): readers
// rank their readings by it (plate_text.h).
struct PlateTextRules {
  // One character per position: 'L' letter, 'D' digit, '?' either, else
  // that character. A reading that fits none is doubted: its confidence
  // counts kUnfitPatternFactor. Doubted, not ruled out, so that a plate of
  // a format the list lacks (a vanity plate, a visitor's) still reads when
  // its characters are clear. Measured with lanevault-eval against ranking
  // every fitting reading first (a factor of 1e-6): eu with Slovakia's
  // pattern 84.3 -> 85.2% exact, us-dev with the US states' formats 52.0
  // -> 53.1%; factors of 0.3, 0.4 and 0.6 read 52.0, 52.0 and 53.1%.
  std::vector<std::string> patterns;
  static constexpr float kUnfitPatternFactor = 0.5f;
  // > 0: readings in more runs of letters and digits than this are doubted,
  // each run more multiplying their probability by kExtraGroupFactor.
  int max_letter_digit_groups = 0;
  static constexpr float kExtraGroupFactor = 0.2f;
  // Formats ('L', 'D', '?' as in `patterns`) whose fonts draw the letter O
  // and the digit 0 alike, so that the position tells them apart: Slovakia's
  // and France's "BA 302 OZ". A reading that fits none of them but fits one
  // once one of its O and 0 is swapped is read so (ZeroOByFormat); the
  // reading as the network gave it stays next, and in PlateReading::as_read.
  // Only O and 0: other look-alikes (B/8, I/1) differ in the fonts' own
  // shapes, which the network reads. A reading that no single swap makes fit
  // (a vanity plate) is left as it is, and no reading is doubted for it. The
  // learned reader applies them; the fused reader settles O and 0 by
  // max_letter_digit_groups. (Initialised so that rules written as
  // {{patterns}} stay complete.)
  std::vector<std::string> zero_o_formats = {};
};

class PlateReader {
 public:
  virtual ~PlateReader() = default;
  // Readings of one plate crop, best first; empty when nothing in it reads
  // as a plate. Finds the crop's row of characters and reads it.
  std::vector<PlateReading> Read(const cv::Mat& plate_bgr);
  // Readings of a row already found (FindPlates finds rows to rank
  // candidates, and does not find them twice).
  virtual std::vector<PlateReading> ReadRow(const CharacterRow& row) = 0;
  // How much the row looks like plate characters, 0..1, at a fraction of
  // ReadRow's cost: FindPlates uses it to choose which of several rows to
  // read. A reader with no cheap measure returns 0 (rows then rank by their
  // shape alone).
  virtual float Plausibility(const CharacterRow& /*row*/) { return 0; }
  // Readers of whole plates (the learned reader) read the crop itself and
  // need no row: Read() and FindPlates then call ReadPlate with the plate
  // around the row, and FindPlates takes no second look.
  virtual bool ReadsWholePlates() const { return false; }
  // Readings of the plate cropped in `plate_bgr`, whose row (possibly
  // empty for a whole-plate reader) is `row`. By default: ReadRow(row).
  virtual std::vector<PlateReading> ReadPlate(const cv::Mat& /*plate_bgr*/,
                                              const CharacterRow& row) {
    return ReadRow(row);
  }
};

struct CascadeOptions {
  int min_face_px = 40;
  // A coarse search at `scale_step`, then a fine scan at `refine_step` of
  // only where it fired, reporting faces with `min_neighbours` agreeing
  // hits. `refine_step` of 1 or less: one scan at `scale_step`, as OpenCV's
  // examples do (1.1 and 3 there). Chosen with lanevault-eval on the face
  // sets (see README).
  double scale_step = 1.4;
  double refine_step = 1.05;
  int min_neighbours = 4;
};

// The default face detector: OpenCV cascades from Debian's opencv-data
// (comma-separated files; hits of later ones add to the first's). The image
// is scaled so that faces of `min_face_px` fill the cascade's window.
absl::StatusOr<std::unique_ptr<FaceDetector>> NewCascadeFaceDetector(
    const std::string& cascade_files, const CascadeOptions& options = {});

// A DNN face detector: YuNet (.onnx, through cv::FaceDetectorYN) or
// OpenCV's ResNet-10 SSD (.pb with its .pbtxt beside it).
absl::StatusOr<std::unique_ptr<FaceDetector>> NewDnnFaceDetector(
    const std::string& model_file);

// Plate candidates from dark-on-light strokes: black-hat morphology, a
// horizontal gradient, closing into blobs, and contours of plate shape.
std::unique_ptr<PlateDetector> NewContourPlateDetector();

// `first`'s candidates, then those of an OpenCV plate cascade (for example
// opencv-data's haarcascade_russian_plate_number.xml) that `first` did not
// already give: `detectors.plate_cascade`.
absl::StatusOr<std::unique_ptr<PlateDetector>> NewCascadePlateDetector(
    const std::string& cascade_file, std::unique_ptr<PlateDetector> first);

// Both readers find the row of characters in the crop first (see
// character_row.h) and rank their readings by the region's `rules`
// (plate_text.h).
//
// Tesseract 5 (LSTM) restricted to plate characters, on the characters
// redrawn as one clean line. `datapath` empty: Tesseract's default.
absl::StatusOr<std::unique_ptr<PlateReader>> NewTesseractPlateReader(
    const std::string& datapath, const std::string& language,
    PlateTextRules rules = {});

// The project's own character classifier (glyph_classifier.h), per
// character: faster and more accurate on plates than Tesseract.
absl::StatusOr<std::unique_ptr<PlateReader>> NewGlyphPlateReader(
    const std::string& model_file, PlateTextRules rules = {});

// Both on the same row, their per-character alternatives averaged: the
// default (PLATE_READER_FUSED).
absl::StatusOr<std::unique_ptr<PlateReader>> NewFusedPlateReader(
    const std::string& datapath, const std::string& language,
    const std::string& model_file, PlateTextRules rules = {});

// The detectors a lane config asks for, with the defaults filled in.
struct DetectorSet {
  std::unique_ptr<FaceDetector> face;
  std::unique_ptr<PlateDetector> plate;
  std::unique_ptr<PlateReader> reader;
};
absl::StatusOr<DetectorSet> NewDetectorSet(const v1::DetectorConfig& config);

// The cascade the default face detector uses when none is configured.
std::string DefaultFaceCascade();

}  // namespace lanevault::capture

#endif  // LANEVAULT_CAPTURE_DETECTORS_H_
