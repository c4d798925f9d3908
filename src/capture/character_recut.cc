#include "capture/character_recut.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "capture/geometry.h"
#include "opencv2/imgproc.hpp"

namespace lanevault::capture {
namespace {

// In the row's character heights: a glyph is at least this tall and at most
// this wide (a bold W is about as wide as tall).
constexpr double kMinGlyphHeight = 0.7, kMaxGlyphWidth = 1.25;
// Blobs at least this wide may be two characters touching.
constexpr double kSplitWidth = 0.45;
// Pieces of ink smaller than the row's blobs that may belong to a character
// (a stroke broken off): at least this tall.
constexpr double kMinPieceHeight = 0.25;
constexpr int kMaxAtomsPerGlyph = 3;
// Of the row's typical character width: a blob this much wider may be two
// characters; two blobs no wider than this together may be one.
constexpr double kSplitFactor = 1.25, kJoinFactor = 1.0;
constexpr size_t kMaxAtoms = 24;  // bounds the classifications per row

// A piece of ink glyphs are made of: a blob of the row, half of one, or a
// smaller blob between the row's lines.
struct Atom {
  cv::Rect box;  // in the ink image
  cv::Mat mask;  // box-sized: this atom's ink only
  // Which of the row's blobs it is from; -1 for a piece, which may be left
  // out (a row blob's ink must be part of a glyph).
  int blob = -1;
};

// The atom cut to the box of its ink; nullopt when it has none.
std::optional<Atom> Trimmed(const cv::Mat& mask, cv::Point offset, int blob) {
  const cv::Rect ink = cv::boundingRect(mask);
  if (ink.area() == 0) return std::nullopt;
  return Atom{ink + offset, mask(ink).clone(), blob};
}

// A wide blob as its two halves, cut at its thinnest column between a
// quarter and three quarters of its width.
std::vector<Atom> Halves(const Atom& atom) {
  cv::Mat profile;
  cv::reduce(atom.mask, profile, 0, cv::REDUCE_SUM, CV_32F);
  cv::blur(profile, profile, cv::Size(3, 1));
  const int w = atom.box.width;
  int cut = w / 2;
  for (int x = w / 4; x <= w * 3 / 4; ++x) {
    if (profile.at<float>(x) < profile.at<float>(cut)) cut = x;
  }
  if (cut <= 0 || cut >= w) return {};
  std::optional<Atom> left =
      Trimmed(atom.mask(cv::Rect(0, 0, cut, atom.box.height)), atom.box.tl(),
              atom.blob);
  std::optional<Atom> right =
      Trimmed(atom.mask(cv::Rect(cut, 0, w - cut, atom.box.height)),
              atom.box.tl() + cv::Point(cut, 0), atom.blob);
  if (!left || !right) return {};
  return {std::move(*left), std::move(*right)};
}

// The row's blobs (a wide one as its two halves, which join again into the
// whole) and the smaller pieces of ink between its lines, left to right.
std::vector<Atom> Atoms(const CharacterRow& row, double height,
                        double typical_width) {
  std::vector<cv::Point2d> tops, feet;
  int x0 = row.ink.cols, x1 = 0;
  for (const cv::Rect& b : row.ink_boxes) {
    tops.push_back({b.x + b.width / 2.0, static_cast<double>(b.y)});
    feet.push_back({b.x + b.width / 2.0, static_cast<double>(b.br().y)});
    x0 = std::min(x0, b.x);
    x1 = std::max(x1, b.br().x);
  }
  const Line top = FitLine(tops), foot = FitLine(feet);
  cv::Mat labels, stats, centroids;
  const int count =
      cv::connectedComponentsWithStats(row.ink, labels, stats, centroids, 8);
  std::vector<Atom> atoms, pieces;
  for (int i = 1; i < count; ++i) {
    const cv::Rect box(stats.at<int>(i, cv::CC_STAT_LEFT),
                       stats.at<int>(i, cv::CC_STAT_TOP),
                       stats.at<int>(i, cv::CC_STAT_WIDTH),
                       stats.at<int>(i, cv::CC_STAT_HEIGHT));
    const auto in_row =
        std::find(row.ink_boxes.begin(), row.ink_boxes.end(), box);
    if (in_row != row.ink_boxes.end()) {
      // A blob cut in two: read whole, its halves join again.
      Atom whole{box, labels(box) == i,
                 static_cast<int>(in_row - row.ink_boxes.begin())};
      std::vector<Atom> halves;
      if (box.width >= kSplitWidth * height &&
          box.width >= kSplitFactor * typical_width) {
        halves = Halves(whole);
      }
      if (halves.empty()) {
        atoms.push_back(std::move(whole));
      } else {
        for (Atom& h : halves) atoms.push_back(std::move(h));
      }
      continue;
    }
    // A piece: inside the row's span, between its lines, not too big.
    const double cx = box.x + box.width / 2.0, cy = box.y + box.height / 2.0;
    if (box.x < x0 || box.br().x > x1) continue;
    if (box.height < kMinPieceHeight * height || box.height > 1.1 * height ||
        box.width > kMaxGlyphWidth * height) {
      continue;
    }
    if (cy < top.At(cx) || cy > foot.At(cx)) continue;
    pieces.push_back({box, labels(box) == i, -1});
  }
  // Many pieces: a textured background, not broken strokes; keep the
  // largest.
  std::sort(pieces.begin(), pieces.end(), [](const Atom& a, const Atom& b) {
    return a.box.area() > b.box.area();
  });
  for (Atom& p : pieces) {
    if (atoms.size() >= kMaxAtoms) break;
    atoms.push_back(std::move(p));
  }
  std::stable_sort(
      atoms.begin(), atoms.end(),
      [](const Atom& a, const Atom& b) { return a.box.x < b.box.x; });
  return atoms;
}

// The glyph of atoms [from, to): their ink together, cut to its box.
Atom Join(const std::vector<Atom>& atoms, size_t from, size_t to) {
  cv::Rect box = atoms[from].box;
  for (size_t i = from + 1; i < to; ++i) box |= atoms[i].box;
  cv::Mat mask(box.size(), CV_8U, cv::Scalar(0));
  for (size_t i = from; i < to; ++i) {
    cv::Mat dst = mask(atoms[i].box - box.tl());
    cv::bitwise_or(dst, atoms[i].mask, dst);
  }
  return Atom{box, mask, -1};
}

// How many of the row's blobs atoms [from, to) take from.
int BlobsIn(const std::vector<Atom>& atoms, size_t from, size_t to) {
  int count = 0, last = -1;
  for (size_t i = from; i < to; ++i) {
    if (atoms[i].blob >= 0 && atoms[i].blob != last) {
      ++count;
      last = atoms[i].blob;
    }
  }
  return count;
}

}  // namespace

RecutRow RecutCharacters(const CharacterRow& row,
                         const GlyphClassifier& classifier, int k) {
  RecutRow out;
  out.row = row;
  const auto read_as_is = [&] {
    out.choices.clear();
    for (const cv::Mat& g : out.row.glyphs) {
      out.choices.push_back(classifier.Classify(g, k));
    }
    return out;
  };
  if (row.ink.empty() || row.ink_boxes.size() != row.glyphs.size() ||
      row.ink_boxes.empty()) {
    return read_as_is();
  }
  std::vector<double> heights, widths;
  for (const cv::Rect& b : row.ink_boxes) {
    heights.push_back(b.height);
    // The width of the row's characters, not counting I and 1.
    if (!IsThinGlyph(b.size())) widths.push_back(b.width);
  }
  if (widths.empty()) return read_as_is();
  const double height = Median(std::move(heights));
  const double typical_width = Median(std::move(widths));
  const std::vector<Atom> atoms = Atoms(row, height, typical_width);

  // Best cut of atoms [0, i): the sum over its glyphs of the log of the
  // classifier's belief in its first choice.
  struct Step {
    double score = -std::numeric_limits<double>::infinity();
    size_t from = 0;
    bool glyph = false;  // false: atom from..i skipped
    Atom atom;
    CharacterChoices choices;
  };
  const size_t n = atoms.size();
  std::vector<Step> best(n + 1);
  best[0].score = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(best[i].score)) continue;
    if (atoms[i].blob < 0 && best[i].score > best[i + 1].score) {
      best[i + 1] = {best[i].score, i, false, {}, {}};
    }
    for (size_t j = i + 1; j <= std::min(n, i + kMaxAtomsPerGlyph); ++j) {
      Atom glyph = Join(atoms, i, j);
      if (glyph.box.width > kMaxGlyphWidth * height) break;
      if (glyph.box.height < kMinGlyphHeight * height) continue;
      // Two of the row's blobs are one character only where together they
      // are no wider than one (an H broken into two bars).
      if (BlobsIn(atoms, i, j) > 1 &&
          glyph.box.width > kJoinFactor * typical_width) {
        continue;
      }
      CharacterChoices choices = classifier.Classify(glyph.mask, k);
      const double score =
          best[i].score +
          std::log(std::max(choices.empty() ? 0.0f : choices[0].second, 1e-3f));
      if (score > best[j].score) {
        best[j] = {score, i, true, std::move(glyph), std::move(choices)};
      }
    }
  }
  if (!std::isfinite(best[n].score)) return read_as_is();
  std::vector<const Step*> path;
  for (size_t i = n; i > 0; i = best[i].from) path.push_back(&best[i]);
  std::reverse(path.begin(), path.end());
  out.row.glyphs.clear();
  out.row.boxes.clear();
  out.row.ink_boxes.clear();
  out.choices.clear();
  for (const Step* step : path) {
    if (!step->glyph) continue;
    out.row.glyphs.push_back(step->atom.mask);
    out.row.ink_boxes.push_back(step->atom.box);
    out.row.boxes.push_back(CropBox(step->atom.box, row.ink_scale));
    out.choices.push_back(step->choices);
  }
  return out;
}

}  // namespace lanevault::capture
