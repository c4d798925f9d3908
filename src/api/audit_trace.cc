// An auditor hands in a leaked image; the vault reads its watermark with a
// key that never leaves it, and names the read that returned the image.

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "api/services.h"
#include "common/image_header.h"
#include "watermark/watermark.h"

namespace lanevault::api {
namespace {

// A mark that carries fewer than 32 bits of its token names every read
// whose sequence number ends in those bits; listing more than this many
// says too little to be worth the lookups.
constexpr uint64_t kMaxCandidates = 64;

// The largest picture traced: the search's time grows with the area (about
// 15 s of a core at 2000x2000 before this limit), and answers are a few
// hundred pixels a side.
constexpr ImageLimits kTraceLimits{1024, int64_t{1} << 20};

bool ReturnedImages(const v1::AuditEntry& e) {
  return e.verdict() == v1::VERDICT_ALLOW &&
         (e.action() == v1::ACTION_READ_RECORD ||
          e.action() == v1::ACTION_READ_ITEM ||
          e.action() == v1::ACTION_VIEW_SNAPSHOT);
}

}  // namespace

grpc::Status AuditService::TraceImage(grpc::ServerContext* ctx,
                                      const v1::TraceImageRequest* request,
                                      v1::TraceImageResponse* response) {
  CallSpec spec;
  spec.action = v1::ACTION_TRACE;
  // The image is not logged, only its size.
  spec.detail = absl::StrCat("image of ", request->image().size(), " bytes");
  spec.check = [request]() -> absl::Status {
    if (request->image().empty()) {
      return absl::InvalidArgumentError("give the image's bytes");
    }
    // Sized by its header before it is decoded: a trace searches scales
    // over every pixel, and a leak is an answer's size (a plate's 256x64)
    // give or take a rescale. Larger pictures are cut to the crop first.
    return CheckImageSize(request->image(), kTraceLimits, "the image").status();
  };
  return gate_->Run(ctx, *request, spec, [&](Admission&) {
    absl::StatusOr<watermark::Traced> traced = watermark::TraceEncoded(
        gate_->vault().watermark_key(), request->image());
    if (!traced.ok()) return ToGrpc(traced.status());
    response->set_detail(traced->detail);
    if (!traced->found) return grpc::Status::OK;
    vault::AccessLog& log = gate_->vault().log();
    const uint64_t size = log.Size();
    const int bits = std::min(traced->token_bits, 32);
    response->set_token_bits(static_cast<uint32_t>(bits));
    const uint64_t step = uint64_t{1} << bits;
    const uint64_t first = traced->token & (step - 1);
    if ((size - std::min(size, first)) / step > kMaxCandidates) {
      response->set_detail(
          absl::StrCat(traced->detail, "; the mark carries ", bits,
                       " bits, which match too many reads to list"));
      return grpc::Status::OK;
    }
    std::vector<v1::AuditEntry> reads;
    for (uint64_t seq = first; seq < size; seq += step) {
      absl::StatusOr<std::vector<v1::AuditEntry>> e = log.Entries(seq, seq + 1);
      if (!e.ok()) return ToGrpc(e.status());
      if (e->size() == 1 && ReturnedImages(e->front())) {
        response->add_candidate_sequences(seq);
        reads.push_back(std::move(e->front()));
      }
    }
    // A mark of this vault that names no read is no attribution.
    response->set_found(!reads.empty());
    if (reads.size() == 1) *response->mutable_entry() = std::move(reads[0]);
    return grpc::Status::OK;
  });
}

}  // namespace lanevault::api
