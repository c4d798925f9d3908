#ifndef LANEVAULT_TLOG_MERKLE_H_
#define LANEVAULT_TLOG_MERKLE_H_

// The access log's Merkle tree, exactly as RFC 6962 §2.1 defines it
// (SHA-256; leaf = H(0x00 || data), node = H(0x01 || left || right)), with
// the inclusion and consistency proofs of §2.1.1-2.1.2 and the verification
// algorithms of RFC 9162 §2.1.3.2 and §2.1.4.2, so a verifier written by
// someone else works against ours.
//
// Storage is abstracted as a reader of perfect subtrees: the hash of leaves
// [index << level, (index + 1) << level). Every hash the algorithms need is
// one such subtree or a right-edge range built from O(log n) of them.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace lanevault::tlog {

using Hash = std::string;  // 32 bytes
using SubtreeReader =
    absl::FunctionRef<absl::StatusOr<Hash>(int level, uint64_t index)>;

Hash LeafHash(absl::string_view leaf_data);
Hash NodeHash(absl::string_view left, absl::string_view right);
Hash EmptyRoot();  // SHA-256 of nothing: the root of the empty tree

// MTH(D[0:size]). INVALID_ARGUMENT never; reader errors pass through.
absl::StatusOr<Hash> RootHash(uint64_t size, SubtreeReader read);

// PATH(index, D[0:size]). OUT_OF_RANGE when index >= size.
absl::StatusOr<std::vector<Hash>> InclusionProof(uint64_t index, uint64_t size,
                                                 SubtreeReader read);

// PROOF(old_size, D[0:new_size]); empty when old_size is 0 or equals
// new_size. INVALID_ARGUMENT when old_size > new_size.
absl::StatusOr<std::vector<Hash>> ConsistencyProof(uint64_t old_size,
                                                   uint64_t new_size,
                                                   SubtreeReader read);

// OK when `proof` shows `leaf_hash` at `index` in the tree of `size` with
// `root`; DATA_LOSS (naming what failed) otherwise.
absl::Status VerifyInclusion(uint64_t index, uint64_t size,
                             const Hash& leaf_hash,
                             const std::vector<Hash>& proof, const Hash& root);

// OK when `proof` shows the tree of `old_size` with `old_root` is a prefix
// of the tree of `new_size` with `new_root`; DATA_LOSS otherwise.
absl::Status VerifyConsistency(uint64_t old_size, uint64_t new_size,
                               const Hash& old_root, const Hash& new_root,
                               const std::vector<Hash>& proof);

// The right edge of a growing tree: the roots of its perfect subtrees, from
// the largest. Appending and the root are O(log n) with no storage, which is
// how a verifier recomputes a whole log and how the writer finds the nodes
// an append completes.
class CompactRange {
 public:
  // Appends one leaf hash; returns the perfect-subtree nodes this append
  // completed, as (level, index, hash), starting with the leaf itself.
  struct Node {
    int level;
    uint64_t index;
    Hash hash;
  };
  std::vector<Node> Append(const Hash& leaf_hash);
  // Resumes a range from its peaks (one per set bit of `size`, largest
  // first), as stored by a log that was closed.
  static CompactRange FromPeaks(uint64_t size, std::vector<Hash> peaks) {
    CompactRange r;
    r.size_ = size;
    r.peaks_ = std::move(peaks);
    return r;
  }
  Hash Root() const;
  uint64_t size() const { return size_; }

 private:
  std::vector<Hash> peaks_;  // largest subtree first
  uint64_t size_ = 0;
};

}  // namespace lanevault::tlog

#endif  // LANEVAULT_TLOG_MERKLE_H_
