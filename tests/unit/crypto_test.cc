#include "vault/crypto.h"

#include <sys/stat.h>

#include "common/files.h"
#include "gtest/gtest.h"
#include "testing/test_util.h"

namespace lanevault::vault {
namespace {

Envelope NewEnvelope(const testing::TempDir& dir) {
  const std::string path = dir.Join("master.key");
  EXPECT_TRUE(MasterKey::CreateKeyFile(path).ok());
  auto key = MasterKey::LoadFromFile(path);
  EXPECT_TRUE(key.ok()) << key.status();
  return Envelope(std::move(*key));
}

TEST(MasterKey, CreatedPrivateAndNeverOverwritten) {
  testing::TempDir dir;
  const std::string path = dir.Join("master.key");
  ASSERT_TRUE(MasterKey::CreateKeyFile(path).ok());
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  EXPECT_EQ(st.st_size, 32);
  EXPECT_EQ(MasterKey::CreateKeyFile(path).code(),
            absl::StatusCode::kAlreadyExists);
}

TEST(MasterKey, RefusesReadableByOthers) {
  testing::TempDir dir;
  const std::string path = dir.Join("master.key");
  ASSERT_TRUE(MasterKey::CreateKeyFile(path).ok());
  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  EXPECT_EQ(MasterKey::LoadFromFile(path).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(MasterKey, RefusesWrongLength) {
  testing::TempDir dir;
  const std::string path = dir.Join("short.key");
  ASSERT_TRUE(WriteFileAtomically(path, "too short", 0600).ok());
  EXPECT_EQ(MasterKey::LoadFromFile(path).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(Envelope, RoundTripsAndHidesPlaintext) {
  testing::TempDir dir;
  Envelope env = NewEnvelope(dir);
  auto sealed = env.Seal("KXR4821", "ad-1");
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->ciphertext.find("KXR4821"), std::string::npos);
  auto opened = env.Open(*sealed, "ad-1");
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->view(), "KXR4821");
}

TEST(Envelope, EachSealUsesAFreshKeyAndNonce) {
  testing::TempDir dir;
  Envelope env = NewEnvelope(dir);
  auto a = env.Seal("same", "ad");
  auto b = env.Seal("same", "ad");
  EXPECT_NE(a->ciphertext, b->ciphertext);
  EXPECT_NE(a->wrapped_key, b->wrapped_key);
}

TEST(Envelope, WrongAssociatedDataIsDataLoss) {
  testing::TempDir dir;
  Envelope env = NewEnvelope(dir);
  auto sealed = env.Seal("secret", "record-a");
  EXPECT_EQ(env.Open(*sealed, "record-b").status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(Envelope, EveryFlippedByteIsDetected) {
  testing::TempDir dir;
  Envelope env = NewEnvelope(dir);
  auto sealed = env.Seal("a plate crop would be here", "ad");
  for (size_t i = 0; i < sealed->ciphertext.size(); ++i) {
    SealedItem damaged = *sealed;
    damaged.ciphertext[i] ^= 0x01;
    EXPECT_EQ(env.Open(damaged, "ad").status().code(),
              absl::StatusCode::kDataLoss)
        << "byte " << i;
  }
  for (size_t i = 0; i < sealed->wrapped_key.size(); ++i) {
    SealedItem damaged = *sealed;
    damaged.wrapped_key[i] ^= 0x80;
    EXPECT_EQ(env.Open(damaged, "ad").status().code(),
              absl::StatusCode::kDataLoss)
        << "byte " << i;
  }
  SealedItem truncated = *sealed;
  truncated.ciphertext.resize(10);
  EXPECT_EQ(env.Open(truncated, "ad").status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(Envelope, AnotherMasterKeyCannotOpen) {
  testing::TempDir dir1, dir2;
  Envelope a = NewEnvelope(dir1);
  Envelope b = NewEnvelope(dir2);
  auto sealed = a.Seal("secret", "ad");
  EXPECT_EQ(b.Open(*sealed, "ad").status().code(), absl::StatusCode::kDataLoss);
}

TEST(SecureBytes, MoveLeavesSourceEmpty) {
  SecureBytes a = SecureBytes::CopyOf("key material");
  SecureBytes b = std::move(a);
  EXPECT_EQ(a.size(), 0u);
  EXPECT_EQ(b.view(), "key material");
}

}  // namespace
}  // namespace lanevault::vault
