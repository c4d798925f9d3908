#ifndef LANEVAULT_CAPTURE_GLYPH_MODEL_H_
#define LANEVAULT_CAPTURE_GLYPH_MODEL_H_

// What the plate character model's training (glyph_training.h) and its
// inference (glyph_classifier.h) share: the classes, the features of a
// glyph, and the model file. Kept in one place so that the two cannot
// drift apart; a change here retrains the model at build time.

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "opencv2/core.hpp"
#include "opencv2/ml.hpp"

namespace lanevault::capture {

// The characters a plate may carry, in class order.
constexpr char kGlyphClasses[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
constexpr int kGlyphClassCount = 36;
// The class of blobs that are not one character: two touching characters,
// or a piece of one. It lets a reader weigh cutting a blob or joining two.
constexpr int kNotACharacter = kGlyphClassCount;
constexpr int kGlyphClassesWithJunk = kGlyphClassCount + 1;

// A glyph is white strokes on black, cut to its own box (as FindCharacterRow
// gives them). One row, CV_32F.
cv::Mat GlyphFeatures(const cv::Mat& glyph);

// A model is a few members, each fitted to its own rendering of the glyphs.
constexpr int kMaxGlyphModelMembers = 16;

// One member as the model file holds it.
struct GlyphModelMember {
  // The principal components both of the member's classifiers work in.
  cv::Mat mean, components;  // CV_32F
  // The reference glyphs, projected, and their classes.
  cv::Mat samples;           // CV_32F, one row each
  cv::Mat labels;            // CV_32S
  cv::Ptr<cv::ml::SVM> svm;  // fitted to `samples`
};

class GlyphModelWriter {
 public:
  // False if `path` cannot be written.
  bool Open(const std::string& path, int members);
  // Writes the next member; Open said how many come.
  void Write(const GlyphModelMember& member);

 private:
  cv::FileStorage file_;
  int written_ = 0;
};

class GlyphModelReader {
 public:
  // NotFound without a file at `path`; InvalidArgument (NotAModel) if the
  // file is not a model this build reads.
  static absl::StatusOr<std::unique_ptr<GlyphModelReader>> Open(
      const std::string& path);
  int members() const { return members_; }
  // Member `m` (0 <= m < members()), its parts checked to fit together.
  absl::StatusOr<GlyphModelMember> Member(int m) const;
  // The error for a file that is not a model, saying `why`.
  absl::Status NotAModel(absl::string_view why) const;

 private:
  explicit GlyphModelReader(std::string path) : path_(std::move(path)) {}
  std::string path_;
  cv::FileStorage file_;
  int members_ = 0;
};

}  // namespace lanevault::capture

#endif  // LANEVAULT_CAPTURE_GLYPH_MODEL_H_
