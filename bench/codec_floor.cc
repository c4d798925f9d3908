#include "codec_floor.h"

#include <time.h>

// clang-format off
#include <cstdio>  // jpeglib.h needs FILE and size_t first
#include <jpeglib.h>
// clang-format on

#include <cstdint>
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

cv::Mat Resized(const cv::Mat& image, cv::Size answer_size) {
  if (answer_size.empty() || image.size() == answer_size) return image;
  const bool shrinks =
      answer_size.width <= image.cols && answer_size.height <= image.rows;
  cv::Mat resized;
  cv::resize(image, resized, answer_size, 0, 0,
             shrinks ? cv::INTER_AREA : cv::INTER_CUBIC);
  return resized;
}

[[noreturn]] void Abort(const absl::Status& s) {
  std::fprintf(stderr, "codec floor: %s\n", s.ToString().c_str());
  std::abort();
}

// The bench's own JPEGs are well formed: libjpeg's fatal errors end it.
[[noreturn]] void OnJpegError(j_common_ptr cinfo) {
  char message[JMSG_LENGTH_MAX];
  (*cinfo->err->format_message)(cinfo, message);
  std::fprintf(stderr, "codec floor: libjpeg: %s\n", message);
  std::abort();
}

}  // namespace

std::string AtAnswerSize(const std::string& jpeg, cv::Size answer_size) {
  cv::Mat image;
  if (absl::Status s = watermark::DecodeJpeg(jpeg, image); !s.ok()) Abort(s);
  std::vector<uint8_t> out;
  if (absl::Status s = watermark::EncodeJpeg(Resized(image, answer_size), 95,
                                             out, watermark::JpegChroma::kFull);
      !s.ok()) {
    Abort(s);
  }
  return std::string(out.begin(), out.end());
}

double CodecFloorMicros(const std::string& jpeg, cv::Size answer_size) {
  const double t0 = ThreadCpuMicros();
  AtAnswerSize(jpeg, answer_size);  // and a copy of its ~10 KB, ~1 us
  return ThreadCpuMicros() - t0;
}

double CoefficientFloorMicros(const std::string& jpeg) {
  const double t0 = ThreadCpuMicros();
  jpeg_error_mgr err;
  jpeg_decompress_struct in;
  jpeg_compress_struct out;
  in.err = jpeg_std_error(&err);
  out.err = &err;
  err.error_exit = OnJpegError;
  jpeg_create_decompress(&in);
  jpeg_create_compress(&out);
  jpeg_mem_src(&in, reinterpret_cast<const unsigned char*>(jpeg.data()),
               jpeg.size());
  jpeg_read_header(&in, TRUE);
  jvirt_barray_ptr* coefficients = jpeg_read_coefficients(&in);
  unsigned char* bytes = nullptr;
  unsigned long size = 0;  // NOLINT(runtime/int): libjpeg's type
  jpeg_mem_dest(&out, &bytes, &size);
  jpeg_copy_critical_parameters(&in, &out);
  jpeg_write_coefficients(&out, coefficients);
  jpeg_finish_compress(&out);
  jpeg_finish_decompress(&in);
  jpeg_destroy_compress(&out);
  jpeg_destroy_decompress(&in);
  std::free(bytes);
  return ThreadCpuMicros() - t0;
}

}  // namespace lanevault::bench
