#include <algorithm>

#include "absl/strings/str_cat.h"
#include "api/services.h"
#include "common/logging.h"
#include "common/time_util.h"
#include "vault/crypto.h"

namespace lanevault::api {
namespace {

constexpr int kMaxSearchResults = 50;
// An exact plate names a handful of crossings; more would be a sweep.
constexpr int kMaxPlateMatches = 5;

v1::Decision Reason(std::string code, std::string reason) {
  return policy::MakeDecision(v1::VERDICT_DENY, {}, std::move(code),
                              std::move(reason));
}

// Every evidence call states why; `what` names the call in the answer.
grpc::Status RefuseWithoutPurpose(const Gate& gate, v1::AuditEntry entry,
                                  absl::string_view what) {
  return gate.Refuse(
      std::move(entry),
      Reason("no_purpose", absl::StrCat(what, " must state its purpose")),
      grpc::StatusCode::INVALID_ARGUMENT,
      absl::StrCat(what, " must state its purpose (--purpose)"));
}

}  // namespace

grpc::Status EvidenceService::GetRecord(grpc::ServerContext* ctx,
                                        const v1::GetRecordRequest* request,
                                        v1::GetRecordResponse* response) {
  absl::StatusOr<Caller> caller = gate_->Authenticate(*ctx);
  if (!caller.ok()) return ToGrpc(caller.status());
  v1::AuditEntry entry =
      gate_->Entry(*caller, *ctx, v1::ACTION_READ_RECORD, request->purpose(),
                   request->case_id(), request->record_id());
  if (request->purpose().empty()) {
    return RefuseWithoutPurpose(*gate_, std::move(entry), "a read");
  }
  absl::StatusOr<v1::RecordSummary> summary =
      gate_->vault().Describe(request->record_id(), request->case_id());
  if (!summary.ok()) {
    const bool missing = absl::IsNotFound(summary.status());
    return gate_->Refuse(
        std::move(entry),
        Reason(missing ? "not_found" : "vault_error",
               std::string(summary.status().message())),
        missing ? grpc::StatusCode::NOT_FOUND
                : static_cast<grpc::StatusCode>(summary.status().code()),
        summary.status().message());
  }
  policy::AccessRequest ask = gate_->Request(
      *caller, v1::ACTION_READ_RECORD, request->purpose(), request->case_id());
  for (int c : request->categories()) {
    ask.categories.push_back(static_cast<v1::DataCategory>(c));
  }
  for (int c : summary->categories()) {
    ask.available.push_back(static_cast<v1::DataCategory>(c));
  }
  ask.record_id = request->record_id();
  policy::AccessDecision decision = gate_->policy().DecideAccess(ask);
  if (!decision.allowed()) {
    return gate_->RefuseAccess(std::move(entry), decision.decision);
  }
  Gate::Stamp(entry, v1::VERDICT_ALLOW, decision.decision);
  for (v1::DataCategory c : decision.categories) entry.add_categories(c);
  // The vault logs the entry before it opens anything.
  absl::StatusOr<v1::Record> record = gate_->vault().Read(
      request->record_id(), decision.categories, std::move(entry));
  if (!record.ok()) {
    if (absl::IsDataLoss(record.status())) {
      spdlog::error("DATA LOSS: {}", record.status().message());
    }
    return ToGrpc(record.status());
  }
  *response->mutable_record() = std::move(*record);
  *response->mutable_decision() = decision.decision;
  return grpc::Status::OK;
}

grpc::Status EvidenceService::SearchRecords(
    grpc::ServerContext* ctx, const v1::SearchRecordsRequest* request,
    v1::SearchRecordsResponse* response) {
  absl::StatusOr<Caller> caller = gate_->Authenticate(*ctx);
  if (!caller.ok()) return ToGrpc(caller.status());
  v1::AuditEntry entry =
      gate_->Entry(*caller, *ctx, v1::ACTION_SEARCH_METADATA,
                   request->purpose(), request->case_id(), "");
  if (request->purpose().empty()) {
    return RefuseWithoutPurpose(*gate_, std::move(entry), "a search");
  }
  policy::AccessDecision decision = gate_->policy().DecideAccess(
      gate_->Request(*caller, v1::ACTION_SEARCH_METADATA, request->purpose(),
                     request->case_id()));
  if (!decision.allowed()) {
    return gate_->Refuse(std::move(entry), decision.decision,
                         grpc::StatusCode::PERMISSION_DENIED,
                         decision.decision.reason());
  }
  vault::RecordQuery q;
  q.lane_id = request->lane_id();
  if (request->has_since()) q.since = FromProto(request->since());
  if (request->has_until()) q.until = FromProto(request->until());
  q.after_record_id = request->page_token();
  q.limit = std::clamp(
      request->page_size() > 0 ? request->page_size() : kMaxSearchResults, 1,
      kMaxSearchResults);
  entry.set_detail(absl::StrCat("lane=", q.lane_id, " limit=", q.limit));
  if (grpc::Status s = gate_->Allow(std::move(entry), decision.decision);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<std::vector<v1::RecordSummary>> found = gate_->vault().Find(q);
  if (!found.ok()) return ToGrpc(found.status());
  for (v1::RecordSummary& s : *found) *response->add_records() = std::move(s);
  if (response->records_size() == q.limit) {
    response->set_next_page_token(
        response->records(response->records_size() - 1).record_id());
  }
  return grpc::Status::OK;
}

grpc::Status EvidenceService::LookupPlate(grpc::ServerContext* ctx,
                                          const v1::LookupPlateRequest* request,
                                          v1::LookupPlateResponse* response) {
  absl::StatusOr<Caller> caller = gate_->Authenticate(*ctx);
  if (!caller.ok()) return ToGrpc(caller.status());
  // The entry never carries the plate: the vault adds its blind index.
  v1::AuditEntry entry =
      gate_->Entry(*caller, *ctx, v1::ACTION_SEARCH_PLATE, request->purpose(),
                   request->case_id(), "");
  if (request->purpose().empty()) {
    return RefuseWithoutPurpose(*gate_, std::move(entry), "a plate lookup");
  }
  if (vault::BlindIndex::Normalize(request->plate_text()).empty()) {
    return gate_->Refuse(std::move(entry),
                         Reason("no_plate", "no letters or digits given"),
                         grpc::StatusCode::INVALID_ARGUMENT,
                         "give the plate's letters and digits");
  }
  policy::AccessDecision decision = gate_->policy().DecideAccess(
      gate_->Request(*caller, v1::ACTION_SEARCH_PLATE, request->purpose(),
                     request->case_id()));
  if (!decision.allowed()) {
    entry.set_plate_blind_index(
        gate_->vault().PlateBlindIndex(request->plate_text()));
    return gate_->RefuseAccess(std::move(entry), decision.decision);
  }
  Gate::Stamp(entry, v1::VERDICT_ALLOW, decision.decision);
  // One more than shown tells us whether the answer was cut.
  absl::StatusOr<std::vector<std::string>> ids = gate_->vault().LookupPlate(
      request->plate_text(), kMaxPlateMatches + 1, std::move(entry));
  if (!ids.ok()) return ToGrpc(ids.status());
  for (size_t i = 0; i < ids->size() && i < kMaxPlateMatches; ++i) {
    response->add_record_ids((*ids)[i]);
  }
  response->set_truncated(ids->size() > kMaxPlateMatches);
  return grpc::Status::OK;
}

}  // namespace lanevault::api
