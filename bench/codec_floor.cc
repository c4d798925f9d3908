#include "codec_floor.h"

#include <time.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "absl/status/status.h"
#include "opencv2/imgproc.hpp"
#include "watermark/jpeg_codec.h"

namespace lanevault::bench {
namespace {

double ThreadCpuMicros() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

}  // namespace

double CodecFloorMicros(const std::string& jpeg, cv::Size answer_size) {
  const double t0 = ThreadCpuMicros();
  cv::Mat image;
  if (absl::Status s = watermark::DecodeJpeg(jpeg, image); !s.ok()) {
    std::fprintf(stderr, "codec floor: %s\n", s.ToString().c_str());
    std::abort();
  }
  if (!answer_size.empty() && image.size() != answer_size) {
    const bool shrinks =
        answer_size.width <= image.cols && answer_size.height <= image.rows;
    cv::Mat resized;
    cv::resize(image, resized, answer_size, 0, 0,
               shrinks ? cv::INTER_AREA : cv::INTER_CUBIC);
    image = resized;
  }
  std::vector<uint8_t> out;
  if (absl::Status s =
          watermark::EncodeJpeg(image, 95, out, watermark::JpegChroma::kFull);
      !s.ok()) {
    std::fprintf(stderr, "codec floor: %s\n", s.ToString().c_str());
    std::abort();
  }
  return ThreadCpuMicros() - t0;
}

}  // namespace lanevault::bench
