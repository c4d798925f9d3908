#ifndef LANEVAULT_API_SERVICES_H_
#define LANEVAULT_API_SERVICES_H_

#include <functional>
#include <vector>

#include "api/gate.h"
#include "lanevault/v1/audit_service.grpc.pb.h"
#include "lanevault/v1/compliance.grpc.pb.h"
#include "lanevault/v1/evidence.grpc.pb.h"
#include "lanevault/v1/lanes.grpc.pb.h"

namespace lanevault::api {

// Reads one record for an inspector, for a stated purpose.
class EvidenceService final : public v1::EvidenceService::Service {
 public:
  explicit EvidenceService(const Gate* gate) : gate_(gate) {}
  grpc::Status GetRecord(grpc::ServerContext* ctx,
                         const v1::GetRecordRequest* request,
                         v1::GetRecordResponse* response) override;
  grpc::Status SearchRecords(grpc::ServerContext* ctx,
                             const v1::SearchRecordsRequest* request,
                             v1::SearchRecordsResponse* response) override;
  grpc::Status LookupPlate(grpc::ServerContext* ctx,
                           const v1::LookupPlateRequest* request,
                           v1::LookupPlateResponse* response) override;

 private:
  const Gate* gate_;
};

// The access log for auditors and compliance officers: checkpoints, proofs,
// entries and queries. Every call is itself logged.
class AuditService final : public v1::AuditService::Service {
 public:
  explicit AuditService(const Gate* gate) : gate_(gate) {}
  grpc::Status GetCheckpoint(grpc::ServerContext* ctx,
                             const v1::GetCheckpointRequest* request,
                             v1::Checkpoint* response) override;
  grpc::Status GetPublicKey(grpc::ServerContext* ctx,
                            const v1::GetPublicKeyRequest* request,
                            v1::GetPublicKeyResponse* response) override;
  grpc::Status GetInclusionProof(grpc::ServerContext* ctx,
                                 const v1::GetInclusionProofRequest* request,
                                 v1::InclusionProof* response) override;
  grpc::Status GetConsistencyProof(
      grpc::ServerContext* ctx, const v1::GetConsistencyProofRequest* request,
      v1::ConsistencyProof* response) override;
  grpc::Status GetEntries(grpc::ServerContext* ctx,
                          const v1::GetEntriesRequest* request,
                          v1::GetEntriesResponse* response) override;
  grpc::Status QueryEntries(grpc::ServerContext* ctx,
                            const v1::QueryEntriesRequest* request,
                            v1::QueryEntriesResponse* response) override;
  grpc::Status StreamEntries(
      grpc::ServerContext* ctx, const v1::QueryEntriesRequest* request,
      grpc::ServerWriter<v1::AuditEntry>* writer) override;

 private:
  const Gate* gate_;
};

// Compliance officers' tasks: legal holds, alerts, the retention report and
// key rotation. (Contracts, explain and lockouts over gRPC: issue 7.)
class ComplianceService final : public v1::ComplianceService::Service {
 public:
  explicit ComplianceService(const Gate* gate) : gate_(gate) {}
  grpc::Status PlaceHold(grpc::ServerContext* ctx,
                         const v1::PlaceHoldRequest* request,
                         v1::LegalHold* response) override;
  grpc::Status LiftHold(grpc::ServerContext* ctx,
                        const v1::LiftHoldRequest* request,
                        v1::LegalHold* response) override;
  grpc::Status ListHolds(grpc::ServerContext* ctx,
                         const v1::ListHoldsRequest* request,
                         v1::ListHoldsResponse* response) override;
  grpc::Status ListAlerts(grpc::ServerContext* ctx,
                          const v1::ListAlertsRequest* request,
                          v1::ListAlertsResponse* response) override;
  grpc::Status AcknowledgeAlert(grpc::ServerContext* ctx,
                                const v1::AcknowledgeAlertRequest* request,
                                v1::Alert* response) override;
  grpc::Status GetRetentionReport(grpc::ServerContext* ctx,
                                  const v1::RetentionReportRequest* request,
                                  v1::RetentionReport* response) override;
  grpc::Status RotateKeys(grpc::ServerContext* ctx,
                          const v1::RotateKeysRequest* request,
                          v1::RotateKeysResponse* response) override;

 private:
  const Gate* gate_;
};

using LaneStatusFn = std::function<std::vector<v1::LaneStatus>()>;

// Lane state and counters for operators; never images.
class LaneService final : public v1::LaneService::Service {
 public:
  LaneService(const Gate* gate, LaneStatusFn lanes)
      : gate_(gate), lanes_(std::move(lanes)) {}
  grpc::Status ListLanes(grpc::ServerContext* ctx,
                         const v1::ListLanesRequest* request,
                         v1::ListLanesResponse* response) override;
  grpc::Status GetLaneStatus(grpc::ServerContext* ctx,
                             const v1::GetLaneStatusRequest* request,
                             v1::LaneStatus* response) override;

 private:
  const Gate* gate_;
  LaneStatusFn lanes_;
};

}  // namespace lanevault::api

#endif  // LANEVAULT_API_SERVICES_H_
