#include "testing/test_util.h"

#include <sqlite3.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "footage/scene.h"
#include "gtest/gtest.h"

namespace lanevault::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl =
      absl::StrCat(base ? base : "/tmp", "/lanevault-test-XXXXXX");
  char* made = mkdtemp(tmpl.data());
  if (made == nullptr) std::abort();
  path_ = made;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::Join(absl::string_view name) const {
  return absl::StrCat(path_, "/", name);
}

void MakeDevPki(const std::string& dir) {
  const std::string cmd = absl::StrCat(
      LANEVAULT_SOURCE_DIR, "/deploy/pki/make-dev-pki.sh ", dir, " >/dev/null");
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

void MakeFootage(const std::string& dir,
                 const std::vector<std::string>& plates) {
  footage::SceneOptions options;
  for (const auto& p : plates) options.vehicles.push_back({p, {40, 40, 150}});
  auto scene = footage::RenderScene(options);
  ASSERT_TRUE(scene.ok()) << scene.status();
  ASSERT_TRUE(footage::WriteScene(*scene, options, dir).ok());
}

void ExecSql(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  const std::string message = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << message;
}

int64_t QueryInt(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  int64_t value = -1;
  if (sqlite3_open(db_path.c_str(), &db) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      value = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return value;
}

std::string QueryBlob(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string value;
  if (sqlite3_open(db_path.c_str(), &db) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      const void* p = sqlite3_column_blob(stmt, 0);
      if (p != nullptr) {
        value.assign(static_cast<const char*>(p),
                     sqlite3_column_bytes(stmt, 0));
      }
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return value;
}

bool FileContains(const std::string& path, absl::string_view needle) {
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)),
                          std::istreambuf_iterator<char>());
  return bytes.find(std::string(needle)) != std::string::npos;
}

}  // namespace lanevault::testing
