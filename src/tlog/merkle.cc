#include "tlog/merkle.h"

#include <bit>

#include "absl/strings/str_cat.h"
#include "crypto/digest.h"

namespace lanevault::tlog {
namespace {

// The largest power of two strictly smaller than n (n >= 2).
uint64_t SplitPoint(uint64_t n) { return std::bit_floor(n - 1); }

// MTH(D[begin:end]); the recursion from any root only ever asks for ranges
// whose left parts are perfect, aligned subtrees.
absl::StatusOr<Hash> RangeHash(uint64_t begin, uint64_t end,
                               SubtreeReader read) {
  const uint64_t n = end - begin;
  if (std::has_single_bit(n) && begin % n == 0) {
    const int level = std::countr_zero(n);
    return read(level, begin >> level);
  }
  const uint64_t k = SplitPoint(n);
  absl::StatusOr<Hash> left = RangeHash(begin, begin + k, read);
  if (!left.ok()) return left;
  absl::StatusOr<Hash> right = RangeHash(begin + k, end, read);
  if (!right.ok()) return right;
  return NodeHash(*left, *right);
}

absl::Status Path(uint64_t m, uint64_t begin, uint64_t end, SubtreeReader read,
                  std::vector<Hash>& out) {
  const uint64_t n = end - begin;
  if (n == 1) return absl::OkStatus();
  const uint64_t k = SplitPoint(n);
  absl::StatusOr<Hash> sibling;
  if (m < k) {
    if (absl::Status s = Path(m, begin, begin + k, read, out); !s.ok())
      return s;
    sibling = RangeHash(begin + k, end, read);
  } else {
    if (absl::Status s = Path(m - k, begin + k, end, read, out); !s.ok())
      return s;
    sibling = RangeHash(begin, begin + k, read);
  }
  if (!sibling.ok()) return sibling.status();
  out.push_back(std::move(*sibling));
  return absl::OkStatus();
}

absl::Status SubProof(uint64_t m, uint64_t begin, uint64_t end, bool whole,
                      SubtreeReader read, std::vector<Hash>& out) {
  const uint64_t n = end - begin;
  if (m == n) {
    if (whole) return absl::OkStatus();
    absl::StatusOr<Hash> h = RangeHash(begin, end, read);
    if (!h.ok()) return h.status();
    out.push_back(std::move(*h));
    return absl::OkStatus();
  }
  const uint64_t k = SplitPoint(n);
  absl::StatusOr<Hash> other;
  if (m <= k) {
    if (absl::Status s = SubProof(m, begin, begin + k, whole, read, out);
        !s.ok()) {
      return s;
    }
    other = RangeHash(begin + k, end, read);
  } else {
    if (absl::Status s = SubProof(m - k, begin + k, end, false, read, out);
        !s.ok()) {
      return s;
    }
    other = RangeHash(begin, begin + k, read);
  }
  if (!other.ok()) return other.status();
  out.push_back(std::move(*other));
  return absl::OkStatus();
}

bool Lsb(uint64_t x) { return (x & 1) != 0; }

}  // namespace

Hash LeafHash(absl::string_view leaf_data) {
  std::string buf;
  buf.reserve(1 + leaf_data.size());
  buf.push_back('\x00');
  buf.append(leaf_data.data(), leaf_data.size());
  return crypto::Sha256(buf);
}

Hash NodeHash(absl::string_view left, absl::string_view right) {
  std::string buf;
  buf.reserve(1 + left.size() + right.size());
  buf.push_back('\x01');
  buf.append(left.data(), left.size());
  buf.append(right.data(), right.size());
  return crypto::Sha256(buf);
}

Hash EmptyRoot() { return crypto::Sha256(""); }

absl::StatusOr<Hash> RootHash(uint64_t size, SubtreeReader read) {
  if (size == 0) return EmptyRoot();
  return RangeHash(0, size, read);
}

absl::StatusOr<std::vector<Hash>> InclusionProof(uint64_t index, uint64_t size,
                                                 SubtreeReader read) {
  if (index >= size) {
    return absl::OutOfRangeError(
        absl::StrCat("entry ", index, " is not in a tree of ", size));
  }
  std::vector<Hash> out;
  if (absl::Status s = Path(index, 0, size, read, out); !s.ok()) return s;
  return out;
}

absl::StatusOr<std::vector<Hash>> ConsistencyProof(uint64_t old_size,
                                                   uint64_t new_size,
                                                   SubtreeReader read) {
  if (old_size > new_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "old size ", old_size, " is larger than new size ", new_size));
  }
  std::vector<Hash> out;
  if (old_size == 0 || old_size == new_size) return out;
  if (absl::Status s = SubProof(old_size, 0, new_size, true, read, out);
      !s.ok()) {
    return s;
  }
  return out;
}

absl::Status VerifyInclusion(uint64_t index, uint64_t size,
                             const Hash& leaf_hash,
                             const std::vector<Hash>& proof, const Hash& root) {
  if (index >= size) {
    return absl::DataLossError(
        absl::StrCat("entry ", index, " cannot be in a tree of ", size));
  }
  uint64_t fn = index, sn = size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : proof) {
    if (sn == 0) return absl::DataLossError("inclusion proof is too long");
    if (Lsb(fn) || fn == sn) {
      r = NodeHash(p, r);
      if (!Lsb(fn)) {
        while (!Lsb(fn) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return absl::DataLossError("inclusion proof is too short");
  if (r != root) {
    return absl::DataLossError(absl::StrCat(
        "entry ", index, " is not in the tree of ", size, " with that root"));
  }
  return absl::OkStatus();
}

absl::Status VerifyConsistency(uint64_t old_size, uint64_t new_size,
                               const Hash& old_root, const Hash& new_root,
                               const std::vector<Hash>& proof) {
  if (old_size > new_size) {
    return absl::DataLossError("the newer tree is smaller than the older one");
  }
  if (old_size == new_size) {
    if (!proof.empty() || old_root != new_root) {
      return absl::DataLossError(
          absl::StrCat("two different roots for the same size ", old_size));
    }
    return absl::OkStatus();
  }
  if (old_size == 0) {
    if (!proof.empty())
      return absl::DataLossError("proof from size 0 not empty");
    return absl::OkStatus();
  }
  if (proof.empty()) return absl::DataLossError("consistency proof is empty");
  std::vector<Hash> path;
  if (std::has_single_bit(old_size)) path.push_back(old_root);
  path.insert(path.end(), proof.begin(), proof.end());
  uint64_t fn = old_size - 1, sn = new_size - 1;
  while (Lsb(fn)) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path[0], sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const Hash& c = path[i];
    if (sn == 0) return absl::DataLossError("consistency proof is too long");
    if (Lsb(fn) || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      if (!Lsb(fn)) {
        while (!Lsb(fn) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return absl::DataLossError("consistency proof is too short");
  if (fr != old_root) {
    return absl::DataLossError(
        absl::StrCat("the tree of ", new_size, " does not extend the tree of ",
                     old_size, " that was signed before (old root differs)"));
  }
  if (sr != new_root) {
    return absl::DataLossError(absl::StrCat(
        "consistency proof does not lead to the new root of ", new_size));
  }
  return absl::OkStatus();
}

std::vector<CompactRange::Node> CompactRange::Append(const Hash& leaf_hash) {
  std::vector<Node> completed;
  completed.push_back({0, size_, leaf_hash});
  Hash h = leaf_hash;
  uint64_t index = size_;
  int level = 0;
  // Each trailing 1 bit of the old size is a peak of the same height that
  // this leaf now completes into a parent.
  while (Lsb(index)) {
    h = NodeHash(peaks_.back(), h);
    peaks_.pop_back();
    index >>= 1;
    ++level;
    completed.push_back({level, index, h});
  }
  peaks_.push_back(h);
  ++size_;
  return completed;
}

Hash CompactRange::Root() const {
  if (peaks_.empty()) return EmptyRoot();
  Hash r = peaks_.back();
  for (size_t i = peaks_.size() - 1; i-- > 0;) r = NodeHash(peaks_[i], r);
  return r;
}

}  // namespace lanevault::tlog
