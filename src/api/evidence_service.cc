// Inspectors read one record (or one item) at a time, for a stated purpose;
// searches return handles and summaries only, capped. Every answer names
// records by handles of the purpose's scope, says when and where only as
// finely as the purpose needs (scoped_answers.h), marks every image with a
// watermark naming the read, and carries a signed receipt with the
// contract's restrictions on use.

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "api/request_checks.h"
#include "api/scoped_answers.h"
#include "api/services.h"
#include "common/logging.h"
#include "common/time_util.h"
#include "crypto/blind_index.h"
#include "receipt/receipt.h"

namespace lanevault::api {
namespace {

constexpr int kMaxSearchResults = 50;
// An exact plate names a handful of crossings; more would be a sweep.
constexpr int kMaxPlateMatches = 5;
// A search reads its whole window (widened to the purpose's granularity)
// and pages through it in handle order, so that neither the order of an
// answer nor where a page ends says anything of the crossings' order. A
// window holding more than this is refused: narrow it (a lane, a shorter
// range) down to what the purpose's granularity allows.
constexpr int kMaxSearchWindow = 5000;

// Every evidence call states why, and may name a case.
template <class Request>
CallSpec EvidenceCall(v1::Action action, const Request& request) {
  CallSpec spec;
  spec.action = action;
  spec.purpose = request.purpose();
  spec.case_id = request.case_id();
  spec.needs_purpose = true;
  spec.scoped = true;
  return spec;
}

// The vault's words (kept in the daemon's log) name ids; the caller's do
// not (ScopedFailure).
grpc::Status ReadFailed(const absl::Status& status) {
  if (absl::IsDataLoss(status))
    spdlog::error("DATA LOSS: {}", status.message());
  return ToGrpc(ScopedFailure(status));
}

// The receipt of one answer: who was given what, under which terms. Each
// text item of `record` is given the salt of its line (Item.receipt_salt).
v1::Receipt Sign(const Gate& gate, const Admission& a, uint64_t sequence,
                 absl::string_view method,
                 const std::vector<std::string>& record_handles,
                 v1::Record* record) {
  v1::ReceiptBody body;
  body.set_vault_origin(gate.vault().log().origin());
  body.set_audit_sequence(sequence);
  *body.mutable_issued() = ToProto(gate.vault().clock()->Now());
  body.set_principal(a.caller.principal);
  body.set_purpose(a.view.purpose);
  body.set_case_id(a.entry.case_id());
  body.set_method(std::string(method));
  for (const std::string& h : record_handles) body.add_record_handles(h);
  if (record != nullptr) {
    for (v1::Item& item : *record->mutable_items()) {
      *body.add_items() = receipt::ItemFor(item);
    }
  }
  body.set_contract_id(gate.policy().contract_id());
  body.set_contract_version(gate.policy().contract_version());
  for (const std::string& r : a.view.restrictions) body.add_restrictions(r);
  return receipt::SignReceipt(gate.vault().receipt_key(), body);
}

// What an opened record becomes for its reader: marked, scoped.
grpc::Status Deliver(const Gate& gate, const Admission& a, uint64_t sequence,
                     bool mark, v1::Record& record) {
  for (const std::string& item :
       mark ? MarkImages(gate.vault().watermark_key(), sequence, record)
            : std::vector<std::string>{}) {
    // Intake checks an image's header, not that it decodes (nor did it
    // before it checked anything).
    spdlog::error(
        "read #{}: item {} withheld: it cannot be watermarked, and an image "
        "is never returned unmarked",
        sequence, item);
  }
  // The caller named this record by its handle: no need to issue it again.
  const absl::string_view named = record.record_id() == a.record_id
                                      ? absl::string_view(a.record_handle)
                                      : absl::string_view();
  if (absl::Status s =
          ScopeRecord(gate.vault().handles(), a.view, record, named);
      !s.ok()) {
    return ToGrpc(s);
  }
  return grpc::Status::OK;
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
    uint64_t sequence = 0;
    v1::AuditEntry entry = a.entry;
    absl::StatusOr<v1::Record> record = gate_->vault().Read(
        a.record_id, a.decision.categories, std::move(entry), "", nullptr,
        &sequence, std::move(a.fetched));
    a.logged();
    if (!record.ok()) return ReadFailed(record.status());
    if (grpc::Status s = Deliver(*gate_, a, sequence, mark_images_, *record);
        !s.ok()) {
      return s;
    }
    // Withheld items are told by category only: their ids would join this
    // answer to one given under another purpose.
    // In category order, not as stored (the same on every side).
    std::vector<v1::DataCategory> withheld;
    for (v1::DataCategory c : a.available) {
      if (std::find(a.decision.categories.begin(), a.decision.categories.end(),
                    c) == a.decision.categories.end() &&
          std::find(withheld.begin(), withheld.end(), c) == withheld.end()) {
        withheld.push_back(c);
      }
    }
    std::sort(withheld.begin(), withheld.end());
    for (v1::DataCategory c : withheld) response->add_withheld_categories(c);
    *response->mutable_receipt() = Sign(*gate_, a, sequence, a.entry.method(),
                                        {record->record_id()}, &*record);
    *response->mutable_record() = *std::move(record);
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
  spec.check = [request] {
    return request->item_id().empty()
               ? absl::InvalidArgumentError(
                     "name the item (item_id: its handle, as GetRecord "
                     "named it)")
               : absl::OkStatus();
  };
  // The policy is asked about the item's category alone.
  spec.record_facts.emplace().item_id = request->item_id();
  return gate_->Run(ctx, *request, spec, [&](Admission& a) {
    uint64_t sequence = 0;
    v1::AuditEntry entry = a.entry;
    absl::StatusOr<v1::Record> record = gate_->vault().Read(
        a.record_id, a.decision.categories, std::move(entry), a.item_id,
        nullptr, &sequence, std::move(a.fetched));
    a.logged();
    if (!record.ok()) return ReadFailed(record.status());
    if (record->items_size() != 1) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          absl::StrCat("no item ", request->item_id(),
                                       " the policy lets you read here"));
    }
    if (grpc::Status s = Deliver(*gate_, a, sequence, mark_images_, *record);
        !s.ok()) {
      return s;
    }
    *response->mutable_receipt() = Sign(*gate_, a, sequence, a.entry.method(),
                                        {record->record_id()}, &*record);
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
  const int page_size =
      request->page_size() > 0 ? request->page_size() : kMaxSearchResults;
  CallSpec spec = EvidenceCall(v1::ACTION_SEARCH_METADATA, *request);
  spec.detail = absl::StrCat("lane=", q.lane_id, " limit=", page_size,
                             " asked=", request->page_size());
  spec.check = [&] {
    if (page_size > kMaxSearchResults) {
      // A sweep, not a search: refused, not quietly cut.
      return absl::InvalidArgumentError(
          absl::StrCat("a search returns at most ", kMaxSearchResults,
                       " records per page (asked ", page_size,
                       "); page on with next_page_token"));
    }
    if (!request->page_token().empty() &&
        !crypto::HandleKey::LooksLikeHandle(crypto::HandleKey::Kind::kRecord,
                                            request->page_token())) {
      return absl::InvalidArgumentError(
          "page_token: pass on next_page_token as it came");
    }
    if (q.since > q.until) {
      return absl::InvalidArgumentError("'since' is after 'until'");
    }
    absl::StatusOr<policy::PurposeView> view =
        gate_->policy().ViewOf(request->purpose());
    if (view.ok() && view->checkpoint_only && !q.lane_id.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("purpose '", view->purpose,
                       "' sees checkpoints, not lanes: search without a lane"));
    }
    return absl::OkStatus();
  };
  spec.vault_logs = true;
  return gate_->Run(ctx, *request, spec, [&](Admission& a) {
    // The window widened to whole cells of the purpose's granularity: a
    // narrower one would place a record more finely than its answers do.
    q.since = FloorTo(q.since, a.view.time_granularity);
    if (q.until != absl::InfiniteFuture()) {
      q.until = CeilTo(q.until, a.view.time_granularity);
    }
    q.limit = kMaxSearchWindow + 1;
    absl::StatusOr<std::vector<v1::RecordSummary>> found =
        gate_->vault().Find(q);
    if (!found.ok()) return ToGrpc(found.status());
    if (found->size() > static_cast<size_t>(kMaxSearchWindow)) {
      // Refused after admission: logged as the refusal it is.
      a.entry.set_verdict(v1::VERDICT_DENY);
      a.entry.set_reason_code("window_too_large");
      absl::StatusOr<uint64_t> seq = gate_->vault().log().Append(a.entry);
      a.logged();
      if (!seq.ok()) return ToGrpc(seq.status());
      return grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT,
          absl::StrCat("the window holds more than ", kMaxSearchWindow,
                       " crossings; narrow it (a lane, a shorter range)"));
    }
    struct Named {
      std::string handle;
      v1::RecordSummary summary;
    };
    std::vector<Named> named;
    named.reserve(found->size());
    for (v1::RecordSummary& s : *found) {
      Named n{"", std::move(s)};
      absl::StatusOr<std::string> h =
          RecordHandle(gate_->vault().handles(), a.view, n.summary.record_id());
      if (!h.ok()) return ToGrpc(h.status());
      n.handle = *std::move(h);
      named.push_back(std::move(n));
    }
    std::sort(named.begin(), named.end(), [](const Named& x, const Named& y) {
      return x.handle < y.handle;
    });
    auto first =
        std::upper_bound(named.begin(), named.end(), request->page_token(),
                         [](const std::string& token, const Named& n) {
                           return token < n.handle;
                         });
    if (request->page_token().empty()) first = named.begin();
    const auto last =
        first + std::min<ptrdiff_t>(page_size, named.end() - first);
    // Logged before it is answered, naming the records it reveals.
    for (auto it = first; it != last; ++it) {
      a.entry.add_revealed_record_ids(it->summary.record_id());
    }
    absl::StatusOr<uint64_t> seq = gate_->vault().log().Append(a.entry);
    a.logged();
    if (!seq.ok()) return ToGrpc(seq.status());
    std::vector<std::string> handles;
    for (auto it = first; it != last; ++it) {
      v1::RecordSummary s = std::move(it->summary);
      if (absl::Status st = ScopeSummary(gate_->vault().handles(), a.view,
                                         a.decision.categories, s);
          !st.ok()) {
        return ToGrpc(st);
      }
      handles.push_back(s.record_id());
      *response->add_records() = std::move(s);
    }
    if (last != named.end() && last != first) {
      response->set_next_page_token((last - 1)->handle);
    }
    *response->mutable_receipt() =
        Sign(*gate_, a, *seq, a.entry.method(), handles, nullptr);
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
    size_t withheld = 0;
    uint64_t sequence = 0;
    v1::AuditEntry entry = a.entry;
    absl::StatusOr<std::vector<std::string>> ids = gate_->vault().LookupPlate(
        request->plate_text(), kMaxPlateMatches + 1, std::move(entry),
        [&](std::vector<std::string> found, v1::AuditEntry& logged) {
          std::vector<std::string> named = gate_->RevealPlates(
              a, std::move(found), kMaxPlateMatches, &more, &withheld);
          if (withheld > 0) {
            logged.set_detail(
                absl::StrCat(withheld,
                             " match(es) withheld: the caller or its group has "
                             "seen their faces"));
          }
          return named;
        },
        &sequence);
    a.logged();
    if (!ids.ok()) return ToGrpc(ids.status());
    if (withheld > 0) {
      gate_->AlertLinkageProbe(
          a.caller,
          absl::StrCat("looked up a plate whose crossing's faces they or their "
                       "group have seen: ",
                       withheld, withheld == 1 ? " match was" : " matches were",
                       " withheld (access-log entry ", sequence, ")"));
    }
    std::vector<std::string> handles;
    for (const std::string& id : *ids) {
      absl::StatusOr<std::string> h =
          RecordHandle(gate_->vault().handles(), a.view, id);
      if (!h.ok()) return ToGrpc(h.status());
      handles.push_back(*h);
      response->add_record_ids(*h);
    }
    response->set_truncated(more);
    *response->mutable_receipt() =
        Sign(*gate_, a, sequence, a.entry.method(), handles, nullptr);
    return grpc::Status::OK;
  });
}

}  // namespace lanevault::api
