#ifndef LANEVAULT_CAPTURE_GLYPH_CLASSIFIER_H_
#define LANEVAULT_CAPTURE_GLYPH_CLASSIFIER_H_

// The project's own plate-character classifier, over HOG and pixel features
// of one segmented glyph: a support vector machine (trained by OpenCV's SVM,
// RBF kernel) picks the character, and nearest neighbours among the same
// samples rank the alternatives; one pass of cv::batchDistance serves both.
// Both learn from characters the project renders itself at build time from the
// fonts Debian ships, distorted the way a lane camera distorts them; a few such
// models, each on its own rendering, vote together. No one else's trained data
// is shipped. Training lives apart (glyph_training.h) so that the daemon
// does not link the font rendering.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "capture/glyph_model.h"
#include "opencv2/core.hpp"
#include "opencv2/ml.hpp"

namespace lanevault::capture {

class GlyphClassifier {
 public:
  static absl::StatusOr<std::unique_ptr<GlyphClassifier>> Load(
      const std::string& path);
  // The `k` most likely characters with probabilities, best first. The
  // model also knows blobs that are not one character (two touching, or a
  // piece of one); the share of the vote they take is left out, so a blob
  // like them gets low probabilities. Not thread-safe, as the readers that
  // own a classifier are not: it remembers the glyphs it classified last.
  std::vector<std::pair<char, float>> Classify(const cv::Mat& glyph,
                                               int k) const;
  // For tests: each member's pick for `glyph` as Classify makes it, from
  // the distances it shares with the neighbour search, and as OpenCV's
  // SVM::predict makes it.
  std::vector<std::pair<int, int>> SvmPicksBothWays(const cv::Mat& glyph) const;
  // The members' votes for each class of kGlyphClassesWithJunk, averaged,
  // for a glyph's GlyphFeatures (training checks held-out glyphs with it).
  std::vector<float> Votes(const cv::Mat& features) const;

 private:
  // One model of the ensemble, fitted to its own rendering of the glyphs.
  struct Member {
    cv::PCA pca;  // features to the components both classifiers work in
    // The reference glyphs, projected, and their classes: their nearest
    // neighbours rank the alternatives.
    cv::Mat samples;           // CV_32F, one row each
    cv::Mat labels;            // CV_32S
    cv::Ptr<cv::ml::SVM> svm;  // picks the first choice
    // The SVM as its decision functions over `samples`: its support vectors
    // are training samples, so the distances the neighbour search computes
    // give its RBF kernel too, and the SVM costs no pass of its own.
    // Filled by Load (UnpackSvm).
    struct PairwiseVote {
      int first, second;  // the classes it decides between
      double rho;
      int begin, end;  // its terms in sv_alpha/sv_term
    };
    double gamma = 0;
    std::vector<int> classes;          // the SVM's labels, by its index
    std::vector<int> support_samples;  // each support vector's sample row
    std::vector<PairwiseVote> pairwise;
    std::vector<double> sv_alpha;  // the pairwise terms' weights...
    std::vector<int> sv_term;      // ...and support vectors
    // The squared distance of `projected` to every sample, by OpenCV's
    // vectorised cv::batchDistance.
    cv::Mat Distances(const cv::Mat& projected) const;
    // Each class's share of the vote (kGlyphClassesWithJunk of them).
    std::vector<float> Votes(const cv::Mat& features) const;
    // What svm->predict(projected) gives, from the squared distances of
    // `projected` to every sample.
    int SvmPick(const cv::Mat& distances) const;
  };
  // Fills a member's decision functions from its SVM; false if its support
  // vectors are not among its samples.
  static bool UnpackSvm(Member& member);
  explicit GlyphClassifier(std::vector<Member> members);
  // Votes(GlyphFeatures(glyph)), from recent_ when the glyph was seen.
  std::vector<float> GlyphVotes(const cv::Mat& glyph) const;
  std::vector<Member> members_;
  // The votes of recently classified glyphs, by their pixels. A reader
  // classifies the glyphs of its best rows to rank them, then the same
  // glyphs again when it reads one of them; each classification costs
  // about 1 ms (three members).
  static constexpr size_t kRecentGlyphs = 1024;
  mutable absl::flat_hash_map<std::string, std::vector<float>> recent_;
};

// Where the build put the trained model, then where an install puts it.
std::string DefaultGlyphModel();

}  // namespace lanevault::capture

#endif  // LANEVAULT_CAPTURE_GLYPH_CLASSIFIER_H_
