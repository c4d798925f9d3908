#ifndef LANEVAULT_VAULT_POSTGRES_CONFIG_H_
#define LANEVAULT_VAULT_POSTGRES_CONFIG_H_

// The daemon's `vault { postgres { ... } }` as the store's options.

#include "absl/status/statusor.h"
#include "lanevault/v1/config.pb.h"
#include "vault/postgres_store.h"

namespace lanevault::vault {

// The conninfo with the separate fields appended (quoted as libpq wants),
// and the password read from its file, which must be 0600.
absl::StatusOr<PostgresOptions> PostgresOptionsFromConfig(
    const v1::PostgresConfig& config);

}  // namespace lanevault::vault

#endif  // LANEVAULT_VAULT_POSTGRES_CONFIG_H_
