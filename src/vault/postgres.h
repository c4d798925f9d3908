#ifndef LANEVAULT_VAULT_POSTGRES_H_
#define LANEVAULT_VAULT_POSTGRES_H_

// A thin RAII layer over libpq that turns results into absl::Status: a
// unique violation is ALREADY_EXISTS, a full disk RESOURCE_EXHAUSTED, a lost
// connection UNAVAILABLE. Every statement is parameterised (PQexecParams):
// values never enter the SQL text, and bytes go over as binary parameters.
// Results come back as text; bytea columns are decoded by Bytes(). Not
// thread-safe; the store serialises.

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace lanevault::vault::pg {

// The values of one statement's $1, $2, ... in order.
class Params {
 public:
  Params& Text(absl::string_view v);
  Params& Int(int64_t v);
  Params& Bool(bool v);
  Params& Bytes(absl::string_view v);  // a binary bytea parameter
  Params& Null();

 private:
  friend class Connection;
  struct Value {
    std::string data;
    bool binary = false;
    bool null = false;
  };
  std::vector<Value> values_;
};

// One statement's rows (text format), cleared on destruction.
class Result {
 public:
  explicit Result(PGresult* r) : r_(r, &PQclear) {}
  int rows() const { return PQntuples(r_.get()); }
  bool IsNull(int row, int col) const;
  std::string Text(int row, int col) const;
  int64_t Int(int row, int col) const;
  std::string Bytes(int row, int col) const;  // a bytea column
  // Rows an INSERT, UPDATE or DELETE touched.
  uint64_t Affected() const;
  const PGresult* raw() const { return r_.get(); }

 private:
  std::unique_ptr<PGresult, decltype(&PQclear)> r_;
};

class Connection {
 public:
  // Connects with a libpq conninfo string (key=value or a URI); the
  // password, when any, comes in `password` (read from a 0600 file by the
  // caller), never from the conninfo the config shows.
  static absl::StatusOr<Connection> Open(const std::string& conninfo,
                                         const std::string& password = "");

  Connection(Connection&&) = default;
  Connection& operator=(Connection&&) = default;

  // Runs one statement with its parameters.
  absl::StatusOr<Result> Exec(absl::string_view sql, const Params& params = {});
  // Runs statements without parameters (schema steps, BEGIN, COMMIT).
  absl::Status Run(absl::string_view sql);

  bool ok() const;
  // Reconnects after a server restart or a network cut. Session state
  // (settings, advisory locks) is gone: the caller sets it up again.
  absl::Status Reset();

 private:
  explicit Connection(PGconn* c) : c_(c, &PQfinish) {}
  std::unique_ptr<PGconn, decltype(&PQfinish)> c_;
};

// The Status a failed result means, by its SQLSTATE.
absl::Status ResultStatus(const PGresult* r, PGconn* conn,
                          absl::string_view context);

}  // namespace lanevault::vault::pg

#endif  // LANEVAULT_VAULT_POSTGRES_H_
