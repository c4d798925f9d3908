// Compliance officers' tasks: legal holds, alerts, retention, key rotation.

#include "absl/strings/str_cat.h"
#include "api/services.h"
#include "common/time_util.h"

namespace lanevault::api {
namespace {

constexpr int kMaxHoldRecords = 1000;

v1::LegalHold ToProto(const vault::HoldRow& h) {
  v1::LegalHold out;
  out.set_hold_id(h.hold_id);
  out.set_case_id(h.case_id);
  out.set_reason(h.reason);
  for (const std::string& id : h.record_ids) out.add_record_ids(id);
  out.set_placed_by(h.placed_by);
  *out.mutable_placed() = lanevault::ToProto(h.placed);
  if (!h.active()) *out.mutable_lifted() = lanevault::ToProto(h.lifted);
  return out;
}

v1::Alert ToProto(const vault::AlertRow& a) {
  v1::Alert out;
  out.set_alert_id(a.alert_id);
  out.set_severity(a.severity);
  out.set_kind(a.kind);
  out.set_principal(a.principal);
  out.set_message(a.message);
  *out.mutable_raised() = lanevault::ToProto(a.raised);
  out.set_acknowledged(!a.acknowledged_by.empty());
  return out;
}

}  // namespace

grpc::Status ComplianceService::PlaceHold(grpc::ServerContext* ctx,
                                          const v1::PlaceHoldRequest* request,
                                          v1::LegalHold* response) {
  Caller caller;
  v1::AuditEntry entry;
  if (grpc::Status s = gate_->Decide(*ctx, v1::ACTION_MANAGE_HOLD, "",
                                     request->case_id(), &caller, &entry);
      !s.ok()) {
    return s;
  }
  if (request->record_ids_size() > kMaxHoldRecords) {
    return gate_->Refuse(
        std::move(entry),
        policy::MakeDecision(v1::VERDICT_DENY, {}, "too_many_records",
                             "one hold names at most 1000 records"),
        grpc::StatusCode::INVALID_ARGUMENT,
        "one hold names at most 1000 records; place several");
  }
  std::vector<std::string> ids(request->record_ids().begin(),
                               request->record_ids().end());
  absl::StatusOr<vault::HoldRow> hold = gate_->vault().PlaceHold(
      request->case_id(), request->reason(), ids, std::move(entry));
  if (!hold.ok()) return ToGrpc(hold.status());
  *response = ToProto(*hold);
  return grpc::Status::OK;
}

grpc::Status ComplianceService::LiftHold(grpc::ServerContext* ctx,
                                         const v1::LiftHoldRequest* request,
                                         v1::LegalHold* response) {
  Caller caller;
  v1::AuditEntry entry;
  if (grpc::Status s =
          gate_->Decide(*ctx, v1::ACTION_MANAGE_HOLD, "", "", &caller, &entry);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<vault::HoldRow> hold = gate_->vault().LiftHold(
      request->hold_id(), request->reason(), std::move(entry));
  if (!hold.ok()) return ToGrpc(hold.status());
  *response = ToProto(*hold);
  return grpc::Status::OK;
}

grpc::Status ComplianceService::ListHolds(grpc::ServerContext* ctx,
                                          const v1::ListHoldsRequest* request,
                                          v1::ListHoldsResponse* response) {
  Caller caller;
  if (grpc::Status s = gate_->Admit(*ctx, v1::ACTION_MANAGE_HOLD, &caller);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<std::vector<vault::HoldRow>> holds =
      gate_->vault().Holds(request->include_lifted());
  if (!holds.ok()) return ToGrpc(holds.status());
  for (const vault::HoldRow& h : *holds) *response->add_holds() = ToProto(h);
  return grpc::Status::OK;
}

grpc::Status ComplianceService::ListAlerts(grpc::ServerContext* ctx,
                                           const v1::ListAlertsRequest* request,
                                           v1::ListAlertsResponse* response) {
  Caller caller;
  if (grpc::Status s = gate_->Admit(*ctx, v1::ACTION_MANAGE_ALERTS, &caller);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<std::vector<vault::AlertRow>> alerts =
      gate_->vault().Alerts(request->include_acknowledged());
  if (!alerts.ok()) return ToGrpc(alerts.status());
  for (const vault::AlertRow& a : *alerts) {
    *response->add_alerts() = ToProto(a);
  }
  return grpc::Status::OK;
}

grpc::Status ComplianceService::AcknowledgeAlert(
    grpc::ServerContext* ctx, const v1::AcknowledgeAlertRequest* request,
    v1::Alert* response) {
  Caller caller;
  if (grpc::Status s = gate_->Admit(*ctx, v1::ACTION_MANAGE_ALERTS, &caller);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<vault::AlertRow> alert =
      gate_->vault().AcknowledgeAlert(request->alert_id(), caller.principal);
  if (!alert.ok()) return ToGrpc(alert.status());
  *response = ToProto(*alert);
  return grpc::Status::OK;
}

grpc::Status ComplianceService::GetRetentionReport(
    grpc::ServerContext* ctx, const v1::RetentionReportRequest*,
    v1::RetentionReport* response) {
  Caller caller;
  if (grpc::Status s = gate_->Admit(*ctx, v1::ACTION_VIEW_RETENTION, &caller);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<std::vector<vault::CategoryRetentionRow>> rows =
      gate_->vault().RetentionReport();
  if (!rows.ok()) return ToGrpc(rows.status());
  absl::Time next = absl::InfiniteFuture();
  for (const vault::CategoryRetentionRow& r : *rows) {
    v1::CategoryRetention* c = response->add_categories();
    c->set_category(r.category);
    c->set_items(r.items);
    c->set_on_hold(r.on_hold);
    c->set_overdue(r.overdue);
    if (r.next_deadline != absl::InfiniteFuture()) {
      *c->mutable_next_deadline() = lanevault::ToProto(r.next_deadline);
    }
    next = std::min(next, r.next_deadline);
    response->set_items_overdue(response->items_overdue() + r.overdue);
    response->set_items_on_hold(response->items_on_hold() + r.on_hold);
  }
  if (next != absl::InfiniteFuture()) {
    *response->mutable_next_deadline() = lanevault::ToProto(next);
  }
  return grpc::Status::OK;
}

grpc::Status ComplianceService::RotateKeys(grpc::ServerContext* ctx,
                                           const v1::RotateKeysRequest*,
                                           v1::RotateKeysResponse* response) {
  Caller caller;
  v1::AuditEntry entry;
  if (grpc::Status s =
          gate_->Decide(*ctx, v1::ACTION_ROTATE_KEYS, "", "", &caller, &entry);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<uint32_t> version =
      gate_->vault().RotateKeys(std::move(entry));
  if (!version.ok()) return ToGrpc(version.status());
  response->set_new_key_version(*version);
  return grpc::Status::OK;
}

}  // namespace lanevault::api
