#ifndef LANEVAULT_CAPTURE_PLATE_REGIONS_H_
#define LANEVAULT_CAPTURE_PLATE_REGIONS_H_

// Plate rules for whole regions, so that a lane names its region
// (DetectorConfig.plate_region) instead of listing formats.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "capture/detectors.h"

namespace lanevault::capture {

// The names RegionPlateRules knows, sorted.
std::vector<std::string> KnownPlateRegions();

// The rules of `region`: "" none; "us" the US states' standard formats;
// "eu" letters and digits in at most 3 groups; "br" Brazil's old and
// Mercosul formats. Anything else is an InvalidArgument error that names
// the known regions.
absl::StatusOr<PlateTextRules> RegionPlateRules(absl::string_view region);

// The reader a lane of `region` uses when its config names none
// (PLATE_READER_REGION_DEFAULT): the one that read the region's dev set
// best at the same or lower cost, side by side in one run
// (training/plate_ocr/measure_dev.sh). The learned reader for every
// region: it reads more of us-dev and eu than the fused reader in less
// time, and the fused reader read almost none of a region it was not tuned
// on, where the learned one is trained on Brazil's plates as on the
// others. The fused reader with no region: its glyphs are not tied to any
// region's plates.
v1::PlateReader RegionDefaultReader(absl::string_view region);

}  // namespace lanevault::capture

#endif  // LANEVAULT_CAPTURE_PLATE_REGIONS_H_
