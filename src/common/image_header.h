#ifndef LANEVAULT_COMMON_IMAGE_HEADER_H_
#define LANEVAULT_COMMON_IMAGE_HEADER_H_

// What an image's header says it is, read before anything is decoded: a
// decoder allocates what the header asks for, so a few kilobytes that
// claim 20000x20000 pixels cost gigabytes and minutes once decoded. Image
// items at intake, images to mark on a read and images handed in for a
// trace are checked here first. No decoding, no OpenCV: the capture-side
// wiring uses it too.

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lanevault/v1/types.pb.h"

namespace lanevault {

// The largest picture of a category the vault takes in and marks on a
// read: a crop (a plate, a face) within 4096 a side and 4 Mpixels, a whole
// frame (a scene image) within an 8K camera's; a decompression bomb's
// claim is far past either.
struct ImageLimits {
  int max_side;
  int64_t max_pixels;
};
inline constexpr ImageLimits kCropLimits{4096, int64_t{4} << 20};
inline constexpr ImageLimits kFrameLimits{8192, int64_t{40} << 20};
ImageLimits LimitsFor(v1::DataCategory category);

// A progressive JPEG has about ten scans; each costs its decoder a pass
// over the whole picture.
inline constexpr int kMaxJpegScans = 64;

struct ImageHeader {
  enum class Format { kJpeg, kPng };
  Format format = Format::kJpeg;
  int width = 0;
  int height = 0;
  size_t after_frame = 0;  // a JPEG's: where its frame header ends
};

// The format and size a JPEG (its frame header) or a PNG (its IHDR)
// declares. INVALID_ARGUMENT for bytes that are neither, or whose header is
// cut short or declares no pixels.
absl::StatusOr<ImageHeader> ReadImageHeader(absl::string_view bytes);

// ReadImageHeader, then OK only if neither side exceeds `limits.max_side`,
// the picture holds at most `limits.max_pixels`, and a JPEG has neither a
// second frame header nor more than kMaxJpegScans scans (its markers are
// walked to the end, without decoding); INVALID_ARGUMENT naming
// the size and the limit otherwise. `what` names the picture in the message.
absl::StatusOr<ImageHeader> CheckImageSize(absl::string_view bytes,
                                           ImageLimits limits,
                                           absl::string_view what);

}  // namespace lanevault

#endif  // LANEVAULT_COMMON_IMAGE_HEADER_H_
