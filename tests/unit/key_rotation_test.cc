// The key hierarchy in a real vault: rotation re-wraps in the background and
// destroys the old version once unused; a passphrase opens only its vault.

#include <atomic>
#include <thread>

#include "crypto/secure_bytes.h"
#include "gtest/gtest.h"
#include "testing/test_util.h"
#include "testing/vault_fixture.h"

namespace lanevault::vault {
namespace {

class KeyRotationTest : public testing::VaultFixture {
 protected:
  uint64_t ItemsUnder(uint32_t version) {
    absl::StatusOr<std::vector<std::pair<uint32_t, uint64_t>>> per =
        vault_->ItemsPerKeyVersion();
    EXPECT_TRUE(per.ok());
    for (const auto& [v, n] : per.value()) {
      if (v == version) return n;
    }
    return 0;
  }
  // The key store's KEKs (the database holds none).
  int64_t KekRows() {
    return testing::QueryInt(db_path() + ".keys", "SELECT COUNT(*) FROM keks");
  }
  // Both items kept 30 days: one retention period, one KEK a generation.
  v1::Record Make(absl::string_view plate) {
    return MakeRecord(plate, "face", absl::Hours(24 * 30));
  }
  void ExpectReads(const v1::Record& r) {
    auto read = vault_->Read(r.record_id(), {},
                             Entry(v1::ACTION_READ_RECORD, r.record_id()));
    ASSERT_TRUE(read.ok()) << read.status();
    ASSERT_EQ(read->items_size(), r.items_size());
  }
};

TEST_F(KeyRotationTest, RotationRewrapsThenDestroysTheOldVersion) {
  std::vector<v1::Record> records;
  for (int i = 0; i < 300; ++i) {
    records.push_back(Make("KXR4821"));
    ASSERT_TRUE(vault_
                    ->Intake(records.back(), Entry(v1::ACTION_INTAKE,
                                                   records.back().record_id()))
                    .ok());
  }
  EXPECT_EQ(vault_->CurrentKeyVersion(), 1u);
  EXPECT_EQ(ItemsUnder(1), 600u);

  auto version = vault_->RotateKeys(Entry(v1::ACTION_ROTATE_KEYS, ""));
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(*version, 2u);
  EXPECT_EQ(KekRows(), 1);  // the new generation's KEK comes with its first use

  // New intake uses version 2 at once; old items still read meanwhile.
  v1::Record fresh = Make("NEW0001");
  ASSERT_TRUE(
      vault_->Intake(fresh, Entry(v1::ACTION_INTAKE, fresh.record_id())).ok());
  EXPECT_EQ(ItemsUnder(2), 2u);
  ExpectReads(records[0]);

  // One small batch at a time, as the maintainer does.
  auto step = vault_->RewrapStep(256);
  ASSERT_TRUE(step.ok());
  EXPECT_EQ(*step, 256u);
  EXPECT_EQ(KekRows(), 2);  // still in use: kept
  while (*vault_->RewrapStep(256) > 0) {
  }
  EXPECT_EQ(ItemsUnder(1), 0u);
  EXPECT_EQ(ItemsUnder(2), 602u);
  EXPECT_EQ(KekRows(), 1);  // version 1 destroyed

  // Logged: the rotation and the destruction.
  AuditQuery q;
  q.action = v1::ACTION_ROTATE_KEYS;
  auto logged = vault_->log().Query(q);
  ASSERT_EQ(logged->size(), 2u);
  EXPECT_NE((*logged)[1].detail().find("key version 1 destroyed"),
            std::string::npos);

  // Every record still reads, also after a restart.
  Reopen();
  for (const v1::Record& r : records) ExpectReads(r);
  ExpectReads(fresh);
}

TEST_F(KeyRotationTest, BackgroundRewrapDoesNotBlockIntake) {
  for (int i = 0; i < 2000; ++i) {
    v1::Record r = Make("KXR4821");
    ASSERT_TRUE(
        vault_->Intake(r, Entry(v1::ACTION_INTAKE, r.record_id())).ok());
  }
  vault_->StartMaintenance();
  ASSERT_TRUE(vault_->RotateKeys(Entry(v1::ACTION_ROTATE_KEYS, "")).ok());
  // Intake runs while the maintainer re-wraps; every record is acknowledged.
  std::vector<v1::Record> during;
  for (int i = 0; i < 200; ++i) {
    during.push_back(Make("DUR0001"));
    ASSERT_TRUE(vault_
                    ->Intake(during.back(), Entry(v1::ACTION_INTAKE,
                                                  during.back().record_id()))
                    .ok());
  }
  for (int i = 0; i < 1000 && KekRows() != 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(KekRows(), 1);
  EXPECT_EQ(ItemsUnder(1), 0u);
  vault_->StopMaintenance();
  for (const v1::Record& r : during) ExpectReads(r);
}

class PassphraseVaultTest : public testing::VaultFixture {
 protected:
  VaultOptions Options() override {
    VaultOptions o = VaultFixture::Options();
    o.master_key_file.clear();
    o.passphrase = &passphrase_;
    o.passphrase_params = {1, 8u << 20};  // cheap for tests
    return o;
  }
  crypto::SecureBytes passphrase_ =
      crypto::SecureBytes::CopyOf("correct horse battery staple");
};

TEST_F(PassphraseVaultTest, OpensWithItsPassphraseOnly) {
  v1::Record r = MakeRecord("KXR4821", "face", absl::Hours(24));
  ASSERT_TRUE(vault_->Intake(r, Entry(v1::ACTION_INTAKE, r.record_id())).ok());
  Reopen();
  auto read = vault_->Read(r.record_id(), {},
                           Entry(v1::ACTION_READ_RECORD, r.record_id()));
  ASSERT_TRUE(read.ok()) << read.status();
  vault_.reset();
  passphrase_ = crypto::SecureBytes::CopyOf("not the right passphrase");
  auto wrong = Vault::Open(Options());
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kPermissionDenied)
      << wrong.status();
  // Nor does the key file vault's master key.
  VaultOptions with_file = VaultFixture::Options();
  EXPECT_EQ(Vault::Open(with_file).status().code(),
            absl::StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace lanevault::vault
