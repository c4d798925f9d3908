#include "watermark/jpeg_codec.h"

// clang-format off
#include <cstdio>  // jpeglib.h needs FILE and size_t first
#include <jpeglib.h>
// clang-format on

#include <algorithm>
#include <csetjmp>
#include <cstring>

#include "absl/strings/str_cat.h"

#ifndef JCS_EXTENSIONS
#error "the watermark needs libjpeg-turbo (JCS_EXT_BGR)"
#endif

namespace lanevault::watermark {
namespace {

// libjpeg reports a fatal error by calling error_exit, which must not
// return: it jumps back to the setjmp in RunEncode/RunDecode, which hold
// nothing that needs destroying.
struct JpegError {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void OnError(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<JpegError*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

// Warnings (a truncated stream, say) stay out of the daemon's stderr.
void IgnoreMessage(j_common_ptr) {}

void InitError(JpegError& err) {
  jpeg_std_error(&err.pub);
  err.pub.error_exit = OnError;
  err.pub.output_message = IgnoreMessage;
  err.message[0] = '\0';
}

// Writes the stream straight into the caller's vector, whose capacity is
// reused from one call to the next.
struct VectorDestination {
  jpeg_destination_mgr pub;
  std::vector<uint8_t>* out;
};

VectorDestination& DestinationOf(j_compress_ptr cinfo) {
  return *reinterpret_cast<VectorDestination*>(cinfo->dest);
}

void StartDestination(j_compress_ptr cinfo) {
  VectorDestination& d = DestinationOf(cinfo);
  d.out->resize(std::max<size_t>(d.out->capacity(), 16384));
  d.pub.next_output_byte = d.out->data();
  d.pub.free_in_buffer = d.out->size();
}

// Called when the buffer is full.
boolean GrowDestination(j_compress_ptr cinfo) {
  VectorDestination& d = DestinationOf(cinfo);
  const size_t used = d.out->size();
  d.out->resize(2 * used);
  d.pub.next_output_byte = d.out->data() + used;
  d.pub.free_in_buffer = d.out->size() - used;
  return TRUE;
}

void FinishDestination(j_compress_ptr cinfo) {
  VectorDestination& d = DestinationOf(cinfo);
  d.out->resize(d.out->size() - d.pub.free_in_buffer);
}

struct Encoder {
  jpeg_compress_struct cinfo;
  JpegError err;
  VectorDestination destination;
};

bool RunEncode(Encoder* e, const cv::Mat* image, int quality,
               JpegChroma chroma) {
  if (setjmp(e->err.jump) != 0) return false;
  jpeg_compress_struct& cinfo = e->cinfo;
  cinfo.dest = &e->destination.pub;
  cinfo.image_width = static_cast<JDIMENSION>(image->cols);
  cinfo.image_height = static_cast<JDIMENSION>(image->rows);
  const bool colour = image->channels() == 3;
  cinfo.input_components = colour ? 3 : 1;
  cinfo.in_color_space = colour ? JCS_EXT_BGR : JCS_GRAYSCALE;
  // OpenCV's settings: the library's defaults, baseline quantisation
  // tables at `quality`, no restart markers, Huffman tables not optimised.
  jpeg_set_defaults(&cinfo);
  cinfo.restart_interval = 0;
  jpeg_set_quality(&cinfo, quality, TRUE);
  if (colour && chroma == JpegChroma::kFull) {
    for (int c = 0; c < 3; ++c) {
      cinfo.comp_info[c].h_samp_factor = 1;
      cinfo.comp_info[c].v_samp_factor = 1;
    }
  }
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(
        image->ptr<uint8_t>(static_cast<int>(cinfo.next_scanline)));
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  return true;
}

struct Decoder {
  jpeg_decompress_struct cinfo;
  JpegError err;
  bool unsupported = false;  // a JPEG, but not of 1 or 3 components
};

bool RunDecode(Decoder* d, const absl::string_view* bytes, cv::Mat* out) {
  if (setjmp(d->err.jump) != 0) return false;
  jpeg_decompress_struct& cinfo = d->cinfo;
  jpeg_mem_src(&cinfo, reinterpret_cast<const unsigned char*>(bytes->data()),
               static_cast<unsigned long>(bytes->size()));  // NOLINT
  jpeg_read_header(&cinfo, TRUE);
  if (cinfo.num_components == 3) {
    cinfo.out_color_space = JCS_EXT_BGR;
  } else if (cinfo.num_components == 1) {
    cinfo.out_color_space = JCS_GRAYSCALE;
  } else {
    d->unsupported = true;
    return false;
  }
  jpeg_start_decompress(&cinfo);
  out->create(static_cast<int>(cinfo.output_height),
              static_cast<int>(cinfo.output_width),
              cinfo.output_components == 3 ? CV_8UC3 : CV_8UC1);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = out->ptr<uint8_t>(static_cast<int>(cinfo.output_scanline));
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  return true;
}

}  // namespace

absl::Status EncodeJpeg(const cv::Mat& image, int quality,
                        std::vector<uint8_t>& out, JpegChroma chroma) {
  if (image.empty() || image.depth() != CV_8U ||
      (image.channels() != 1 && image.channels() != 3)) {
    return absl::InvalidArgumentError("JPEG needs an 8-bit grey or BGR image");
  }
  if (quality < 1 || quality > 100) {
    return absl::InvalidArgumentError(
        absl::StrCat("JPEG quality must be 1..100, got ", quality));
  }
  Encoder e;
  e.cinfo.err = &e.err.pub;
  InitError(e.err);
  e.destination.pub.init_destination = StartDestination;
  e.destination.pub.empty_output_buffer = GrowDestination;
  e.destination.pub.term_destination = FinishDestination;
  e.destination.out = &out;
  jpeg_create_compress(&e.cinfo);
  const bool ok = RunEncode(&e, &image, quality, chroma);
  jpeg_destroy_compress(&e.cinfo);
  if (!ok) {
    out.clear();
    return absl::InternalError(
        absl::StrCat("JPEG encoding failed: ", e.err.message));
  }
  return absl::OkStatus();
}

absl::Status DecodeJpeg(absl::string_view bytes, cv::Mat& out) {
  if (bytes.size() < 2 || static_cast<uint8_t>(bytes[0]) != 0xFF ||
      static_cast<uint8_t>(bytes[1]) != 0xD8) {
    return absl::InvalidArgumentError("bytes are not a JPEG");
  }
  Decoder d;
  d.cinfo.err = &d.err.pub;
  InitError(d.err);
  jpeg_create_decompress(&d.cinfo);
  const bool ok = RunDecode(&d, &bytes, &out);
  jpeg_destroy_decompress(&d.cinfo);
  if (d.unsupported) {
    return absl::InvalidArgumentError(
        "the JPEG has neither 1 nor 3 components");
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("the JPEG cannot be decoded: ", d.err.message));
  }
  return absl::OkStatus();
}

bool MayCarryExif(absl::string_view bytes) {
  auto at = [&](size_t i) { return static_cast<uint8_t>(bytes[i]); };
  if (bytes.size() < 4 || at(0) != 0xFF || at(1) != 0xD8) return true;
  size_t i = 2;
  // Marker segments up to the start of scan; each is FF, a marker byte and
  // a big-endian length that counts itself. Anything else: unsure.
  while (i + 4 <= bytes.size() && at(i) == 0xFF) {
    const uint8_t marker = at(i + 1);
    if (marker == 0xDA) return false;  // start of scan: no EXIF before it
    const size_t length = size_t{at(i + 2)} << 8 | at(i + 3);
    if (length < 2) return true;
    if (marker == 0xE1 && length >= 8 && i + 10 <= bytes.size() &&
        std::memcmp(bytes.data() + i + 4, "Exif\0\0", 6) == 0) {
      return true;
    }
    i += 2 + length;
  }
  return true;
}

}  // namespace lanevault::watermark
