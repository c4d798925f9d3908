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

// The `n` most likely readings, best first. Confidence is the geometric
// mean of the characters' probabilities (times the rules' doubts), so
// lengths compare fairly. O and 0 count as one shape: the rules, or else
// the lean to the digit, decide between them.
std::vector<PlateReading> TopReadings(
    const std::vector<CharacterChoices>& positions, size_t n,
    const PlateTextRules& rules);

// The readings each plate reader ranks for a row (TopReadings' `n`).
constexpr size_t kReadingsPerRow = 10;

// One plate's readings from two looks at it: each text once, at the higher
// of its confidences, best first, at most `n`.
std::vector<PlateReading> MergeReadings(std::vector<PlateReading> a,
                                        const std::vector<PlateReading>& b,
                                        size_t n);

}  // namespace lanevault::capture

#endif  // LANEVAULT_CAPTURE_PLATE_TEXT_H_
