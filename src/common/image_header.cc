#include "common/image_header.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace lanevault {
namespace {

uint8_t At(absl::string_view b, size_t i) { return static_cast<uint8_t>(b[i]); }

uint32_t BigEndian16(absl::string_view b, size_t i) {
  return uint32_t{At(b, i)} << 8 | At(b, i + 1);
}

uint32_t BigEndian32(absl::string_view b, size_t i) {
  return BigEndian16(b, i) << 16 | BigEndian16(b, i + 2);
}

absl::Status Malformed(absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("not a JPEG or PNG image the vault can read: ", why));
}

absl::StatusOr<ImageHeader> PngHeader(absl::string_view b) {
  // Signature (8), then the IHDR chunk: length (4), type (4), width (4),
  // height (4).
  if (b.size() < 24 || std::memcmp(b.data() + 12, "IHDR", 4) != 0) {
    return Malformed("a PNG without its IHDR header");
  }
  const uint32_t w = BigEndian32(b, 16), h = BigEndian32(b, 20);
  // PNG allows up to 2^31 - 1 a side; so does an int.
  if (w == 0 || h == 0 || w > 0x7fffffffu || h > 0x7fffffffu) {
    return Malformed("a PNG that declares no pixels");
  }
  return ImageHeader{ImageHeader::Format::kPng, static_cast<int>(w),
                     static_cast<int>(h)};
}

// Markers a decoder reads as a segment of its own. libjpeg takes 0xFF 0x00
// and the reserved 0x02..0xBF, met between segments, as stray bytes and
// searches on for the next marker, so a walk that skipped them as segments
// would not see what the decoder then reads (a hidden frame, hidden scans).
bool IsSegmentMarker(uint8_t marker) { return marker >= 0xC0; }

// Start-of-frame markers (SOF0..SOF15) carry the size; C4 (Huffman
// tables), C8 (reserved) and CC (arithmetic conditioning) share the range
// but are not frames.
bool IsFrameHeader(uint8_t marker) {
  return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 &&
         marker != 0xCC;
}

// Past the entropy-coded data that follows a scan header at `i`: to the
// next marker (0xFF then neither a stuffed 0x00 nor a restart marker), or
// the end.
size_t SkipScanData(absl::string_view b, size_t i) {
  while (i < b.size()) {
    const void* ff = std::memchr(b.data() + i, 0xFF, b.size() - i);
    if (ff == nullptr) return b.size();
    i = static_cast<size_t>(static_cast<const char*>(ff) - b.data());
    if (i + 1 >= b.size()) return b.size();
    const uint8_t next = At(b, i + 1);
    if (next == 0x00 || (next >= 0xD0 && next <= 0xD7) || next == 0xFF) {
      i += next == 0xFF ? 1 : 2;
      continue;
    }
    return i;
  }
  return b.size();
}

// After the frame header: the rest of the stream's markers, counting
// scans. A progressive JPEG's decoder works over the whole picture once a
// scan, so thousands of near-empty scans (17 bytes each) cost a read
// seconds to minutes where the header promised a small picture; a second
// frame header would be a size the first did not declare.
absl::Status CheckJpegScans(absl::string_view b, size_t i) {
  int scans = 0;
  while (i < b.size()) {
    if (At(b, i) != 0xFF) return Malformed("a JPEG whose markers are damaged");
    while (i < b.size() && At(b, i) == 0xFF) ++i;
    if (i >= b.size()) break;
    const uint8_t marker = At(b, i++);
    if (marker == 0xD9) break;  // end of image
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;
    if (!IsSegmentMarker(marker)) {
      return Malformed("a JPEG with stray bytes between its segments");
    }
    if (i + 2 > b.size()) break;  // cut short: the decoder says so
    const size_t length = BigEndian16(b, i);
    if (length < 2) return Malformed("a JPEG marker of impossible length");
    if (IsFrameHeader(marker)) {
      return Malformed("a JPEG with more than one frame header");
    }
    i += length;
    if (marker == 0xDA) {
      if (++scans > kMaxJpegScans) {
        return Malformed(
            absl::StrCat("a JPEG of more than ", kMaxJpegScans, " scans"));
      }
      i = SkipScanData(b, i);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<ImageHeader> JpegHeader(absl::string_view b) {
  size_t i = 2;  // after SOI
  while (true) {
    // Markers are 0xFF, any number of fill 0xFF, then the marker byte.
    if (i >= b.size() || At(b, i) != 0xFF) {
      return Malformed("a JPEG whose markers end before its frame header");
    }
    while (i < b.size() && At(b, i) == 0xFF) ++i;
    if (i >= b.size()) return Malformed("a JPEG cut short");
    const uint8_t marker = At(b, i++);
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;
    if (!IsSegmentMarker(marker)) {
      return Malformed("a JPEG with stray bytes between its segments");
    }
    if (marker == 0xD9 || marker == 0xDA) {
      return Malformed("a JPEG with no frame header before its data");
    }
    if (i + 2 > b.size()) return Malformed("a JPEG cut short");
    const size_t length = BigEndian16(b, i);
    if (length < 2) return Malformed("a JPEG marker of impossible length");
    if (IsFrameHeader(marker)) {
      // Length (2), precision (1), height (2), width (2).
      if (length < 7 || i + 7 > b.size()) {
        return Malformed("a JPEG frame header cut short");
      }
      const int h = static_cast<int>(BigEndian16(b, i + 3));
      const int w = static_cast<int>(BigEndian16(b, i + 5));
      // A height of 0 is given later (DNL): no decoder here reads those.
      if (w == 0 || h == 0) return Malformed("a JPEG that declares no pixels");
      return ImageHeader{ImageHeader::Format::kJpeg, w, h, i + length};
    }
    i += length;
  }
}

}  // namespace

absl::StatusOr<ImageHeader> ReadImageHeader(absl::string_view bytes) {
  static constexpr char kPng[] = "\x89PNG\r\n\x1a\n";
  if (bytes.size() >= 8 && std::memcmp(bytes.data(), kPng, 8) == 0) {
    return PngHeader(bytes);
  }
  if (bytes.size() >= 3 && At(bytes, 0) == 0xFF && At(bytes, 1) == 0xD8 &&
      At(bytes, 2) == 0xFF) {
    return JpegHeader(bytes);
  }
  return Malformed("its first bytes are neither a JPEG's nor a PNG's");
}

ImageLimits LimitsFor(v1::DataCategory category) {
  return category == v1::DATA_CATEGORY_SCENE_IMAGE ? kFrameLimits : kCropLimits;
}

absl::StatusOr<ImageHeader> CheckImageSize(absl::string_view bytes,
                                           ImageLimits limits,
                                           absl::string_view what) {
  const int max_side = limits.max_side;
  const int64_t max_pixels = limits.max_pixels;
  absl::StatusOr<ImageHeader> h = ReadImageHeader(bytes);
  if (!h.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is ", h.status().message()));
  }
  if (h->width > max_side || h->height > max_side ||
      int64_t{h->width} * h->height > max_pixels) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " declares ", h->width, "x", h->height, " pixels; at most ",
        max_side, " a side and ", max_pixels, " in all are accepted"));
  }
  if (h->format == ImageHeader::Format::kJpeg) {
    if (absl::Status s = CheckJpegScans(bytes, h->after_frame); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " is ", s.message()));
    }
  }
  return h;
}

}  // namespace lanevault
