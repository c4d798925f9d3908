// lanevault-eval: runs the lane's own detectors over labelled images and
// replays footage, printing the figures issue 8 asks for. Single-threaded
// unless told otherwise, so figures are per core.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "capture/detectors.h"
#include "capture/geometry.h"
#include "capture/plate_finder.h"
#include "capture/replay.h"
#include "common/program.h"
#include "footage/scene.h"
#include "opencv2/core/utility.hpp"
#include "opencv2/imgcodecs.hpp"
#include "ops/metrics.h"

ABSL_FLAG(std::string, face_model, "",
          "YuNet .onnx or SSD .pb (with .pbtxt beside it) instead of the "
          "default cascades.");
ABSL_FLAG(std::string, face_cascade, "",
          "Cascade files, comma-separated, instead of the default.");
ABSL_FLAG(int, min_face_px, 0,
          "Smallest face to look for, px (default: 10 on face sets, the lane "
          "default on replays).");
ABSL_FLAG(double, face_scale_step, 0,
          "Cascade search step (0: the default, 1.4).");
ABSL_FLAG(double, face_refine_step, 0,
          "Cascade refining step (0: the default, 1.05; -1: no refining "
          "scan, one scan at --face_scale_step).");
ABSL_FLAG(int, face_min_neighbours, 0,
          "Cascade hits needed per face (0: the default, 4). OpenCV's usual "
          "single scan: --face_scale_step 1.1 --face_refine_step -1 "
          "--face_min_neighbours 3.");
ABSL_FLAG(std::string, plate_cascade, "",
          "plates: an OpenCV plate cascade whose hits add to the contour "
          "candidates.");
ABSL_FLAG(std::string, plate_reader, "",
          "plates: fused, glyphs, tesseract or learned (the network of "
          "training/plate_ocr); empty (default): the region's default, as a "
          "lane would (learned for us, fused otherwise).");
ABSL_FLAG(std::string, plate_ocr_model, "",
          "plates: the learned reader's ONNX file instead of the committed "
          "models/plate_ocr.onnx (to compare a retrained one).");
ABSL_FLAG(int, plate_letter_digit_groups, 0,
          "plates: doubt readings in more runs of letters and digits than "
          "this (0: no such rule; 3 suits EU plates).");
ABSL_FLAG(std::vector<std::string>, plate_patterns, {},
          "plates: the region's formats, comma-separated (L letter, D digit, "
          "? either), e.g. DLLLDDD: readings that fit none are doubted.");
ABSL_FLAG(std::string, plate_region, "",
          "plates: a region's rules in one word: us (the US states' "
          "formats), eu (3 letter/digit groups) or br; empty: none.");
ABSL_FLAG(int, top, 10, "N for the top-N plate read rate.");
ABSL_FLAG(int, limit, 0, "Evaluate at most this many images per folder.");
ABSL_FLAG(bool, verbose, false, "Print every image's result.");
ABSL_FLAG(bool, oracle_box, false,
          "plates: read the labelled box (padded) instead of detecting, to "
          "measure the reader alone.");
ABSL_FLAG(int, face_search_every, 0,
          "replay: search for new faces where the scene moved every Nth "
          "analysed frame, every 2Nth while faces are followed (0: the lane "
          "default, 4; 1: every frame, every 2nd while following).");
ABSL_FLAG(int, plate_reread_frames, 0,
          "replay: read a plate already read again after N frames (0: the "
          "lane default, 6; 1: every frame).");
ABSL_FLAG(int, plate_settle_reads, 0,
          "replay: sure readings in a row that settle a plate (0: the lane's "
          "default; negative: never settled).");
ABSL_FLAG(int, face_follow_every, 0,
          "replay: follow known faces on every Nth analysed frame between "
          "searches (0: the lane's default; 1: every frame).");
ABSL_FLAG(int, lanes, 1, "replay: lanes run at once, each on its own thread.");
ABSL_FLAG(double, pace_fps, 0,
          "replay: feed frames at this camera rate (0: as fast as the lane "
          "analyses); frames arriving while the lane is busy are dropped.");
ABSL_FLAG(int, repeat, 1, "replay: play the source this many times.");
ABSL_FLAG(int, metrics_rounds, 0,
          "replay: instead of one replay, N rounds of the same replay with "
          "the lane daemon's metrics endpoint off and on (scraped every "
          "--scrape_every_s), interleaved, printing frames/s of each and "
          "their ratio.");
ABSL_FLAG(double, scrape_every_s, 1,
          "replay --metrics_rounds: seconds between scrapes (Prometheus "
          "defaults to 15; 1 is the worst case).");

namespace lanevault {
namespace {

namespace fs = std::filesystem;

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * v.size()));
  return v[i];
}

std::string Normalise(absl::string_view text) {
  std::string out;
  for (char c : text) {
    if (absl::ascii_isalnum(c)) out.push_back(absl::ascii_toupper(c));
  }
  return out;
}

v1::DetectorConfig DetectorsFromFlags(int default_min_face_px) {
  v1::DetectorConfig c;
  c.set_face_model(absl::GetFlag(FLAGS_face_model));
  c.set_plate_cascade(absl::GetFlag(FLAGS_plate_cascade));
  c.set_face_cascade(absl::GetFlag(FLAGS_face_cascade));
  const int min_face = absl::GetFlag(FLAGS_min_face_px);
  c.set_min_face_px(min_face > 0 ? min_face : default_min_face_px);
  c.set_face_scale_step(
      static_cast<float>(absl::GetFlag(FLAGS_face_scale_step)));
  c.set_face_refine_step(
      static_cast<float>(absl::GetFlag(FLAGS_face_refine_step)));
  c.set_face_min_neighbours(absl::GetFlag(FLAGS_face_min_neighbours));
  c.set_face_search_every(absl::GetFlag(FLAGS_face_search_every));
  c.set_plate_reread_frames(absl::GetFlag(FLAGS_plate_reread_frames));
  c.set_plate_settle_reads(absl::GetFlag(FLAGS_plate_settle_reads));
  c.set_face_follow_every(absl::GetFlag(FLAGS_face_follow_every));
  c.set_plate_letter_digit_groups(
      absl::GetFlag(FLAGS_plate_letter_digit_groups));
  c.set_plate_region(absl::GetFlag(FLAGS_plate_region));
  c.set_plate_ocr_model(absl::GetFlag(FLAGS_plate_ocr_model));
  for (const std::string& p : absl::GetFlag(FLAGS_plate_patterns)) {
    c.add_plate_patterns(p);
  }
  const std::string reader = absl::GetFlag(FLAGS_plate_reader);
  if (reader == "glyphs") {
    c.set_plate_reader(v1::PLATE_READER_GLYPHS);
  } else if (reader == "tesseract") {
    c.set_plate_reader(v1::PLATE_READER_TESSERACT);
  } else if (reader == "learned") {
    c.set_plate_reader(v1::PLATE_READER_LEARNED);
  } else if (reader == "fused") {
    c.set_plate_reader(v1::PLATE_READER_FUSED);
  } else if (!reader.empty()) {
    Fail("--plate_reader is fused, glyphs, tesseract, learned or empty", 2);
  }
  return c;
}

// Every 25 images: one line rewritten in place on a terminal, whole lines
// in a log. Results waiting on stdout go out first, so that with both
// streams in one file (2>&1) progress never lands inside a result's line.
void Progress(const std::string& what, size_t done, size_t total) {
  if (done % 25 != 0 && done != total) return;
  std::fflush(stdout);
  static const bool terminal = isatty(STDERR_FILENO) != 0;
  if (terminal) {
    std::fprintf(stderr, "\r%s: %zu/%zu%s", what.c_str(), done, total,
                 done == total ? "\n" : "");
  } else {
    std::fprintf(stderr, "%s: %zu/%zu\n", what.c_str(), done, total);
  }
}

// --- plates ---------------------------------------------------------------

struct PlateTruth {
  fs::path image;
  cv::Rect box;
  std::string text;
};

std::vector<PlateTruth> LoadPlateFolder(const fs::path& dir) {
  std::vector<PlateTruth> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".txt") continue;
    std::ifstream in(entry.path());
    std::string line;
    std::getline(in, line);
    std::vector<std::string> f =
        absl::StrSplit(line, absl::ByAnyChar("\t "), absl::SkipWhitespace());
    int x, y, w, h;
    if (f.size() < 6 || !absl::SimpleAtoi(f[1], &x) ||
        !absl::SimpleAtoi(f[2], &y) || !absl::SimpleAtoi(f[3], &w) ||
        !absl::SimpleAtoi(f[4], &h)) {
      std::fprintf(stderr, "skipping malformed label %s\n",
                   entry.path().c_str());
      continue;
    }
    out.push_back({dir / f[0], cv::Rect(x, y, w, h), Normalise(f[5])});
  }
  std::sort(out.begin(), out.end(),
            [](const PlateTruth& a, const PlateTruth& b) {
              return a.image < b.image;
            });
  return out;
}

void EvaluatePlates(const fs::path& dir) {
  auto detectors = capture::NewDetectorSet(DetectorsFromFlags(40));
  if (!detectors.ok()) Fail(detectors.status());
  std::vector<PlateTruth> truths = LoadPlateFolder(dir);
  if (const int limit = absl::GetFlag(FLAGS_limit);
      limit > 0 && truths.size() > static_cast<size_t>(limit)) {
    truths.resize(limit);
  }
  if (truths.empty()) Fail("no labelled images in " + dir.string());
  const size_t top = static_cast<size_t>(std::max(1, absl::GetFlag(FLAGS_top)));
  int detected = 0, exact = 0, in_top = 0, images = 0;
  std::vector<double> ms;
  for (const PlateTruth& t : truths) {
    const cv::Mat image = cv::imread(t.image.string(), cv::IMREAD_COLOR);
    if (image.empty()) {
      std::fprintf(stderr, "unreadable image %s\n", t.image.c_str());
      continue;
    }
    ++images;
    const absl::Time start = absl::Now();
    std::vector<capture::PlateSighting> found;
    if (absl::GetFlag(FLAGS_oracle_box)) {
      const cv::Rect padded =
          cv::Rect(t.box.x - t.box.width / 10, t.box.y - t.box.height / 5,
                   t.box.width * 12 / 10, t.box.height * 14 / 10) &
          cv::Rect(0, 0, image.cols, image.rows);
      std::vector<capture::PlateReading> readings =
          detectors->reader->Read(image(padded));
      if (!readings.empty()) found.push_back({padded, std::move(readings)});
    } else {
      found = capture::FindPlates(image, *detectors->plate, *detectors->reader);
    }
    ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
    bool hit = false, read = false, read_top = false;
    std::string best;
    for (const capture::PlateSighting& s : found) {
      hit |= capture::IoU(s.box, t.box) >= 0.3;
      if (best.empty()) best = s.best().text;
      read |= Normalise(s.best().text) == t.text;
      for (size_t i = 0; i < s.readings.size() && i < top; ++i) {
        read_top |= Normalise(s.readings[i].text) == t.text;
      }
    }
    detected += hit;
    exact += read;
    in_top += read_top;
    if (absl::GetFlag(FLAGS_verbose)) {
      const cv::Rect box = found.empty() ? cv::Rect() : found[0].box;
      std::printf(
          "%-40s truth %-9s read %-9s %-4s %-5s %6.1f ms  at %d,%d %dx%d\n",
          t.image.filename().c_str(), t.text.c_str(), best.c_str(),
          hit ? "box" : "", read ? "exact" : (read_top ? "topN" : ""),
          ms.back(), box.x, box.y, box.width, box.height);
    }
    Progress(dir.filename().string(), images, truths.size());
  }
  std::printf(
      "plates %-10s images %3d  detected %5.1f%%  exact %5.1f%%  top-%zu "
      "%5.1f%%  ms median %6.1f  p90 %6.1f\n",
      dir.filename().c_str(), images, 100.0 * detected / images,
      100.0 * exact / images, top, 100.0 * in_top / images, Percentile(ms, 0.5),
      Percentile(ms, 0.9));
}

// --- faces ----------------------------------------------------------------

struct FaceTruth {
  cv::Rect box;
  bool unmasked = true;
};

void EvaluateFaces(const fs::path& dir) {
  auto detectors = capture::NewDetectorSet(DetectorsFromFlags(10));
  if (!detectors.ok()) Fail(detectors.status());
  // labels.csv (with a class column) when present, else annotations.csv.
  const bool labelled = fs::exists(dir / "labels.csv");
  std::ifstream in(dir / (labelled ? "labels.csv" : "annotations.csv"));
  if (!in) Fail("no annotations.csv in " + dir.string());
  std::map<std::string, std::vector<FaceTruth>> truth;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::vector<std::string> f = absl::StrSplit(line, ',');
    int x, y, w, h;
    if (f.size() < 5 || !absl::SimpleAtoi(f[1], &x) ||
        !absl::SimpleAtoi(f[2], &y) || !absl::SimpleAtoi(f[3], &w) ||
        !absl::SimpleAtoi(f[4], &h)) {
      continue;
    }
    truth[f[0]].push_back(
        {cv::Rect(x, y, w, h),
         !labelled || absl::StripAsciiWhitespace(f[5]) == "without_mask"});
  }
  size_t faces = 0, found = 0, unmasked = 0, found_unmasked = 0, detections = 0,
         true_detections = 0, done = 0;
  size_t limit = static_cast<size_t>(absl::GetFlag(FLAGS_limit));
  std::vector<double> ms;
  for (const auto& [name, boxes] : truth) {
    if (limit > 0 && done >= limit) break;
    const cv::Mat image = cv::imread((dir / "images" / name).string());
    if (image.empty()) {
      std::fprintf(stderr, "unreadable image %s\n", name.c_str());
      continue;
    }
    const absl::Time start = absl::Now();
    std::vector<capture::FaceHit> hits = detectors->face->Detect(image);
    ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
    // Greedy one-to-one matching at IoU >= 0.5.
    std::vector<bool> used(hits.size(), false);
    for (const FaceTruth& t : boxes) {
      const bool counts_unmasked = t.unmasked && t.box.width >= 24;
      ++faces;
      unmasked += counts_unmasked;
      int best = -1;
      double best_iou = 0.5;
      for (size_t i = 0; i < hits.size(); ++i) {
        const double iou = capture::IoU(hits[i].box, t.box);
        if (!used[i] && iou >= best_iou) {
          best = static_cast<int>(i);
          best_iou = iou;
        }
      }
      if (best >= 0) {
        used[best] = true;
        ++found;
        found_unmasked += counts_unmasked;
      }
    }
    detections += hits.size();
    true_detections += std::count(used.begin(), used.end(), true);
    ++done;
    Progress(dir.filename().string(), done,
             limit > 0 ? std::min(limit, truth.size()) : truth.size());
  }
  std::printf(
      "faces  %-14s images %3zu  faces %4zu  found %4zu recall %.3f  "
      "precision %.3f  unmasked>=24px %4zu found %4zu recall %.3f  "
      "ms median %6.1f  p90 %6.1f\n",
      dir.filename().c_str(), done, faces, found,
      faces ? static_cast<double>(found) / faces : 0,
      detections ? static_cast<double>(true_detections) / detections : 0,
      unmasked, found_unmasked,
      unmasked ? static_cast<double>(found_unmasked) / unmasked : 0,
      Percentile(ms, 0.5), Percentile(ms, 0.9));
}

// --- replay ---------------------------------------------------------------

// "generated": three vehicles of the project's own footage, 1280x720.
std::string ReplaySource(const std::string& arg) {
  if (arg != "generated") return arg;
  const fs::path dir = fs::temp_directory_path() / "lanevault-eval-footage";
  footage::SceneOptions scene_options;
  scene_options.vehicles = {{"KXR4821"}, {"MVB7350"}, {"HTK2947"}};
  absl::StatusOr<footage::Scene> scene = footage::RenderScene(scene_options);
  if (!scene.ok()) Fail(scene.status());
  if (absl::Status s = footage::WriteScene(*scene, scene_options, dir.string());
      !s.ok()) {
    Fail(s);
  }
  std::fprintf(stderr, "rendered %zu frames (3 vehicles) to %s\n",
               scene->frames.size(), dir.c_str());
  return "file:" + (dir / "lane.avi").string();
}

// The plate texts of a rendered footage's crossings (crossings.tsv beside
// the video or frames folder); empty when there is none.
std::vector<std::string> FootageTruth(const std::string& source) {
  const size_t colon = source.find(':');
  if (colon == std::string::npos) return {};
  fs::path path(source.substr(colon + 1));
  if (!fs::is_directory(path)) path = path.parent_path();
  std::ifstream in(path / "crossings.tsv");
  if (!in) in.open(path.parent_path() / "crossings.tsv");
  std::vector<std::string> plates;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::vector<std::string> f = absl::StrSplit(line, '\t');
    if (f.size() >= 2) plates.push_back(Normalise(f[1]));
  }
  return plates;
}

// How many of the truth's plates some record read exactly (each record
// counts once).
size_t PlatesMatched(std::vector<std::string> truth,
                     const std::vector<std::string>& read) {
  size_t matched = 0;
  for (const std::string& r : read) {
    auto it = std::find(truth.begin(), truth.end(), Normalise(r));
    if (it == truth.end()) continue;
    truth.erase(it);
    ++matched;
  }
  return matched;
}

capture::ReplayOptions ReplayOptionsFromFlags(const std::string& source) {
  capture::ReplayOptions options;
  options.source = ReplaySource(source);
  options.lanes = std::max(1, absl::GetFlag(FLAGS_lanes));
  options.pace_fps = absl::GetFlag(FLAGS_pace_fps);
  options.repeat = std::max(1, absl::GetFlag(FLAGS_repeat));
  options.detectors = DetectorsFromFlags(0);
  return options;
}

// One scrape of http://127.0.0.1:PORT/metrics, as Prometheus makes it;
// the bytes read (0 when it failed).
size_t Scrape(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  size_t total = 0;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string request =
        "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (write(fd, request.data(), request.size()) ==
        static_cast<ssize_t>(request.size())) {
      char buf[4096];
      for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) total += n;
    }
  }
  close(fd);
  return total;
}

double FramesPerSecond(const std::vector<capture::ReplayResult>& results) {
  double fps = 0;
  for (const capture::ReplayResult& r : results) fps += r.frames_per_second;
  return fps / std::max<size_t>(1, results.size());
}

// The cost of the lane daemon's metrics on a lane's frame rate: the same
// replay with the endpoint off and on (lane counters copied in at each
// scrape, as lanevault-lane does), rounds interleaved so that the
// machine's drift falls on both alike.
void ReplayMetricsRounds(const std::string& source, int rounds) {
  capture::ReplayOptions options = ReplayOptionsFromFlags(source);
  const absl::Duration every =
      absl::Seconds(std::max(0.05, absl::GetFlag(FLAGS_scrape_every_s)));
  std::vector<double> ratios;
  for (int round = 1; round <= rounds; ++round) {
    options.on_start = nullptr;
    options.on_stop = nullptr;
    absl::StatusOr<std::vector<capture::ReplayResult>> off =
        capture::ReplayLanes(options);
    if (!off.ok()) Fail(off.status());

    absl::Mutex mu;  // outlives the endpoint, whose scrapes take it
    std::function<std::vector<v1::LaneStatus>()> statuses;
    absl::StatusOr<std::unique_ptr<ops::Metrics>> metrics =
        ops::Metrics::Serve("127.0.0.1:0");
    if (!metrics.ok()) Fail(metrics.status());
    (*metrics)->SetRefresh([&] {
      absl::MutexLock lock(&mu);
      if (statuses) (*metrics)->UpdateLanes(statuses(), absl::Now());
    });
    std::atomic<bool> running{false};
    std::atomic<size_t> scrapes{0}, scraped_bytes{0};
    std::thread scraper;
    options.on_start = [&](std::function<std::vector<v1::LaneStatus>()> s) {
      {
        absl::MutexLock lock(&mu);
        statuses = std::move(s);
      }
      running = true;
      scraper = std::thread([&] {
        while (running) {
          scraped_bytes += Scrape((*metrics)->port());
          ++scrapes;
          for (absl::Time until = absl::Now() + every;
               running && absl::Now() < until;) {
            absl::SleepFor(absl::Milliseconds(10));
          }
        }
      });
    };
    options.on_stop = [&] {
      running = false;
      if (scraper.joinable()) scraper.join();
      absl::MutexLock lock(&mu);
      statuses = nullptr;
    };
    absl::StatusOr<std::vector<capture::ReplayResult>> on =
        capture::ReplayLanes(options);
    if (!on.ok()) Fail(on.status());
    const double fps_off = FramesPerSecond(*off), fps_on = FramesPerSecond(*on);
    ratios.push_back(fps_off > 0 ? fps_on / fps_off : 0);
    std::printf(
        "metrics round %d: off %.1f frames/s, on %.1f frames/s (%zu scrapes, "
        "%zu bytes), on/off %.3f\n",
        round, fps_off, fps_on, scrapes.load(), scraped_bytes.load(),
        ratios.back());
    std::fflush(stdout);
  }
  std::printf("metrics on/off, median of %d rounds: %.3f\n", rounds,
              Percentile(ratios, 0.5));
}

void Replay(const std::string& source) {
  if (const int rounds = absl::GetFlag(FLAGS_metrics_rounds); rounds > 0) {
    ReplayMetricsRounds(source, rounds);
    return;
  }
  capture::ReplayOptions options = ReplayOptionsFromFlags(source);
  absl::StatusOr<std::vector<capture::ReplayResult>> results =
      capture::ReplayLanes(options);
  if (!results.ok()) Fail(results.status());
  // Every play of the footage should give each crossing once.
  std::vector<std::string> truth;
  for (int i = 0; i < options.repeat; ++i) {
    for (std::string& p : FootageTruth(options.source)) {
      truth.push_back(std::move(p));
    }
  }
  for (const capture::ReplayResult& r : *results) {
    std::printf(
        "replay lane %-6s frames %6llu  analysed %6llu  dropped %6llu  "
        "records %3llu  %7.1f frames/s  (%.1f s)",
        r.lane_id.c_str(), static_cast<unsigned long long>(r.frames_read),
        static_cast<unsigned long long>(r.frames_analysed),
        static_cast<unsigned long long>(r.frames_dropped),
        static_cast<unsigned long long>(r.records), r.frames_per_second,
        r.seconds);
    if (!truth.empty()) {
      std::printf("  crossings %zu, plates read right %zu, with a face %llu",
                  truth.size(), PlatesMatched(truth, r.plate_texts),
                  static_cast<unsigned long long>(r.records_with_face));
    }
    std::printf("  (sightings: faces %llu, plates %llu)",
                static_cast<unsigned long long>(r.face_sightings),
                static_cast<unsigned long long>(r.plate_sightings));
    std::printf("  crops px wide: plates %s, faces %s",
                absl::StrJoin(r.plate_crop_widths, " ").c_str(),
                absl::StrJoin(r.face_crop_widths, " ").c_str());
    std::printf("\n");
  }
}

}  // namespace
}  // namespace lanevault

int main(int argc, char** argv) {
  using namespace lanevault;
  std::vector<std::string> args = InitProgram(
      argc, argv,
      "Measures the lane's detectors on labelled images, and replays footage.\n"
      "\n"
      "  lanevault-eval plates DIR...   (NAME.jpg + NAME.txt: name x y w h "
      "TEXT)\n"
      "  lanevault-eval faces DIR...    (DIR/annotations.csv or labels.csv, "
      "DIR/images/)\n"
      "  lanevault-eval replay SOURCE   (file:PATH, folder:PATH, or "
      "generated)\n"
      "\n"
      "Timings are single-threaded (OpenCV's own threads are switched off).");
  if (args.size() < 2)
    Fail("give a mode and at least one folder (see --help)", 2);
  cv::setNumThreads(1);
  const std::string mode = args[0];
  for (size_t i = 1; i < args.size(); ++i) {
    if (mode == "plates") {
      EvaluatePlates(args[i]);
    } else if (mode == "faces") {
      EvaluateFaces(args[i]);
    } else if (mode == "replay") {
      Replay(args[i]);
    } else {
      Fail("unknown mode " + mode + " (plates, faces or replay)", 2);
    }
    std::fflush(stdout);
  }
  return 0;
}
