#include "tlog/log_verifier.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tlog/checkpoint.h"
#include "tlog/merkle.h"

namespace lanevault::tlog {
namespace {

constexpr uint64_t kPage = 1000;

// A whole tree in memory, built from leaf hashes: every perfect subtree.
class MemoryTree {
 public:
  explicit MemoryTree(std::vector<Hash> leaf_hashes) {
    levels_.push_back(std::move(leaf_hashes));
    while (levels_.back().size() > 1) {
      const auto& below = levels_.back();
      std::vector<Hash> above;
      for (size_t i = 0; i + 1 < below.size(); i += 2) {
        above.push_back(NodeHash(below[i], below[i + 1]));
      }
      levels_.push_back(std::move(above));
    }
  }
  absl::StatusOr<Hash> Read(int level, uint64_t index) const {
    if (static_cast<size_t>(level) >= levels_.size() ||
        index >= levels_[level].size()) {
      return absl::OutOfRangeError("beyond the exported tree");
    }
    return levels_[level][index];
  }
  auto reader() const {
    return [this](int level, uint64_t index) { return Read(level, index); };
  }
  uint64_t size() const { return levels_[0].size(); }

 private:
  std::vector<std::vector<Hash>> levels_;
};

class ExportSource final : public AuditLogSource {
 public:
  ExportSource(v1::AuditExport exported, MemoryTree tree)
      : exported_(std::move(exported)), tree_(std::move(tree)) {}
  absl::StatusOr<v1::Checkpoint> Checkpoint() override {
    return exported_.checkpoint();
  }
  absl::StatusOr<std::vector<std::string>> ConsistencyProof(
      uint64_t from, uint64_t to) override {
    return tlog::ConsistencyProof(from, to, tree_.reader());
  }
  absl::StatusOr<std::vector<std::string>> InclusionProof(
      uint64_t index, uint64_t size) override {
    return tlog::InclusionProof(index, size, tree_.reader());
  }
  absl::StatusOr<std::vector<std::string>> LeafData(uint64_t start,
                                                    uint64_t end) override {
    std::vector<std::string> out;
    for (uint64_t i = start;
         i < end && i < static_cast<uint64_t>(exported_.leaf_data_size());
         ++i) {
      out.push_back(exported_.leaf_data(static_cast<int>(i)));
    }
    return out;
  }
  bool proofs_from_stored_tree() const override { return false; }

 private:
  v1::AuditExport exported_;
  MemoryTree tree_;
};

std::vector<Hash> LeafHashes(const std::vector<std::string>& leaves) {
  std::vector<Hash> out;
  out.reserve(leaves.size());
  for (const auto& l : leaves) out.push_back(LeafHash(l));
  return out;
}

absl::Status Fail(uint64_t index, absl::string_view why) {
  return absl::DataLossError(absl::StrCat("entry ", index, ": ", why));
}

// Recomputes every entry into the signed root. When the roots differ, a
// binary search with consistency proofs finds the first entry that differs
// from what was signed.
absl::Status VerifyAll(AuditLogSource& source, const TreeHead& head) {
  std::vector<std::string> leaves;
  for (uint64_t start = 0; start < head.size; start += kPage) {
    const uint64_t end = std::min(head.size, start + kPage);
    auto page = source.LeafData(start, end);
    if (!page.ok()) return page.status();
    const bool short_page = page->size() < end - start;
    for (auto& l : *page) {
      const uint64_t i = leaves.size();
      v1::AuditEntry e;
      if (!e.ParseFromString(l)) return Fail(i, "does not parse");
      if (e.sequence() != i) {
        // A gap in a short page is a deletion; otherwise the entry at this
        // place is another one (reordered, or rewritten with its number).
        if (short_page && e.sequence() > i)
          return Fail(i, "missing from the log");
        return Fail(i, absl::StrCat("holds entry ", e.sequence(),
                                    " (reordered or rewritten)"));
      }
      leaves.push_back(std::move(l));
    }
    if (leaves.size() < end) return Fail(leaves.size(), "missing from the log");
  }
  MemoryTree local(LeafHashes(leaves));
  absl::StatusOr<Hash> root = RootHash(head.size, local.reader());
  if (!root.ok()) return root.status();
  if (*root == head.root_hash) return absl::OkStatus();
  if (!source.proofs_from_stored_tree()) {
    return absl::DataLossError(
        "the exported entries do not hash to the signed root (run against the "
        "server to find the first differing entry)");
  }
  // good(m): the first m entries are the ones the signed tree holds.
  uint64_t lo = 0, hi = head.size;  // good(lo) holds; good(hi) does not
  while (hi - lo > 1) {
    const uint64_t mid = lo + (hi - lo) / 2;
    auto proof = source.ConsistencyProof(mid, head.size);
    auto prefix = RootHash(mid, local.reader());
    const bool good =
        proof.ok() && prefix.ok() &&
        VerifyConsistency(mid, head.size, *prefix, head.root_hash, *proof).ok();
    (good ? lo : hi) = mid;
  }
  return Fail(lo, "differs from the entry the signed checkpoint covers");
}

}  // namespace

absl::StatusOr<std::unique_ptr<AuditLogSource>> ExportAuditLogSource(
    const v1::AuditExport& exported) {
  std::vector<std::string> leaves(exported.leaf_data().begin(),
                                  exported.leaf_data().end());
  return std::make_unique<ExportSource>(exported,
                                        MemoryTree(LeafHashes(leaves)));
}

absl::StatusOr<VerifyReport> VerifyAuditLog(AuditLogSource& source,
                                            const VerifyOptions& options) {
  absl::StatusOr<v1::Checkpoint> cp = source.Checkpoint();
  if (!cp.ok()) return cp.status();
  absl::StatusOr<TreeHead> head =
      OpenCheckpoint(cp->signed_note(), options.verifier_key);
  if (!head.ok()) return head.status();
  VerifyReport report;
  report.tree_size = head->size;
  report.checkpoint = cp->signed_note();

  if (!options.previous_checkpoint.empty()) {
    absl::StatusOr<TreeHead> old =
        OpenCheckpoint(options.previous_checkpoint, options.verifier_key);
    if (!old.ok() && !options.previous_verifier_key.empty()) {
      old = OpenCheckpoint(options.previous_checkpoint,
                           options.previous_verifier_key);
    }
    if (!old.ok()) {
      return absl::DataLossError(absl::StrCat(
          "the saved checkpoint does not verify: ", old.status().message()));
    }
    report.previous_size = old->size;
    if (old->size > head->size) {
      return absl::DataLossError(absl::StrCat("the log shrank from ", old->size,
                                              " to ", head->size, " entries"));
    }
    auto proof = source.ConsistencyProof(old->size, head->size);
    if (!proof.ok()) return proof.status();
    if (absl::Status s = VerifyConsistency(
            old->size, head->size, old->root_hash, head->root_hash, *proof);
        !s.ok()) {
      return absl::DataLossError(absl::StrCat(
          "the log presented now is not an extension of the one verified "
          "before: ",
          s.message()));
    }
  }
  for (uint64_t index : options.entries) {
    auto leaf = source.LeafData(index, index + 1);
    if (!leaf.ok()) return leaf.status();
    if (leaf->empty()) return Fail(index, "missing from the log");
    auto proof = source.InclusionProof(index, head->size);
    if (!proof.ok()) return proof.status();
    if (absl::Status s = VerifyInclusion(
            index, head->size, LeafHash((*leaf)[0]), *proof, head->root_hash);
        !s.ok()) {
      return Fail(index, s.message());
    }
    ++report.entries_proved;
  }
  if (options.full) {
    if (absl::Status s = VerifyAll(source, *head); !s.ok()) return s;
    report.full = true;
  }
  return report;
}

}  // namespace lanevault::tlog
