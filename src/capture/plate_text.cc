#include "capture/plate_text.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/ascii.h"

namespace lanevault::capture {

bool FitsPattern(const std::string& text, const std::string& pattern) {
  if (text.size() != pattern.size()) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char p = pattern[i], c = text[i];
    if (p == 'L'   ? !absl::ascii_isalpha(c)
        : p == 'D' ? !absl::ascii_isdigit(c)
                   : (p != '?' && p != c)) {
      return false;
    }
  }
  return true;
}

int LetterDigitGroups(const std::string& text) {
  int groups = text.empty() ? 0 : 1;
  for (size_t i = 1; i < text.size(); ++i) {
    groups += absl::ascii_isdigit(text[i]) != absl::ascii_isdigit(text[i - 1]);
  }
  return groups;
}

namespace {

// Many regions leave I, O and Q off their plates because they read as 1
// and 0, so a reader's doubt between them should lean to the digit: those
// letters count half. Measured with lanevault-eval --oracle_box: us-dev
// 20.4 -> 21.4%, eu 59.3 -> 62.0% exact, top-10 no lower (a quarter read
// more exactly but lost eu top-10 readings).
float PlatePrior(char c) {
  return c == 'I' || c == 'O' || c == 'Q' ? 0.5f : 1.0f;
}

// Rows longer than this may lose an end character (TopReadings), which
// costs a reading at most this factor.
constexpr size_t kMinLengthToTrim = 6;
constexpr float kTrimmedEndFactor = 0.5f;

// What dropping an end character costs: the reader's doubt about it, up to
// kTrimmedEndFactor. A stray blob is doubted, so it goes as cheaply as
// before; a character the reader is sure of does not go for a reading
// that fits the patterns better without it. Measured with lanevault-eval:
// the same exact and top-10 rates as a flat kTrimmedEndFactor without
// patterns (us-dev 44.9%, eu 74.1%, 80.6% with 3 groups); with the US
// states' formats, us-dev 51.0 -> 53.1%.
float TrimCost(const CharacterChoices& dropped) {
  float top = 0;
  for (const auto& [c, prob] : dropped) top = std::max(top, prob);
  return std::min(kTrimmedEndFactor, 1 - top);
}

bool ByConfidence(const PlateReading& a, const PlateReading& b) {
  return a.confidence > b.confidence;
}

// The beam's readings of `positions`, each starting from `start`: raw
// products of probabilities, not yet weighed by the rules or by length.
std::vector<PlateReading> Beam(const std::vector<CharacterChoices>& positions,
                               size_t width, float start) {
  std::vector<PlateReading> beam = {{"", start}};
  for (const CharacterChoices& p : positions) {
    std::vector<PlateReading> next;
    for (const PlateReading& r : beam) {
      for (const auto& [c, prob] : p) {
        next.push_back(
            {r.text + c, r.confidence * std::max(prob * PlatePrior(c), 1e-4f)});
      }
    }
    std::sort(next.begin(), next.end(), ByConfidence);
    if (next.size() > width) next.resize(width);
    beam = std::move(next);
  }
  return beam;
}

// O and 0 are one shape on a plate: most regions' fonts draw them alike,
// and blur takes away what differs in the rest. So a reader's split
// between them is noise, and each is given the two's summed probability:
// the plate decides between them (the rules' letter and digit runs, its
// patterns), and failing that PlatePrior leans to the digit. Measured
// with lanevault-eval over three training seeds: eu 68.5 -> 71.3% exact
// (with plate_letter_digit_groups 3, 69.4 -> 78.4%), us-dev within a
// plate; sharing only part of the mass (0.5, 0.8) reads less of eu, and
// sharing I and 1 the same way reads less of both.
void ShareZeroAndO(std::vector<CharacterChoices>& positions) {
  for (CharacterChoices& p : positions) {
    float sum = 0;
    bool has_letter = false, has_digit = false;
    for (const auto& [c, prob] : p) {
      if (c == 'O' || c == '0') sum += prob;
      has_letter |= c == 'O';
      has_digit |= c == '0';
    }
    if (!has_letter && !has_digit) continue;
    for (auto& [c, prob] : p) {
      if (c == 'O' || c == '0') prob = sum;
    }
    if (!has_letter) p.push_back({'O', sum});
    if (!has_digit) p.push_back({'0', sum});
  }
}

double GroupFactor(const std::string& text, const PlateTextRules& rules) {
  double factor = 1;
  if (rules.max_letter_digit_groups > 0) {
    const int extra = LetterDigitGroups(text) - rules.max_letter_digit_groups;
    for (int i = 0; i < extra; ++i) factor *= PlateTextRules::kExtraGroupFactor;
  }
  return factor;
}

bool FitsNoPattern(const std::string& text, const PlateTextRules& rules) {
  return !rules.patterns.empty() &&
         std::none_of(
             rules.patterns.begin(), rules.patterns.end(),
             [&](const std::string& p) { return FitsPattern(text, p); });
}

}  // namespace

float RuledConfidence(const std::string& text, double probability,
                      const PlateTextRules& rules) {
  if (text.empty()) return 0;
  const double per_character = std::pow(probability * GroupFactor(text, rules),
                                        1.0 / static_cast<double>(text.size()));
  return static_cast<float>(FitsNoPattern(text, rules)
                                ? per_character *
                                      PlateTextRules::kUnfitPatternFactor
                                : per_character);
}

std::vector<PlateReading> TopReadings(
    const std::vector<CharacterChoices>& choices, size_t n,
    const PlateTextRules& rules) {
  std::vector<CharacterChoices> positions = choices;
  ShareZeroAndO(positions);
  const size_t width = 4 * n;
  std::vector<PlateReading> readings = Beam(positions, width, 1.0f);
  // A long row may have taken in a stray blob at one end: a frame's edge, a
  // bolt, a letter of the EU band. Readings without the first or the last
  // character compete, at a cost, so one the reader doubts can go.
  // Measured with lanevault-eval: eu 62.0 -> 65.7% exact (--oracle_box 73.1
  // -> 75.0%), us-dev the same; a cost of 0.3 or 0.7 reads less of eu.
  if (positions.size() > kMinLengthToTrim) {
    for (const auto& [first, last] : {std::pair{1, 0}, std::pair{0, 1}}) {
      const std::vector<CharacterChoices> trimmed(positions.begin() + first,
                                                  positions.end() - last);
      const CharacterChoices& dropped =
          first ? positions.front() : positions.back();
      for (PlateReading& r : Beam(trimmed, width, TrimCost(dropped))) {
        readings.push_back(std::move(r));
      }
    }
  }
  // Measured with lanevault-eval --oracle_box on eu at 3 groups: 63.9 ->
  // 68.5% exact (a factor of 0.5 gave 66.7%, 0.1 and 0.02 no more).
  for (PlateReading& r : readings) {
    r.confidence = RuledConfidence(r.text, r.confidence, rules);
  }
  std::stable_sort(readings.begin(), readings.end(), ByConfidence);
  // Dropping the first or the last character can give the same text.
  std::vector<PlateReading> top;
  for (PlateReading& r : readings) {
    if (top.size() >= n) break;
    if (std::none_of(top.begin(), top.end(), [&r](const PlateReading& t) {
          return t.text == r.text;
        })) {
      top.push_back(std::move(r));
    }
  }
  return top;
}

std::string ZeroOByFormat(const std::string& text,
                          const PlateTextRules& rules) {
  std::string best;
  for (const std::string& format : rules.zero_o_formats) {
    if (FitsPattern(text, format)) return "";
    if (!best.empty() || format.size() != text.size()) continue;
    std::string swapped = text;
    int swaps = 0;
    for (size_t i = 0; i < text.size(); ++i) {
      if (format[i] == 'D' && text[i] == 'O') {
        swapped[i] = '0';
        ++swaps;
      } else if (format[i] == 'L' && text[i] == '0') {
        swapped[i] = 'O';
        ++swaps;
      }
    }
    // One look-alike misread is the network's doubt; two to make a text fit
    // are more likely a plate of a format the list lacks: Denmark's or
    // Poland's AB 12300 is not France's AB 123 OO.
    if (swaps == 1 && FitsPattern(swapped, format)) best = std::move(swapped);
  }
  return best;
}

std::vector<PlateReading> MergeReadings(std::vector<PlateReading> a,
                                        const std::vector<PlateReading>& b,
                                        size_t n) {
  for (const PlateReading& r : b) {
    auto same = std::find_if(a.begin(), a.end(), [&r](const PlateReading& e) {
      return e.text == r.text;
    });
    if (same == a.end()) {
      a.push_back(r);
    } else {
      same->confidence = std::max(same->confidence, r.confidence);
    }
  }
  std::stable_sort(a.begin(), a.end(), ByConfidence);
  if (a.size() > n) a.resize(n);
  return a;
}

}  // namespace lanevault::capture
