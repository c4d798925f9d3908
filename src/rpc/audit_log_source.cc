#include "rpc/audit_log_source.h"

#include "absl/time/clock.h"
#include "lanevault/v1/audit_service.grpc.pb.h"

namespace lanevault::rpc {
namespace {

absl::Status FromGrpc(const grpc::Status& s) {
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      s.error_message());
}

class RpcSource final : public tlog::AuditLogSource {
 public:
  RpcSource(std::shared_ptr<grpc::Channel> channel, absl::Duration timeout)
      : stub_(v1::AuditService::NewStub(std::move(channel))),
        timeout_(timeout) {}

  absl::StatusOr<v1::Checkpoint> Checkpoint() override {
    grpc::ClientContext ctx;
    Deadline(ctx);
    v1::Checkpoint cp;
    if (auto s = stub_->GetCheckpoint(&ctx, {}, &cp); !s.ok())
      return FromGrpc(s);
    return cp;
  }
  absl::StatusOr<std::vector<std::string>> ConsistencyProof(
      uint64_t from, uint64_t to) override {
    grpc::ClientContext ctx;
    Deadline(ctx);
    v1::GetConsistencyProofRequest req;
    req.set_from_size(from);
    req.set_to_size(to);
    v1::ConsistencyProof resp;
    if (auto s = stub_->GetConsistencyProof(&ctx, req, &resp); !s.ok()) {
      return FromGrpc(s);
    }
    return std::vector<std::string>(resp.hashes().begin(), resp.hashes().end());
  }
  absl::StatusOr<std::vector<std::string>> InclusionProof(
      uint64_t index, uint64_t size) override {
    grpc::ClientContext ctx;
    Deadline(ctx);
    v1::GetInclusionProofRequest req;
    req.set_index(index);
    req.set_tree_size(size);
    v1::InclusionProof resp;
    if (auto s = stub_->GetInclusionProof(&ctx, req, &resp); !s.ok()) {
      return FromGrpc(s);
    }
    return std::vector<std::string>(resp.hashes().begin(), resp.hashes().end());
  }
  absl::StatusOr<std::vector<std::string>> LeafData(uint64_t start,
                                                    uint64_t end) override {
    // The server pages by bytes: a short page is not the end of the range.
    std::vector<std::string> out;
    while (start + out.size() < end) {
      grpc::ClientContext ctx;
      Deadline(ctx);
      v1::GetEntriesRequest req;
      req.set_start(start + out.size());
      req.set_end(end);
      v1::GetEntriesResponse resp;
      if (auto s = stub_->GetEntries(&ctx, req, &resp); !s.ok()) {
        if (s.error_code() == grpc::StatusCode::OUT_OF_RANGE) break;
        return FromGrpc(s);
      }
      if (resp.leaf_data().empty()) break;
      for (const std::string& leaf : resp.leaf_data()) out.push_back(leaf);
    }
    return out;
  }
  bool proofs_from_stored_tree() const override { return true; }

 private:
  void Deadline(grpc::ClientContext& ctx) {
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
  }
  std::unique_ptr<v1::AuditService::Stub> stub_;
  absl::Duration timeout_;
};

}  // namespace

std::unique_ptr<tlog::AuditLogSource> RpcAuditLogSource(
    std::shared_ptr<grpc::Channel> channel, absl::Duration timeout) {
  return std::make_unique<RpcSource>(std::move(channel), timeout);
}

}  // namespace lanevault::rpc
