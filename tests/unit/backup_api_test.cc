// ComplianceService.Backup over mutual TLS: only a compliance officer backs
// the vault up, the file goes where the daemon says (its backup directory,
// a name it chooses), and the backup is logged with its tree head.

#include <sys/stat.h>

#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "api/server.h"
#include "gtest/gtest.h"
#include "lanevault/v1/compliance.grpc.pb.h"
#include "testing/api_fixture.h"
#include "testing/test_util.h"
#include "vault/vault.h"

namespace lanevault {
namespace {

namespace fs = std::filesystem;

class BackupApiTest : public testing::ApiFixture {
 protected:
  void Configure(api::ServerOptions& so) override {
    so.backup_dir = backup_dir();
  }
  std::string backup_dir() { return work_.Join("backups"); }
  grpc::Status Backup(const std::string& who, v1::BackupResponse* resp) {
    auto stub = v1::ComplianceService::NewStub(Channel(who));
    grpc::ClientContext ctx;
    testing::WithDeadline(ctx);
    return stub->Backup(&ctx, {}, resp);
  }
  size_t BackupFiles() {
    if (!fs::exists(backup_dir())) return 0;
    return static_cast<size_t>(std::distance(
        fs::directory_iterator(backup_dir()), fs::directory_iterator()));
  }
};

TEST_F(BackupApiTest, AnOfficerBacksUpIntoTheDaemonsDirectory) {
  v1::BackupResponse resp;
  grpc::Status s = Backup("compliance-dev", &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  // The daemon's directory (0700) and a name of its choosing.
  EXPECT_EQ(fs::path(resp.path()).parent_path(), fs::path(backup_dir()));
  EXPECT_TRUE(
      absl::StartsWith(fs::path(resp.path()).filename().string(), "lanevault-"))
      << resp.path();
  struct stat st;
  ASSERT_EQ(::stat(backup_dir().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat(resp.path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(resp.bytes(), static_cast<uint64_t>(st.st_size));
  EXPECT_EQ(resp.records(), 1u);
  EXPECT_EQ(resp.items(), 2u);
  EXPECT_GT(resp.tree_size(), 0u);
  EXPECT_EQ(resp.root_hash().size(), 32u);
  EXPECT_FALSE(resp.checkpoint().empty());
  EXPECT_EQ(testing::QueryInt(resp.path(), "SELECT COUNT(*) FROM records"), 1);

  // Logged as the officer's, naming the file and its tree head.
  auto entries = vault_->log().Entries(0, vault_->log().Size());
  ASSERT_TRUE(entries.ok());
  int logged = 0;
  for (const v1::AuditEntry& e : *entries) {
    if (e.action() != v1::ACTION_BACKUP) continue;
    ++logged;
    EXPECT_EQ(e.principal(), "compliance-dev");
    EXPECT_EQ(e.verdict(), v1::VERDICT_ALLOW);
    EXPECT_TRUE(absl::StrContains(e.detail(), resp.path())) << e.detail();
    EXPECT_TRUE(absl::StrContains(e.detail(),
                                  absl::StrCat("tree size ", resp.tree_size())))
        << e.detail();
  }
  EXPECT_EQ(logged, 1);

  // A second backup gets a name of its own; nothing is overwritten.
  v1::BackupResponse again;
  ASSERT_TRUE(Backup("compliance-dev", &again).ok());
  EXPECT_NE(again.path(), resp.path());
  EXPECT_EQ(BackupFiles(), 2u);
}

TEST_F(BackupApiTest, NoOneElseBacksUp) {
  for (const char* who : {"inspector-dev", "auditor-dev", "operator-dev"}) {
    v1::BackupResponse resp;
    EXPECT_EQ(Backup(who, &resp).error_code(),
              grpc::StatusCode::PERMISSION_DENIED)
        << who;
  }
  EXPECT_EQ(BackupFiles(), 0u);
  // Each refusal is in the log.
  auto entries = vault_->log().Entries(0, vault_->log().Size());
  ASSERT_TRUE(entries.ok());
  int refused = 0;
  for (const v1::AuditEntry& e : *entries) {
    if (e.action() == v1::ACTION_BACKUP) {
      EXPECT_EQ(e.verdict(), v1::VERDICT_DENY);
      ++refused;
    }
  }
  EXPECT_EQ(refused, 3);
}

class NoBackupDirTest : public testing::ApiFixture {};

TEST_F(NoBackupDirTest, ADaemonWithoutABackupDirectoryRefuses) {
  auto stub = v1::ComplianceService::NewStub(Channel("compliance-dev"));
  grpc::ClientContext ctx;
  testing::WithDeadline(ctx);
  v1::BackupResponse resp;
  EXPECT_EQ(stub->Backup(&ctx, {}, &resp).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

}  // namespace
}  // namespace lanevault
