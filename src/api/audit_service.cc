#include <algorithm>
#include <limits>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "api/request_checks.h"
#include "api/services.h"
#include "common/time_util.h"

namespace lanevault::api {
namespace {

constexpr uint64_t kMaxEntriesPerCall = 1000;
constexpr int kMaxQueryPage = 500;
// Room for a response's own framing within the server's send limit.
constexpr size_t kFramingRoom = 1024;
// How often a following StreamEntries looks whether the log has grown.
constexpr absl::Duration kFollowPoll = absl::Milliseconds(200);
// A query walks the log this many entries at a time, each walk in a read
// snapshot of its own, and a call stops walking once this long has passed:
// a filter that matches little (a principal's few entries in a large log)
// answers in bounded time with a token to go on from, and no walk keeps a
// reader or a snapshot for long.
constexpr uint64_t kScanChunk = 20000;
constexpr absl::Duration kQueryWalkTime = absl::Milliseconds(250);

// The bytes one response may carry: the server sends nothing larger than
// the gate's request limit (server.h), and an answer over it would fail
// whole, leaving that part of the log unreadable over the API. Pages are
// cut to fit instead, and the caller asks again from where one ended.
size_t PageBudget(const Gate& gate) {
  const size_t limit = gate.limits().max_request_bytes;
  return limit > 2 * kFramingRoom ? limit - kFramingRoom : limit / 2;
}

// A length-delimited field's bytes in a response: tag, length, content.
size_t FieldBytes(size_t content) {
  size_t varint = 1;
  for (size_t n = content; n >= 0x80; n >>= 7) ++varint;
  return 1 + varint + content;
}

absl::StatusOr<vault::AuditQuery> ToQuery(const v1::QueryEntriesRequest& r) {
  vault::AuditQuery q;
  q.principal = r.principal();
  q.record_id = r.record_id();
  q.action = r.action();
  q.verdict = r.verdict();
  if (r.has_since()) q.since = FromProto(r.since());
  if (r.has_until()) q.until = FromProto(r.until());
  q.limit =
      std::clamp(r.page_size() > 0 ? r.page_size() : 100, 1, kMaxQueryPage);
  q.scan_limit = kScanChunk;
  if (r.page_token().empty()) return q;
  // "START" (a stream's place, and tokens before the log's end was kept in
  // them) or "START.END": where the next page starts and where the log
  // ended when the query began. The stores keep sequences as signed 64-bit
  // numbers: a larger one would wrap to a negative start and walk from the
  // log's beginning.
  const std::vector<absl::string_view> parts =
      absl::StrSplit(r.page_token(), absl::MaxSplits('.', 1));
  constexpr uint64_t kMost = std::numeric_limits<int64_t>::max();
  uint64_t end = q.end_sequence;
  if (!absl::SimpleAtoi(parts[0], &q.start_sequence) ||
      q.start_sequence > kMost ||
      (parts.size() == 2 &&
       (!absl::SimpleAtoi(parts[1], &end) || end > kMost))) {
    return absl::InvalidArgumentError("page_token is not one this server gave");
  }
  q.end_sequence = end;
  return q;
}

// Auditors' calls: no purpose, no record; the policy decides by role.
CallSpec AuditorCall() {
  CallSpec spec;
  spec.action = v1::ACTION_READ_AUDIT;
  return spec;
}

CallSpec QueryCall(const v1::QueryEntriesRequest* request) {
  CallSpec spec = AuditorCall();
  spec.check = [request] { return CheckQueryEntriesRequest(*request); };
  return spec;
}

}  // namespace

grpc::Status AuditService::GetCheckpoint(
    grpc::ServerContext* ctx, const v1::GetCheckpointRequest* request,
    v1::Checkpoint* response) {
  return gate_->Run(ctx, *request, AuditorCall(), [&](Admission&) {
    // The admission itself was just logged: sign a head that includes it.
    absl::StatusOr<v1::Checkpoint> cp = gate_->vault().log().SignCheckpoint();
    if (!cp.ok()) return ToGrpc(cp.status());
    // With witnesses, their cosignature lines follow the log's own.
    if (cosign_) cp->set_signed_note(cosign_(*cp));
    *response = std::move(*cp);
    return grpc::Status::OK;
  });
}

grpc::Status AuditService::GetPublicKey(grpc::ServerContext* ctx,
                                        const v1::GetPublicKeyRequest* request,
                                        v1::GetPublicKeyResponse* response) {
  return gate_->Run(ctx, *request, AuditorCall(), [&](Admission&) {
    response->set_key_name(gate_->vault().log().origin());
    response->set_verifier_key(gate_->vault().log().VerifierKey());
    response->set_receipt_public_key(gate_->vault().receipt_key().public_key());
    return grpc::Status::OK;
  });
}

grpc::Status AuditService::GetInclusionProof(
    grpc::ServerContext* ctx, const v1::GetInclusionProofRequest* request,
    v1::InclusionProof* response) {
  return gate_->Run(ctx, *request, AuditorCall(), [&](Admission&) {
    auto proof = gate_->vault().log().InclusionProof(request->index(),
                                                     request->tree_size());
    if (!proof.ok()) return ToGrpc(proof.status());
    response->set_index(request->index());
    response->set_tree_size(request->tree_size());
    for (auto& h : *proof) response->add_hashes(std::move(h));
    return grpc::Status::OK;
  });
}

grpc::Status AuditService::GetConsistencyProof(
    grpc::ServerContext* ctx, const v1::GetConsistencyProofRequest* request,
    v1::ConsistencyProof* response) {
  return gate_->Run(ctx, *request, AuditorCall(), [&](Admission&) {
    auto proof = gate_->vault().log().ConsistencyProof(request->from_size(),
                                                       request->to_size());
    if (!proof.ok()) return ToGrpc(proof.status());
    response->set_from_size(request->from_size());
    response->set_to_size(request->to_size());
    for (auto& h : *proof) response->add_hashes(std::move(h));
    return grpc::Status::OK;
  });
}

grpc::Status AuditService::GetEntries(grpc::ServerContext* ctx,
                                      const v1::GetEntriesRequest* request,
                                      v1::GetEntriesResponse* response) {
  return gate_->Run(ctx, *request, AuditorCall(), [&](Admission&) {
    const uint64_t size = gate_->vault().log().Size();
    if (request->start() >= size || request->end() <= request->start()) {
      return grpc::Status(
          grpc::StatusCode::OUT_OF_RANGE,
          absl::StrCat("the log has entries 0..", size, "; asked for ",
                       request->start(), "..", request->end()));
    }
    const uint64_t end =
        std::min({request->end(), size, request->start() + kMaxEntriesPerCall});
    auto leaves = gate_->vault().log().LeafData(request->start(), end);
    if (!leaves.ok()) return ToGrpc(leaves.status());
    // As many leaves as fit (at least one); the verifier and the export
    // read only these, and ask again from the first one left out.
    const size_t budget = PageBudget(*gate_);
    size_t bytes = 0;
    for (auto& leaf : *leaves) {
      const size_t cost = FieldBytes(leaf.size());
      if (response->leaf_data_size() > 0 && bytes + cost > budget) break;
      bytes += cost;
      response->add_leaf_data(std::move(leaf));
    }
    // The parsed entries are a convenience, given only when the page fits
    // twice; a damaged entry keeps its place, empty: the leaf bytes decide.
    for (const std::string& leaf : response->leaf_data()) {
      v1::AuditEntry* entry = response->add_entries();
      if (!entry->ParseFromString(leaf)) entry->Clear();
      bytes += FieldBytes(entry->ByteSizeLong());
    }
    if (bytes > budget) response->clear_entries();
    return grpc::Status::OK;
  });
}

grpc::Status AuditService::QueryEntries(grpc::ServerContext* ctx,
                                        const v1::QueryEntriesRequest* request,
                                        v1::QueryEntriesResponse* response) {
  return gate_->Run(ctx, *request, QueryCall(request), [&](Admission& a) {
    absl::StatusOr<vault::AuditQuery> q = ToQuery(*request);
    if (!q.ok()) return ToGrpc(q.status());
    // A query sees the log as it was before its first page's call: each
    // call logs itself, so a filter its own calls match (an auditor asking
    // for their own entries) would otherwise never come to an end.
    if (q->end_sequence == std::numeric_limits<uint64_t>::max()) {
      q->end_sequence = a.logged_sequence;
    }
    // Walks until the page is full, the log ends or the call's time is up.
    std::vector<v1::AuditEntry> entries;
    vault::AuditQuery walk = *q;
    bool more = false;
    const absl::Time give_up = absl::Now() + kQueryWalkTime;
    do {
      absl::StatusOr<vault::AuditPage> page =
          gate_->vault().log().QueryPage(walk);
      if (!page.ok()) return ToGrpc(page.status());
      for (auto& e : page->entries) entries.push_back(std::move(e));
      walk.start_sequence = page->next_sequence;
      walk.limit = q->limit - static_cast<int>(entries.size());
      more = page->more;
    } while (more && walk.limit > 0 && absl::Now() < give_up);
    // A page ends early, with a token, where the next entry would not fit.
    const size_t budget = PageBudget(*gate_);
    size_t bytes = 0;
    bool cut = false;
    for (auto& e : entries) {
      const size_t cost = FieldBytes(e.ByteSizeLong());
      if (response->entries_size() > 0 && bytes + cost > budget) {
        cut = true;
        break;
      }
      bytes += cost;
      *response->add_entries() = std::move(e);
    }
    if (cut) {
      response->set_next_page_token(absl::StrCat(
          response->entries(response->entries_size() - 1).sequence() + 1, ".",
          q->end_sequence));
    } else if (more) {
      response->set_next_page_token(
          absl::StrCat(walk.start_sequence, ".", q->end_sequence));
    }
    return grpc::Status::OK;
  });
}

grpc::Status AuditService::StreamEntries(
    grpc::ServerContext* ctx, const v1::QueryEntriesRequest* request,
    grpc::ServerWriter<v1::AuditEntry>* writer) {
  // One entry a message: each is within kMaxAuditEntryBytes.
  return gate_->Run(ctx, *request, QueryCall(request), [&](Admission&) {
    absl::StatusOr<vault::AuditQuery> q = ToQuery(*request);
    if (!q.ok()) return ToGrpc(q.status());
    q->limit = kMaxQueryPage;
    // A following stream goes on past where a query's token says the log
    // ended then.
    if (request->follow()) {
      q->end_sequence = std::numeric_limits<uint64_t>::max();
    }
    // Following, the stream asks again whenever the log has grown (the
    // size is in memory; a query runs only then).
    uint64_t size_asked = 0;
    while (!ctx->IsCancelled()) {
      const uint64_t size = gate_->vault().log().Size();
      if (size_asked == size) {
        absl::SleepFor(kFollowPoll);
        continue;
      }
      // A bounded walk at a time, and the next starts where it ended, so
      // a filter that matches nothing walks each entry once, not the whole
      // log again whenever it grows.
      absl::StatusOr<vault::AuditPage> page =
          gate_->vault().log().QueryPage(*q);
      if (!page.ok()) return ToGrpc(page.status());
      for (const auto& e : page->entries) {
        if (!writer->Write(e)) return grpc::Status::CANCELLED;
      }
      q->start_sequence = page->next_sequence;
      if (page->more) continue;
      if (!request->follow()) break;
      size_asked = size;
    }
    return grpc::Status::OK;
  });
}

}  // namespace lanevault::api
