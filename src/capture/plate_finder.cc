#include "capture/plate_finder.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "capture/character_row.h"
#include "capture/geometry.h"
#include "capture/grey.h"
#include "capture/plate_text.h"
#include "opencv2/imgproc.hpp"

namespace lanevault::capture {
namespace {

double MedianHeight(const CharacterRow& row) {
  std::vector<double> heights;
  for (const cv::Rect& b : row.boxes) heights.push_back(b.height);
  return Median(std::move(heights));
}

// The row's characters in the frame's coordinates.
cv::Rect TextBox(const cv::Rect& candidate, const CharacterRow& row) {
  cv::Rect text;
  for (const cv::Rect& b : row.boxes) text |= b;
  return text + candidate.tl();
}

// Whether the row's characters come within `margin_heights` character
// heights of the frame's edge, and (when `margin_share` > 0) at most that
// share of its shorter side.
bool NearFrameEdge(const cv::Rect& candidate, const CharacterRow& row,
                   cv::Size frame, double margin_heights, double margin_share) {
  const cv::Rect text = TextBox(candidate, row);
  double margin = margin_heights * MedianHeight(row);
  if (margin_share > 0) {
    margin =
        std::min(margin, margin_share * std::min(frame.width, frame.height));
  }
  return text.x < margin || text.y < margin ||
         frame.width - text.br().x < margin ||
         frame.height - text.br().y < margin;
}

// The plate around a row of characters: a US plate is about twice as tall
// as its characters, an EU plate one and a half times, and both run a
// little wider. The detector's candidate is often much larger (bumper,
// grille), and a crop should hold the plate and no more of the vehicle.
// Measured with lanevault-eval: us-dev 76.5 -> 80.6% detected, eu 91.7 ->
// 93.5% (the same with 0.2 or 0.6 heights above and below).
cv::Rect PlateAround(const cv::Rect& candidate, const CharacterRow& row,
                     cv::Size frame) {
  const cv::Rect text = TextBox(candidate, row);
  const double h = MedianHeight(row);
  const int px = static_cast<int>(0.15 * text.width + 0.3 * h);
  const int py = static_cast<int>(0.4 * h);
  return cv::Rect(text.x - px, text.y - py, text.width + 2 * px,
                  text.height + 2 * py) &
         cv::Rect(cv::Point(0, 0), frame);
}

// A whole-plate reader's crop: the plate around the row and a little more
// of its surroundings, as the learned reader was trained on (loose boxes,
// training/plate_ocr/render.py): a character the row left out is still in
// it.
cv::Rect LooseAround(const cv::Rect& plate, const CharacterRow& row,
                     cv::Size frame) {
  const double h = MedianHeight(row);
  const int px = static_cast<int>(0.05 * plate.width + 0.3 * h);
  const int py = static_cast<int>(0.2 * h);
  return cv::Rect(plate.x - px, plate.y - py, plate.width + 2 * px,
                  plate.height + 2 * py) &
         cv::Rect(cv::Point(0, 0), frame);
}

// The readings of a row, merged with those of the row found again in the
// plate around it. The detector's region is often a bumper or a grille,
// and in it the characters are found at that region's scale, thresholded
// among its clutter; cut to the plate, they stand larger and alone, and
// often segment otherwise: a character joined to the frame comes apart,
// or a stray end blob is left out. Neither look is right every time
// (measured with lanevault-eval --oracle_box, which reads a crop of the
// labelled plate: each misreads plates the other reads), so both count.
// Measured with lanevault-eval over three training seeds: us-dev 41.5 ->
// 42.9% exact (top-10 51.3 -> 59.5%), eu with plate_letter_digit_groups 3
// 78.4 -> 80.3%; the build's model reads eu 72.2 -> 74.1% by default.
// Looking again at every row read no more, in a quarter more time; below
// 0.6 or 0.75 instead of 0.9, less of us-dev.
std::vector<PlateReading> SecondLook(const cv::Mat& bgr,
                                     const cv::Rect& candidate,
                                     const CharacterRow& row,
                                     PlateReader& reader,
                                     std::vector<PlateReading> first) {
  const cv::Rect plate = PlateAround(candidate, row, bgr.size());
  std::optional<CharacterRow> again = FindCharacterRow(bgr(plate));
  if (!again) return first;
  std::vector<PlateReading> second = reader.ReadRow(*again);
  const size_t n = std::max(first.size(), second.size());
  return MergeReadings(std::move(first), second, n);
}

// `around` (a row's own plate box) reaching `reach` character heights of
// `height` further left and right, within the frame.
cv::Rect Reached(const cv::Rect& around, PlateReach reach, double height,
                 cv::Size frame) {
  const int left = static_cast<int>(std::lround(reach.left * height));
  const int right = static_cast<int>(std::lround(reach.right * height));
  return cv::Rect(around.x - left, around.y, around.width + left + right,
                  around.height) &
         cv::Rect(cv::Point(0, 0), frame);
}

// A row of a few characters that reads surely is often one group of a plate
// whose other group the row of one height on one line stopped before: across
// a picture (the District's flag, a state's shape), a dash or a wide gap.
// The crop widened by kShortRowWidenHeights character heights on each side
// holds the rest, and a confident reading of it that contains the short one
// extends it, when the characters it adds on each side stand there, beside
// the row on its line (CharactersBeside): a grille's bars beside a short
// plate read as an N at 0.63, above some true extensions. Measured with
// lanevault-eval (model selection only): us-dev 77.6 -> 78.6 % exact
// (CC2881), eu 87.0 -> 88.9 % (GWAGEN, VW4X4WP), no plate lost. Rows of up
// to 5 characters, or extensions from 0.3, read the same; 2.5 heights one eu
// plate fewer; widening unsure short rows too, the same plates in a sixth
// more time.
constexpr size_t kShortRowCharacters = 4;
constexpr double kShortRowWidenHeights = 2;
constexpr float kSureShortReading = 0.8f;
constexpr float kSureExtension = 0.5f;

// The line through a row's characters' centres, in the frame.
Line RowLine(const cv::Rect& candidate, const CharacterRow& row) {
  std::vector<cv::Point2d> centres;
  for (const cv::Rect& b : row.boxes) {
    centres.emplace_back(candidate.x + b.x + b.width / 2.0,
                         candidate.y + b.y + b.height / 2.0);
  }
  return FitLine(centres);
}

// How many blobs between columns `x0` and `x1` of the frame stand where the
// row's next characters would: as tall as its characters (within a quarter),
// no wider, not a sliver, centred on its line, dark on light or light on
// dark, whichever gives more. The band searched runs 0.75 heights either side
// of the line; a blob that touches any of its sides runs on past it (a
// grille's bar, a bumper's edge, the plate's frame, a character cut by the
// widened crop) and does not count.
int CharactersBeside(const cv::Mat& bgr, int x0, int x1, const Line& line,
                     double height) {
  if (x1 - x0 < 2) return 0;
  const double y_at_x0 = line.At(x0), y_at_x1 = line.At(x1);
  const int top = static_cast<int>(std::min(y_at_x0, y_at_x1) - 0.75 * height);
  const int bottom =
      static_cast<int>(std::max(y_at_x0, y_at_x1) + 0.75 * height);
  const cv::Rect frame(0, 0, bgr.cols, bgr.rows);
  const cv::Rect band = cv::Rect(x0, top, x1 - x0, bottom - top) & frame;
  if (band.width < 2 || band.height < 2) return 0;
  const cv::Mat grey = Grey(bgr(band));
  const double min_width = std::max(2.0, 0.1 * height);
  int best = 0;
  for (const int polarity : {cv::THRESH_BINARY_INV, cv::THRESH_BINARY}) {
    cv::Mat ink, labels, stats, centroids;
    cv::threshold(grey, ink, 0, 255, polarity | cv::THRESH_OTSU);
    const int count =
        cv::connectedComponentsWithStats(ink, labels, stats, centroids);
    int characters = 0;
    for (int i = 1; i < count; ++i) {
      const cv::Rect blob(stats.at<int>(i, cv::CC_STAT_LEFT),
                          stats.at<int>(i, cv::CC_STAT_TOP),
                          stats.at<int>(i, cv::CC_STAT_WIDTH),
                          stats.at<int>(i, cv::CC_STAT_HEIGHT));
      const bool cut = blob.y == 0 || blob.br().y == band.height ||
                       blob.x == 0 || blob.br().x == band.width;
      const double cx = band.x + blob.x + blob.width / 2.0;
      const double cy = band.y + blob.y + blob.height / 2.0;
      characters += !cut && std::abs(blob.height - height) <= 0.25 * height &&
                    blob.width >= min_width && blob.width <= 1.2 * height &&
                    std::abs(cy - line.At(cx)) <= 0.25 * height;
    }
    best = std::max(best, characters);
  }
  return best;
}

// `readings` of `crop` (best first; the crop around `row` of `candidate`),
// with the extension of a short row's reading first when the widened crop
// gives one and the characters it adds on each side stand there. `plate`
// (the box kept for the row: the crossing's plate crop and its box) then
// takes in the widened crop on each side the extension added to. The
// extension keeps its own confidence; the readings it outranks (the short
// one stays among them, for lookups) are lowered to just under it, so the
// list stays best first.
std::vector<PlateReading> ExtendShortRow(
    const cv::Mat& bgr, const cv::Rect& candidate, const cv::Rect& crop,
    const CharacterRow& row, PlateReader& reader,
    std::vector<PlateReading> readings, cv::Rect& plate) {
  if (row.boxes.size() > kShortRowCharacters || readings.empty() ||
      readings[0].confidence < kSureShortReading) {
    return readings;
  }
  const double height = MedianHeight(row);
  const int px = static_cast<int>(kShortRowWidenHeights * height);
  const cv::Rect wide =
      cv::Rect(crop.x - px, crop.y, crop.width + 2 * px, crop.height) &
      cv::Rect(0, 0, bgr.cols, bgr.rows);
  if (wide == crop) return readings;
  std::vector<PlateReading> wider = reader.ReadPlate(bgr(wide), row);
  if (wider.empty()) return readings;
  PlateReading whole = wider.front();
  // O and 0 as one shape: the region's formats may settle one of them in
  // the whole plate's reading (ZeroOByFormat) and not in the short row's.
  const auto folded = [](std::string text) {
    std::replace(text.begin(), text.end(), 'O', '0');
    return text;
  };
  const std::string& part = readings.front().text;
  const size_t at = folded(whole.text).find(folded(part));
  if (whole.text.size() <= part.size() || whole.confidence < kSureExtension ||
      at == std::string::npos) {
    return readings;
  }
  const int before = static_cast<int>(at);
  const int after = static_cast<int>(whole.text.size() - at - part.size());
  // The side regions start a tenth of a height off the row's characters, so
  // that no sliver of its own end character counts.
  const cv::Rect text = TextBox(candidate, row);
  const int gap = std::max(1, static_cast<int>(0.1 * height));
  const Line line = RowLine(candidate, row);
  if ((before > 0 &&
       CharactersBeside(bgr, wide.x, text.x - gap, line, height) < before) ||
      (after > 0 && CharactersBeside(bgr, text.br().x + gap, wide.br().x, line,
                                     height) < after)) {
    return readings;
  }
  if (before > 0)
    plate |= cv::Rect(wide.x, wide.y, text.x - wide.x, wide.height);
  if (after > 0) {
    plate |=
        cv::Rect(text.br().x, wide.y, wide.br().x - text.br().x, wide.height);
  }
  // Its confidence per character: the short reading's over the characters
  // it holds, the wider crop's over the ones it adds (that crop, looser than
  // the reader was trained on, doubts the whole text more than its parts).
  const double added = static_cast<double>(before + after);
  const double held = static_cast<double>(part.size());
  whole.confidence = static_cast<float>(
      std::exp((held * std::log(std::max(1e-6f, readings.front().confidence)) +
                added * std::log(std::max(1e-6f, whole.confidence))) /
               (held + added)));
  const size_t n = std::max(readings.size(), wider.size()) + 1;
  std::vector<PlateReading> rest = MergeReadings(std::move(readings), wider, n);
  std::erase_if(rest,
                [&](const PlateReading& r) { return r.text == whole.text; });
  const float below = std::nextafter(whole.confidence, 0.0f);
  for (PlateReading& r : rest) r.confidence = std::min(r.confidence, below);
  rest.insert(rest.begin(), std::move(whole));
  if (rest.size() > n) rest.resize(n);
  return rest;
}

}  // namespace

PlateReadBudget::Options PlateReadBudget::ForLane(
    const v1::DetectorConfig& config) {
  Options o;
  if (config.plate_reread_frames() > 0) {
    o.refresh_frames = config.plate_reread_frames();
  }
  if (config.plate_settle_reads() != 0) {
    o.settle_reads = std::max(0, config.plate_settle_reads());
  }
  return o;
}

bool PlateReadBudget::Wants(const cv::Rect& box,
                            const CharacterRow& row) const {
  if (last_height_ <= 0 || (box & last_box_).empty()) return true;
  const double height = MedianHeight(row);
  if (height <= options_.shrink * last_height_) return true;
  if (settled()) return height >= options_.settled_grow * last_height_;
  return height >= options_.grow * last_height_ ||
         frame_ - last_frame_ >= options_.refresh_frames;
}

void PlateReadBudget::Spend(const cv::Rect& box, const CharacterRow& row,
                            const PlateReading& best, PlateReach reach) {
  if (last_height_ > 0 && (box & last_box_).empty()) {
    agreeing_ = 0;  // another plate: its own run
    agreeing_text_.clear();
  }
  reach_ = reach;
  last_box_ = box;
  last_height_ = std::max(1.0, MedianHeight(row));
  last_frame_ = frame_;
  if (best.confidence < options_.settle_confidence) return;
  if (best.text == agreeing_text_) {
    ++agreeing_;
  } else {
    agreeing_text_ = best.text;
    agreeing_ = 1;
  }
}

void PlateReadBudget::Reset() {
  last_height_ = 0;
  reach_ = {};
  last_box_ = cv::Rect();
  agreeing_text_.clear();
  agreeing_ = 0;
}

std::vector<PlateSighting> FindPlates(const cv::Mat& bgr,
                                      PlateDetector& detector,
                                      PlateReader& reader,
                                      const PlateFinderOptions& options,
                                      PlateReadBudget* budget) {
  // Finding the row of characters costs ~1 ms; reading it costs more. So
  // every candidate is checked for a row, and the best rows are read.
  struct Ranked {
    cv::Rect box;
    CharacterRow row;
    double rank = 0;
    bool at_edge = false;
  };
  const cv::Rect whole(0, 0, bgr.cols, bgr.rows);
  const cv::Rect& last = options.follow;
  const cv::Rect search =
      last.empty() ? whole
                   : cv::Rect(last.x - last.width, last.y - 2 * last.height,
                              3 * last.width, 5 * last.height) &
                         whole;
  if (search.empty()) return {};  // a plate off the image is gone
  // The candidates in `boxes` (in the search region's coordinates) that
  // hold a row, best first; none that `known` already has.
  const auto rank_rows = [&](const std::vector<cv::Rect>& boxes,
                             const std::vector<cv::Rect>& known) {
    std::vector<Ranked> ranked;
    for (cv::Rect candidate : boxes) {
      if (ranked.size() >= static_cast<size_t>(options.max_candidates)) break;
      candidate += search.tl();
      if (!last.empty() && (candidate & last).empty()) continue;
      if (AlreadyFound(candidate, known)) continue;
      std::optional<CharacterRow> row = FindCharacterRow(bgr(candidate));
      if (!row) continue;
      double rank = row->score;
      const bool at_edge =
          NearFrameEdge(candidate, *row, bgr.size(), options.edge_margin,
                        options.edge_margin_share);
      if (at_edge) rank -= options.edge_penalty;
      ranked.push_back({candidate, std::move(*row), rank, at_edge});
    }
    const auto by_rank = [](const Ranked& a, const Ranked& b) {
      return a.rank > b.rank;
    };
    std::stable_sort(ranked.begin(), ranked.end(), by_rank);
    // By shape alone a sticker's text or a grille can outrank the plate;
    // how character-like the reader finds the blobs settles the best few.
    // Only when a row is about to be read: the screen costs a few ms a row.
    if (ranked.size() > 1 &&
        (budget == nullptr || budget->Wants(ranked[0].box, ranked[0].row))) {
      const size_t screened = std::min(
          ranked.size(), static_cast<size_t>(std::max(0, options.screen_rows)));
      for (size_t i = 0; i < screened; ++i) {
        ranked[i].rank +=
            options.plausibility_weight * reader.Plausibility(ranked[i].row);
      }
      std::stable_sort(ranked.begin(), ranked.begin() + screened, by_rank);
    }
    return ranked;
  };
  std::vector<PlateSighting> found;
  // Rows read but not yet kept, when the most confident reading decides.
  struct Read {
    const Ranked* row;
    std::vector<PlateReading> readings;
    cv::Rect plate;  // the box kept for it
    // Its most confident reading, before an extension (ExtendShortRow) went
    // first at its own confidence: how surely a plate was found there.
    float surety = 0;
  };
  std::vector<Read> pending;
  const bool most_confident =
      options.most_confident_read && reader.ReadsWholePlates();
  const auto overlaps_kept = [&](const cv::Rect& box) {
    for (const PlateSighting& s : found) {
      if ((s.box & box).area() > 0) return true;
    }
    return false;
  };
  // Rows read or followed: a later round's candidate of the same region is
  // not checked again.
  std::vector<cv::Rect> seen;
  // A read spent: the budget keeps how far the kept box reached past the
  // row's own plate box, for the frames it does not read.
  const auto spend = [&](const Ranked& r, const cv::Rect& plate,
                         const PlateReading& best) {
    if (budget == nullptr) return;
    const cv::Rect around = PlateAround(r.box, r.row, bgr.size());
    const double h = std::max(1.0, MedianHeight(r.row));
    budget->Spend(
        r.box, r.row, best,
        {(around.x - plate.x) / h, (plate.br().x - around.br().x) / h});
  };
  const auto read_rows = [&](const std::vector<Ranked>& ranked) {
    int read = 0;
    for (const Ranked& r : ranked) {
      if (found.size() >= static_cast<size_t>(options.max_plates)) break;
      if (read >= options.max_reads) break;
      if (overlaps_kept(r.box)) continue;
      seen.push_back(r.box);
      if (budget != nullptr && !budget->Wants(r.box, r.row)) {
        // The best row, already read at about this size or settled: still
        // a plate.
        budget->Follow(r.box);
        found.push_back(
            {Reached(PlateAround(r.box, r.row, bgr.size()), budget->reach(),
                     MedianHeight(r.row), bgr.size()),
             {}});
        continue;
      }
      ++read;
      std::vector<PlateReading> readings;
      cv::Rect plate = PlateAround(r.box, r.row, bgr.size());
      float surety = 0;
      if (reader.ReadsWholePlates()) {
        const cv::Rect crop = LooseAround(plate, r.row, bgr.size());
        readings = reader.ReadPlate(bgr(crop), r.row);
        if (!readings.empty()) surety = readings.front().confidence;
        if (options.extend_short_rows) {
          readings = ExtendShortRow(bgr, r.box, crop, r.row, reader,
                                    std::move(readings), plate);
        }
      } else {
        readings = reader.ReadRow(r.row);
      }
      if (!reader.ReadsWholePlates() &&
          (readings.empty() ||
           readings[0].confidence < options.second_look_below)) {
        readings = SecondLook(bgr, r.box, r.row, reader, std::move(readings));
      }
      if (readings.empty()) continue;
      surety = std::max(surety, readings.front().confidence);
      if (most_confident) {
        pending.push_back({&r, std::move(readings), plate, surety});
        continue;
      }
      spend(r, plate, readings.front());
      found.push_back({plate, std::move(readings)});
    }
  };
  // Each round's rows, kept while `pending` points into them.
  std::deque<std::vector<Ranked>> rounds;
  const int last_round =
      options.more_candidates_below > 0 ? detector.MoreCandidateRounds() : 0;
  for (int round = 0; round <= last_round; ++round) {
    const std::vector<cv::Rect> boxes =
        round == 0 ? detector.Candidates(bgr(search))
                   : detector.MoreCandidates(bgr(search), round);
    rounds.push_back(rank_rows(boxes, seen));
    read_rows(rounds.back());
    // Further rounds only while nothing read so far reads surely, so most
    // frames never pay for them. A row at the frame's edge does not count:
    // a burnt-in timestamp reads as surely as a plate (see below).
    const bool sure =
        !found.empty() ||
        std::any_of(pending.begin(), pending.end(), [&](const Read& p) {
          return !(p.row->at_edge && options.edge_penalty > 0) &&
                 p.surety >= options.more_candidates_below;
        });
    if (sure) break;
  }
  // Rows at the frame's edge (see edge_margin) come after every row away
  // from it, whatever their confidence (so with one plate a frame, an edge
  // row is kept only when no other row read): a burnt-in timestamp reads as
  // confidently as a plate, and a plate cut by the edge is seen whole a few
  // frames later.
  std::stable_sort(
      pending.begin(), pending.end(), [&](const Read& a, const Read& b) {
        const bool a_edge = a.row->at_edge && options.edge_penalty > 0;
        const bool b_edge = b.row->at_edge && options.edge_penalty > 0;
        if (a_edge != b_edge) return b_edge;
        return a.readings.front().confidence > b.readings.front().confidence;
      });
  for (Read& p : pending) {
    if (found.size() >= static_cast<size_t>(options.max_plates)) break;
    if (overlaps_kept(p.row->box)) continue;
    spend(*p.row, p.plate, p.readings.front());
    found.push_back({p.plate, std::move(p.readings)});
  }
  return found;
}

}  // namespace lanevault::capture
