#include "capture/ctc_decoder.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/container/flat_hash_map.h"

namespace lanevault::capture {
namespace {

// A prefix of the beam: the probability of its alignments so far that end
// in a blank and that end in its last character.
struct Prefix {
  double blank = 0;
  double last = 0;
  std::vector<float> character_probabilities;
  double total() const { return blank + last; }
};

}  // namespace

cv::Mat CtcSoftmax(const cv::Mat& logits) {
  cv::Mat p(logits.rows, logits.cols, CV_32F);
  for (int t = 0; t < logits.rows; ++t) {
    const float* in = logits.ptr<float>(t);
    float* out = p.ptr<float>(t);
    const float top = *std::max_element(in, in + logits.cols);
    double sum = 0;
    for (int k = 0; k < logits.cols; ++k) {
      out[k] = std::exp(in[k] - top);
      sum += out[k];
    }
    for (int k = 0; k < logits.cols; ++k) out[k] /= static_cast<float>(sum);
  }
  return p;
}

CtcText CtcGreedy(const cv::Mat& probabilities, const std::string& alphabet) {
  CtcText out;
  out.probability = 1;
  int previous = 0;
  for (int t = 0; t < probabilities.rows; ++t) {
    const float* p = probabilities.ptr<float>(t);
    const int best =
        static_cast<int>(std::max_element(p, p + probabilities.cols) - p);
    out.probability *= p[best];
    if (best != 0 && best != previous) {
      out.text.push_back(alphabet[best - 1]);
      out.character_probabilities.push_back(p[best]);
    } else if (best != 0) {
      float& c = out.character_probabilities.back();
      c = std::max(c, p[best]);
    }
    previous = best;
  }
  return out;
}

std::vector<CtcText> CtcBeamSearch(const cv::Mat& probabilities,
                                   const std::string& alphabet, size_t beam,
                                   size_t n) {
  absl::flat_hash_map<std::string, Prefix> beams;
  beams[""].blank = 1;
  for (int t = 0; t < probabilities.rows; ++t) {
    const float* p = probabilities.ptr<float>(t);
    absl::flat_hash_map<std::string, Prefix> next;
    for (const auto& [text, prefix] : beams) {
      // A blank, or the last character again: the same text.
      Prefix& same = next[text];
      if (same.character_probabilities.empty()) {
        same.character_probabilities = prefix.character_probabilities;
      }
      same.blank += prefix.total() * p[0];
      if (!text.empty()) {
        const int last = static_cast<int>(alphabet.find(text.back())) + 1;
        same.last += prefix.last * p[last];
        float& c = same.character_probabilities.back();
        c = std::max(c, p[last]);
      }
      // A new character: after a blank, even the last one again.
      for (int k = 1; k < probabilities.cols; ++k) {
        const char c = alphabet[k - 1];
        const bool repeat = !text.empty() && text.back() == c;
        const double from = repeat ? prefix.blank : prefix.total();
        if (p[k] < kCtcPruneBelow || from * p[k] <= 0) continue;
        std::string longer = text + c;
        Prefix& grown = next[longer];
        if (grown.character_probabilities.size() != longer.size()) {
          grown.character_probabilities = prefix.character_probabilities;
          grown.character_probabilities.push_back(p[k]);
        } else {
          float& last = grown.character_probabilities.back();
          last = std::max(last, p[k]);
        }
        grown.last += from * p[k];
      }
    }
    // Keep the `beam` most likely prefixes.
    std::vector<std::pair<std::string, Prefix>> ranked(
        std::make_move_iterator(next.begin()),
        std::make_move_iterator(next.end()));
    const size_t keep = std::min(beam, ranked.size());
    std::partial_sort(ranked.begin(), ranked.begin() + keep, ranked.end(),
                      [](const auto& a, const auto& b) {
                        return a.second.total() > b.second.total();
                      });
    ranked.resize(keep);
    beams.clear();
    for (auto& [text, prefix] : ranked) beams[text] = std::move(prefix);
  }
  std::vector<CtcText> out;
  for (auto& [text, prefix] : beams) {
    out.push_back({text, prefix.total(), prefix.character_probabilities});
  }
  std::sort(out.begin(), out.end(), [](const CtcText& a, const CtcText& b) {
    return a.probability > b.probability ||
           (a.probability == b.probability && a.text < b.text);
  });
  if (out.size() > n) out.resize(n);
  return out;
}

}  // namespace lanevault::capture
