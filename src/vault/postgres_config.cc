#include "vault/postgres_config.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "common/files.h"

namespace lanevault::vault {
namespace {

// One key='value' of a libpq conninfo: quotes and backslashes escaped.
void Append(std::string& conninfo, absl::string_view key,
            absl::string_view value) {
  if (value.empty()) return;
  absl::StrAppend(&conninfo, conninfo.empty() ? "" : " ", key, "='",
                  absl::StrReplaceAll(value, {{"\\", "\\\\"}, {"'", "\\'"}}),
                  "'");
}

}  // namespace

absl::StatusOr<PostgresOptions> PostgresOptionsFromConfig(
    const v1::PostgresConfig& config) {
  PostgresOptions o;
  o.conninfo = config.conninfo();
  Append(o.conninfo, "host", config.host());
  if (config.port() != 0)
    Append(o.conninfo, "port", absl::StrCat(config.port()));
  Append(o.conninfo, "dbname", config.dbname());
  Append(o.conninfo, "user", config.user());
  Append(o.conninfo, "sslmode", config.sslmode());
  if (!config.schema().empty()) {
    Append(o.conninfo, "options",
           absl::StrCat("-c search_path=", config.schema()));
  }
  if (o.conninfo.empty()) {
    return absl::InvalidArgumentError(
        "vault.postgres: set conninfo, or host and dbname");
  }
  if (!config.password_file().empty()) {
    if (absl::Status s = CheckPrivateFile(config.password_file()); !s.ok()) {
      return absl::Status(
          s.code(),
          absl::StrCat("vault.postgres.password_file: ", s.message()));
    }
    absl::StatusOr<std::string> password =
        ReadFileToString(config.password_file());
    if (!password.ok()) return password.status();
    o.password = std::string(absl::StripSuffix(*password, "\n"));
  }
  return o;
}

}  // namespace lanevault::vault
