#include "capture/character_row.h"

#include <algorithm>
#include <cmath>

#include "capture/geometry.h"
#include "opencv2/imgproc.hpp"

namespace lanevault::capture {
namespace {

constexpr int kWorkHeight = 96;  // crops are scaled to this height
constexpr size_t kMinCharacters = 3, kMaxCharacters = 10;
constexpr size_t kPlateCharacters = 6;  // fewer: look harder
// A thin blob (IsThinGlyph) at either end of a row is not a character when its
// centre stands more than this many of the row's usual pitches from its
// neighbour's, or when its top or foot is off its neighbour's by more than
// this share of the height. Measured with lanevault-eval --oracle_box:
// us-dev 31.6 -> 34.7% exact, eu 63.9 -> 64.8% (pitch factors of 1.3 and
// 1.8 read the same).
constexpr double kStrayPitchFactor = 1.5, kStrayAlign = 0.15;
// A row more ink than background (MostlyInk) loses this much of its score:
// about two characters' worth, so that the plate read the right way round
// wins. Measured with lanevault-eval: us-dev 36.7 -> 37.8% exact, eu the
// same; a cut-off of 0.45 or 0.55 reads within a plate of 0.5.
constexpr double kMaxBandInk = 0.5, kBackgroundPenalty = 2;

// Colour distance (a*b* of CIE Lab) beyond which an end blob is not one of
// the row's characters (TrimOffColourEnds). Measured with lanevault-eval:
// eu 65.7 -> 66.7% exact, us-dev the same (--oracle_box: us-dev 40.8 ->
// 41.8%, eu the same); a cut-off of 12 reads the same, 30 gains nothing.
constexpr double kOffColour = 20;

struct Blob {
  cv::Rect box;
  int label = 0;
  double cx() const { return box.x + box.width / 2.0; }
  double cy() const { return box.y + box.height / 2.0; }
};

struct Candidate {
  std::vector<Blob> blobs;
  cv::Mat labels;  // the binarisation's component labels (LabelType)
  cv::Mat ink;     // the binarisation
  double score = -1;
  bool background = false;  // MostlyInk: likely the gaps, not the characters
};

// Blobs that could be one character: tall rather than wide, a sensible
// share of the crop's height, not a frame line running edge to edge.
std::vector<Blob> CharacterBlobs(const cv::Mat& stats, int count,
                                 cv::Size size) {
  std::vector<Blob> blobs;
  for (int i = 1; i < count; ++i) {
    const int x = stats.at<int>(i, cv::CC_STAT_LEFT);
    const int y = stats.at<int>(i, cv::CC_STAT_TOP);
    const int w = stats.at<int>(i, cv::CC_STAT_WIDTH);
    const int h = stats.at<int>(i, cv::CC_STAT_HEIGHT);
    const int area = stats.at<int>(i, cv::CC_STAT_AREA);
    if (h < size.height / 5 || h > size.height * 98 / 100) continue;
    if (w < 2 || w > h * 6 / 5 || h > 12 * w) continue;
    const double fill = static_cast<double>(area) / (w * h);
    if (fill < 0.12 || (fill > 0.92 && w > h / 3)) continue;
    if (y == 0 && y + h >= size.height) continue;
    if (x == 0 || x + w >= size.width) continue;  // cut by the crop's edge
    blobs.push_back({cv::Rect(x, y, w, h), i});
  }
  std::sort(blobs.begin(), blobs.end(),
            [](const Blob& a, const Blob& b) { return a.box.x < b.box.x; });
  return blobs;
}

// A bolt, the frame's edge or a sticker's rim at either end of a row reads
// as an extra I or 1: a thin blob standing apart from the row, or not on
// its lines, is not one of its characters.
void TrimStrayEnds(std::vector<Blob>& row) {
  if (row.size() <= kMinCharacters) return;
  // Pitch from centre to centre: plate lettering is nearly fixed-pitch, so
  // a thin I or 1 stands further from its neighbours' edges than a wide
  // character does, but no further from their centres.
  std::vector<double> pitches;
  for (size_t i = 1; i < row.size(); ++i) {
    pitches.push_back(row[i].cx() - row[i - 1].cx());
  }
  const double limit = kStrayPitchFactor * Median(pitches);
  auto stray = [&](const Blob& b, const Blob& next, double pitch) {
    if (!IsThinGlyph(b.box.size())) return false;
    const double slack = kStrayAlign * next.box.height;
    return pitch > limit || std::abs(b.box.y - next.box.y) > slack ||
           std::abs(b.box.br().y - next.box.br().y) > slack;
  };
  if (stray(row.back(), row[row.size() - 2], pitches.back())) row.pop_back();
  if (row.size() > kMinCharacters && stray(row[0], row[1], pitches.front())) {
    row.erase(row.begin());
  }
}

// The largest run of blobs that share a height and a (possibly tilted)
// line, seeded from each blob in turn.
Candidate BestRow(const std::vector<Blob>& blobs) {
  Candidate best;
  for (const Blob& seed : blobs) {
    const double h = seed.box.height;
    std::vector<Blob> row;
    for (const Blob& b : blobs) {
      if (std::abs(b.box.height - h) <= 0.2 * h &&
          std::abs(b.cy() - seed.cy()) <= 0.6 * h) {
        row.push_back(b);
      }
    }
    if (row.size() < kMinCharacters) continue;
    // Fit the line through the centres and keep those on it (tilted plates).
    std::vector<cv::Point2d> centres;
    for (const Blob& b : row) centres.push_back({b.cx(), b.cy()});
    const Line line = FitLine(centres);
    std::vector<Blob> on_line;
    for (const Blob& b : row) {
      if (std::abs(b.cy() - line.At(b.cx())) <= 0.18 * h &&
          (on_line.empty() || b.box.x >= on_line.back().box.br().x - 2)) {
        on_line.push_back(b);
      }
    }
    // Split where the gap is wider than two characters; keep the longest.
    std::vector<Blob> run, longest;
    for (const Blob& b : on_line) {
      if (!run.empty() && b.box.x - run.back().box.br().x > 2.0 * h) {
        if (run.size() > longest.size()) longest = run;
        run.clear();
      }
      run.push_back(b);
    }
    if (run.size() > longest.size()) longest = run;
    TrimStrayEnds(longest);
    if (longest.size() < kMinCharacters || longest.size() > kMaxCharacters) {
      continue;
    }
    double mean = 0, var = 0;
    for (const Blob& b : longest) mean += b.box.height;
    mean /= longest.size();
    for (const Blob& b : longest) var += std::pow(b.box.height - mean, 2);
    const double spread = std::sqrt(var / longest.size()) / mean;
    // Plates carry 5-8 characters; taller rows are more likely the text.
    const double score = std::min<double>(longest.size(), 8) - 4 * spread +
                         0.5 * mean / kWorkHeight;
    if (score > best.score) {
      best.blobs = std::move(longest);
      best.score = score;
    }
  }
  return best;
}

// Whether the band the row's blobs span is more ink than not. Characters
// are strokes on a background, so such a row is the background between
// characters read the wrong way round: light-on-dark binarisation of a
// dark-on-light plate, where the gaps between its characters stand as a
// row of tall blobs, one more than there are characters.
bool MostlyInk(const cv::Mat& bin, const std::vector<Blob>& blobs) {
  if (blobs.empty()) return false;
  cv::Rect band = blobs[0].box;
  for (const Blob& b : blobs) band |= b.box;
  return cv::countNonZero(bin(band)) > band.area() * kMaxBandInk;
}

// Ink where `ink` stands more than -offset above its local mean: what
// adaptiveThreshold(THRESH_BINARY) gives, the offset rounded up as it does.
cv::Mat AboveMean(const cv::Mat& ink, const cv::Mat& mean, double offset) {
  cv::Mat diff, bin;
  cv::subtract(ink, mean, diff, cv::noArray(), CV_16S);
  cv::compare(diff, -std::ceil(offset), bin, cv::CMP_GT);
  return bin;
}

// 16-bit labels where they cannot run out: labelling is a third faster
// with them (less memory to write). In 8-connectivity two blobs are at
// least a pixel apart each way, so a w x h image holds at most
// ceil(w/2) * ceil(h/2) of them.
int LabelType(const cv::Mat& bin) {
  const int most = (bin.cols + 1) / 2 * ((bin.rows + 1) / 2);
  return most < 65535 ? CV_16U : CV_32S;
}

// The binarisation without the plate's frame: runs of ink longer than a
// character is wide (horizontal) or taller than a character (vertical) are
// frame, bumper or border, and a character touching one would otherwise be
// part of a blob the size of the plate.
cv::Mat WithoutFrameLines(const cv::Mat& bin) {
  cv::Mat lines;
  cv::morphologyEx(bin, lines, cv::MORPH_OPEN,
                   cv::getStructuringElement(
                       cv::MORPH_RECT, cv::Size(std::max(8, bin.cols / 4), 1)));
  cv::Mat out = bin - lines;
  // Vertical lines only once the horizontal ones are gone: a character's
  // stem standing on the frame's lower bar is one long vertical run.
  cv::morphologyEx(out, lines, cv::MORPH_OPEN,
                   cv::getStructuringElement(cv::MORPH_RECT,
                                             cv::Size(1, bin.rows * 19 / 20)));
  out -= lines;
  return out;
}

struct Threshold {
  int block;  // 0: Otsu
  double offset;
};
constexpr Threshold kThresholds[] = {
    {kWorkHeight / 2 * 2 + 1, -4},
    {kWorkHeight / 2 * 2 + 1, -14},
    {kWorkHeight + 1, -8},
    {0, 0},
    // A block about one character tall, where the blocks above span the
    // whole crop: it follows faint characters on a plate whose frame or
    // surround is dark, and keeps thin strokes of a small plate whole.
    // Measured with lanevault-eval: us-dev 37.8 -> 43.9% exact, eu 60.2 ->
    // 62.0% (--oracle_box: 35.7 -> 40.8%, 65.7 -> 73.1%); blocks of 29 and
    // 37 read within a plate of it.
    {kWorkHeight / 3 + 1, -6}};

// `ink` (ink bright) binarised at each of kThresholds, in order. Thresholds
// of one block (next to each other) share its local mean, most of
// adaptiveThreshold's cost, computed as adaptiveThreshold computes it.
std::vector<cv::Mat> Binarisations(const cv::Mat& ink) {
  std::vector<cv::Mat> bins;
  cv::Mat mean;
  int mean_block = 0;
  for (const Threshold& t : kThresholds) {
    cv::Mat bin;
    if (t.block == 0) {
      cv::threshold(ink, bin, 0, 255, cv::THRESH_BINARY | cv::THRESH_OTSU);
    } else {
      if (t.block != mean_block) {
        cv::boxFilter(ink, mean, ink.type(), cv::Size(t.block, t.block),
                      cv::Point(-1, -1), true,
                      cv::BORDER_REPLICATE | cv::BORDER_ISOLATED);
        mean_block = t.block;
      }
      bin = AboveMean(ink, mean, t.offset);
    }
    bins.push_back(std::move(bin));
  }
  return bins;
}

// Each blob's ink colour, as a* and b* of CIE Lab (lightness left out, so
// a shadow across the plate does not count).
std::vector<cv::Vec2f> InkChroma(const cv::Mat& bgr, const cv::Mat& labels,
                                 const std::vector<Blob>& blobs) {
  cv::Mat lab;
  bgr.convertTo(lab, CV_32F, 1.0 / 255);
  cv::cvtColor(lab, lab, cv::COLOR_BGR2Lab);
  std::vector<cv::Vec2f> chroma;
  for (const Blob& b : blobs) {
    const cv::Scalar m = cv::mean(lab(b.box), labels(b.box) == b.label);
    chroma.push_back({static_cast<float>(m[1]), static_cast<float>(m[2])});
  }
  return chroma;
}

// A blob at either end of the row whose ink is another colour than the
// characters' is not one of them: the blue band of an EU plate, a coat of
// arms, a coloured sticker. A plate's characters share one colour, whatever
// it is.
void TrimOffColourEnds(const cv::Mat& bgr, const cv::Mat& labels,
                       std::vector<Blob>& blobs) {
  const std::vector<cv::Vec2f> chroma = InkChroma(bgr, labels, blobs);
  size_t first = 0, last = blobs.size() - 1;  // the row kept so far
  while (last - first > kMinCharacters) {
    std::vector<double> a, b;
    for (size_t i = first + 1; i < last; ++i) {
      a.push_back(chroma[i][0]);
      b.push_back(chroma[i][1]);
    }
    const cv::Vec2f inner(static_cast<float>(Median(a)),
                          static_cast<float>(Median(b)));
    const double off_first = cv::norm(chroma[first] - inner),
                 off_last = cv::norm(chroma[last] - inner);
    if (std::max(off_first, off_last) < kOffColour) break;
    if (off_first >= off_last) {
      ++first;
    } else {
      --last;
    }
  }
  blobs = std::vector<Blob>(blobs.begin() + first, blobs.begin() + last + 1);
}

}  // namespace

cv::Rect CropBox(const cv::Rect& ink_box, double ink_scale) {
  return cv::Rect(static_cast<int>(ink_box.x / ink_scale),
                  static_cast<int>(ink_box.y / ink_scale),
                  static_cast<int>(std::ceil(ink_box.width / ink_scale)),
                  static_cast<int>(std::ceil(ink_box.height / ink_scale)));
}

std::optional<CharacterRow> FindCharacterRow(const cv::Mat& crop) {
  if (crop.empty() || crop.rows < 8 || crop.cols < 16) return std::nullopt;
  cv::Mat grey;
  if (crop.channels() == 3) {
    cv::cvtColor(crop, grey, cv::COLOR_BGR2GRAY);
  } else {
    grey = crop;
  }
  const double scale = static_cast<double>(kWorkHeight) / grey.rows;
  cv::resize(grey, grey, cv::Size(), scale, scale,
             scale > 1 ? cv::INTER_CUBIC : cv::INTER_AREA);
  // Ink is bright in each binarisation, whatever the plate's colours:
  // dark-on-light first, then light-on-dark.
  std::vector<cv::Mat> plain = Binarisations(255 - grey);
  for (cv::Mat& bin : Binarisations(grey)) plain.push_back(std::move(bin));
  // Frame lines are taken out only where the plain binarisations find no
  // plate-length row: on a clean plate, taking them out only loses strokes.
  Candidate best;
  for (const bool unframed : {false, true}) {
    if (best.blobs.size() >= kPlateCharacters && !best.background) break;
    for (const cv::Mat& binarised : plain) {
      const cv::Mat bin = unframed ? WithoutFrameLines(binarised) : binarised;
      cv::Mat labels, stats, centroids;
      const int count = cv::connectedComponentsWithStats(
          bin, labels, stats, centroids, 8, LabelType(bin));
      Candidate c = BestRow(CharacterBlobs(stats, count, bin.size()));
      c.background = MostlyInk(bin, c.blobs);
      if (c.background) c.score -= kBackgroundPenalty;
      if (c.score > best.score) {
        best = std::move(c);
        best.labels = labels;
        best.ink = bin;
      }
    }
  }
  if (best.blobs.empty()) return std::nullopt;
  if (crop.channels() == 3) {
    cv::Mat bgr;
    cv::resize(crop, bgr, cv::Size(best.ink.cols, best.ink.rows), 0, 0,
               scale > 1 ? cv::INTER_LINEAR : cv::INTER_AREA);
    TrimOffColourEnds(bgr, best.labels, best.blobs);
  }
  CharacterRow row;
  row.score = best.score;
  row.ink = best.ink;
  row.ink_scale = scale;
  for (const Blob& b : best.blobs) {
    cv::Mat glyph = best.labels(b.box) == b.label;
    row.glyphs.push_back(glyph);
    row.ink_boxes.push_back(b.box);
    row.boxes.push_back(CropBox(b.box, scale));
  }
  return row;
}

}  // namespace lanevault::capture
