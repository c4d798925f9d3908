// Lane operators see lane state and counters: never images or plate text.

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "api/services.h"
#include "common/logging.h"
#include "common/time_util.h"
#include "crypto/secure_bytes.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace lanevault::api {
namespace {

CallSpec ViewLanes() {
  CallSpec spec;
  spec.action = v1::ACTION_VIEW_LANES;
  return spec;
}

}  // namespace

grpc::Status LaneService::ListLanes(grpc::ServerContext* ctx,
                                    const v1::ListLanesRequest* request,
                                    v1::ListLanesResponse* response) {
  return gate_->Run(ctx, *request, ViewLanes(), [&](Admission&) {
    for (v1::LaneStatus& lane : lanes_()) {
      *response->add_lanes() = std::move(lane);
    }
    return grpc::Status::OK;
  });
}

grpc::Status LaneService::GetLaneStatus(grpc::ServerContext* ctx,
                                        const v1::GetLaneStatusRequest* request,
                                        v1::LaneStatus* response) {
  return gate_->Run(ctx, *request, ViewLanes(), [&](Admission&) {
    for (v1::LaneStatus& lane : lanes_()) {
      if (lane.lane_id() == request->lane_id()) {
        *response = std::move(lane);
        return grpc::Status::OK;
      }
    }
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        "no lane " + request->lane_id());
  });
}

std::string LaneService::CanonicalDigest(v1::Record& record) const {
  // What would be stored, in one encoding: fields this vault does not know
  // dropped (nothing rides along unseen), what is never stored (the node's
  // ids, filler) cleared, and serialised afresh, so that field order, varint
  // forms or a repeated field do not make a replay a new record. The
  // crossing's plate readings are left out too, though intake keeps a few:
  // a resend carries the same ones, and a crossing sent before readings were
  // kept (and sent again after an upgrade) stays the one record it was.
  record.DiscardUnknownFields();
  record.clear_record_id();
  google::protobuf::RepeatedPtrField<v1::PlateCandidate> readings;
  readings.Swap(record.mutable_plate_candidates());
  for (v1::Item& item : *record.mutable_items()) {
    item.clear_item_id();
    item.clear_padding();           // the vault's own, added when it seals
    item.clear_plate_candidates();  // intake's to fill, from the crossing's
  }
  std::string canonical;
  {
    google::protobuf::io::StringOutputStream out(&canonical);
    google::protobuf::io::CodedOutputStream coded(&out);
    coded.SetSerializationDeterministic(true);
    record.SerializeToCodedStream(&coded);
  }
  record.mutable_plate_candidates()->Swap(&readings);
  std::string digest = gate_->vault().SubmissionDigest(canonical);
  crypto::Wipe(canonical);
  return digest;
}

grpc::Status LaneService::SubmitCrossing(
    grpc::ServerContext* ctx, const v1::SubmitCrossingRequest* request,
    v1::SubmitCrossingResponse* response) {
  v1::Record record;
  std::string digest;
  CallSpec spec;
  spec.action = v1::ACTION_INTAKE;
  spec.vault_logs = true;
  spec.detail = absl::StrCat("lane ", request->lane_id(), " checkpoint ",
                             request->checkpoint_id());
  // What the caller's binding must allow; `check` holds the record to them.
  spec.lane = request->lane_id();
  spec.record_checkpoint = request->checkpoint_id();
  // The box is opened before the decision so that a record that does not
  // open, parse or fit the vault's clock is refused, and logged, as a bad
  // submission: counted apart from evidence refusals, since damage in
  // transit and a drifting clock are faults more often than attacks.
  spec.check_counts = v1::REFUSAL_COUNT_MALFORMED_SUBMISSION;
  spec.check = [&]() -> absl::Status {
    const std::string& key = request->idempotency_key();
    if (key.size() > 128 || !std::all_of(key.begin(), key.end(), [](char c) {
          return c > ' ' && c < 0x7f;  // printable, no spaces
        })) {
      return absl::InvalidArgumentError(
          "an idempotency key is up to 128 printable characters, no spaces");
    }
    absl::StatusOr<crypto::SecureBytes> plain =
        gate_->vault().intake_key().Open(request->sealed_record());
    if (!plain.ok()) return plain.status();
    const absl::string_view bytes(reinterpret_cast<const char*>(plain->data()),
                                  plain->size());
    if (!record.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
      return absl::InvalidArgumentError("the sealed record does not parse");
    }
    if (record.lane_id() != request->lane_id()) {
      return absl::InvalidArgumentError(
          "the record's lane is not the lane it was submitted for");
    }
    if (record.checkpoint_id() != request->checkpoint_id()) {
      return absl::InvalidArgumentError(
          "the record's checkpoint is not the checkpoint it was submitted "
          "for");
    }
    if (absl::Status s = intake_->CheckSubmission(record); !s.ok()) return s;
    digest = CanonicalDigest(record);
    return absl::OkStatus();
  };
  return gate_->Run(ctx, *request, spec, [&](Admission& a) {
    // The id is the submitter's, the lane's and the content's: a resend,
    // or a replay of the same box under another idempotency key, is the
    // same record, and the node never picks an id (nor learns one: a node
    // that knew its records' ids could, with an inspector, tell canaries
    // apart).
    record.set_record_id(gate_->vault().IdempotentRecordId(
        a.caller.principal, request->lane_id(), digest));
    // Item ids are the vault's too: made from the record's, so none of the
    // node's naming reaches an inspector.
    for (int i = 0; i < record.items_size(); ++i) {
      record.mutable_items(i)->set_item_id(absl::StrCat(
          "itm_",
          gate_->vault()
              .IdempotentRecordId(record.record_id(), "item", absl::StrCat(i))
              .substr(4)));
    }
    v1::AuditEntry attempt = a.entry;
    absl::StatusOr<wiring::VaultIntake::Kept> kept =
        intake_->Take(std::move(record), std::move(a.entry), digest);
    if (absl::IsAlreadyExists(kept.status())) {
      // Stored and acknowledged before: acknowledged again, nothing new is
      // kept, and the resend is in the log (a replay shows there).
      LogResubmission(std::move(attempt));
      response->set_already_stored(true);
      return grpc::Status::OK;
    }
    if (!kept.ok()) return IntakeFailed(std::move(attempt), kept.status());
    response->set_items_kept(kept->items_kept);
    response->set_items_dropped(kept->items_dropped);
    return grpc::Status::OK;
  });
}

void LaneService::LogResubmission(v1::AuditEntry attempt) {
  attempt.set_reason_code("resubmission");
  attempt.set_detail(
      absl::StrCat(attempt.detail(), ": stored before, nothing new kept"));
  attempt.clear_item_ids();
  *attempt.mutable_time() = ToProto(gate_->vault().clock()->Now());
  if (absl::StatusOr<uint64_t> seq =
          gate_->vault().log().Append(std::move(attempt));
      !seq.ok()) {
    spdlog::error("cannot log a resubmission: {}", seq.status().message());
  }
}

grpc::Status LaneService::IntakeFailed(v1::AuditEntry attempt,
                                       const absl::Status& failure) {
  // The intake's own entry went down with its transaction; the failure is
  // logged on its own, so no submission vanishes without a trace.
  const bool clash = absl::IsInvalidArgument(failure);
  spdlog::warn("intake from {} refused: {}", attempt.principal(),
               failure.message());
  attempt.set_verdict(v1::VERDICT_DENY);
  attempt.set_reason_code(clash ? "intake_clash" : "intake_failed");
  attempt.set_detail(absl::StrCat(attempt.detail(), ": ", failure.message()));
  attempt.set_refusal_count(clash ? v1::REFUSAL_COUNT_MALFORMED_SUBMISSION
                                  : v1::REFUSAL_COUNT_NONE);
  attempt.clear_item_ids();
  *attempt.mutable_time() = ToProto(gate_->vault().clock()->Now());
  const v1::AuditEntry logged = attempt;
  if (absl::StatusOr<uint64_t> seq =
          gate_->vault().log().Append(std::move(attempt));
      !seq.ok()) {
    spdlog::error("cannot log a failed intake: {}", seq.status().message());
  } else if (clash) {
    gate_->CountTowardsLockout(logged);
  }
  return ToGrpc(failure);
}

}  // namespace lanevault::api
