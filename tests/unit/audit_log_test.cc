// The access log in the vault: signed checkpoints, proofs, restarts, forks,
// and offline verification of an export.

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/time_util.h"
#include "crypto/master_key.h"
#include "crypto/signing.h"
#include "gtest/gtest.h"
#include "rpc/audit_log_source.h"
#include "testing/test_util.h"
#include "tlog/checkpoint.h"
#include "tlog/log_verifier.h"
#include "tlog/merkle.h"
#include "vault/vault.h"

namespace lanevault::vault {
namespace {

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(crypto::MasterKey::CreateKeyFile(dir_.Join("master.key")).ok());
    vault_ = Open("vault.db");
  }
  // Every vault here has a copy of the first one's key store, so its log
  // key: a fork signed with the same key. (Each copy forgets the newest
  // head the first signed: that record is per vault.)
  std::unique_ptr<Vault> Open(const std::string& db) {
    VaultOptions o;
    o.database = dir_.Join(db);
    o.master_key_file = dir_.Join("master.key");
    o.key_store = o.database + ".keys";
    if (db != "vault.db" && !std::filesystem::exists(o.key_store)) {
      std::filesystem::copy_file(dir_.Join("vault.db.keys"), o.key_store);
      if (std::filesystem::exists(dir_.Join("vault.db.keys-wal"))) {
        std::filesystem::copy_file(dir_.Join("vault.db.keys-wal"),
                                   o.key_store + "-wal");
      }
      testing::ExecSql(o.key_store,
                       "DELETE FROM key_store_meta WHERE name = 'log_head'");
    }
    auto v = Vault::Open(o);
    EXPECT_TRUE(v.ok()) << v.status();
    return std::move(*v);
  }
  static v1::AuditEntry Entry(int i) {
    v1::AuditEntry e;
    e.set_principal(absl::StrCat("inspector-", i % 3));
    e.set_action(v1::ACTION_READ_RECORD);
    e.set_verdict(i % 4 == 0 ? v1::VERDICT_DENY : v1::VERDICT_ALLOW);
    e.set_record_id(absl::StrCat("rec_", i));
    *e.mutable_time() = ToProto(absl::FromUnixSeconds(1'800'000'000 + i));
    return e;
  }
  void Append(Vault& v, int from, int to) {
    std::vector<v1::AuditEntry> batch;
    for (int i = from; i < to; ++i) batch.push_back(Entry(i));
    ASSERT_TRUE(v.log().AppendBatch(std::move(batch)).ok());
  }
  v1::AuditExport Export(Vault& v) {
    v1::AuditExport out;
    auto cp = v.log().SignCheckpoint();
    EXPECT_TRUE(cp.ok()) << cp.status();
    *out.mutable_checkpoint() = *cp;
    absl::StatusOr<std::vector<std::string>> leaves =
        v.log().LeafData(0, cp->tree_size());
    EXPECT_TRUE(leaves.ok());
    for (const std::string& l : leaves.value()) out.add_leaf_data(l);
    return out;
  }

  testing::TempDir dir_;
  std::unique_ptr<Vault> vault_;
};

TEST_F(AuditLogTest, CheckpointIsASignedNoteOverTheRoot) {
  Append(*vault_, 0, 10);
  auto cp = vault_->log().SignCheckpoint();
  ASSERT_TRUE(cp.ok()) << cp.status();
  EXPECT_EQ(cp->tree_size(), 10u);
  EXPECT_EQ(cp->signed_note().substr(0, cp->origin().size() + 4),
            cp->origin() + "\n10\n");
  auto head =
      tlog::OpenCheckpoint(cp->signed_note(), vault_->log().VerifierKey());
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ(head->size, 10u);
  // The root is the RFC 6962 root of the stored entry bytes.
  tlog::CompactRange range;
  absl::StatusOr<std::vector<std::string>> leaves =
      vault_->log().LeafData(0, 10);
  ASSERT_TRUE(leaves.ok());
  for (const std::string& l : leaves.value()) range.Append(tlog::LeafHash(l));
  EXPECT_EQ(head->root_hash, range.Root());
  // A note edited after signing, or checked with another key, fails.
  std::string edited = cp->signed_note();
  edited[cp->origin().size() + 1] = '9';
  EXPECT_EQ(
      tlog::OpenCheckpoint(edited, vault_->log().VerifierKey()).status().code(),
      absl::StatusCode::kDataLoss);
  auto other = Open("other.db");  // same key store, same log key
  EXPECT_TRUE(
      tlog::OpenCheckpoint(cp->signed_note(), other->log().VerifierKey()).ok());
  crypto::SigningKey stranger = crypto::SigningKey::DeriveFrom(
      *crypto::MasterKey::LoadFromFile(dir_.Join("master.key")), "another");
  EXPECT_FALSE(tlog::OpenCheckpoint(
                   cp->signed_note(),
                   tlog::VerifierKey(cp->origin(), stranger.public_key()))
                   .ok());
}

TEST_F(AuditLogTest, ProofsFromTheStoreVerifyAgainstCheckpoints) {
  Append(*vault_, 0, 37);
  auto old_cp = vault_->log().SignCheckpoint();
  Append(*vault_, 37, 100);
  auto new_cp = vault_->log().SignCheckpoint();
  auto old_head =
      tlog::OpenCheckpoint(old_cp->signed_note(), vault_->log().VerifierKey());
  auto new_head =
      tlog::OpenCheckpoint(new_cp->signed_note(), vault_->log().VerifierKey());
  auto consistency = vault_->log().ConsistencyProof(37, 100);
  ASSERT_TRUE(consistency.ok());
  EXPECT_TRUE(tlog::VerifyConsistency(37, 100, old_head->root_hash,
                                      new_head->root_hash, *consistency)
                  .ok());
  auto leaves = vault_->log().LeafData(0, 100);
  for (uint64_t i = 0; i < 100; i += 7) {
    auto proof = vault_->log().InclusionProof(i, 100);
    ASSERT_TRUE(proof.ok());
    EXPECT_TRUE(tlog::VerifyInclusion(i, 100, tlog::LeafHash((*leaves)[i]),
                                      *proof, new_head->root_hash)
                    .ok())
        << i;
  }
  EXPECT_EQ(vault_->log().InclusionProof(5, 101).status().code(),
            absl::StatusCode::kOutOfRange);
}

TEST_F(AuditLogTest, TreeResumesAfterRestart) {
  Append(*vault_, 0, 13);
  vault_.reset();
  vault_ = Open("vault.db");
  EXPECT_EQ(vault_->log().Size(), 13u);
  Append(*vault_, 13, 29);
  // Every entry, before and after the restart, verifies in full.
  v1::AuditExport exported = Export(*vault_);
  auto source = tlog::ExportAuditLogSource(exported);
  tlog::VerifyOptions options;
  options.verifier_key = vault_->log().VerifierKey();
  options.full = true;
  options.entries = {0, 12, 13, 28};
  auto report = tlog::VerifyAuditLog(**source, options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->tree_size, 29u);
}

TEST_F(AuditLogTest, AForkSignedWithTheSameKeyIsCaught) {
  Append(*vault_, 0, 20);
  const std::string verified = vault_->log().SignCheckpoint()->signed_note();
  // Another log with the same key but a different history (a server that
  // rewrote its past and re-signed) presents a larger, validly signed head.
  auto fork = Open("fork.db");
  Append(*fork, 1, 40);
  auto source = tlog::ExportAuditLogSource(Export(*fork));
  tlog::VerifyOptions options;
  options.verifier_key = vault_->log().VerifierKey();
  options.previous_checkpoint = verified;
  auto report = tlog::VerifyAuditLog(**source, options);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(report.status().message().find("not an extension"),
            absl::string_view::npos)
      << report.status();
  // The honest log's own continuation is accepted.
  Append(*vault_, 20, 40);
  auto honest = tlog::ExportAuditLogSource(Export(*vault_));
  EXPECT_TRUE(tlog::VerifyAuditLog(**honest, options).ok());
}

// A log that moved to a key of its own: the auditor's saved checkpoint,
// signed by the key before, verifies only when that key is named as the
// previous one; the tree is the same, so consistency still holds.
TEST_F(AuditLogTest, ASavedCheckpointByThePreviousKeyVerifiesWhenNamed) {
  Append(*vault_, 0, 10);
  auto root = vault_->log().RootAt(10);
  ASSERT_TRUE(root.ok());
  crypto::SecureBytes seed = crypto::SigningKey::NewSeed();
  auto before = crypto::SigningKey::FromSeed(seed);
  ASSERT_TRUE(before.ok());
  const std::string saved =
      tlog::SignCheckpoint({vault_->log().origin(), 10, *root}, *before);
  Append(*vault_, 10, 25);
  auto source = tlog::ExportAuditLogSource(Export(*vault_));
  ASSERT_TRUE(source.ok());
  tlog::VerifyOptions options;
  options.verifier_key = vault_->log().VerifierKey();
  options.previous_checkpoint = saved;
  EXPECT_EQ(tlog::VerifyAuditLog(**source, options).status().code(),
            absl::StatusCode::kDataLoss);
  options.previous_verifier_key =
      tlog::VerifierKey(vault_->log().origin(), before->public_key());
  auto report = tlog::VerifyAuditLog(**source, options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->previous_size, 10u);
  EXPECT_EQ(report->tree_size, 25u);
}

TEST_F(AuditLogTest, ExportWithARewrittenEntryFailsOffline) {
  Append(*vault_, 0, 30);
  v1::AuditExport exported = Export(*vault_);
  v1::AuditEntry e;
  ASSERT_TRUE(e.ParseFromString(exported.leaf_data(11)));
  e.set_principal("someone-else");
  exported.set_leaf_data(11, e.SerializeAsString());
  auto source = tlog::ExportAuditLogSource(exported);
  tlog::VerifyOptions options;
  options.verifier_key = vault_->log().VerifierKey();
  options.full = true;
  EXPECT_EQ(tlog::VerifyAuditLog(**source, options).status().code(),
            absl::StatusCode::kDataLoss);
  // And proving that one entry's inclusion names it.
  options.full = false;
  options.entries = {11};
  auto report = tlog::VerifyAuditLog(**source, options);
  EXPECT_NE(report.status().message().find("entry 11"), absl::string_view::npos)
      << report.status();
}

TEST_F(AuditLogTest, QueriesFilterAndPage) {
  Append(*vault_, 0, 40);
  AuditQuery q;
  q.principal = "inspector-1";
  q.limit = 5;
  auto page = vault_->log().Query(q);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 5u);
  for (const auto& e : *page) EXPECT_EQ(e.principal(), "inspector-1");
  q.start_sequence = page->back().sequence() + 1;
  auto next = vault_->log().Query(q);
  ASSERT_TRUE(next.ok());
  EXPECT_GT(next->front().sequence(), page->back().sequence());
  AuditQuery denied;
  denied.verdict = v1::VERDICT_DENY;
  denied.limit = 100;
  EXPECT_EQ(vault_->log().Query(denied)->size(), 10u);
  AuditQuery window;
  window.since = absl::FromUnixSeconds(1'800'000'010);
  window.until = absl::FromUnixSeconds(1'800'000'020);
  EXPECT_EQ(vault_->log().Query(window)->size(), 10u);
}

}  // namespace
}  // namespace lanevault::vault
