#ifndef LANEVAULT_CAPTURE_CTC_DECODER_H_
#define LANEVAULT_CAPTURE_CTC_DECODER_H_

// Decoding a CTC network's output (the learned plate reader's): per column
// of the image, a probability for each class, class 0 the blank. A text is
// every alignment of it to the columns (repeats merged, blanks dropped), so
// its probability sums over all of them.

#include <cstddef>
#include <string>
#include <vector>

#include "opencv2/core.hpp"

namespace lanevault::capture {

struct CtcText {
  std::string text;
  // The text's probability summed over its alignments (0..1).
  double probability = 0;
  // Per character: the highest probability its class had in a column where
  // the decoding emitted it.
  std::vector<float> character_probabilities;
};

// Rows of `logits` (columns x classes, CV_32F) to probabilities: softmax
// per row.
cv::Mat CtcSoftmax(const cv::Mat& logits);

// The best path: each column's most likely class, repeats merged, blanks
// dropped. `alphabet[k - 1]` is class k's character.
CtcText CtcGreedy(const cv::Mat& probabilities, const std::string& alphabet);

// Prefix beam search keeping `beam` prefixes per column: the `n` most
// likely texts, most likely first. A column extends prefixes only with the
// characters it gives at least kCtcPruneBelow: most columns of a plate are
// sure of one class, and growing every prefix by all 36 characters there
// cost the decoder more than the network (each such prefix is at least
// 10,000 times less likely than the same prefix grown otherwise).
inline constexpr float kCtcPruneBelow = 1e-4f;
std::vector<CtcText> CtcBeamSearch(const cv::Mat& probabilities,
                                   const std::string& alphabet, size_t beam,
                                   size_t n);

}  // namespace lanevault::capture

#endif  // LANEVAULT_CAPTURE_CTC_DECODER_H_
