#ifndef LANEVAULT_CAPTURE_PLATE_TEXT_H_
#define LANEVAULT_CAPTURE_PLATE_TEXT_H_

// From per-character alternatives to whole plate readings, shared by the
// readers: a small beam search, and the region's text patterns.

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "capture/detectors.h"

namespace lanevault::capture {

// One character position: alternatives with probabilities, best first.
using CharacterChoices = std::vector<std::pair<char, float>>;

// A pattern is one character per position: 'L' a letter, 'D' a digit, '?'
// either, or the character itself (e.g. "DLLLDDD" for California). When
// patterns are given, readings that fit none are doubted (PlateTextRules).
bool FitsPattern(const std::string& text, const std::string& pattern);

// Runs of letters and of digits: "AB123CD" has 3.
int LetterDigitGroups(const std::string& text);

// A reading's confidence, per character (its probability's geometric mean,
// so that lengths compare fairly, as the other readers'), with the region's
// doubts (PlateTextRules) on the scales the fused reader applies them
// (TopReadings, whose scoring this is): each extra letter/digit group on
// the probability, an unfit pattern on the per-character confidence. The
// pattern's factor on the probability of a 6 or 7 character reading was a
// per-character doubt of about 0.9, too weak for a fitting reading the network
// gave a third of the probability to outrank one that fits no format: B for 8,
// Z for 2. Measured with lanevault-eval --plate_region us on us-dev (model
// selection only): 68.4 -> 73.5 % exact, at the labelled box 75.5 ->
// 81.6 %; eu (no patterns) unchanged.
float RuledConfidence(const std::string& text, double probability,
                      const PlateTextRules& rules);

// The `n` most likely readings, best first. Confidence is the geometric
// mean of the characters' probabilities (times the rules' doubts), so
// lengths compare fairly. O and 0 count as one shape: the rules, or else
// the lean to the digit, decide between them.
std::vector<PlateReading> TopReadings(
    const std::vector<CharacterChoices>& positions, size_t n,
    const PlateTextRules& rules);

// `text` with the one O or 0 swapped that makes it fit one of
// rules.zero_o_formats (the first such), or empty when it already fits one,
// or no single swap of O and 0 makes it fit.
std::string ZeroOByFormat(const std::string& text, const PlateTextRules& rules);

// The readings each plate reader ranks for a row (TopReadings' `n`).
constexpr size_t kReadingsPerRow = 10;

// One plate's readings from two looks at it: each text once, at the higher
// of its confidences, best first, at most `n`.
std::vector<PlateReading> MergeReadings(std::vector<PlateReading> a,
                                        const std::vector<PlateReading>& b,
                                        size_t n);

}  // namespace lanevault::capture

#endif  // LANEVAULT_CAPTURE_PLATE_TEXT_H_
