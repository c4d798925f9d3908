// Compliance officers' tasks: legal holds, alerts and lockouts, retention,
// key rotation. (Contracts: compliance_contracts.cc.)

#include "absl/container/flat_hash_set.h"
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

CallSpec Officer(v1::Action action) {
  CallSpec spec;
  spec.action = action;
  return spec;
}

}  // namespace

grpc::Status ComplianceService::PlaceHold(grpc::ServerContext* ctx,
                                          const v1::PlaceHoldRequest* request,
                                          v1::LegalHold* response) {
  CallSpec spec = Officer(v1::ACTION_MANAGE_HOLD);
  spec.case_id = request->case_id();
  spec.vault_logs = true;
  spec.check = [request] {
    return request->record_ids_size() > kMaxHoldRecords
               ? absl::InvalidArgumentError(
                     "one hold names at most 1000 records; place several")
               : absl::OkStatus();
  };
  return gate_->Run(ctx, *request, spec, [&](Admission& a) {
    std::vector<std::string> ids(request->record_ids().begin(),
                                 request->record_ids().end());
    absl::StatusOr<vault::HoldRow> hold = gate_->vault().oversight().PlaceHold(
        request->case_id(), request->reason(), ids, std::move(a.entry));
    if (!hold.ok()) return ToGrpc(hold.status());
    *response = ToProto(*hold);
    return grpc::Status::OK;
  });
}

grpc::Status ComplianceService::LiftHold(grpc::ServerContext* ctx,
                                         const v1::LiftHoldRequest* request,
                                         v1::LegalHold* response) {
  CallSpec spec = Officer(v1::ACTION_MANAGE_HOLD);
  spec.vault_logs = true;
  return gate_->Run(ctx, *request, spec, [&](Admission& a) {
    absl::StatusOr<vault::HoldRow> hold = gate_->vault().oversight().LiftHold(
        request->hold_id(), request->reason(), std::move(a.entry));
    if (!hold.ok()) return ToGrpc(hold.status());
    *response = ToProto(*hold);
    return grpc::Status::OK;
  });
}

grpc::Status ComplianceService::ListHolds(grpc::ServerContext* ctx,
                                          const v1::ListHoldsRequest* request,
                                          v1::ListHoldsResponse* response) {
  return gate_->Run(
      ctx, *request, Officer(v1::ACTION_MANAGE_HOLD), [&](Admission&) {
        absl::StatusOr<std::vector<vault::HoldRow>> holds =
            gate_->vault().oversight().Holds(request->include_lifted());
        if (!holds.ok()) return ToGrpc(holds.status());
        for (const vault::HoldRow& h : *holds)
          *response->add_holds() = ToProto(h);
        return grpc::Status::OK;
      });
}

grpc::Status ComplianceService::ListAlerts(grpc::ServerContext* ctx,
                                           const v1::ListAlertsRequest* request,
                                           v1::ListAlertsResponse* response) {
  return gate_->Run(
      ctx, *request, Officer(v1::ACTION_MANAGE_ALERTS), [&](Admission&) {
        absl::StatusOr<std::vector<vault::AlertRow>> alerts =
            gate_->vault().oversight().Alerts(request->include_acknowledged());
        if (!alerts.ok()) return ToGrpc(alerts.status());
        for (const vault::AlertRow& a : *alerts) {
          *response->add_alerts() = ToProto(a);
        }
        return grpc::Status::OK;
      });
}

grpc::Status ComplianceService::AcknowledgeAlert(
    grpc::ServerContext* ctx, const v1::AcknowledgeAlertRequest* request,
    v1::Alert* response) {
  CallSpec spec = Officer(v1::ACTION_MANAGE_ALERTS);
  spec.detail = absl::StrCat("acknowledge ", request->alert_id());
  return gate_->Run(ctx, *request, spec, [&](Admission& a) {
    absl::StatusOr<vault::AlertRow> alert =
        gate_->vault().oversight().AcknowledgeAlert(request->alert_id(),
                                                    a.caller.principal);
    if (!alert.ok()) return ToGrpc(alert.status());
    *response = ToProto(*alert);
    return grpc::Status::OK;
  });
}

grpc::Status ComplianceService::WatchAlerts(
    grpc::ServerContext* ctx, const v1::WatchAlertsRequest* request,
    grpc::ServerWriter<v1::Alert>* writer) {
  return gate_->Run(
      ctx, *request, Officer(v1::ACTION_MANAGE_ALERTS), [&](Admission&) {
        // Where the feed stands is taken before the table is read: an alert
        // raised in between is in both, and sent once.
        uint64_t position = alert_feed_.Position();
        absl::StatusOr<std::vector<vault::AlertRow>> open =
            gate_->vault().oversight().Alerts(false);
        if (!open.ok()) return ToGrpc(open.status());
        absl::flat_hash_set<std::string> listed;
        for (const vault::AlertRow& a : *open) {
          if (!writer->Write(ToProto(a))) return grpc::Status::CANCELLED;
          listed.insert(a.alert_id);
        }
        while (!ctx->IsCancelled()) {
          absl::StatusOr<std::vector<v1::Alert>> raised =
              alert_feed_.Read(&position, absl::Milliseconds(250));
          if (!raised.ok()) return ToGrpc(raised.status());
          for (const v1::Alert& a : *raised) {
            if (listed.contains(a.alert_id())) continue;
            if (!writer->Write(a)) return grpc::Status::CANCELLED;
          }
        }
        return grpc::Status::OK;
      });
}

grpc::Status ComplianceService::ListLockouts(
    grpc::ServerContext* ctx, const v1::ListLockoutsRequest* request,
    v1::ListLockoutsResponse* response) {
  return gate_->Run(ctx, *request, Officer(v1::ACTION_MANAGE_ALERTS),
                    [&](Admission&) {
                      absl::StatusOr<std::vector<vault::LockoutRow>> rows =
                          gate_->vault().oversight().Lockouts();
                      if (!rows.ok()) return ToGrpc(rows.status());
                      for (const vault::LockoutRow& r : *rows) {
                        v1::Lockout* l = response->add_lockouts();
                        l->set_principal(r.principal);
                        l->set_reason(r.reason);
                        *l->mutable_since() = lanevault::ToProto(r.since);
                      }
                      return grpc::Status::OK;
                    });
}

grpc::Status ComplianceService::LiftLockout(
    grpc::ServerContext* ctx, const v1::LiftLockoutRequest* request,
    v1::Empty*) {
  CallSpec spec = Officer(v1::ACTION_MANAGE_ALERTS);
  spec.vault_logs = true;
  spec.detail = absl::StrCat("lift lockout of ", request->principal(), ": ",
                             request->reason());
  spec.check = [request] {
    if (request->principal().empty() || request->reason().empty()) {
      return absl::InvalidArgumentError(
          "lifting a lockout needs the principal and a reason");
    }
    return absl::OkStatus();
  };
  return gate_->Run(ctx, *request, spec, [&](Admission& a) {
    return ToGrpc(gate_->vault().oversight().LiftLockout(request->principal(),
                                                         std::move(a.entry)));
  });
}

grpc::Status ComplianceService::GetRetentionReport(
    grpc::ServerContext* ctx, const v1::RetentionReportRequest* request,
    v1::RetentionReport* response) {
  return gate_->Run(
      ctx, *request, Officer(v1::ACTION_VIEW_RETENTION), [&](Admission&) {
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
      });
}

grpc::Status ComplianceService::RotateKeys(grpc::ServerContext* ctx,
                                           const v1::RotateKeysRequest* request,
                                           v1::RotateKeysResponse* response) {
  CallSpec spec = Officer(v1::ACTION_ROTATE_KEYS);
  spec.vault_logs = true;
  return gate_->Run(ctx, *request, spec, [&](Admission& a) {
    absl::StatusOr<uint32_t> version =
        gate_->vault().RotateKeys(std::move(a.entry));
    if (!version.ok()) return ToGrpc(version.status());
    response->set_new_key_version(*version);
    return grpc::Status::OK;
  });
}

grpc::Status ComplianceService::ListDestroyedKeys(
    grpc::ServerContext* ctx, const v1::ListDestroyedKeysRequest* request,
    v1::ListDestroyedKeysResponse* response) {
  return gate_->Run(
      ctx, *request, Officer(v1::ACTION_VIEW_RETENTION), [&](Admission&) {
        const int page = request->page_size() <= 0
                             ? 100
                             : std::min(request->page_size(), 1000);
        const absl::Time since = request->has_since()
                                     ? lanevault::FromProto(request->since())
                                     : absl::InfinitePast();
        const absl::Time until = request->has_until()
                                     ? lanevault::FromProto(request->until())
                                     : absl::InfiniteFuture();
        absl::StatusOr<vault::Vault::DestroyedKeysPage> found =
            gate_->vault().DestroyedKeys(since, until,
                                         request->start_sequence(), page);
        if (!found.ok()) return ToGrpc(found.status());
        for (const v1::AuditEntry& e : found->entries) {
          std::optional<vault::KeyDestruction> d =
              vault::ParseKeyDestruction(e);
          if (!d.has_value()) continue;
          v1::DestroyedKey* k = response->add_keys();
          k->set_key_version(d->version);
          k->set_retention_period(d->retention_period);
          k->set_generation(d->generation);
          k->set_why(d->rotated ? "rotated" : "period_ended");
          *k->mutable_destroyed() = e.time();
          k->set_log_sequence(e.sequence());
          k->set_detail(e.detail());
        }
        response->set_next_sequence(found->next_sequence);
        return grpc::Status::OK;
      });
}

}  // namespace lanevault::api
