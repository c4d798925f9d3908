#ifndef LANEVAULT_FOOTAGE_CROPS_H_
#define LANEVAULT_FOOTAGE_CROPS_H_

// Crops of the sizes the vault stores, cut from rendered lane footage (no
// outside data), and what a leak does to one: for the watermark's test and
// bench.

#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "opencv2/core.hpp"

namespace lanevault::footage {

struct CropSet {
  std::string name;               // "plate 250x50", "face 60", ...
  std::vector<std::string> jpeg;  // the stored crops, JPEG quality 90
};

// The four things a leak does to a crop, each alone: JPEG at quality 70,
// scaling to 80 %, the central 80 % in each dimension, re-encoding as PNG.
inline constexpr const char* kLeaks[] = {"jpeg70", "scale80", "crop80", "png"};

std::string Encode(const std::string& ext, const cv::Mat& image,
                   const std::vector<int>& params = {});
cv::Mat DecodeBytes(const std::string& bytes);
// A plate text of three letters and four digits.
std::string PlateText(std::mt19937& rng);

// `per_class` crops each of plates at 250x50 and faces at 60, 100 and 150
// px square, from scenes rendered with seeds from `seed` up (varied plate
// texts, vehicle positions, sensor noise and crop jitter).
absl::StatusOr<std::vector<CropSet>> RenderCrops(int per_class, unsigned seed);

// `jpeg` after the leak named (one of kLeaks).
std::string Leak(const std::string& leak, const std::string& jpeg);

}  // namespace lanevault::footage

#endif  // LANEVAULT_FOOTAGE_CROPS_H_
