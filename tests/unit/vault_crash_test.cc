// Kill -9 at random moments: a child process ingests records (group commit,
// key rotation and background re-wrapping running too) and is killed with
// SIGKILL, many times over the same vault. After every restart, every
// record it acknowledged is present and decrypts to the bytes it was given,
// and the database passes PRAGMA integrity_check.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "crypto/master_key.h"
#include "gtest/gtest.h"
#include "testing/crash_records.h"
#include "testing/test_util.h"
#include "vault/vault.h"

namespace lanevault::vault {
namespace {

struct ChildRun {
  std::vector<std::string> acknowledged;
  bool exited_early = false;
};

// Starts the child, kills it after `kill_after`, and returns every id it
// acknowledged before it died (everything it wrote, read to EOF).
ChildRun RunAndKill(const std::string& dir, const std::string& run_id,
                    std::chrono::milliseconds kill_after) {
  int out[2];
  EXPECT_EQ(pipe(out), 0);
  const std::string child = LANEVAULT_BINARY_DIR "/tests/vault_crash_child";
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    close(out[0]);
    close(out[1]);
    execl(child.c_str(), child.c_str(), dir.c_str(), run_id.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  std::this_thread::sleep_for(kill_after);
  kill(pid, SIGKILL);
  std::string text;
  char buf[65536];
  ssize_t n;
  while ((n = read(out[0], buf, sizeof(buf))) > 0) text.append(buf, n);
  close(out[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  ChildRun result;
  result.exited_early = !(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::ConsumePrefix(&line, "ACK ")) {
      result.acknowledged.emplace_back(line);
    }
  }
  return result;
}

void ExpectIntact(Vault& vault, const std::string& id) {
  v1::AuditEntry audit;
  audit.set_principal("crash-test");
  audit.set_action(v1::ACTION_READ_RECORD);
  audit.set_record_id(id);
  auto read = vault.Read(id, {}, audit);
  ASSERT_TRUE(read.ok()) << id << ": " << read.status();
  const v1::Record want = testing::CrashRecord(id, absl::Now());
  ASSERT_EQ(read->items_size(), want.items_size()) << id;
  for (const v1::Item& w : want.items()) {
    bool same = false;
    for (const v1::Item& got : read->items()) {
      same |= got.item_id() == w.item_id() && got.content() == w.content();
    }
    EXPECT_TRUE(same) << id << " item " << w.item_id();
  }
}

TEST(VaultCrashTest, EveryAcknowledgedRecordSurvivesSigkill) {
  testing::TempDir dir;
  ASSERT_TRUE(crypto::MasterKey::CreateKeyFile(dir.Join("master.key")).ok());
  std::mt19937 rng(7);
  std::set<std::string> acknowledged;
  int kills = 0;
  int killed_mid_intake = 0;  // rounds whose child had acknowledged records
  for (int round = 0; round < 30; ++round) {
    // Mostly mid-intake; sometimes during open and migration.
    const auto after = std::chrono::milliseconds(
        round % 6 == 0 ? rng() % 40 : 60 + rng() % 400);
    ChildRun run = RunAndKill(dir.path(), absl::StrCat(round), after);
    ASSERT_FALSE(run.exited_early) << "the child exited by itself";
    ++kills;
    if (!run.acknowledged.empty()) ++killed_mid_intake;

    VaultOptions o;
    o.database = dir.Join("vault.db");
    o.master_key_file = dir.Join("master.key");
    auto vault = Vault::Open(o);
    ASSERT_TRUE(vault.ok()) << "round " << round << ": " << vault.status();
    for (const std::string& id : run.acknowledged) {
      ExpectIntact(**vault, id);
      acknowledged.insert(id);
    }
    // Everything from earlier rounds is still there.
    for (const std::string& id : acknowledged) {
      ASSERT_TRUE((*vault)->Describe(id).ok())
          << "round " << round << " " << id;
    }
    vault->reset();
    ASSERT_EQ(
        testing::QueryBlob(dir.Join("vault.db"), "PRAGMA integrity_check"),
        "ok")
        << "round " << round;
  }
  // A last full pass: every acknowledged record decrypts.
  VaultOptions o;
  o.database = dir.Join("vault.db");
  o.master_key_file = dir.Join("master.key");
  auto vault = Vault::Open(o);
  ASSERT_TRUE(vault.ok());
  for (const std::string& id : acknowledged) ExpectIntact(**vault, id);
  RecordProperty("kills", kills);
  RecordProperty("acknowledged", static_cast<int>(acknowledged.size()));
  // The kills did land mid-intake: a third of the rounds' children or more
  // had acknowledged records when killed. Counted in rounds, not records, since
  // a loaded machine acknowledges fewer records before each kill.
  RecordProperty("killed_mid_intake", killed_mid_intake);
  EXPECT_GE(killed_mid_intake, 10);
}

}  // namespace
}  // namespace lanevault::vault
