#ifndef LANEVAULT_TESTS_TESTING_STORE_ENGINES_H_
#define LANEVAULT_TESTS_TESTING_STORE_ENGINES_H_

// One test suite, run on every store engine: SQLite (a file) and
// PostgreSQL (a schema of its own on the shared test server). A fixture
// derived from OnEachEngine<Base> is a TEST_P suite; instantiate it with
// LANEVAULT_ON_EACH_ENGINE(Suite). The PostgreSQL instances skip, loudly,
// where the server cannot run.

#include <filesystem>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "testing/postgres_server.h"
#include "testing/test_util.h"
#include "vault/postgres.h"
#include "vault/postgres_store.h"

namespace lanevault::testing {

enum class Engine { kSqlite, kPostgres };

inline std::string EngineName(const ::testing::TestParamInfo<Engine>& info) {
  return info.param == Engine::kSqlite ? "Sqlite" : "Postgres";
}

// Base must have `std::string postgres_` (a conninfo: empty for SQLite)
// read by its SetUp, as VaultFixture does.
template <class Base>
class OnEachEngine : public Base, public ::testing::WithParamInterface<Engine> {
 protected:
  void SetUp() override {
    if (GetParam() == Engine::kPostgres) {
      LANEVAULT_REQUIRE_POSTGRES();
      this->postgres_ = PostgresServer::Shared()->NewSchema();
      ASSERT_FALSE(this->postgres_.empty());
    }
    Base::SetUp();
  }
  bool postgres() const { return GetParam() == Engine::kPostgres; }
  // Runs SQL behind the vault's back (tamper tests), on either engine.
  void ExecBehind(const std::string& sql) {
    if (!postgres()) {
      ExecSql(this->db_path(), sql);
      return;
    }
    absl::StatusOr<vault::pg::Connection> c =
        vault::pg::Connection::Open(this->postgres_);
    ASSERT_TRUE(c.ok()) << c.status();
    ASSERT_TRUE(c->Run(sql).ok()) << sql;
  }
  // The first column of the first row of a query, as a number.
  int64_t QueryBehind(const std::string& sql) {
    if (!postgres()) return QueryInt(this->db_path(), sql);
    absl::StatusOr<vault::pg::Connection> c =
        vault::pg::Connection::Open(this->postgres_);
    EXPECT_TRUE(c.ok()) << c.status();
    if (!c.ok()) return -1;
    absl::StatusOr<vault::pg::Result> r = c->Exec(sql);
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok() || r->rows() == 0) return -1;
    return r->Int(0, 0);
  }
  // Whether the bytes are anywhere in the database's files: SQLite's file
  // and its WAL, or every file of the PostgreSQL cluster (tables and WAL).
  bool StoreFilesContain(const std::string& needle) {
    std::vector<std::string> files;
    if (!postgres()) {
      files = {this->db_path(), this->db_path() + "-wal"};
    } else {
      std::error_code ec;
      for (const auto& e : std::filesystem::recursive_directory_iterator(
               PostgresServer::Shared()->data_dir(), ec)) {
        if (e.is_regular_file()) files.push_back(e.path().string());
      }
    }
    for (const std::string& f : files) {
      if (std::filesystem::exists(f) && FileContains(f, needle)) return true;
    }
    return false;
  }
};

#define LANEVAULT_ON_EACH_ENGINE(Suite)                           \
  INSTANTIATE_TEST_SUITE_P(                                       \
      Engines, Suite,                                             \
      ::testing::Values(::lanevault::testing::Engine::kSqlite,    \
                        ::lanevault::testing::Engine::kPostgres), \
      ::lanevault::testing::EngineName)

}  // namespace lanevault::testing

#endif  // LANEVAULT_TESTS_TESTING_STORE_ENGINES_H_
