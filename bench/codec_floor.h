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

// `jpeg` (the crop) as it would be stored at its answer's size: resized,
// then encoded in the answer's format. Not timed.
std::string AtAnswerSize(const std::string& jpeg, cv::Size answer_size);

// CPU microseconds of this thread to read `jpeg`'s quantised coefficients
// and write them again as a JPEG (entropy decoding and coding only, as
// jpegtran copies): the least a mark made on a stored answer's coefficients
// would cost, with no pixels decoded or encoded.
double CoefficientFloorMicros(const std::string& jpeg);

}  // namespace lanevault::bench

#endif  // LANEVAULT_BENCH_CODEC_FLOOR_H_
