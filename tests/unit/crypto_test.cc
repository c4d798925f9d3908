#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <thread>

#include "common/files.h"
#include "common/ids.h"
#include "crypto/blind_index.h"
#include "crypto/handles.h"
#include "crypto/key_ring.h"
#include "crypto/master_key.h"
#include "crypto/secure_bytes.h"
#include "gtest/gtest.h"
#include "testing/test_util.h"

namespace lanevault::crypto {
namespace {

MasterKey NewMasterKey(const testing::TempDir& dir) {
  const std::string path = dir.Join("master.key");
  EXPECT_TRUE(MasterKey::CreateKeyFile(path).ok());
  auto key = MasterKey::LoadFromFile(path);
  EXPECT_TRUE(key.ok()) << key.status();
  return std::move(*key);
}

// A key ring with KEK version 1 current, as a new vault has.
std::unique_ptr<KeyRing> NewKeyRing(const testing::TempDir& dir) {
  auto ring = std::make_unique<KeyRing>(NewMasterKey(dir));
  ring->NewKek(1);
  ring->SetCurrent(1);
  return ring;
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

TEST(KeyRing, RoundTripsAndHidesPlaintext) {
  testing::TempDir dir;
  auto ring = NewKeyRing(dir);
  KeyRing& env = *ring;
  auto sealed = env.Seal("KXR4821", "ad-1");
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->ciphertext.find("KXR4821"), std::string::npos);
  auto opened = env.Open(*sealed, "ad-1");
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->view(), "KXR4821");
}

TEST(KeyRing, EachSealUsesAFreshKeyAndNonce) {
  testing::TempDir dir;
  auto ring = NewKeyRing(dir);
  KeyRing& env = *ring;
  auto a = env.Seal("same", "ad");
  auto b = env.Seal("same", "ad");
  EXPECT_NE(a->ciphertext, b->ciphertext);
  EXPECT_NE(a->wrapped_key, b->wrapped_key);
}

TEST(KeyRing, WrongAssociatedDataIsDataLoss) {
  testing::TempDir dir;
  auto ring = NewKeyRing(dir);
  KeyRing& env = *ring;
  auto sealed = env.Seal("secret", "record-a");
  EXPECT_EQ(env.Open(*sealed, "record-b").status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(KeyRing, EveryFlippedByteIsDetected) {
  testing::TempDir dir;
  auto ring = NewKeyRing(dir);
  KeyRing& env = *ring;
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

TEST(KeyRing, AnotherMasterKeyCannotOpen) {
  testing::TempDir dir1, dir2;
  auto a = NewKeyRing(dir1);
  auto b = NewKeyRing(dir2);
  auto sealed = a->Seal("secret", "ad");
  EXPECT_EQ(b->Open(*sealed, "ad").status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(KeyRing, AKekWrappedByOneMasterKeyIsRefusedByAnother) {
  testing::TempDir dir1, dir2;
  KeyRing a(NewMasterKey(dir1));
  KeyRing b(NewMasterKey(dir2));
  WrappedKek kek = a.NewKek(1);
  EXPECT_EQ(b.AddKek(kek).code(), absl::StatusCode::kPermissionDenied);
  // The version is bound into the wrapping: the same bytes under another
  // version number do not open either.
  KeyRing again(*MasterKey::LoadFromFile(dir1.Join("master.key")));
  EXPECT_EQ(again.AddKek({2, kek.wrapped}).code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(KeyRing, RewrapMovesTheDataKeyToANewVersion) {
  testing::TempDir dir;
  const std::string path = dir.Join("master.key");
  ASSERT_TRUE(MasterKey::CreateKeyFile(path).ok());
  KeyRing ring(*MasterKey::LoadFromFile(path));
  WrappedKek v1 = ring.NewKek(1);
  ring.SetCurrent(1);
  auto sealed = ring.Seal("crop bytes", "ad");
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->key_version, 1u);
  WrappedKek v2 = ring.NewKek(2);
  ring.SetCurrent(2);
  auto rewrapped = ring.Rewrap(*sealed, "ad", 2);
  ASSERT_TRUE(rewrapped.ok()) << rewrapped.status();
  SealedItem moved = *sealed;
  moved.wrapped_key = *rewrapped;
  moved.key_version = 2;
  ring.Forget(1);
  EXPECT_EQ(ring.Open(*sealed, "ad").status().code(),
            absl::StatusCode::kNotFound);
  auto opened = ring.Open(moved, "ad");
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->view(), "crop bytes");
  // A fresh ring from the same master key and the stored KEKs opens it too.
  KeyRing reloaded(*MasterKey::LoadFromFile(path));
  ASSERT_TRUE(reloaded.AddKek(v2).ok());
  EXPECT_TRUE(reloaded.Open(moved, "ad").ok());
  (void)v1;
}

TEST(MasterKey, PassphraseIsStretchedDeterministicallyPerSalt) {
  const PassphraseParams cheap{1, 8u << 20};  // tests only: 8 MiB
  SecureBytes pass = SecureBytes::CopyOf("correct horse battery staple");
  const std::string salt = NewPassphraseSalt();
  auto k1 = MasterKey::FromPassphrase(pass, salt, cheap);
  auto k2 = MasterKey::FromPassphrase(pass, salt, cheap);
  ASSERT_TRUE(k1.ok() && k2.ok()) << k1.status();
  KeyRing r1(std::move(*k1)), r2(std::move(*k2));
  WrappedKek kek = r1.NewKek(1);
  EXPECT_TRUE(r2.AddKek(kek).ok());
  auto other = MasterKey::FromPassphrase(pass, NewPassphraseSalt(), cheap);
  ASSERT_TRUE(other.ok());
  KeyRing r3(std::move(*other));
  EXPECT_FALSE(r3.AddKek(kek).ok());
  EXPECT_EQ(MasterKey::FromPassphrase(SecureBytes::CopyOf("short"), salt, cheap)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MasterKey::FromPassphrase(pass, "bad salt", cheap).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ReadSecret, ReadsOneLineFromADescriptor) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  ASSERT_EQ(write(fds[1], "a passphrase here\n", 18), 18);
  close(fds[1]);
  auto secret = ReadSecret(fds[0]);
  close(fds[0]);
  ASSERT_TRUE(secret.ok()) << secret.status();
  EXPECT_EQ(secret->view(), "a passphrase here");
  ASSERT_EQ(pipe(fds), 0);
  close(fds[1]);
  EXPECT_EQ(ReadSecret(fds[0]).status().code(),
            absl::StatusCode::kInvalidArgument);
  close(fds[0]);
}

TEST(BlindIndex, SamePlateSameValueAndKeyed) {
  testing::TempDir dir1, dir2;
  BlindIndex a = BlindIndex::DeriveFrom(NewMasterKey(dir1));
  BlindIndex b = BlindIndex::DeriveFrom(NewMasterKey(dir2));
  EXPECT_EQ(a.Of("kxr-4821 "), a.Of("KXR4821"));
  EXPECT_EQ(a.Of("KXR4821").size(), 32u);
  EXPECT_NE(a.Of("KXR4821"), a.Of("KXR4822"));
  EXPECT_NE(a.Of("KXR4821"), b.Of("KXR4821"));  // another vault, another key
  EXPECT_EQ(a.Of("KXR4821").find("KXR"), std::string::npos);
  EXPECT_EQ(a.Of(" - "), "");
  EXPECT_EQ(BlindIndex::Normalize("ab-12 c"), "AB12C");
}

TEST(Handles, OpenOnlyUnderTheScopeTheyWereIssuedIn) {
  testing::TempDir dir1, dir2;
  const HandleKey key = HandleKey::DeriveFrom(NewMasterKey(dir1));
  const HandleKey other_vault = HandleKey::DeriveFrom(NewMasterKey(dir2));
  using Kind = HandleKey::Kind;
  for (int i = 0; i < 200; ++i) {
    const std::string id = NewId("rec_");
    auto vehicle = key.Issue(Kind::kRecord, "vehicle", id);
    auto identity = key.Issue(Kind::kRecord, "identity", id);
    ASSERT_TRUE(vehicle.ok() && identity.ok());
    EXPECT_TRUE(HandleKey::LooksLikeHandle(Kind::kRecord, *vehicle));
    EXPECT_EQ(*key.Issue(Kind::kRecord, "vehicle", id), *vehicle);  // stable
    EXPECT_NE(*vehicle, *identity);
    // Nothing of the id, and no common stretch of the two handles' bodies
    // longer than chance would give.
    EXPECT_EQ(vehicle->find(id.substr(4, 8)), std::string::npos);
    EXPECT_EQ(*key.Open(Kind::kRecord, "vehicle", *vehicle), id);
    EXPECT_EQ(key.Open(Kind::kRecord, "identity", *vehicle).status().code(),
              absl::StatusCode::kPermissionDenied);
    EXPECT_EQ(
        other_vault.Open(Kind::kRecord, "vehicle", *vehicle).status().code(),
        absl::StatusCode::kPermissionDenied);
    // A record handle is no item handle, and a raw id no handle at all.
    EXPECT_EQ(key.Open(Kind::kItem, "vehicle", *vehicle).status().code(),
              absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(key.Open(Kind::kRecord, "vehicle", id).status().code(),
              absl::StatusCode::kInvalidArgument);
    // Every flipped character of the body is refused.
    std::string flipped = *vehicle;
    const size_t at = 3 + static_cast<size_t>(i) % (flipped.size() - 3);
    flipped[at] = flipped[at] == 'a' ? 'b' : 'a';
    EXPECT_FALSE(key.Open(Kind::kRecord, "vehicle", flipped).ok()) << at;
  }
  const std::string item = NewId("itm_");
  auto handle = key.Issue(HandleKey::Kind::kItem, "vehicle", item);
  ASSERT_TRUE(handle.ok());
  EXPECT_EQ(handle->rfind("ih_", 0), 0u);
  EXPECT_EQ(*key.Open(HandleKey::Kind::kItem, "vehicle", *handle), item);
  EXPECT_FALSE(key.Issue(HandleKey::Kind::kItem, "vehicle", "itm_x").ok());
}

TEST(SecureBytes, MoveLeavesSourceEmpty) {
  SecureBytes a = SecureBytes::CopyOf("key material");
  SecureBytes b = std::move(a);
  EXPECT_EQ(a.size(), 0u);
  EXPECT_EQ(b.view(), "key material");
}

TEST(SecureBytes, AShortLivedBufferComesZeroedWhateverTheOneBeforeHeld) {
  // A thread keeps released short-lived blocks for its next calls: what one
  // call held must never show through to the next, of any size.
  const uint8_t* first = nullptr;
  {
    SecureBytes a = SecureBytes::ShortLived(5000);
    first = a.data();
    std::memset(a.data(), 0xA5, a.size());
  }
  for (size_t size : {5000u, 32u, 8000u, 0u}) {
    SecureBytes b = SecureBytes::ShortLived(size);
    ASSERT_EQ(b.size(), size);
    for (size_t i = 0; i < size; ++i) ASSERT_EQ(b.data()[i], 0) << size;
    std::memset(b.data(), 0x5A, b.size());
  }
  // The 5000-byte block was reused (the point of keeping it), and came back
  // zeroed above.
  SecureBytes again = SecureBytes::ShortLived(6000);
  EXPECT_EQ(again.data(), first);
  for (size_t i = 0; i < again.size(); ++i) ASSERT_EQ(again.data()[i], 0);
  // Moved to another thread and released there: still zeroed and usable.
  std::thread([buffer = std::move(again)]() mutable {
    std::memset(buffer.data(), 0x11, buffer.size());
    buffer = SecureBytes();
  }).join();
  SecureBytes after = SecureBytes::ShortLived(6000);
  for (size_t i = 0; i < after.size(); ++i) ASSERT_EQ(after.data()[i], 0);
}

}  // namespace
}  // namespace lanevault::crypto
