#ifndef LANEVAULT_BENCH_READ_RECORD_H_
#define LANEVAULT_BENCH_READ_RECORD_H_

// One inspector's single-record read, as the read benchmarks make it.

#include <string>

#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "lanevault/v1/evidence.grpc.pb.h"

namespace lanevault {

// `response`, when given, receives the answer.
inline grpc::Status ReadOne(v1::EvidenceService::Stub& stub,
                            const std::string& id,
                            v1::GetRecordResponse* response = nullptr) {
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  v1::GetRecordRequest req;
  req.set_record_id(id);
  req.set_purpose("vehicle-inspection");
  v1::GetRecordResponse ignored;
  return stub.GetRecord(&ctx, req, response != nullptr ? response : &ignored);
}

}  // namespace lanevault

#endif  // LANEVAULT_BENCH_READ_RECORD_H_
