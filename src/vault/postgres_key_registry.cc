#include "vault/postgres_key_registry.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "vault/postgres_store_impl.h"

namespace lanevault::vault {
namespace {

using pg::Params;

// The server's clock, in microseconds: heartbeats are written and judged
// by one clock, whatever the replicas' own clocks say.
constexpr char kNowUs[] =
    "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint";
// The vault_meta row naming the replica that made the log's signing seed
// (an address, never the seed).
constexpr char kLogSeedMaker[] = "log_seed_made_by";

// The generation a statement returned (generation, start_version).
absl::StatusOr<KeyGeneration> GenerationOf(
    const absl::StatusOr<pg::Result>& r) {
  if (!r.ok()) return r.status();
  if (r->rows() != 1) {
    return absl::FailedPreconditionError(
        "key registry: no key generation registered yet");
  }
  return KeyGeneration{static_cast<uint32_t>(r->Int(0, 0)),
                       static_cast<uint32_t>(r->Int(0, 1))};
}

}  // namespace

PostgresKeyRegistry::PostgresKeyRegistry(PostgresOptions options,
                                         ReplicaPeer self)
    : options_(std::move(options)), self_(std::move(self)) {}

absl::StatusOr<pg::Connection*> PostgresKeyRegistry::ConnectedLocked() {
  if (db_.has_value() && db_->ok()) return &*db_;
  if (db_.has_value()) {
    if (absl::Status s = db_->Reset(); s.ok()) return &*db_;
  }
  db_.reset();
  absl::StatusOr<pg::Connection> c =
      pg::Connection::Open(options_.conninfo, options_.password);
  if (!c.ok()) return c.status();
  db_.emplace(std::move(*c));
  return &*db_;
}

absl::StatusOr<pg::Result> PostgresKeyRegistry::ExecLocked(
    absl::string_view sql, const pg::Params& params) {
  absl::StatusOr<pg::Connection*> db = ConnectedLocked();
  if (!db.ok()) return db.status();
  absl::StatusOr<pg::Result> r = (*db)->Exec(sql, params);
  if (!r.ok()) {
    return absl::Status(r.status().code(),
                        absl::StrCat("key registry: ", r.status().message()));
  }
  return r;
}

absl::Status PostgresKeyRegistry::Adopt(const std::vector<StoredKek>& held,
                                        KeyGeneration local,
                                        uint32_t next_version) {
  absl::MutexLock lock(&mu_);
  for (const StoredKek& k : held) {
    absl::StatusOr<pg::Result> r = ExecLocked(
        "INSERT INTO kek_registry(version, period_day, generation, "
        "created_us, shared_us) VALUES($1::bigint, $2::bigint, $3::bigint, "
        "$4::bigint, $4::bigint) ON CONFLICT(version) DO NOTHING",
        Params()
            .Int(k.version)
            .Int(k.period_day)
            .Int(k.generation)
            .Int(absl::ToUnixMicros(k.created)));
    if (!r.ok()) return r.status();
  }
  if (absl::StatusOr<pg::Result> r = ExecLocked(
          "INSERT INTO key_generation(generation, start_version) "
          "VALUES($1::bigint, $2::bigint) ON CONFLICT(one) DO NOTHING",
          Params().Int(local.generation).Int(local.start_version));
      !r.ok()) {
    return r.status();
  }
  // The next number taken is past every one this key store has used.
  return ExecLocked(
             "SELECT setval('kek_versions', GREATEST($1::bigint, "
             "(SELECT last_value FROM kek_versions), 1))",
             Params().Int(static_cast<int64_t>(next_version) - 1))
      .status();
}

absl::StatusOr<std::vector<RegisteredKek>> PostgresKeyRegistry::Keks() {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<pg::Result> r = ExecLocked(
      "SELECT version, period_day, generation, shared_us IS NOT NULL, "
      "destroyed_us IS NOT NULL FROM kek_registry ORDER BY version");
  if (!r.ok()) return r.status();
  std::vector<RegisteredKek> out;
  for (int i = 0; i < r->rows(); ++i) {
    RegisteredKek& k = out.emplace_back();
    k.version = static_cast<uint32_t>(r->Int(i, 0));
    k.period_day = r->Int(i, 1);
    k.generation = static_cast<uint32_t>(r->Int(i, 2));
    k.shared = r->Text(i, 3) == "t";
    k.destroyed = r->Text(i, 4) == "t";
  }
  return out;
}

absl::StatusOr<KeyGeneration> PostgresKeyRegistry::Generation() {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<pg::Result> r =
      ExecLocked("SELECT generation, start_version FROM key_generation");
  return GenerationOf(r);
}

absl::StatusOr<uint32_t> PostgresKeyRegistry::NewVersion(int64_t period_day,
                                                         uint32_t generation) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<pg::Result> r = ExecLocked(
      absl::StrCat("INSERT INTO kek_registry(version, period_day, generation, "
                   "created_us) VALUES(nextval('kek_versions'), $1::bigint, "
                   "$2::bigint, ",
                   kNowUs, ") RETURNING version"),
      Params().Int(period_day).Int(generation));
  if (!r.ok()) return r.status();
  return static_cast<uint32_t>(r->Int(0, 0));
}

absl::Status PostgresKeyRegistry::MarkShared(uint32_t version) {
  absl::MutexLock lock(&mu_);
  return ExecLocked(absl::StrCat("UPDATE kek_registry SET shared_us = ", kNowUs,
                                 " WHERE version = $1::bigint"),
                    Params().Int(version))
      .status();
}

absl::StatusOr<KeyGeneration> PostgresKeyRegistry::Rotate() {
  absl::MutexLock lock(&mu_);
  // One statement: two replicas rotating at once take two generations,
  // never one twice.
  absl::StatusOr<pg::Result> r = ExecLocked(
      "UPDATE key_generation SET generation = generation + 1, "
      "start_version = nextval('kek_versions') "
      "RETURNING generation, start_version");
  return GenerationOf(r);
}

absl::StatusOr<std::vector<ReplicaPeer>> PostgresKeyRegistry::LivePeers() {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<pg::Result> r = ExecLocked(
      absl::StrCat("SELECT address, principal FROM replicas WHERE address <> "
                   "$1 AND heartbeat_us > ",
                   kNowUs, " - $2::bigint ORDER BY address"),
      Params()
          .Text(self_.address)
          .Int(absl::ToInt64Microseconds(kPeerHeartbeatFresh)));
  if (!r.ok()) return r.status();
  std::vector<ReplicaPeer> out;
  for (int i = 0; i < r->rows(); ++i) {
    out.push_back({r->Text(i, 0), r->Text(i, 1)});
  }
  return out;
}

absl::Status PostgresKeyRegistry::Heartbeat() {
  if (self_.address.empty()) return absl::OkStatus();
  absl::MutexLock lock(&mu_);
  return ExecLocked(
             absl::StrCat("INSERT INTO replicas(address, principal, "
                          "heartbeat_us) VALUES($1, $2, ",
                          kNowUs,
                          ") ON CONFLICT(address) DO UPDATE SET principal = "
                          "excluded.principal, heartbeat_us = "
                          "excluded.heartbeat_us"),
             Params().Text(self_.address).Text(self_.principal))
      .status();
}

absl::Status PostgresKeyRegistry::Leave() {
  if (self_.address.empty()) return absl::OkStatus();
  absl::MutexLock lock(&mu_);
  return ExecLocked("DELETE FROM replicas WHERE address = $1",
                    Params().Text(self_.address))
      .status();
}

absl::StatusOr<bool> PostgresKeyRegistry::ClaimLogSeed() {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<pg::Result> r = ExecLocked(
      "INSERT INTO vault_meta(key, value) VALUES($1, $2::bytea) "
      "ON CONFLICT(key) DO NOTHING",
      Params().Text(kLogSeedMaker).Bytes(self_.address));
  if (!r.ok()) return r.status();
  return r->Affected() == 1;
}

}  // namespace lanevault::vault
