#include "vault/postgres.h"

#include <cstdlib>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace lanevault::vault::pg {
namespace {

// Server notices ("relation already exists, skipping") are not errors, and
// libpq's default prints them to stderr: dropped.
void IgnoreNotice(void*, const char*) {}

}  // namespace

Params& Params::Text(absl::string_view v) {
  values_.push_back({std::string(v), false, false});
  return *this;
}

Params& Params::Int(int64_t v) {
  values_.push_back({absl::StrCat(v), false, false});
  return *this;
}

Params& Params::Bool(bool v) {
  values_.push_back({v ? "true" : "false", false, false});
  return *this;
}

Params& Params::Bytes(absl::string_view v) {
  values_.push_back({std::string(v), true, false});
  return *this;
}

Params& Params::Null() {
  values_.push_back({"", false, true});
  return *this;
}

bool Result::IsNull(int row, int col) const {
  return PQgetisnull(r_.get(), row, col) != 0;
}

std::string Result::Text(int row, int col) const {
  return std::string(PQgetvalue(r_.get(), row, col),
                     PQgetlength(r_.get(), row, col));
}

int64_t Result::Int(int row, int col) const {
  int64_t v = 0;
  if (!absl::SimpleAtoi(PQgetvalue(r_.get(), row, col), &v)) return 0;
  return v;
}

std::string Result::Bytes(int row, int col) const {
  size_t n = 0;
  unsigned char* raw = PQunescapeBytea(
      reinterpret_cast<const unsigned char*>(PQgetvalue(r_.get(), row, col)),
      &n);
  if (raw == nullptr) return "";
  std::string out(reinterpret_cast<const char*>(raw), n);
  PQfreemem(raw);
  return out;
}

uint64_t Result::Affected() const {
  uint64_t n = 0;
  if (!absl::SimpleAtoi(PQcmdTuples(r_.get()), &n)) return 0;
  return n;
}

absl::Status ResultStatus(const PGresult* r, PGconn* conn,
                          absl::string_view context) {
  const char* state =
      r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  std::string message(r != nullptr ? PQresultErrorMessage(r)
                                   : PQerrorMessage(conn));
  absl::string_view m = absl::StripTrailingAsciiWhitespace(message);
  const std::string what = absl::StrCat(context, ": ", m);
  const absl::string_view code = state != nullptr ? state : "";
  if (code.empty() || PQstatus(conn) == CONNECTION_BAD ||
      absl::StartsWith(code, "08") || absl::StartsWith(code, "57P")) {
    return absl::UnavailableError(what);
  }
  if (code == "23505") return absl::AlreadyExistsError(what);
  if (absl::StartsWith(code, "23")) return absl::FailedPreconditionError(what);
  if (absl::StartsWith(code, "53")) return absl::ResourceExhaustedError(what);
  if (absl::StartsWith(code, "40")) return absl::AbortedError(what);
  if (code == "XX001" || code == "XX002") return absl::DataLossError(what);
  return absl::InternalError(what);
}

absl::StatusOr<Connection> Connection::Open(const std::string& conninfo,
                                            const std::string& password) {
  // The conninfo is expanded as "dbname"; the password is given apart.
  const char* keys[] = {"dbname", password.empty() ? nullptr : "password",
                        nullptr};
  const char* values[] = {conninfo.c_str(), password.c_str(), nullptr};
  Connection c(PQconnectdbParams(keys, values, /*expand_dbname=*/1));
  if (c.c_ == nullptr) {
    return absl::ResourceExhaustedError("PostgreSQL: out of memory");
  }
  PQsetNoticeProcessor(c.c_.get(), &IgnoreNotice, nullptr);
  if (PQstatus(c.c_.get()) != CONNECTION_OK) {
    return absl::UnavailableError(
        absl::StrCat("PostgreSQL: cannot connect: ",
                     absl::StripTrailingAsciiWhitespace(
                         std::string(PQerrorMessage(c.c_.get())))));
  }
  return c;
}

bool Connection::ok() const { return PQstatus(c_.get()) == CONNECTION_OK; }

absl::Status Connection::Reset() {
  PQreset(c_.get());
  if (ok()) return absl::OkStatus();
  return absl::UnavailableError(
      absl::StrCat("PostgreSQL: connection lost: ",
                   absl::StripTrailingAsciiWhitespace(
                       std::string(PQerrorMessage(c_.get())))));
}

absl::StatusOr<Result> Connection::Exec(absl::string_view sql,
                                        const Params& params) {
  const size_t n = params.values_.size();
  std::vector<const char*> values(n);
  std::vector<int> lengths(n), formats(n);
  for (size_t i = 0; i < n; ++i) {
    const Params::Value& v = params.values_[i];
    values[i] = v.null ? nullptr : v.data.data();
    lengths[i] = static_cast<int>(v.data.size());
    formats[i] = v.binary ? 1 : 0;
  }
  const std::string text(sql);
  Result r(PQexecParams(c_.get(), text.c_str(), static_cast<int>(n), nullptr,
                        values.data(), lengths.data(), formats.data(),
                        /*resultFormat=*/0));
  const PGresult* raw = r.raw();
  const ExecStatusType st = raw ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    return ResultStatus(raw, c_.get(), "PostgreSQL");
  }
  return r;
}

absl::Status Connection::Run(absl::string_view sql) {
  const std::string text(sql);
  Result r(PQexec(c_.get(), text.c_str()));
  const PGresult* raw = r.raw();
  const ExecStatusType st = raw ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    return ResultStatus(raw, c_.get(), "PostgreSQL");
  }
  return absl::OkStatus();
}

}  // namespace lanevault::vault::pg
