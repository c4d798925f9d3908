#ifndef LANEVAULT_WATERMARK_WATERMARK_H_
#define LANEVAULT_WATERMARK_WATERMARK_H_

// An invisible, keyed mark on every crop the vault returns, so that a leaked
// crop names the read (the access-log entry) that returned it.
//
// Scheme: tiled spread spectrum in the spatial domain, on luminance.
//  - A tile of 16x16 chips, each chip a 2x2 pixel block (a 32x32 pixel
//    period), is repeated over the whole picture from its top-left corner.
//    A chip adds +-2 grey levels (+-3 on the busiest pixels, where the eye
//    misses it: all but the flat ones, the busiest half, a quarter or none,
//    the strongest share the picture's budget allows) to B, G and R alike. 2x2
//    chips are as coarse as the small crops allow: 3x3 chips measured worse on
//    every class.
//  - A keyed permutation splits the 256 chips into 48 pilot chips (a keyed
//    +-1 pattern that carries nothing) and 208 data chips; data chip i
//    carries code bit i mod n with a keyed sign. The code word is the
//    token's low bits and 24 bits of a keyed BLAKE2b MAC over (format,
//    bits), under a rate-1/2, K=7 convolutional code (soft Viterbi).
//  - Every tile carries the whole payload, so a crop keeps the signal of
//    every pixel it keeps whatever its offset. The detector removes a local
//    mean, divides the residual by its local variance (flat areas, where
//    the mark stands out, count most; edges and text least), and for each
//    scale hypothesis (a geometric grid over 0.5..1.25, fine enough that
//    chips drift under a chip across the picture) resizes the residual
//    back, folds it modulo the period, whitens the fold's spectrum (a
//    plate's characters sit about one period apart and would otherwise
//    fold in coherently) and finds the cyclic offset by correlating with
//    the pilot. It decodes the payload at the 3 strongest distinct pilot
//    peaks, in each of the 3 formats, and reports a mark only when the MAC
//    agrees.
//  - EmbedEncoded writes JPEG at quality 95 with chroma at full resolution
//    (4:4:4: subsampled chroma alone blurred a plate's coloured edges by
//    about the whole budget), and takes the strongest of four strengths
//    whose bytes keep a PSNR of at least 38.2 dB against its input (the
//    weakest, +-2 on every pixel, is kept whatever it costs). Each strength
//    tried is encoded and measured once; the codec's error measured on the
//    first predicts the others, and a strength sure to break the budget is
//    not encoded.
//
// False attribution: an unmarked picture (or one marked under another key:
// its pilot, signs and MAC key are unrelated) is accepted only if one of at
// most 3 peaks x 3 formats = 9 decoded words carries a matching 24-bit MAC:
// at most 9 x 2^-24 = 5.4e-7 per picture traced, whatever the number of
// scale and offset hypotheses searched (those only choose which 3 peaks
// are decoded).
//
// What each size carries (by area, which sets the energy the detector can
// collect): from kFullPayloadArea pixels (faces of ~115 px and more) the
// whole 32-bit token; from kHalfPayloadArea (plates of 250x50, faces of
// ~80-114 px) its low 16 bits; below that (60 px faces) its low 8 bits.
// Plates carried 32 bits at first, but survived JPEG q70 and the 0.8
// rescale only 60-75% of the time; 16 bits buys about 1.5 dB. A trace
// names every access-log entry whose sequence number agrees in the bits
// carried; the leaked crop itself names the record, whose reads are few.
// 60 px faces are below what this scheme carries robustly (see the bench).
//
// Deterministic: the same key, token and picture give the same bytes.

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "opencv2/core.hpp"

namespace lanevault::watermark {

inline constexpr size_t kKeySize = 32;
// The smallest picture Embed marks (one period each way).
inline constexpr int kMinSide = 32;
// The mark's strengths, strongest first: the share of pixels (the busiest)
// marked at +-3 instead of +-2; at 100, every pixel with any local activity
// (a flat one stays at +-2). EmbedEncoded starts at one of these.
inline constexpr std::array<int, 4> kMarkStrengths = {100, 50, 25, 0};
// From this many pixels up the mark carries all 32 token bits.
inline constexpr int kFullPayloadArea = 13000;
// From this many pixels up it carries the low 16 bits; below, the low 8.
inline constexpr int kHalfPayloadArea = 6000;

// What one EmbedEncoded call chose and spent (for benchmarks and tests).
struct EmbedStats {
  int busy_percent = -1;  // the strength: share of pixels at the higher level
  int encodes = 0;        // JPEG encodes of the marked picture
  int decodes = 0;        // and decodes to measure them
  int skipped = 0;        // strengths predicted to break the budget, not tried
  // Of the returned JPEG against the (resized) input; not measured (0) for
  // the weakest mark, which is kept whatever it costs.
  double psnr = 0;
};

// `key`: 32 bytes (the vault derives it from its master key).
// Embeds `token` into an image given as JPEG or PNG bytes; returns JPEG
// bytes at quality 95, 38.2 dB PSNR or more from the input (unless even
// the weakest mark, +-2 everywhere, costs more).
// With `resize_to`, the picture is first resized to exactly that size (a
// crop's size would otherwise say how near its vehicle was), and the PSNR
// budget is kept against the resized picture.
// `stats`, when given, says what marking took.
// `start_busy_percent`: the strength tried first (one of kMarkStrengths;
// INVALID_ARGUMENT otherwise), where the caller expects the answer to be
// (plates at the API's 256x64 mostly keep the budget at 50, faces at 100).
// If it keeps the budget (the weakest always does, unmeasured), stronger
// ones are tried in turn while each keeps it and the codec's error measured
// so far predicts that the next may; if not, weaker ones until one keeps it.
// The bytes are those of the strongest-first search (the default) wherever
// that prediction holds, in fewer encodes where the caller is right.
absl::StatusOr<std::string> EmbedEncoded(absl::string_view key, uint32_t token,
                                         absl::string_view image_bytes,
                                         cv::Size resize_to = cv::Size(),
                                         EmbedStats* stats = nullptr,
                                         int start_busy_percent = 100);
// The same on a decoded BGR (CV_8UC3) or grey (CV_8UC1) image; returns the
// marked image.
absl::StatusOr<cv::Mat> Embed(absl::string_view key, uint32_t token,
                              const cv::Mat& image);

struct Traced {
  bool found = false;  // a mark of this key was detected and its check passed
  uint32_t token = 0;  // meaningful in its low `token_bits` bits
  int token_bits = 0;  // 32 when the whole token was read
  std::string detail;  // what the detector found (scale, offset, strength)
};

// INVALID_ARGUMENT for bytes that are not an image, a wrong key length, or an
// image too small to mark (the message gives the minimum size).
absl::StatusOr<Traced> TraceEncoded(absl::string_view key,
                                    absl::string_view image_bytes);
absl::StatusOr<Traced> Trace(absl::string_view key, const cv::Mat& image);

}  // namespace lanevault::watermark

#endif  // LANEVAULT_WATERMARK_WATERMARK_H_
