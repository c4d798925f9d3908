// Known answers for the access log's Merkle tree: the RFC 6962 test vectors
// published with Certificate Transparency, and for every tree size 1..64 a
// comparison against a straightforward reference written from the RFC's
// definitions in this file.

#include "tlog/merkle.h"

#include <map>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "crypto/digest.h"
#include "gtest/gtest.h"

namespace lanevault::tlog {
namespace {

std::string Hex(const std::string& s) { return absl::BytesToHexString(s); }
std::string Unhex(const std::string& s) { return absl::HexStringToBytes(s); }

// --- The reference: RFC 6962 §2.1 read literally, over whole leaf lists. ---
using Leaves = std::vector<std::string>;  // leaf data

Leaves Slice(const Leaves& d, size_t a, size_t b) {
  return Leaves(d.begin() + a, d.begin() + b);
}
size_t K(size_t n) {
  size_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}
std::string RefMth(const Leaves& d) {
  if (d.empty()) return crypto::Sha256("");
  if (d.size() == 1) return crypto::Sha256(std::string(1, '\0') + d[0]);
  const size_t k = K(d.size());
  return crypto::Sha256(std::string(1, '\1') + RefMth(Slice(d, 0, k)) +
                        RefMth(Slice(d, k, d.size())));
}
std::vector<std::string> RefPath(size_t m, const Leaves& d) {
  if (d.size() == 1) return {};
  const size_t k = K(d.size());
  std::vector<std::string> out;
  if (m < k) {
    out = RefPath(m, Slice(d, 0, k));
    out.push_back(RefMth(Slice(d, k, d.size())));
  } else {
    out = RefPath(m - k, Slice(d, k, d.size()));
    out.push_back(RefMth(Slice(d, 0, k)));
  }
  return out;
}
std::vector<std::string> RefSubproof(size_t m, const Leaves& d, bool b) {
  if (m == d.size())
    return b ? std::vector<std::string>{} : std::vector{RefMth(d)};
  const size_t k = K(d.size());
  std::vector<std::string> out;
  if (m <= k) {
    out = RefSubproof(m, Slice(d, 0, k), b);
    out.push_back(RefMth(Slice(d, k, d.size())));
  } else {
    out = RefSubproof(m - k, Slice(d, k, d.size()), false);
    out.push_back(RefMth(Slice(d, 0, k)));
  }
  return out;
}

// --- The implementation under test, over stored perfect subtrees. ---
class StoredTree {
 public:
  void Append(const std::string& data) {
    for (auto& node : range_.Append(LeafHash(data))) {
      nodes_[{node.level, node.index}] = node.hash;
    }
  }
  absl::StatusOr<Hash> Read(int level, uint64_t index) const {
    auto it = nodes_.find({level, index});
    if (it == nodes_.end()) {
      return absl::NotFoundError(absl::StrCat("node ", level, "/", index));
    }
    return it->second;
  }
  auto reader() const {
    return [this](int level, uint64_t index) { return Read(level, index); };
  }
  const CompactRange& range() const { return range_; }

 private:
  CompactRange range_;
  std::map<std::pair<int, uint64_t>, Hash> nodes_;
};

const Leaves kCtLeaves = {
    "",
    Unhex("00"),
    Unhex("10"),
    Unhex("2021"),
    Unhex("3031"),
    Unhex("40414243"),
    Unhex("5051525354555657"),
    Unhex("606162636465666768696a6b6c6d6e6f"),
};
const char* const kCtRoots[] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

TEST(Merkle, RootsMatchThePublishedRfc6962Vectors) {
  StoredTree tree;
  EXPECT_EQ(Hex(*RootHash(0, tree.reader())), kCtRoots[0]);
  for (size_t n = 1; n <= kCtLeaves.size(); ++n) {
    tree.Append(kCtLeaves[n - 1]);
    EXPECT_EQ(Hex(*RootHash(n, tree.reader())), kCtRoots[n]) << "size " << n;
    EXPECT_EQ(Hex(tree.range().Root()), kCtRoots[n]) << "size " << n;
  }
}

TEST(Merkle, InclusionProofsMatchThePublishedVectors) {
  StoredTree tree;
  for (const auto& l : kCtLeaves) tree.Append(l);
  auto p0 = InclusionProof(0, 8, tree.reader());
  ASSERT_TRUE(p0.ok());
  EXPECT_EQ(Hex((*p0)[0]),
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7");
  EXPECT_EQ(Hex((*p0)[1]),
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e");
  EXPECT_EQ(Hex((*p0)[2]),
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4");
  auto p5 = InclusionProof(5, 8, tree.reader());
  ASSERT_TRUE(p5.ok());
  EXPECT_EQ(Hex((*p5)[0]),
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b");
  EXPECT_EQ(Hex((*p5)[2]),
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7");
}

TEST(Merkle, EveryProofOfEverySizeUpTo64MatchesTheReferenceAndVerifies) {
  Leaves leaves;
  StoredTree tree;
  for (size_t n = 1; n <= 64; ++n) {
    const std::string data = absl::StrCat("entry-", n - 1);
    leaves.push_back(data);
    tree.Append(data);
    const std::string root = RefMth(leaves);
    ASSERT_EQ(*RootHash(n, tree.reader()), root) << n;
    ASSERT_EQ(tree.range().Root(), root) << n;
    for (size_t m = 0; m < n; ++m) {
      auto proof = InclusionProof(m, n, tree.reader());
      ASSERT_TRUE(proof.ok()) << proof.status();
      ASSERT_EQ(*proof, RefPath(m, leaves)) << "inclusion " << m << " in " << n;
      EXPECT_TRUE(
          VerifyInclusion(m, n, LeafHash(leaves[m]), *proof, root).ok());
      // The wrong leaf, the wrong index, or a damaged proof fails.
      EXPECT_FALSE(
          VerifyInclusion(m, n, LeafHash("forged"), *proof, root).ok());
      if (n > 1) {
        EXPECT_FALSE(
            VerifyInclusion((m + 1) % n, n, LeafHash(leaves[m]), *proof, root)
                .ok());
        auto damaged = *proof;
        damaged[0][0] ^= 1;
        EXPECT_FALSE(
            VerifyInclusion(m, n, LeafHash(leaves[m]), damaged, root).ok());
      }
    }
    for (size_t m = 1; m <= n; ++m) {
      auto proof = ConsistencyProof(m, n, tree.reader());
      ASSERT_TRUE(proof.ok()) << proof.status();
      const Leaves old = Slice(leaves, 0, m);
      const auto expected =
          m == n ? std::vector<std::string>{} : RefSubproof(m, leaves, true);
      ASSERT_EQ(*proof, expected) << "consistency " << m << " -> " << n;
      const std::string old_root = RefMth(old);
      EXPECT_TRUE(VerifyConsistency(m, n, old_root, root, *proof).ok())
          << m << " -> " << n;
      if (m < n) {
        EXPECT_FALSE(VerifyConsistency(m, n, LeafHash("x"), root, *proof).ok());
        EXPECT_FALSE(
            VerifyConsistency(m, n, old_root, LeafHash("x"), *proof).ok());
      }
    }
  }
}

TEST(Merkle, ARewrittenHistoryIsNotConsistent) {
  Leaves honest, forged;
  for (int i = 0; i < 20; ++i) {
    honest.push_back(absl::StrCat("e", i));
    forged.push_back(i == 7 ? "rewritten" : absl::StrCat("e", i));
  }
  StoredTree forged_tree;
  for (const auto& l : forged) forged_tree.Append(l);
  auto proof = ConsistencyProof(10, 20, forged_tree.reader());
  ASSERT_TRUE(proof.ok());
  // An auditor holding the honest head of size 10 rejects the forged tree.
  EXPECT_FALSE(VerifyConsistency(10, 20, RefMth(Slice(honest, 0, 10)),
                                 RefMth(forged), *proof)
                   .ok());
}

TEST(Merkle, ArgumentsOutOfRangeAreErrors) {
  StoredTree tree;
  tree.Append("a");
  EXPECT_EQ(InclusionProof(1, 1, tree.reader()).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(ConsistencyProof(2, 1, tree.reader()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ConsistencyProof(0, 1, tree.reader())->empty());
}

}  // namespace
}  // namespace lanevault::tlog
