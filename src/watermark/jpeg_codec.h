#ifndef LANEVAULT_WATERMARK_JPEG_CODEC_H_
#define LANEVAULT_WATERMARK_JPEG_CODEC_H_

// Baseline JPEG straight through libjpeg-turbo, for the watermark's
// encode-decode-measure loop on every crop a read returns.
//
// At 4:2:0 the bytes and pixels are exactly OpenCV's (cv::imencode with
// IMWRITE_JPEG_QUALITY, cv::imdecode with IMREAD_UNCHANGED: the same
// library, the same settings); the answers are written at 4:4:4, which
// OpenCV 4.6 cannot write. What this saves is OpenCV's way there: it converts
// every row between BGR and RGB by hand, one byte at a time, where
// libjpeg-turbo reads and writes BGR itself (JCS_EXT_BGR), and it goes through
// its codec registry and temporary buffers on every call. On the 256x64 plate
// crops a read returns that was most of each call.

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "opencv2/core.hpp"

namespace lanevault::watermark {

// How a colour JPEG samples its chroma.
enum class JpegChroma {
  kHalf,  // 4:2:0, as cv::imencode(".jpg") writes
  kFull,  // 4:4:4: every component at full resolution
};

// JPEG at `quality` (1..100) of an 8-bit BGR (CV_8UC3) or grey (CV_8UC1)
// image, into `out` (replaced): standard Huffman tables, a JFIF header, as
// cv::imencode(".jpg") writes them (OpenCV 4.6 writes 4:2:0 only).
absl::Status EncodeJpeg(const cv::Mat& image, int quality,
                        std::vector<uint8_t>& out,
                        JpegChroma chroma = JpegChroma::kHalf);

// Decodes a JPEG of one (grey) or three (YCbCr, RGB) components into `out`
// (CV_8UC1 or CV_8UC3 BGR; its buffer is reused when the size matches).
// Leaves orientation alone, as IMREAD_UNCHANGED does. INVALID_ARGUMENT for
// bytes that are not such a JPEG (a PNG, a CMYK JPEG, damage); the message
// says which.
absl::Status DecodeJpeg(absl::string_view bytes, cv::Mat& out);

// Whether `bytes` may carry an EXIF block: true for an APP1 "Exif" segment
// before the image data, and for anything whose markers do not lead to the
// image data plainly. cv::imdecode turns an EXIF picture by its orientation
// tag (unless asked for IMREAD_UNCHANGED), which DecodeJpeg does not.
bool MayCarryExif(absl::string_view bytes);

}  // namespace lanevault::watermark

#endif  // LANEVAULT_WATERMARK_JPEG_CODEC_H_
