// Inspectors read one record (or one item) at a time, for a stated purpose;
// searches return ids and summaries only, capped.

#include "absl/strings/str_cat.h"
#include "api/request_checks.h"
#include "api/services.h"
#include "common/logging.h"
#include "common/time_util.h"
#include "crypto/blind_index.h"

namespace lanevault::api {
namespace {

constexpr int kMaxSearchResults = 50;
// An exact plate names a handful of crossings; more would be a sweep.
constexpr int kMaxPlateMatches = 5;

// Every evidence call states why, and may name a case.
template <class Request>
CallSpec EvidenceCall(v1::Action action, const Request& request) {
  CallSpec spec;
  spec.action = action;
  spec.purpose = request.purpose();
  spec.case_id = request.case_id();
  spec.needs_purpose = true;
  return spec;
}

grpc::Status ReadFailed(const absl::Status& status) {
  if (absl::IsDataLoss(status))
    spdlog::error("DATA LOSS: {}", status.message());
  return ToGrpc(status);
}

}  // namespace

grpc::Status EvidenceService::GetRecord(grpc::ServerContext* ctx,
                                        const v1::GetRecordRequest* request,
                                        v1::GetRecordResponse* response) {
  CallSpec spec = EvidenceCall(v1::ACTION_READ_RECORD, *request);
  spec.record_id = request->record_id();
  spec.vault_logs = true;
  spec.check = [request] { return CheckGetRecordRequest(*request); };
  // The policy is asked about the categories the record holds now.
  RecordFacts& facts = spec.record_facts.emplace();
  for (int c : request->categories()) {
    facts.categories.push_back(static_cast<v1::DataCategory>(c));
  }
  return gate_->Run(ctx, *request, spec, [&](Admission& a) {
    // The vault logs the entry before it opens anything.
    std::vector<std::string> withheld;
    absl::StatusOr<v1::Record> record =
        gate_->vault().Read(spec.record_id, a.decision.categories,
                            std::move(a.entry), "", &withheld);
    if (!record.ok()) return ReadFailed(record.status());
    *response->mutable_record() = std::move(*record);
    for (std::string& id : withheld)
      response->add_withheld_item_ids(std::move(id));
    *response->mutable_decision() = a.decision.decision;
    return grpc::Status::OK;
  });
}

grpc::Status EvidenceService::GetItem(grpc::ServerContext* ctx,
                                      const v1::GetItemRequest* request,
                                      v1::GetItemResponse* response) {
  CallSpec spec = EvidenceCall(v1::ACTION_READ_ITEM, *request);
  spec.record_id = request->record_id();
  spec.vault_logs = true;
  spec.detail = absl::StrCat("item ", request->item_id());
  spec.check = [request] {
    return request->item_id().empty()
               ? absl::InvalidArgumentError("name the item (item_id)")
               : absl::OkStatus();
  };
  // The policy is asked about the item's category alone.
  spec.record_facts.emplace().item_id = request->item_id();
  return gate_->Run(ctx, *request, spec, [&](Admission& a) {
    a.entry.add_item_ids(request->item_id());
    absl::StatusOr<v1::Record> record =
        gate_->vault().Read(spec.record_id, a.decision.categories,
                            std::move(a.entry), request->item_id());
    if (!record.ok()) return ReadFailed(record.status());
    if (record->items_size() != 1) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          absl::StrCat("no item ", request->item_id(),
                                       " the policy lets you read"));
    }
    *response->mutable_item() = std::move(*record->mutable_items(0));
    *response->mutable_decision() = a.decision.decision;
    return grpc::Status::OK;
  });
}

grpc::Status EvidenceService::SearchRecords(
    grpc::ServerContext* ctx, const v1::SearchRecordsRequest* request,
    v1::SearchRecordsResponse* response) {
  vault::RecordQuery q;
  q.lane_id = request->lane_id();
  if (request->has_since()) q.since = FromProto(request->since());
  if (request->has_until()) q.until = FromProto(request->until());
  q.after_record_id = request->page_token();
  q.limit = request->page_size() > 0 ? request->page_size() : kMaxSearchResults;
  CallSpec spec = EvidenceCall(v1::ACTION_SEARCH_METADATA, *request);
  spec.detail = absl::StrCat("lane=", q.lane_id, " limit=", q.limit,
                             " asked=", request->page_size());
  spec.check = [&q] {
    if (q.limit > kMaxSearchResults) {
      // A sweep, not a search: refused, not quietly cut.
      return absl::InvalidArgumentError(absl::StrCat(
          "a search returns at most ", kMaxSearchResults,
          " ids per page (asked ", q.limit, "); page on with next_page_token"));
    }
    return q.since > q.until
               ? absl::InvalidArgumentError("'since' is after 'until'")
               : absl::OkStatus();
  };
  spec.vault_logs = true;
  return gate_->Run(ctx, *request, spec, [&](Admission& a) {
    absl::StatusOr<std::vector<v1::RecordSummary>> found =
        gate_->vault().Find(q);
    if (!found.ok()) return ToGrpc(found.status());
    // Logged before it is answered, naming the records it reveals.
    for (const v1::RecordSummary& s : *found) {
      a.entry.add_revealed_record_ids(s.record_id());
    }
    if (auto seq = gate_->vault().log().Append(std::move(a.entry)); !seq.ok()) {
      return ToGrpc(seq.status());
    }
    for (v1::RecordSummary& s : *found) *response->add_records() = std::move(s);
    if (response->records_size() == q.limit) {
      response->set_next_page_token(
          response->records(response->records_size() - 1).record_id());
    }
    return grpc::Status::OK;
  });
}

grpc::Status EvidenceService::LookupPlate(grpc::ServerContext* ctx,
                                          const v1::LookupPlateRequest* request,
                                          v1::LookupPlateResponse* response) {
  CallSpec spec = EvidenceCall(v1::ACTION_SEARCH_PLATE, *request);
  spec.vault_logs = true;
  // Never the text: the entry carries the plate's blind index only.
  spec.plate = request->plate_text();
  spec.check = [request] {
    return crypto::BlindIndex::Normalize(request->plate_text()).empty()
               ? absl::InvalidArgumentError(
                     "give the plate's letters and digits")
               : absl::OkStatus();
  };
  return gate_->Run(ctx, *request, spec, [&](Admission& a) {
    // One more than shown tells whether the answer was cut; only what is
    // shown is logged as revealed.
    bool more = false;
    absl::StatusOr<std::vector<std::string>> ids = gate_->vault().LookupPlate(
        request->plate_text(), kMaxPlateMatches + 1, std::move(a.entry),
        [&](std::vector<std::string> found) {
          return gate_->RevealPlates(a, std::move(found), kMaxPlateMatches,
                                     &more);
        });
    if (!ids.ok()) return ToGrpc(ids.status());
    for (const std::string& id : *ids) response->add_record_ids(id);
    response->set_truncated(more);
    return grpc::Status::OK;
  });
}

}  // namespace lanevault::api
