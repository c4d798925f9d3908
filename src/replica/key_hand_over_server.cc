#include "replica/key_hand_over_server.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "api/gate.h"
#include "api/listener_security.h"
#include "api/peer_certificates.h"
#include "api/refusal_limiter.h"
#include "common/files.h"
#include "common/logging.h"
#include "common/time_util.h"
#include "grpcpp/server_builder.h"
#include "replica/kek_messages.h"

namespace lanevault::replica {

class KeyHandOverServer::Service final : public v1::ReplicaKeys::Service {
 public:
  Service(std::atomic<vault::Vault*>* vault, const api::PeerVerifier* peers,
          const std::vector<std::string>& allowed, Clock* clock)
      : vault_(vault),
        peers_(peers),
        allowed_(allowed.begin(), allowed.end()),
        limiter_(clock, api::RefusalLimits{}) {}

  // Summaries of refusal windows that have ended (the heartbeat).
  void FlushRefusals() {
    if (vault::Vault* vault = vault_->load(); vault != nullptr) {
      LogSummaries(*vault, limiter_.TakeDue(false)).IgnoreError();
    }
  }

  grpc::Status PushKeks(grpc::ServerContext* ctx,
                        const v1::PushKeksRequest* request,
                        v1::PushKeksResponse* response) override {
    if (request->keks_size() > kMaxVersionsPerCall) return TooMany();
    std::vector<vault::StoredKek> keks;
    std::vector<uint32_t> versions;
    for (const v1::ReplicaKek& k : request->keks()) {
      keks.push_back(KekFromProto(k));
      versions.push_back(k.version());
    }
    const std::string what =
        absl::StrCat("key versions ", absl::StrJoin(versions, ","),
                     " handed over to this replica's key store");
    absl::StatusOr<std::string> caller = Admit(*ctx, "PushKeks", what);
    if (!caller.ok()) return ToGrpc(caller.status());
    if (absl::Status s = vault_->load()->AcceptPeerKeks(keks); !s.ok()) {
      spdlog::error("key hand-over from {} refused: {}", *caller, s.message());
      return ToGrpc(s);
    }
    for (uint32_t v : versions) response->add_stored(v);
    return grpc::Status::OK;
  }

  grpc::Status FetchKeks(grpc::ServerContext* ctx,
                         const v1::FetchKeksRequest* request,
                         v1::FetchKeksResponse* response) override {
    if (request->versions_size() > kMaxVersionsPerCall) return TooMany();
    std::vector<uint32_t> versions(request->versions().begin(),
                                   request->versions().end());
    const std::string what =
        absl::StrCat("key versions ", absl::StrJoin(versions, ","),
                     request->log_seed() ? " and the log's signing seed" : "",
                     " fetched from this replica's key store");
    absl::StatusOr<std::string> caller = Admit(*ctx, "FetchKeks", what);
    if (!caller.ok()) return ToGrpc(caller.status());
    absl::StatusOr<std::vector<vault::StoredKek>> held =
        vault_->load()->HeldKeks(versions);
    if (!held.ok()) return ToGrpc(held.status());
    for (const vault::StoredKek& k : *held) {
      *response->add_keks() = KekToProto(k);
    }
    if (request->log_seed()) {
      absl::StatusOr<std::string> seed = vault_->load()->WrappedLogSeed();
      if (!seed.ok()) return ToGrpc(seed.status());
      response->set_wrapped_log_seed(*seed);
    }
    return grpc::Status::OK;
  }

 private:
  // "ipv4:127.0.0.1:5555" -> "ipv4:127.0.0.1": a caller's new connections
  // share one key.
  static std::string PeerHost(const std::string& peer) {
    const size_t colon = peer.rfind(':');
    return colon == std::string::npos || colon < 5 ? peer
                                                   : peer.substr(0, colon);
  }
  absl::Status LogSummaries(vault::Vault& vault,
                            std::vector<api::RefusalLimiter::Summary> due) {
    absl::Status status;
    for (api::RefusalLimiter::Summary& s : due) {
      v1::AuditEntry e = std::move(s.sample);
      e.set_sequence(0);
      *e.mutable_time() = ToProto(absl::Now());
      e.set_reason_code("refusals_summarised");
      e.set_refusal_count(v1::REFUSAL_COUNT_NONE);
      e.set_detail(absl::StrCat(s.suppressed, " more key hand-over refusals (",
                                s.kind, ") of ", s.key,
                                " not logged one by one"));
      api::BoundAuditEntry(e);
      if (absl::Status a = vault.log().Append(std::move(e)).status(); !a.ok()) {
        status = a;
      }
    }
    return status;
  }

  // Refused before anything is logged or read: the list is not the
  // caller's to make long (the message size cap bounds the bytes).
  static grpc::Status TooMany() {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("at most ", kMaxVersionsPerCall,
                                     " key versions per call"));
  }
  static grpc::Status ToGrpc(const absl::Status& s) {
    return grpc::Status(static_cast<grpc::StatusCode>(s.code()),
                        std::string(s.message()));
  }

  // The caller's principal when it is a listed replica; the call is logged
  // either way (nothing secret in the entry: versions only).
  absl::StatusOr<std::string> Admit(const grpc::ServerContext& ctx,
                                    absl::string_view method,
                                    absl::string_view what) {
    vault::Vault* vault = vault_->load();
    if (vault == nullptr) {
      return absl::UnavailableError("this replica's vault is still opening");
    }
    v1::AuditEntry e;
    *e.mutable_time() = ToProto(absl::Now());
    e.set_action(v1::ACTION_ROTATE_KEYS);
    e.set_role("replica");
    e.set_method(absl::StrCat("/lanevault.v1.ReplicaKeys/", method));
    absl::StatusOr<api::PeerIdentity> id =
        api::VerifyPeerCertificate(*peers_, ctx.auth_context().get());
    absl::Status refusal;
    if (!id.ok()) {
      e.set_principal(absl::StrCat("peer:", ctx.peer()));
      e.set_reason_code("unauthenticated");
      refusal = absl::UnauthenticatedError(id.status().message());
    } else if (!allowed_.contains(id->principal)) {
      e.set_principal(id->principal);
      e.set_reason_code("not_a_replica");
      refusal = absl::PermissionDeniedError(
          absl::StrCat(id->principal,
                       " is not a replica of this vault: the key hand-over "
                       "is for the replicas listed in "
                       "vault.postgres.replica_peers only"));
    } else {
      e.set_principal(id->principal);
    }
    if (!refusal.ok()) {
      e.set_verdict(v1::VERDICT_DENY);
      e.set_refusal_count(v1::REFUSAL_COUNT_CALLER);
      e.set_detail(std::string(refusal.message()));
      api::BoundAuditEntry(e);
      // Anyone who reaches the port can repeat a refused call: the first
      // few a window per caller are logged, the rest counted in a summary.
      const std::string key = id.ok() ? id->principal : PeerHost(ctx.peer());
      std::vector<api::RefusalLimiter::Summary> due;
      const bool logged = limiter_.Admit(e.reason_code(), key, e, &due);
      if (!LogSummaries(*vault, std::move(due)).ok()) {
        return absl::UnavailableError("the refusals cannot be logged");
      }
      if (!logged) return refusal;
      if (absl::Status s = vault->log().Append(std::move(e)).status();
          !s.ok()) {
        return absl::UnavailableError(
            absl::StrCat("the refusal cannot be logged: ", s.message()));
      }
      spdlog::warn("key hand-over {} refused: {}", method, refusal.message());
      return refusal;
    }
    e.set_verdict(v1::VERDICT_ALLOW);
    e.set_reason_code("key_hand_over");
    e.set_detail(std::string(what));
    // Logged before anything is handed over or taken.
    if (absl::Status s = vault->log().Append(std::move(e)).status(); !s.ok()) {
      return absl::UnavailableError(
          absl::StrCat("the hand-over cannot be logged: ", s.message()));
    }
    return id->principal;
  }

  std::atomic<vault::Vault*>* const vault_;
  const api::PeerVerifier* const peers_;
  const absl::flat_hash_set<std::string> allowed_;
  api::RefusalLimiter limiter_;
};

absl::StatusOr<std::unique_ptr<KeyHandOverServer>> KeyHandOverServer::Start(
    const KeyHandOverOptions& options, Clock* clock) {
  if (options.replica_principals.empty()) {
    return absl::InvalidArgumentError(
        "vault.postgres.replica_peers: name the other replicas' principals "
        "(no one else may call the key hand-over)");
  }
  absl::StatusOr<api::ListenerSecurity> security = api::MakeListenerSecurity(
      options.listen, options.tls, /*dev_insecure_loopback=*/false, clock, "");
  if (!security.ok()) return security.status();
  std::unique_ptr<KeyHandOverServer> server(new KeyHandOverServer());
  server->peers_ = std::move(security->peers);
  server->service_ = std::make_unique<Service>(
      &server->vault_, server->peers_.get(), options.replica_principals, clock);
  grpc::ServerBuilder builder;
  builder.SetMaxReceiveMessageSize(kMaxHandOverMessageBytes);
  builder.AddListeningPort(options.listen, security->credentials,
                           &server->port_);
  builder.RegisterService(server->service_.get());
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen for the key hand-over on ", options.listen));
  }
  return server;
}

void KeyHandOverServer::Serve(vault::Vault* vault) {
  if (heartbeat_.joinable()) return;
  vault_ = vault;
  Beat();  // at once: peers wait for this replica from now on
  heartbeat_ = std::thread([this] {
    while (!stop_.WaitForNotificationWithTimeout(vault::kPeerHeartbeatEvery)) {
      Beat();
    }
  });
}

void KeyHandOverServer::Beat() {
  service_->FlushRefusals();
  if (absl::Status s = vault_.load()->SyncReplicaKeys(); !s.ok()) {
    spdlog::warn("replica heartbeat and key sync failed (retried): {}",
                 s.message());
  }
}

void KeyHandOverServer::Shutdown() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (heartbeat_.joinable()) {
    heartbeat_.join();
    if (absl::Status s = vault_.load()->LeaveReplicas(); !s.ok()) {
      spdlog::warn(
          "could not withdraw from the replicas (they wait for its "
          "heartbeat to age instead): {}",
          s.message());
    }
  }
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::seconds(2));
    server_.reset();
  }
}

KeyHandOverServer::~KeyHandOverServer() { Shutdown(); }

absl::StatusOr<std::string> CertificatePrincipal(const v1::TlsConfig& tls,
                                                 const std::string& cert_file,
                                                 Clock* clock) {
  api::PeerTrust trust;
  trust.ca_file = tls.ca_cert();
  trust.principal_from_uri = tls.principal_from_uri();
  absl::StatusOr<std::unique_ptr<api::PeerVerifier>> verifier =
      api::PeerVerifier::Create(trust, clock);
  if (!verifier.ok()) return verifier.status();
  absl::StatusOr<std::string> pem = ReadFileToString(cert_file);
  if (!pem.ok()) return pem.status();
  absl::StatusOr<api::PeerIdentity> id = (*verifier)->Verify(*pem, "");
  if (!id.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("vault.postgres.replica_client_cert ", cert_file, ": ",
                     id.status().message()));
  }
  return id->principal;
}

}  // namespace lanevault::replica
