// Shamir sharing over GF(2^8) against known vectors, the human share text,
// and the seal file: K of N open it, K-1 do not, a wrong share is named
// when given, and a rekey's new shares work where the old ones stop.

#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "crypto/seal_file.h"
#include "crypto/secure_bytes.h"
#include "crypto/shamir.h"
#include "gtest/gtest.h"
#include "testing/test_util.h"

namespace lanevault::crypto {
namespace {

SecureBytes FromHex(absl::string_view hex) {
  return SecureBytes::CopyOf(absl::HexStringToBytes(hex));
}
std::string ToHex(const SecureBytes& b) {
  return absl::BytesToHexString(b.view());
}

// FIPS-197 section 4.2: {57}*{83} = {c1}, {57}*{13} = {fe}; section 5.1.1
// (the S-box's inverse): {53}^-1 = {ca}.
TEST(Shamir, FieldMatchesAesKnownValues) {
  EXPECT_EQ(internal::GfMul(0x57, 0x83), 0xc1);
  EXPECT_EQ(internal::GfMul(0x57, 0x13), 0xfe);
  EXPECT_EQ(internal::GfInverse(0x53), 0xca);
  EXPECT_EQ(internal::GfInverse(0), 0);
  for (int a = 1; a < 256; ++a) {
    ASSERT_EQ(internal::GfMul(static_cast<uint8_t>(a),
                              internal::GfInverse(static_cast<uint8_t>(a))),
              1)
        << a;
  }
}

// Shares computed independently (Python, log/exp tables over generator 3 of
// the AES field) for f(x) = s + c1 x + c2 x^2.
TEST(Shamir, SplitMatchesKnownVectors) {
  std::vector<SecureBytes> coefficients;
  coefficients.push_back(FromHex("0123456789abcdef"));
  coefficients.push_back(FromHex("fedcba9876543210"));
  const auto shares =
      internal::ShamirSplitWith(FromHex("53c0ffee00ff7f80"), coefficients, 5);
  const char* expected[] = {"ac3f0011ff00807f", "84dbab76caf93605",
                            "7b2454893506c9fa", "2e23a52a33526b0a",
                            "d1dc5ad5ccad94f5"};
  ASSERT_EQ(shares.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(shares[i].index, i + 1);
    EXPECT_EQ(ToHex(shares[i].value), expected[i]) << "share " << i + 1;
  }
  // And back from the known shares 2, 4, 5.
  std::vector<SecretShare> three;
  for (int x : {2, 4, 5}) {
    three.push_back({static_cast<uint8_t>(x), FromHex(expected[x - 1])});
  }
  auto secret = ShamirCombine(three);
  ASSERT_TRUE(secret.ok()) << secret.status();
  EXPECT_EQ(ToHex(*secret), "53c0ffee00ff7f80");
}

TEST(Shamir, EveryKSubsetGivesTheSecretAndNoKMinusOneDoes) {
  SecureBytes secret(32);
  for (size_t i = 0; i < 32; ++i)
    secret.data()[i] = static_cast<uint8_t>(i * 7);
  auto shares = ShamirSplit(secret, 3, 5);
  ASSERT_TRUE(shares.ok()) << shares.status();
  for (int a = 0; a < 5; ++a) {
    for (int b = a + 1; b < 5; ++b) {
      std::vector<SecretShare> two;
      two.push_back(
          {(*shares)[a].index, SecureBytes::CopyOf((*shares)[a].value.view())});
      two.push_back(
          {(*shares)[b].index, SecureBytes::CopyOf((*shares)[b].value.view())});
      auto wrong = ShamirCombine(two);
      ASSERT_TRUE(wrong.ok());
      EXPECT_NE(wrong->view(), secret.view()) << a << "," << b;
      for (int c = b + 1; c < 5; ++c) {
        std::vector<SecretShare> three;
        for (int i : {a, b, c}) {
          three.push_back({(*shares)[i].index,
                           SecureBytes::CopyOf((*shares)[i].value.view())});
        }
        auto got = ShamirCombine(three);
        ASSERT_TRUE(got.ok());
        EXPECT_EQ(got->view(), secret.view()) << a << "," << b << "," << c;
      }
    }
  }
}

TEST(Shamir, RefusesBadParameters) {
  SecureBytes secret(32);
  EXPECT_FALSE(ShamirSplit(secret, 1, 5).ok());
  EXPECT_FALSE(ShamirSplit(secret, 6, 5).ok());
  EXPECT_FALSE(ShamirSplit(secret, 2, 256).ok());
  EXPECT_FALSE(ShamirSplit(SecureBytes(), 2, 3).ok());
  std::vector<SecretShare> twice;
  twice.push_back({1, SecureBytes(4)});
  twice.push_back({1, SecureBytes(4)});
  EXPECT_FALSE(ShamirCombine(twice).ok());
}

SecureBytes RandomMasterKey() {
  SecureBytes m(32);
  for (size_t i = 0; i < 32; ++i) m.data()[i] = static_cast<uint8_t>(0xa0 + i);
  return m;
}

TEST(SealFile, KOfNOpenAndKMinusOneDoNot) {
  const SecureBytes master = RandomMasterKey();
  auto seal = SealMasterKey(master, 3, 5);
  ASSERT_TRUE(seal.ok()) << seal.status();
  ASSERT_EQ(seal->shares.size(), 5u);
  EXPECT_TRUE(absl::StartsWith(
      seal->shares[1].view(),
      absl::StrCat("lvshare1-3of5-2-", seal->file.set_id(), "-")));
  // The seal file holds neither the master key nor any share.
  const std::string text = seal->file.SerializeAsString();
  EXPECT_EQ(text.find(std::string(master.view())), std::string::npos);

  Unsealer two(seal->file);
  ASSERT_TRUE(two.Add(seal->shares[0].view()).ok());
  ASSERT_TRUE(two.Add(seal->shares[4].view()).ok());
  EXPECT_FALSE(two.ready());
  EXPECT_EQ(two.Open().status().code(), absl::StatusCode::kFailedPrecondition);

  Unsealer three(seal->file);
  for (int i : {4, 1, 2}) {
    auto added = three.Add(seal->shares[i].view());
    ASSERT_TRUE(added.ok()) << added.status();
    EXPECT_EQ(*added, i + 1);
  }
  EXPECT_EQ(three.Add(seal->shares[4].view()).status().code(),
            absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(three.ready());
  auto opened = three.Open();
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->view(), master.view());
}

TEST(SealFile, EveryOneCharacterTypoIsCaughtByTheCheckDigits) {
  auto seal = SealMasterKey(RandomMasterKey(), 2, 3);
  ASSERT_TRUE(seal.ok());
  const std::string good(seal->shares[0].view());
  for (size_t i = 0; i < good.size(); ++i) {
    std::string typo = good;
    typo[i] = typo[i] == '7' ? '8' : '7';
    Unsealer u(seal->file);
    auto added = u.Add(typo);
    EXPECT_FALSE(added.ok()) << "position " << i;
  }
  // Dropped characters too.
  Unsealer u(seal->file);
  EXPECT_FALSE(u.Add(good.substr(0, good.size() - 1)).ok());
  EXPECT_FALSE(u.Add(good.substr(1)).ok());
}

TEST(SealFile, AWrongShareIsNamedWhenGiven) {
  auto seal = SealMasterKey(RandomMasterKey(), 2, 3);
  auto other = SealMasterKey(RandomMasterKey(), 2, 3);
  ASSERT_TRUE(seal.ok() && other.ok());
  Unsealer u(seal->file);
  // A share of another set (as after a rekey): named as such.
  auto foreign = u.Add(other->shares[1].view());
  ASSERT_FALSE(foreign.ok());
  EXPECT_NE(foreign.status().message().find("not of this seal's set"),
            std::string::npos)
      << foreign.status();
  // A share forged whole, with valid check digits, under this set's id and
  // index 2: its digest names it.
  v1::SealFile forged_set = seal->file;
  SecureBytes junk(32);
  const SecureBytes forged = internal::EncodeShare(forged_set, 2, junk);
  auto wrong = u.Add(forged.view());
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("share 2 is not the share 2"),
            std::string::npos)
      << wrong.status();
  EXPECT_FALSE(u.Add("hello").ok());
  EXPECT_EQ(u.given(), 0);
}

TEST(SealFile, WrittenAtomicallyPrivateAndReadBack) {
  testing::TempDir dir;
  const std::string path = dir.Join("unseal.seal");
  const SecureBytes master = RandomMasterKey();
  auto seal = SealMasterKey(master, 2, 3);
  ASSERT_TRUE(seal.ok());
  ASSERT_TRUE(WriteSealFile(path, seal->file).ok());
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  auto read = ReadSealFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  auto raw = ReadFileToString(path);
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->find(std::string(master.view())), std::string::npos);
  EXPECT_EQ(raw->find(absl::BytesToHexString(master.view())),
            std::string::npos);

  // A console unseal: shares one a line, blank lines skipped.
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const std::string input = absl::StrCat("\n", seal->shares[2].view(), "\n",
                                         seal->shares[0].view(), "\n");
  ASSERT_EQ(write(fds[1], input.data(), input.size()),
            static_cast<ssize_t>(input.size()));
  close(fds[1]);
  auto opened = UnsealFromFd(*read, fds[0]);
  close(fds[0]);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->view(), master.view());

  // Tampering with K in the file breaks the binding: the shares no longer
  // open it.
  v1::SealFile tampered = *read;
  tampered.set_created("yesterday");  // not bound: only for people
  Unsealer still(tampered);
  ASSERT_TRUE(still.Add(seal->shares[0].view()).ok());
  ASSERT_TRUE(still.Add(seal->shares[1].view()).ok());
  EXPECT_TRUE(still.Open().ok());
  tampered.mutable_share_digests()->SwapElements(0, 1);
  Unsealer swapped(tampered);
  EXPECT_FALSE(swapped.Add(seal->shares[0].view()).ok());
}

TEST(SealFile, RekeyGivesNewSharesThatWorkAndOldOnesThatDoNot) {
  testing::TempDir dir;
  const std::string path = dir.Join("unseal.seal");
  const SecureBytes master = RandomMasterKey();
  auto first = SealMasterKey(master, 2, 3);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(WriteSealFile(path, first->file).ok());
  // Rekey: K old shares give M; M is sealed afresh 3 of 4 and replaces the
  // file.
  Unsealer old_set(*ReadSealFile(path));
  ASSERT_TRUE(old_set.Add(first->shares[0].view()).ok());
  ASSERT_TRUE(old_set.Add(first->shares[2].view()).ok());
  auto m = old_set.Open();
  ASSERT_TRUE(m.ok());
  auto second = SealMasterKey(*m, 3, 4);
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(WriteSealFile(path, second->file).ok());

  Unsealer next(*ReadSealFile(path));
  EXPECT_FALSE(next.Add(first->shares[0].view()).ok());
  for (int i : {0, 1, 3}) ASSERT_TRUE(next.Add(second->shares[i].view()).ok());
  auto reopened = next.Open();
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ(reopened->view(), master.view());
}

}  // namespace
}  // namespace lanevault::crypto
