#ifndef LANEVAULT_VAULT_POSTGRES_STORE_H_
#define LANEVAULT_VAULT_POSTGRES_STORE_H_

// The PostgreSQL Store: the same promises as SQLite's (store.h) on a
// database server its operators already run, back up and replicate.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "vault/store.h"

namespace lanevault::vault {

struct PostgresOptions {
  // A libpq conninfo ("host=/run/postgresql dbname=lanevault user=vault" or
  // a postgresql:// URI). Empty: the vault is on SQLite.
  std::string conninfo;
  // The password, when the server asks for one (read from a 0600 file by
  // the caller; never in the conninfo, which is logged and shown).
  std::string password;
  // Hold an exclusive owner lock (a session advisory lock keyed by the
  // schema) for as long as the store is open: a second owner is refused,
  // as a second process on one SQLite file is. The Vault leaves it off:
  // lanevaultd replicas share the database (their appends are serialised
  // by the log_head row lock, their one-at-a-time duties by the replica
  // role, vault/postgres_role.h).
  bool owner = true;
};

// Connects, sets synchronous_commit=on for the session (a commit returns
// once it is durable on the server, whatever the server's default), takes
// the owner lock and migrates the schema forward (in the first schema of
// the search_path). CheckIntegrity re-derives the access log's tree from
// its leaves (with `full`) or checks its committed edge; Compact VACUUMs
// the tables purges delete from; BackupTo is UNIMPLEMENTED (pg_dump or
// pg_basebackup are the tools: README, "PostgreSQL store").
absl::StatusOr<std::unique_ptr<Store>> OpenPostgresStore(
    const PostgresOptions& options);

}  // namespace lanevault::vault

#endif  // LANEVAULT_VAULT_POSTGRES_STORE_H_
