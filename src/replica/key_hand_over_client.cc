#include "replica/key_hand_over_client.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "replica/kek_messages.h"
#include "rpc/tls.h"

namespace lanevault::replica {
namespace {

absl::Status FromGrpc(const grpc::Status& s, const vault::ReplicaPeer& peer) {
  return absl::Status(
      static_cast<absl::StatusCode>(s.error_code()),
      absl::StrCat("replica ", peer.address, ": ", s.error_message()));
}

}  // namespace

absl::StatusOr<std::unique_ptr<GrpcKeyPeers>> GrpcKeyPeers::Create(
    const std::string& ca_file, const std::string& cert_file,
    const std::string& key_file, ServerNames server_names,
    absl::Duration timeout) {
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> creds =
      rpc::ClientTlsCredentials(ca_file, cert_file, key_file);
  if (!creds.ok()) return creds.status();
  return std::unique_ptr<GrpcKeyPeers>(
      new GrpcKeyPeers(std::move(*creds), std::move(server_names), timeout));
}

bool GrpcKeyPeers::Configured(const vault::ReplicaPeer& peer) const {
  auto name = server_names_.find(peer.principal);
  return name != server_names_.end() && !name->second.empty();
}

absl::StatusOr<v1::ReplicaKeys::Stub*> GrpcKeyPeers::StubFor(
    const vault::ReplicaPeer& peer) {
  if (!Configured(peer)) {
    return absl::PermissionDeniedError(absl::StrCat(
        "replica ", peer.address, " names principal ", peer.principal,
        ", which is not a configured replica (replica_server_names): no key "
        "is handed to it"));
  }
  const std::string& name = server_names_.at(peer.principal);
  absl::MutexLock lock(&mu_);
  // One channel per address and name: the row's principal picks the name.
  std::unique_ptr<v1::ReplicaKeys::Stub>& stub =
      stubs_[absl::StrCat(peer.address, "\n", name)];
  if (stub == nullptr) {
    grpc::ChannelArguments args;
    // A peer that comes back is reached within seconds.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
    // gRPC checks the server certificate against this name instead of the
    // address's host: only the configured replica's certificate passes.
    args.SetSslTargetNameOverride(name);
    args.SetMaxReceiveMessageSize(kMaxHandOverMessageBytes);
    stub = v1::ReplicaKeys::NewStub(
        grpc::CreateCustomChannel(peer.address, credentials_, args));
  }
  return stub.get();
}

absl::Status GrpcKeyPeers::Push(const vault::ReplicaPeer& peer,
                                const std::vector<vault::StoredKek>& keks) {
  v1::PushKeksRequest request;
  for (const vault::StoredKek& k : keks) *request.add_keks() = KekToProto(k);
  v1::PushKeksResponse response;
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
  absl::StatusOr<v1::ReplicaKeys::Stub*> stub = StubFor(peer);
  if (!stub.ok()) return stub.status();
  grpc::Status s = (*stub)->PushKeks(&ctx, request, &response);
  if (!s.ok()) return FromGrpc(s, peer);
  for (const vault::StoredKek& k : keks) {
    bool stored = false;
    for (uint32_t v : response.stored()) stored = stored || v == k.version;
    if (!stored) {
      return absl::DataLossError(absl::StrCat(
          "replica ", peer.address, " did not store key version ", k.version));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<vault::KeyPeers::Fetched> GrpcKeyPeers::Fetch(
    const vault::ReplicaPeer& peer, const std::vector<uint32_t>& versions,
    bool log_seed) {
  if (versions.size() > static_cast<size_t>(kMaxVersionsPerCall)) {
    // The peer refuses longer lists: asked in parts.
    Fetched out;
    for (size_t from = 0; from < versions.size(); from += kMaxVersionsPerCall) {
      const size_t to =
          std::min(versions.size(), from + size_t{kMaxVersionsPerCall});
      absl::StatusOr<Fetched> part =
          Fetch(peer, {versions.begin() + from, versions.begin() + to},
                log_seed && from == 0);
      if (!part.ok()) return part.status();
      for (vault::StoredKek& k : part->keks) out.keks.push_back(std::move(k));
      if (from == 0) out.wrapped_log_seed = std::move(part->wrapped_log_seed);
    }
    return out;
  }
  v1::FetchKeksRequest request;
  for (uint32_t v : versions) request.add_versions(v);
  request.set_log_seed(log_seed);
  v1::FetchKeksResponse response;
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
  absl::StatusOr<v1::ReplicaKeys::Stub*> stub = StubFor(peer);
  if (!stub.ok()) return stub.status();
  grpc::Status s = (*stub)->FetchKeks(&ctx, request, &response);
  if (!s.ok()) return FromGrpc(s, peer);
  Fetched out;
  for (const v1::ReplicaKek& k : response.keks()) {
    out.keks.push_back(KekFromProto(k));
  }
  out.wrapped_log_seed = response.wrapped_log_seed();
  return out;
}

}  // namespace lanevault::replica
