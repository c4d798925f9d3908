// Keys, settings, what the API enforces (lockouts, refusals, canary marks),
// contracts, and the maintenance calls whose SQLite shape (a WAL, a file
// copy, page checks) has a PostgreSQL meaning of its own.

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/time_util.h"
#include "vault/postgres_store_impl.h"

namespace lanevault::vault {

using pg::Params;

absl::StatusOr<std::string> PostgresStore::GetMeta(absl::string_view key) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<pg::Result> q = ExecLocked(
      "SELECT value FROM vault_meta WHERE key = $1", Params().Text(key));
  if (!q.ok()) return q.status();
  if (q->rows() == 0)
    return absl::NotFoundError(absl::StrCat("no setting ", key));
  return q->Bytes(0, 0);
}

absl::Status PostgresStore::PutMeta(absl::string_view key,
                                    absl::string_view value) {
  absl::MutexLock lock(&mu_);
  return ExecLocked(
             "INSERT INTO vault_meta(key, value) VALUES($1, $2::bytea) "
             "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
             Params().Text(key).Bytes(value))
      .status();
}

absl::StatusOr<std::vector<KekRow>> PostgresStore::Keks() {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<pg::Result> q = ExecLocked(
      "SELECT version, wrapped, created_us FROM keks ORDER BY version");
  if (!q.ok()) return q.status();
  std::vector<KekRow> out;
  for (int i = 0; i < q->rows(); ++i) {
    out.push_back({{static_cast<uint32_t>(q->Int(i, 0)), q->Bytes(i, 1)},
                   absl::FromUnixMicros(q->Int(i, 2))});
  }
  return out;
}

absl::Status PostgresStore::DestroyKek(uint32_t version, absl::Time from,
                                       absl::Time to, v1::AuditEntry audit) {
  absl::MutexLock lock(&mu_);
  return WithAuditLocked(std::move(audit), [&]() -> absl::Status {
    absl::StatusOr<pg::Result> used = db_.Exec(
        "SELECT COUNT(*) FROM items WHERE deadline_us >= $1::bigint AND "
        "deadline_us < $2::bigint AND key_version = $3::bigint",
        Params()
            .Int(ToUnixMicrosSaturated(from))
            .Int(ToUnixMicrosSaturated(to))
            .Int(version));
    if (!used.ok()) return used.status();
    if (used->Int(0, 0) != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("key version ", version, " still wraps ",
                       used->Int(0, 0), " data keys"));
    }
    if (absl::Status s = db_.Exec("DELETE FROM keks WHERE version = $1::bigint",
                                  Params().Int(version))
                             .status();
        !s.ok()) {
      return s;
    }
    // Every replica's key store destroys its copy when it sees this, and
    // from this commit on no intake sealed under it commits (PutRecords
    // checks it under the same log_head lock this transaction holds).
    return db_
        .Exec(
            "UPDATE kek_registry SET destroyed_us = $2::bigint "
            "WHERE version = $1::bigint",
            Params().Int(version).Int(ToUnixMicrosSaturated(absl::Now())))
        .status();
  });
}

absl::Status PostgresStore::DeleteLegacyKeks() {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = ExecLocked("DELETE FROM keks").status(); !s.ok()) {
    return s;
  }
  // Makes the dead rows' space reusable; see Compact for what it cannot do.
  return db_.Run("VACUUM keks");
}

absl::StatusOr<std::vector<std::pair<uint32_t, uint64_t>>>
PostgresStore::ItemsPerKeyVersion() {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<pg::Result> q = ExecLocked(
      "SELECT key_version, COUNT(*) FROM items GROUP BY key_version "
      "ORDER BY key_version");
  if (!q.ok()) return q.status();
  std::vector<std::pair<uint32_t, uint64_t>> out;
  for (int i = 0; i < q->rows(); ++i) {
    out.emplace_back(static_cast<uint32_t>(q->Int(i, 0)),
                     static_cast<uint64_t>(q->Int(i, 1)));
  }
  return out;
}

absl::StatusOr<std::vector<RewrapCandidate>> PostgresStore::ItemsToRewrap(
    uint32_t below_version, int limit) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<pg::Result> q = ExecLocked(
      "SELECT i.record_id, r.contract_id, r.contract_version, i.item_id, "
      "i.category, i.deadline_us, i.key_version, i.wrapped_key FROM items i "
      "JOIN records r USING(record_id) WHERE i.key_version < $1::bigint "
      "LIMIT $2::bigint",
      Params().Int(below_version).Int(limit));
  if (!q.ok()) return q.status();
  std::vector<RewrapCandidate> out;
  for (int i = 0; i < q->rows(); ++i) {
    RewrapCandidate& c = out.emplace_back();
    c.record_id = q->Text(i, 0);
    c.contract_id = q->Text(i, 1);
    c.contract_version = static_cast<uint64_t>(q->Int(i, 2));
    c.item.item_id = q->Text(i, 3);
    c.item.category = static_cast<v1::DataCategory>(q->Int(i, 4));
    c.item.deadline = absl::FromUnixMicros(q->Int(i, 5));
    c.item.sealed.key_version = static_cast<uint32_t>(q->Int(i, 6));
    c.item.sealed.wrapped_key = q->Bytes(i, 7);
  }
  return out;
}

absl::StatusOr<uint64_t> PostgresStore::UpdateWrappedKeys(
    const std::vector<Rewrapped>& keys) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = ReadyLocked(); !s.ok()) return s;
  if (absl::Status s = db_.Run("BEGIN"); !s.ok()) return s;
  uint64_t updated = 0;
  for (const Rewrapped& k : keys) {
    absl::StatusOr<pg::Result> up = db_.Exec(
        "UPDATE items SET key_version = $1::bigint, wrapped_key = $2::bytea "
        "WHERE record_id = $3 AND item_id = $4 AND key_version = $5::bigint",
        Params()
            .Int(k.to_version)
            .Bytes(k.wrapped_key)
            .Text(k.record_id)
            .Text(k.item_id)
            .Int(k.from_version));
    if (!up.ok()) {
      RollbackLocked();
      return up.status();
    }
    updated += up->Affected();
  }
  if (absl::Status s = db_.Run("COMMIT"); !s.ok()) {
    RollbackLocked();
    return s;
  }
  return updated;
}

absl::StatusOr<std::vector<v1::AuditEntry>> PostgresStore::QueryKekEntries(
    absl::Time since, absl::Time until, uint64_t start_sequence, int limit) {
  absl::MutexLock lock(&mu_);
  // A range on record_id (byte order: the column is COLLATE "C"), so the
  // record index finds them ("kek;" is the first id after "kek:...").
  return EntriesLocked(
      "SELECT entry FROM audit_log WHERE record_id >= 'kek:' AND "
      "record_id < 'kek;' AND action <> 1 AND sequence >= $1::bigint AND "
      "time_us >= "
      "$2::bigint AND time_us < $3::bigint ORDER BY sequence "
      "LIMIT $4::bigint",
      Params()
          .Int(static_cast<int64_t>(start_sequence))
          .Int(ToUnixMicrosSaturated(since))
          .Int(ToUnixMicrosSaturated(until))
          .Int(limit));
}

absl::Status PostgresStore::PutLockout(const LockoutRow& lockout,
                                       v1::AuditEntry audit) {
  absl::MutexLock lock(&mu_);
  return WithAuditLocked(std::move(audit), [&]() -> absl::Status {
    return db_
        .Exec(
            "INSERT INTO lockouts(principal, reason, since_us) "
            "VALUES($1, $2, $3::bigint)",
            Params()
                .Text(lockout.principal)
                .Text(lockout.reason)
                .Int(ToUnixMicrosSaturated(lockout.since)))
        .status();
  });
}

absl::StatusOr<std::vector<LockoutRow>> PostgresStore::Lockouts() {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<pg::Result> q = ExecLocked(
      "SELECT principal, reason, since_us FROM lockouts ORDER BY since_us");
  if (!q.ok()) return q.status();
  std::vector<LockoutRow> out;
  for (int i = 0; i < q->rows(); ++i) {
    out.push_back(
        {q->Text(i, 0), q->Text(i, 1), absl::FromUnixMicros(q->Int(i, 2))});
  }
  return out;
}

absl::Status PostgresStore::DeleteLockout(absl::string_view principal,
                                          v1::AuditEntry audit) {
  const int64_t lifted_us = ToUnixMicrosSaturated(FromProto(audit.time()));
  absl::MutexLock lock(&mu_);
  return WithAuditLocked(std::move(audit), [&]() -> absl::Status {
    absl::StatusOr<pg::Result> del = db_.Exec(
        "DELETE FROM lockouts WHERE principal = $1", Params().Text(principal));
    if (!del.ok()) return del.status();
    if (del->Affected() == 0) {
      return absl::NotFoundError(absl::StrCat(principal, " is not locked out"));
    }
    // The refusals that led here are judged: they no longer count towards
    // the next lockout.
    return db_
        .Exec(
            "INSERT INTO lockout_lifts(principal, lifted_us) "
            "VALUES($1, $2::bigint) ON CONFLICT(principal) DO UPDATE SET "
            "lifted_us = excluded.lifted_us",
            Params().Text(principal).Int(lifted_us))
        .status();
  });
}

absl::StatusOr<uint32_t> PostgresStore::CountRefusals(
    absl::string_view principal, v1::RefusalCount counted, absl::Time since) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<pg::Result> q = ExecLocked(
      "SELECT COUNT(*) FROM audit_log WHERE principal = $1 AND "
      "refusal_count = $2::int AND time_us >= GREATEST($3::bigint, "
      "COALESCE((SELECT lifted_us + 1 FROM lockout_lifts WHERE principal = "
      "$1), 0)) AND verdict = 2",
      Params().Text(principal).Int(counted).Int(ToUnixMicrosSaturated(since)));
  if (!q.ok()) return q.status();
  return static_cast<uint32_t>(q->Int(0, 0));
}

// The marks stay in a table of their own here: the mark is keyed by the
// record id, so it names that record alone.
absl::StatusOr<bool> PostgresStore::HasCanaryMark(
    absl::string_view /*record_id*/, absl::string_view mark) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<pg::Result> q =
      ExecLocked("SELECT 1 FROM canary_marks WHERE mark = $1::bytea",
                 Params().Bytes(mark));
  if (!q.ok()) return q.status();
  return q->rows() > 0;
}

absl::Status PostgresStore::PutContractVersion(const ContractVersionRow& row) {
  absl::MutexLock lock(&mu_);
  return ExecLocked(
             "INSERT INTO contracts(contract_id, version, signed_text, "
             "activated_us) VALUES($1, $2::bigint, $3::bytea, $4::bigint) "
             "ON CONFLICT DO NOTHING",
             Params()
                 .Text(row.contract_id)
                 .Int(static_cast<int64_t>(row.version))
                 .Bytes(row.signed_text)
                 .Int(ToUnixMicrosSaturated(row.activated)))
      .status();
}

absl::StatusOr<std::vector<ContractVersionRow>>
PostgresStore::ContractVersions() {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<pg::Result> q = ExecLocked(
      "SELECT contract_id, version, signed_text, activated_us FROM contracts "
      "ORDER BY activated_us DESC");
  if (!q.ok()) return q.status();
  std::vector<ContractVersionRow> out;
  for (int i = 0; i < q->rows(); ++i) {
    out.push_back({q->Text(i, 0), static_cast<uint64_t>(q->Int(i, 1)),
                   q->Bytes(i, 2), absl::FromUnixMicros(q->Int(i, 3))});
  }
  return out;
}

namespace {

#define LV_PROPOSAL_COLUMNS \
  "contract_id, version, signed, proposed_by, proposed_us"

ProposalRow ProposalFromRow(const pg::Result& q, int i) {
  return {q.Text(i, 0), static_cast<uint64_t>(q.Int(i, 1)), q.Bytes(i, 2),
          q.Text(i, 3), absl::FromUnixMicros(q.Int(i, 4))};
}

}  // namespace

absl::Status PostgresStore::PutProposal(const ProposalRow& proposal,
                                        v1::AuditEntry audit) {
  absl::MutexLock lock(&mu_);
  return WithAuditLocked(std::move(audit), [&]() -> absl::Status {
    absl::Status s =
        db_.Exec("INSERT INTO contract_proposals(" LV_PROPOSAL_COLUMNS
                 ") VALUES($1, $2::bigint, $3::bytea, $4, $5::bigint)",
                 Params()
                     .Text(proposal.contract_id)
                     .Int(static_cast<int64_t>(proposal.version))
                     .Bytes(proposal.signed_contract)
                     .Text(proposal.proposed_by)
                     .Int(ToUnixMicrosSaturated(proposal.proposed)))
            .status();
    if (absl::IsAlreadyExists(s)) {
      return absl::AlreadyExistsError(absl::StrCat(
          "version ", proposal.version, " of ", proposal.contract_id,
          " was already proposed; raise the version"));
    }
    return s;
  });
}

absl::StatusOr<ProposalRow> PostgresStore::GetProposal(uint64_t version) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<pg::Result> q =
      ExecLocked("SELECT " LV_PROPOSAL_COLUMNS
                 " FROM contract_proposals WHERE version = $1::bigint "
                 "ORDER BY proposed_us DESC LIMIT 1",
                 Params().Int(static_cast<int64_t>(version)));
  if (!q.ok()) return q.status();
  if (q->rows() == 0) {
    return absl::NotFoundError(
        absl::StrCat("no contract version ", version, " was proposed"));
  }
  return ProposalFromRow(*q, 0);
}

absl::StatusOr<std::vector<ProposalRow>> PostgresStore::Proposals() {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<pg::Result> q =
      ExecLocked("SELECT " LV_PROPOSAL_COLUMNS
                 " FROM contract_proposals ORDER BY proposed_us DESC");
  if (!q.ok()) return q.status();
  std::vector<ProposalRow> out;
  for (int i = 0; i < q->rows(); ++i) out.push_back(ProposalFromRow(*q, i));
  return out;
}

absl::Status PostgresStore::ActivateProposal(const ProposalRow& proposal,
                                             const ContractVersionRow& version,
                                             v1::AuditEntry audit) {
  absl::MutexLock lock(&mu_);
  return WithAuditLocked(std::move(audit), [&]() -> absl::Status {
    absl::StatusOr<pg::Result> up = db_.Exec(
        "UPDATE contract_proposals SET signed = $1::bytea WHERE "
        "contract_id = $2 AND version = $3::bigint",
        Params()
            .Bytes(proposal.signed_contract)
            .Text(proposal.contract_id)
            .Int(static_cast<int64_t>(proposal.version)));
    if (!up.ok()) return up.status();
    return db_
        .Exec(
            "INSERT INTO contracts(contract_id, version, signed_text, "
            "activated_us) VALUES($1, $2::bigint, $3::bytea, $4::bigint) "
            "ON CONFLICT(contract_id, version) DO UPDATE SET signed_text = "
            "excluded.signed_text, activated_us = excluded.activated_us",
            Params()
                .Text(version.contract_id)
                .Int(static_cast<int64_t>(version.version))
                .Bytes(version.signed_text)
                .Int(ToUnixMicrosSaturated(version.activated)))
        .status();
  });
}

#undef LV_PROPOSAL_COLUMNS

// PostgreSQL checks its own pages (data checksums, if the cluster has them;
// amcheck, if an operator installs it). What the vault can check itself is
// what only it knows: the access log's head, leaves and tree agree.
absl::Status PostgresStore::CheckIntegrity(bool full) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = ReadyLocked(); !s.ok()) return s;
  // One snapshot for every statement below.
  if (absl::Status s = db_.Run("BEGIN ISOLATION LEVEL REPEATABLE READ");
      !s.ok()) {
    return s;
  }
  auto done = [&](absl::Status s) {
    RollbackLocked();
    return s;
  };
  absl::StatusOr<pg::Result> q = db_.Exec(
      "SELECT (SELECT size FROM log_head), COUNT(*), "
      "COALESCE(MAX(sequence) + 1, 0) FROM audit_log");
  if (!q.ok()) return done(q.status());
  const int64_t head = q->Int(0, 0), count = q->Int(0, 1), end = q->Int(0, 2);
  if (head != count || head != end) {
    return done(absl::DataLossError(
        absl::StrCat("the access log's head says ", head,
                     " entries; the log holds ", count, " ending at ", end)));
  }
  absl::StatusOr<tlog::CompactRange> edge =
      LoadEdgeLocked(static_cast<uint64_t>(head));
  if (!edge.ok()) return done(edge.status());
  if (!full) return done(absl::OkStatus());
  // Every leaf hashed again, in pages: the root they give must be the root
  // the stored nodes give.
  tlog::CompactRange again;
  constexpr int64_t kPage = 4096;
  for (int64_t from = 0; from < head; from += kPage) {
    absl::StatusOr<pg::Result> leaves = db_.Exec(
        "SELECT entry FROM audit_log WHERE sequence >= $1::bigint AND "
        "sequence < $2::bigint ORDER BY sequence",
        Params().Int(from).Int(from + kPage));
    if (!leaves.ok()) return done(leaves.status());
    for (int i = 0; i < leaves->rows(); ++i) {
      again.Append(tlog::LeafHash(leaves->Bytes(i, 0)));
    }
  }
  if (again.size() != edge->size() || again.Root() != edge->Root()) {
    return done(absl::DataLossError(
        "the access log's leaves do not hash to the tree stored with them"));
  }
  absl::StatusOr<pg::Result> items = db_.Exec(
      "SELECT r.record_id, r.item_count, COUNT(i.item_id) FROM records r "
      "LEFT JOIN items i USING(record_id) GROUP BY r.record_id, r.item_count "
      "HAVING r.item_count != COUNT(i.item_id) LIMIT 1");
  if (!items.ok()) return done(items.status());
  if (items->rows() > 0) {
    return done(absl::DataLossError(
        absl::StrCat("record ", items->Text(0, 0), ": ", items->Int(0, 1),
                     " items expected, ", items->Int(0, 2), " found")));
  }
  return done(absl::OkStatus());
}

// There is no journal to fold: PostgreSQL's WAL is recycled by its own
// checkpoints. What a purge leaves is dead row versions; VACUUM makes
// their space reusable so later rows overwrite it. It does not zero them
// and cannot reach the WAL, base backups or replicas: deleted items stay
// unreadable there because their period's key is destroyed (README).
absl::Status PostgresStore::Compact() {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = ReadyLocked(); !s.ok()) return s;
  return db_.Run("VACUUM items, plate_candidates, records, canary_marks, keks");
}

absl::StatusOr<BackupCopy> PostgresStore::BackupTo(const std::string& dest) {
  return absl::UnimplementedError(absl::StrCat(
      "the vault is on PostgreSQL: back it up with the server's tools "
      "(pg_dump, or pg_basebackup with WAL archiving), not into ",
      dest,
      ". Either copy holds no key (the key store and the master key's "
      "seal or token are backed up apart), so it opens nothing alone"));
}

}  // namespace lanevault::vault
