#ifndef LANEVAULT_BENCH_CODEC_FLOOR_H_
#define LANEVAULT_BENCH_CODEC_FLOOR_H_

// The least a read that marks an image in its pixels spends on it in the
// answer's format (quality 95, chroma at full resolution, the answer's
// size), whatever the mark: one decode of the stored JPEG, the resize as
// watermark::EmbedEncoded resizes, one encode as it writes. No mark, no
// activity map, no measuring decode. Set against a raw read's whole CPU, it
// bounds what such a mark lets a marked read reach.

#include <string>

#include "opencv2/core.hpp"

namespace lanevault::bench {

// CPU microseconds of this thread for that work on `jpeg`; aborts on bytes
// that do not decode (the benches' own crops).
double CodecFloorMicros(const std::string& jpeg, cv::Size answer_size);

}  // namespace lanevault::bench

#endif  // LANEVAULT_BENCH_CODEC_FLOOR_H_
