#ifndef LANEVAULT_API_SERVICES_H_
#define LANEVAULT_API_SERVICES_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "api/alert_feed.h"
#include "api/gate.h"
#include "api/snapshot_broker.h"
#include "lanevault/v1/approvals.grpc.pb.h"
#include "lanevault/v1/audit_service.grpc.pb.h"
#include "lanevault/v1/compliance.grpc.pb.h"
#include "lanevault/v1/evidence.grpc.pb.h"
#include "lanevault/v1/lanes.grpc.pb.h"
#include "wiring/vault_intake.h"

namespace lanevault::api {

// Reads one record for an inspector, for a stated purpose.
class EvidenceService final : public v1::EvidenceService::Service {
 public:
  // `mark_images` false only for api_bench's baseline.
  explicit EvidenceService(Gate* gate, bool mark_images = true)
      : gate_(gate), mark_images_(mark_images) {}
  grpc::Status GetRecord(grpc::ServerContext* ctx,
                         const v1::GetRecordRequest* request,
                         v1::GetRecordResponse* response) override;
  grpc::Status GetItem(grpc::ServerContext* ctx,
                       const v1::GetItemRequest* request,
                       v1::GetItemResponse* response) override;
  grpc::Status SearchRecords(grpc::ServerContext* ctx,
                             const v1::SearchRecordsRequest* request,
                             v1::SearchRecordsResponse* response) override;
  grpc::Status LookupPlate(grpc::ServerContext* ctx,
                           const v1::LookupPlateRequest* request,
                           v1::LookupPlateResponse* response) override;

 private:
  Gate* gate_;
  const bool mark_images_;
};

// Appends witness cosignature lines to a checkpoint's note
// (wiring/witness_pusher.h).
using CosignCheckpointFn = std::function<std::string(const v1::Checkpoint&)>;

// The access log for auditors and compliance officers: checkpoints, proofs,
// entries and queries. Every call is itself logged.
class AuditService final : public v1::AuditService::Service {
 public:
  AuditService(Gate* gate, CosignCheckpointFn cosign)
      : gate_(gate), cosign_(std::move(cosign)) {}
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
  // audit_trace.cc
  grpc::Status TraceImage(grpc::ServerContext* ctx,
                          const v1::TraceImageRequest* request,
                          v1::TraceImageResponse* response) override;

 private:
  Gate* gate_;
  CosignCheckpointFn cosign_;  // may be empty
};

// What putting a contract in force over the API needs: whose signatures
// count, how many, and the policy to swap. Without a holder (the built-in
// development policy) contracts cannot be activated over the API.
struct ContractAuthority {
  std::vector<policy::TrustedKey> trusted;
  int required = 1;
  policy::PolicyHolder* holder = nullptr;
};

// Compliance officers' tasks: contracts (compliance_contracts.cc), legal holds,
// alerts and lockouts, the retention report and key rotation.
class ComplianceService final : public v1::ComplianceService::Service {
 public:
  // `backup_dir`: where Backup writes (empty: Backup is refused).
  ComplianceService(Gate* gate, ContractAuthority contracts,
                    std::string backup_dir = "")
      : gate_(gate),
        contracts_(std::move(contracts)),
        backup_dir_(std::move(backup_dir)),
        alert_feed_(gate->vault().oversight()) {}
  grpc::Status GetContract(grpc::ServerContext* ctx,
                           const v1::GetContractRequest* request,
                           v1::ContractVersion* response) override;
  grpc::Status ValidateContract(
      grpc::ServerContext* ctx, const v1::ValidateContractRequest* request,
      v1::ValidateContractResponse* response) override;
  grpc::Status ProposeContract(grpc::ServerContext* ctx,
                               const v1::ProposeContractRequest* request,
                               v1::ProposeContractResponse* response) override;
  grpc::Status ActivateContract(grpc::ServerContext* ctx,
                                const v1::ActivateContractRequest* request,
                                v1::ContractVersion* response) override;
  grpc::Status ListContractVersions(
      grpc::ServerContext* ctx, const v1::ListContractVersionsRequest* request,
      v1::ListContractVersionsResponse* response) override;
  grpc::Status Explain(grpc::ServerContext* ctx,
                       const v1::ExplainRequest* request,
                       v1::Decision* response) override;
  grpc::Status ListLockouts(grpc::ServerContext* ctx,
                            const v1::ListLockoutsRequest* request,
                            v1::ListLockoutsResponse* response) override;
  grpc::Status LiftLockout(grpc::ServerContext* ctx,
                           const v1::LiftLockoutRequest* request,
                           v1::Empty* response) override;
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
  grpc::Status WatchAlerts(grpc::ServerContext* ctx,
                           const v1::WatchAlertsRequest* request,
                           grpc::ServerWriter<v1::Alert>* writer) override;
  grpc::Status GetRetentionReport(grpc::ServerContext* ctx,
                                  const v1::RetentionReportRequest* request,
                                  v1::RetentionReport* response) override;
  grpc::Status RotateKeys(grpc::ServerContext* ctx,
                          const v1::RotateKeysRequest* request,
                          v1::RotateKeysResponse* response) override;
  // compliance_backup.cc
  grpc::Status Backup(grpc::ServerContext* ctx,
                      const v1::BackupRequest* request,
                      v1::BackupResponse* response) override;
  grpc::Status ListDestroyedKeys(
      grpc::ServerContext* ctx, const v1::ListDestroyedKeysRequest* request,
      v1::ListDestroyedKeysResponse* response) override;
  // compliance_handles.cc
  grpc::Status ResolveHandle(grpc::ServerContext* ctx,
                             const v1::ResolveHandleRequest* request,
                             v1::ResolveHandleResponse* response) override;

 private:
  // Every version kept or proposed, newest first, marking the one in force.
  absl::StatusOr<std::vector<v1::ContractVersion>> Versions() const;

  Gate* gate_;
  ContractAuthority contracts_;
  const std::string backup_dir_;
  AlertFeed alert_feed_;  // for WatchAlerts
  // One activation at a time: each is judged against the contract in
  // force, and two judged together could put the older one in force last.
  absl::Mutex activate_mu_;
};

// Two-person control (approvals.h): the approver role's officers list the
// requests waiting for them and approve or deny them, each step logged
// (approval_service.cc).
class ApprovalService final : public v1::ApprovalService::Service {
 public:
  explicit ApprovalService(Gate* gate) : gate_(gate) {}
  grpc::Status ListApprovals(grpc::ServerContext* ctx,
                             const v1::ListApprovalsRequest* request,
                             v1::ListApprovalsResponse* response) override;
  grpc::Status Approve(grpc::ServerContext* ctx,
                       const v1::DecideApprovalRequest* request,
                       v1::ApprovalRequest* response) override;
  grpc::Status Deny(grpc::ServerContext* ctx,
                    const v1::DecideApprovalRequest* request,
                    v1::ApprovalRequest* response) override;

 private:
  grpc::Status Decide(grpc::ServerContext* ctx,
                      const v1::DecideApprovalRequest& request, bool approve,
                      v1::ApprovalRequest* response);

  Gate* gate_;
};

using LaneStatusFn = std::function<std::vector<v1::LaneStatus>()>;
// A masked snapshot of one of this daemon's own lanes; nullopt: the lane is
// not this daemon's (a capture node's lane is asked through the broker).
using LaneSnapshotFn =
    std::function<std::optional<absl::StatusOr<v1::Snapshot>>(
        const std::string& lane_id)>;

// Lane state and counters for operators, never images; crossings from
// capture nodes, sealed to the vault.
class LaneService final : public v1::LaneService::Service {
 public:
  LaneService(Gate* gate, LaneStatusFn lanes, wiring::VaultIntake* intake)
      : gate_(gate), lanes_(std::move(lanes)), intake_(intake) {}
  grpc::Status ListLanes(grpc::ServerContext* ctx,
                         const v1::ListLanesRequest* request,
                         v1::ListLanesResponse* response) override;
  grpc::Status GetLaneStatus(grpc::ServerContext* ctx,
                             const v1::GetLaneStatusRequest* request,
                             v1::LaneStatus* response) override;
  grpc::Status SubmitCrossing(grpc::ServerContext* ctx,
                              const v1::SubmitCrossingRequest* request,
                              v1::SubmitCrossingResponse* response) override;
  // Snapshots (lane_snapshot.cc).
  grpc::Status GetSnapshot(grpc::ServerContext* ctx,
                           const v1::GetSnapshotRequest* request,
                           v1::Snapshot* response) override;
  grpc::Status AwaitSnapshot(grpc::ServerContext* ctx,
                             const v1::AwaitSnapshotRequest* request,
                             v1::AwaitSnapshotResponse* response) override;
  grpc::Status SubmitSnapshot(grpc::ServerContext* ctx,
                              const v1::SubmitSnapshotRequest* request,
                              v1::SubmitSnapshotResponse* response) override;
  void SetLocalSnapshots(LaneSnapshotFn fn) { local_snapshot_ = std::move(fn); }

 private:
  // Logs an intake that failed after the gate admitted it, and answers.
  // The keyed digest that identifies a submitted record; clears what is
  // never stored (ids, candidates, unknown fields) from `record`.
  std::string CanonicalDigest(v1::Record& record) const;
  void LogResubmission(v1::AuditEntry attempt);
  grpc::Status IntakeFailed(v1::AuditEntry attempt,
                            const absl::Status& failure);

  Gate* gate_;
  LaneStatusFn lanes_;
  wiring::VaultIntake* intake_;
  LaneSnapshotFn local_snapshot_;
  SnapshotBroker snapshots_;
};

}  // namespace lanevault::api

#endif  // LANEVAULT_API_SERVICES_H_
