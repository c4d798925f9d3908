// The attacks a security review played on the replica key hand-over
// (issue 32), each now refused: two Vaults on one real PostgreSQL vault,
// each with its own key store file, handing keys over the real key
// hand-over service (mutual TLS on loopback, certificates by the dev PKI
// script). The attacker writes to the database and runs a gRPC server with
// a server certificate the same CA issued for a host it controls.

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "common/files.h"
#include "common/ids.h"
#include "common/time_util.h"
#include "crypto/master_key.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "lanevault/v1/replica.grpc.pb.h"
#include "replica/key_hand_over_client.h"
#include "replica/key_hand_over_server.h"
#include "rpc/tls.h"
#include "testing/postgres_server.h"
#include "testing/replica_keys_fixture.h"
#include "testing/test_pki.h"
#include "testing/test_util.h"
#include "vault/postgres.h"
#include "vault/vault.h"

namespace lanevault {
namespace {

using testing::TempDir;

using ReplicaKeysAttackBase = testing::ReplicaKeysFixture;

// ---- attacker helpers ----
class FakePeer final : public v1::ReplicaKeys::Service {
 public:
  grpc::Status PushKeks(grpc::ServerContext*, const v1::PushKeksRequest* req,
                        v1::PushKeksResponse* resp) override {
    absl::MutexLock l(&mu);
    if (refuse)
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "attacker says no");
    for (const auto& k : req->keks()) {
      pushed.push_back(k);
      resp->add_stored(k.version());
    }
    return grpc::Status::OK;
  }
  grpc::Status FetchKeks(grpc::ServerContext*, const v1::FetchKeksRequest*,
                         v1::FetchKeksResponse* resp) override {
    absl::MutexLock l(&mu);
    for (const auto& k : serve) *resp->add_keks() = k;
    return grpc::Status::OK;
  }
  absl::Mutex mu;
  bool refuse = false;
  std::vector<v1::ReplicaKek> pushed, serve;
};

class ReplicaKeysAttackTest : public ReplicaKeysAttackBase {
 protected:
  // Root on the database host runs a ReplicaKeys server with ANY server
  // certificate the CA issued for a host it controls (here: a serverAuth
  // cert "db-host" for 127.0.0.1, unrelated to replica_peers).
  void StartFake() {
    testing::CertSpec spec;
    spec.common_name = "db-host.attacker";
    spec.uri = "spiffe://attacker/db,IP:127.0.0.1";
    spec.serial = 6666;
    spec.client_auth = false;
    testing::IssueCert(dir_.Join("pki"), "attacker", spec);
    auto cert = ReadFileToString(dir_.Join("pki/attacker.pem"));
    auto key = ReadFileToString(dir_.Join("pki/attacker.key"));
    ASSERT_TRUE(cert.ok() && key.ok());
    grpc::SslServerCredentialsOptions o(
        GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    o.pem_key_cert_pairs.push_back({*key, *cert});
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(o),
                       &fake_port_);
    b.RegisterService(&fake_);
    fake_server_ = b.BuildAndStart();
    ASSERT_NE(fake_server_, nullptr);
    AnnounceFake();
  }
  void AnnounceFake() {
    Sql(
        absl::StrCat("INSERT INTO replicas(address, principal, heartbeat_us) "
                     "VALUES('127.0.0.1:",
                     fake_port_,
                     "', 'not-a-listed-replica', (extract(epoch FROM "
                     "clock_timestamp())*1000000)::bigint) "
                     "ON CONFLICT(address) DO UPDATE SET heartbeat_us = "
                     "excluded.heartbeat_us"));
  }
  v1::Record RecordDue(absl::string_view plate, absl::Duration in) {
    v1::Record r = MakeRecord(plate);
    *r.mutable_items(0)->mutable_deadline() = ToProto(clock_.Now() + in);
    return r;
  }
  int CountReason(vault::Vault& v, uint64_t from, const std::string& reason) {
    auto e = v.log().Entries(from, v.log().Size());
    EXPECT_TRUE(e.ok()) << e.status();
    int n = 0;
    if (e.ok())
      for (const auto& x : *e) n += x.reason_code() == reason;
    return n;
  }
  int Alerts(vault::Vault& v, const std::string& kind) {
    auto alerts = v.oversight().Alerts(/*include_acknowledged=*/true);
    EXPECT_TRUE(alerts.ok()) << alerts.status();
    int n = 0;
    if (alerts.ok()) {
      for (const auto& a : *alerts)
        n += a.kind == kind && a.severity == "critical";
    }
    return n;
  }
  void TearDown() override {
    if (fake_server_) fake_server_->Shutdown();
    ReplicaKeysAttackBase::TearDown();
  }
  FakePeer fake_;
  int fake_port_ = 0;
  std::unique_ptr<grpc::Server> fake_server_;
};

// 1. A database writer marks a live KEK destroyed in the registry: each
// replica checks its own rules (period not ended, current generation, items
// still under it), keeps the key, and raises a critical alert once.
// Before the fix both replicas erased it and reads failed DATA_LOSS.
TEST_F(ReplicaKeysAttackTest, RegistryFlipDoesNotEraseALiveKek) {
  const std::string id = Take(*a_.vault, "EVID001");
  const auto v = VersionsInUse(*a_.vault);
  ASSERT_EQ(v.size(), 1u);
  auto held = a_.vault->HeldKeks(v);
  ASSERT_TRUE(held.ok() && held->size() == 1);
  const std::string wrapped = (*held)[0].wrapped;
  ASSERT_EQ(ReadPlate(*b_.vault, id).value_or(""), "EVID001");
  Sql(absl::StrCat("UPDATE kek_registry SET destroyed_us = 1 WHERE version = ",
                   v[0]));
  for (int beat = 0; beat < 2; ++beat) {  // the 2 s heartbeat, twice
    ASSERT_TRUE(a_.vault->SyncReplicaKeys().ok());
    ASSERT_TRUE(b_.vault->SyncReplicaKeys().ok());
  }
  EXPECT_TRUE(KeyStoreHolds(a_, wrapped));
  EXPECT_TRUE(KeyStoreHolds(b_, wrapped));
  EXPECT_EQ(ReadPlate(*a_.vault, id).value_or("lost"), "EVID001");
  EXPECT_EQ(ReadPlate(*b_.vault, id).value_or("lost"), "EVID001");
  // One alert per replica (the alerts table is the shared database's).
  EXPECT_EQ(Alerts(*a_.vault, "key_destruction_refused"), 2);
}

// 3. A destroyed KEK is offered again (the registry row cleared, the old
// wrapped key served by a fake peer and pushed by a replica's client): each
// key store keeps a tombstone of what it destroyed and refuses it forever.
// Before the fix both replicas took it back and it opened a restored row.
TEST_F(ReplicaKeysAttackTest, DestroyedKekStaysDestroyed) {
  const std::string id = Take(*a_.vault, "RESU001");
  const auto v = VersionsInUse(*a_.vault);
  ASSERT_EQ(v.size(), 1u);
  auto held = a_.vault->HeldKeks(v);
  ASSERT_TRUE(held.ok() && held->size() == 1);
  const vault::StoredKek old = (*held)[0];
  auto db = Db();
  auto row = db.Exec(
      "SELECT encode(wrapped_key, 'hex') FROM items WHERE record_id = $1",
      vault::pg::Params().Text(id));
  ASSERT_TRUE(row.ok() && row->rows() == 1) << row.status();
  const std::string old_wrapped_key_hex = row->Text(0, 0);
  Replica& holder = Holder();
  Replica& standby = Standby();
  ASSERT_TRUE(holder.vault->RotateKeys(Entry(v1::ACTION_ROTATE_KEYS, "")).ok());
  RewrapAll(*holder.vault);
  ASSERT_TRUE(standby.vault->SyncReplicaKeys().ok());
  ASSERT_FALSE(KeyStoreHolds(a_, old.wrapped));
  ASSERT_FALSE(KeyStoreHolds(b_, old.wrapped));

  StartFake();
  {
    absl::MutexLock l(&fake_.mu);
    v1::ReplicaKek k;
    k.set_version(old.version);
    k.set_period_day(old.period_day);
    k.set_generation(old.generation);
    k.set_wrapped(old.wrapped);
    fake_.serve.push_back(k);
  }
  Sql(absl::StrCat(
      "UPDATE kek_registry SET destroyed_us = NULL WHERE version = ",
      old.version));
  ASSERT_TRUE(a_.vault->SyncReplicaKeys().ok());
  ASSERT_TRUE(b_.vault->SyncReplicaKeys().ok());
  // A replica's own client (a stolen replica certificate) pushes it too.
  const vault::ReplicaPeer to_a{absl::StrCat("127.0.0.1:", a_.server->port()),
                                "replica-a"};
  absl::Status pushed = b_.peers->Push(to_a, {old});
  EXPECT_EQ(pushed.code(), absl::StatusCode::kPermissionDenied) << pushed;
  EXPECT_FALSE(KeyStoreHolds(a_, old.wrapped));
  EXPECT_FALSE(KeyStoreHolds(b_, old.wrapped));
  ASSERT_TRUE(
      db.Exec(absl::StrCat("UPDATE items SET key_version = ", old.version,
                           ", wrapped_key = decode($1, 'hex') WHERE "
                           "record_id = $2"),
              vault::pg::Params().Text(old_wrapped_key_hex).Text(id))
          .ok());
  EXPECT_FALSE(ReadPlate(*a_.vault, id).ok());
  EXPECT_FALSE(ReadPlate(*b_.vault, id).ok());
}

// 4. A version number taken twice: the database writer frees a live
// version, a replacement replica with a fresh key store makes a new KEK
// under it and pushes it to the replica that holds the old one. The holder
// compares and refuses, so nothing is sealed under the new key; and a key
// store refuses to make a version at or below one it has seen. Before the
// fix the push was acknowledged unstored and each replica lost the other's
// records (DATA_LOSS both ways).
TEST_F(ReplicaKeysAttackTest, VersionTakenTwiceIsRefused) {
  const std::string on_a = Take(*a_.vault, "COLL001");
  const auto v = VersionsInUse(*a_.vault);
  ASSERT_EQ(v.size(), 1u);
  auto before = a_.vault->HeldKeks({v[0]});
  ASSERT_TRUE(before.ok() && before->size() == 1);
  const std::string old_b_address =
      absl::StrCat("127.0.0.1:", b_.server->port());
  const std::string lost = b_.key_store;
  Stop(b_);
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::remove((lost + suffix).c_str());
  }
  Sql("DELETE FROM replicas WHERE address = '" + old_b_address + "'");
  Sql(absl::StrCat("DELETE FROM kek_registry WHERE version = ", v[0]));
  Start(b_, "replica-b");
  Sql(absl::StrCat("SELECT setval('kek_versions', ", v[0], ", false)"));
  v1::Record r = MakeRecord("COLL002");  // the same deadline day
  absl::Status on_b =
      b_.vault->Intake(r, Entry(v1::ACTION_INTAKE, r.record_id()));
  EXPECT_FALSE(on_b.ok());
  auto after = a_.vault->HeldKeks({v[0]});
  ASSERT_TRUE(after.ok() && after->size() == 1);
  EXPECT_EQ((*after)[0].wrapped, (*before)[0].wrapped);
  EXPECT_EQ(ReadPlate(*a_.vault, on_a).value_or("lost"), "COLL001");

  // A itself is handed the number it holds for a new period: refused.
  Sql(absl::StrCat("DELETE FROM kek_registry WHERE version = ", v[0]));
  Sql(absl::StrCat("SELECT setval('kek_versions', ", v[0], ", false)"));
  v1::Record later = MakeRecord("COLL003");
  *later.mutable_items(0)->mutable_deadline() =
      ToProto(clock_.Now() + absl::Hours(24 * 60));
  absl::Status on_a2 =
      a_.vault->Intake(later, Entry(v1::ACTION_INTAKE, later.record_id()));
  EXPECT_EQ(on_a2.code(), absl::StatusCode::kFailedPrecondition) << on_a2;
}

// 2. A row in the replicas table points at the attacker's server, which
// holds a server certificate from the same CA for a host it controls. A
// principal that is not configured is not called at all (and does not block
// intake); a configured principal's row pointing there fails the server
// name check. Before the fix the fake peer received every new KEK.
TEST_F(ReplicaKeysAttackTest, FakePeerFromTheReplicasTableGetsNoKek) {
  StartFake();  // its row names principal not-a-listed-replica
  v1::Record r = RecordDue("HARV001", absl::Hours(24 * 40));
  absl::Status s = a_.vault->Intake(r, Entry(v1::ACTION_INTAKE, r.record_id()));
  EXPECT_TRUE(s.ok()) << s;
  // The same server under a configured replica's principal.
  Sql(
      absl::StrCat("UPDATE replicas SET principal = 'replica-b' WHERE "
                   "address = '127.0.0.1:",
                   fake_port_, "'"));
  v1::Record r2 = RecordDue("HARV002", absl::Hours(24 * 50));
  absl::Status s2 =
      a_.vault->Intake(r2, Entry(v1::ACTION_INTAKE, r2.record_id()));
  EXPECT_FALSE(s2.ok());  // not shared with the "replica" that failed TLS
  absl::MutexLock l(&fake_.mu);
  EXPECT_EQ(fake_.pushed.size(), 0u);
}

// 5 (findings 6 and 7, the size part). A listed replica's certificate asks
// for 300,000 versions (before the fix: answered, and a 2.4 MB entry went
// into the signed log) or for 1,000: refused by the message size cap and
// the per-call cap before anything is logged. The replica's own client asks
// long lists in parts.
TEST_F(ReplicaKeysAttackTest, OversizedHandOverIsRefusedUnlogged) {
  auto creds = rpc::ClientTlsCredentials(dir_.Join("pki/ca.pem"),
                                         dir_.Join("pki/replica-b.pem"),
                                         dir_.Join("pki/replica-b.key"));
  ASSERT_TRUE(creds.ok()) << creds.status();
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("localhost");
  auto stub = v1::ReplicaKeys::NewStub(grpc::CreateCustomChannel(
      absl::StrCat("127.0.0.1:", a_.server->port()), *creds, args));
  const uint64_t before = a_.vault->log().Size();
  for (uint32_t count : {300000u, 1000u}) {
    v1::FetchKeksRequest request;
    for (uint32_t i = 0; i < count; ++i) request.add_versions(1000000 + i);
    v1::FetchKeksResponse response;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(10));
    grpc::Status st = stub->FetchKeks(&ctx, request, &response);
    EXPECT_EQ(st.error_code(), count == 300000u
                                   ? grpc::StatusCode::RESOURCE_EXHAUSTED
                                   : grpc::StatusCode::INVALID_ARGUMENT)
        << count << ": " << st.error_message();
  }
  EXPECT_EQ(a_.vault->log().Size(), before);
  std::vector<uint32_t> many;
  for (uint32_t i = 0; i < 600; ++i) many.push_back(1000000 + i);
  const vault::ReplicaPeer to_a{absl::StrCat("127.0.0.1:", a_.server->port()),
                                "replica-a"};
  auto got = b_.peers->Fetch(to_a, many, false);
  EXPECT_TRUE(got.ok()) << got.status();
}

// 6. Callers without a certificate repeat refused calls: a few are logged
// one by one, the rest are counted for a summary. Before the fix 300 calls
// added 300 entries to the signed log.
TEST_F(ReplicaKeysAttackTest, RefusalsDoNotFloodTheAccessLog) {
  auto nocert = replica::GrpcKeyPeers::Create(dir_.Join("pki/ca.pem"), "", "",
                                              {{"x", "localhost"}});
  ASSERT_TRUE(nocert.ok()) << nocert.status();
  const vault::ReplicaPeer a{absl::StrCat("127.0.0.1:", a_.server->port()),
                             "x"};
  const uint64_t before = a_.vault->log().Size();
  for (int i = 0; i < 300; ++i) {
    EXPECT_FALSE((*nocert)->Fetch(a, {}, true).ok());
  }
  EXPECT_LE(a_.vault->log().Size() - before, 10u);
}

}  // namespace
}  // namespace lanevault
