#include "vault/access_log.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "tlog/checkpoint.h"
#include "tlog/merkle.h"

namespace lanevault::vault {
namespace {

v1::Checkpoint ToProto(const tlog::TreeHead& head, std::string note) {
  v1::Checkpoint cp;
  cp.set_origin(head.origin);
  cp.set_tree_size(head.size);
  cp.set_root_hash(head.root_hash);
  cp.set_signed_note(std::move(note));
  return cp;
}

}  // namespace

absl::StatusOr<uint64_t> AccessLog::AppendGrouped(v1::AuditEntry entry) {
  return commits_.Submit(
      std::move(entry), [&](std::vector<v1::AuditEntry> entries) {
        const size_t n = entries.size();
        absl::StatusOr<uint64_t> first =
            store_.AppendAuditBatch(std::move(entries));
        std::vector<absl::StatusOr<uint64_t>> sequences;
        sequences.reserve(n);
        for (size_t i = 0; i < n; ++i) {
          sequences.push_back(first.ok() ? absl::StatusOr<uint64_t>(*first + i)
                                         : first.status());
        }
        return sequences;
      });
}

absl::StatusOr<uint64_t> AccessLog::Append(v1::AuditEntry audit) {
  absl::StatusOr<uint64_t> seq = AppendGrouped(std::move(audit));
  if (!seq.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "the access log cannot be written: ", seq.status().message()));
  }
  return seq;
}

absl::StatusOr<uint64_t> AccessLog::AppendBatch(
    std::vector<v1::AuditEntry> entries) {
  absl::StatusOr<uint64_t> first = store_.AppendAuditBatch(std::move(entries));
  if (!first.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "the access log cannot be written: ", first.status().message()));
  }
  return first;
}

uint64_t AccessLog::Size() { return store_.AuditSize(); }

absl::StatusOr<std::vector<v1::AuditEntry>> AccessLog::Entries(uint64_t start,
                                                               uint64_t end) {
  absl::StatusOr<std::vector<std::string>> leaves =
      store_.AuditLeafData(start, end);
  if (!leaves.ok()) return leaves.status();
  std::vector<v1::AuditEntry> out(leaves->size());
  for (size_t i = 0; i < leaves->size(); ++i) {
    if (!out[i].ParseFromString((*leaves)[i])) {
      return absl::DataLossError(
          absl::StrCat("audit entry ", start + i, " does not parse"));
    }
  }
  return out;
}

absl::StatusOr<std::vector<v1::AuditEntry>> AccessLog::Query(AuditQuery q) {
  q.scan_limit = 0;
  absl::StatusOr<AuditPage> page = store_.QueryAudit(q);
  if (!page.ok()) return page.status();
  return std::move(page->entries);
}

absl::StatusOr<AuditPage> AccessLog::QueryPage(const AuditQuery& q) {
  return store_.QueryAudit(q);
}

absl::StatusOr<std::vector<std::string>> AccessLog::LeafData(uint64_t start,
                                                             uint64_t end) {
  return store_.AuditLeafData(start, end);
}

absl::StatusOr<std::string> AccessLog::RootAt(uint64_t size) {
  return tlog::RootHash(size, [this](int level, uint64_t index) {
    return store_.AuditSubtree(level, index);
  });
}

std::string AccessLog::VerifierKey() const {
  return tlog::VerifierKey(origin_, key_.public_key());
}

absl::StatusOr<v1::Checkpoint> AccessLog::SignCheckpoint() {
  const uint64_t size = store_.AuditSize();
  if (absl::StatusOr<StoredCheckpoint> last = store_.LatestCheckpoint();
      last.ok() && last->tree_size >= size) {
    return LatestCheckpoint();
  }
  absl::StatusOr<tlog::Hash> root = RootAt(size);
  if (!root.ok()) return root.status();
  tlog::TreeHead head{origin_, size, *root};
  std::string note = tlog::SignCheckpoint(head, key_);
  if (absl::Status s = store_.PutCheckpoint({size, note}); !s.ok()) return s;
  if (on_signed_) on_signed_(head);
  if (anchor_ != nullptr) {
    // The anchor moves with every commit; here it is made durable too.
    if (absl::Status s = anchor_->Sync(); !s.ok()) {
      spdlog::error("{}", s.message());
    }
  }
  return ToProto(head, std::move(note));
}

absl::StatusOr<v1::Checkpoint> AccessLog::LatestCheckpoint() {
  absl::StatusOr<StoredCheckpoint> last = store_.LatestCheckpoint();
  if (absl::IsNotFound(last.status())) return SignCheckpoint();
  if (!last.ok()) return last.status();
  // Our own note, checked with our own key: a damaged row is caught here.
  absl::StatusOr<tlog::TreeHead> head =
      tlog::OpenCheckpoint(last->note, VerifierKey());
  if (!head.ok()) return head.status();
  return ToProto(*head, std::move(last->note));
}

absl::Status AccessLog::CheckTreeSize(uint64_t size) {
  const uint64_t have = store_.AuditSize();
  if (size > have) {
    return absl::OutOfRangeError(
        absl::StrCat("the log has ", have, " entries, not ", size));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> AccessLog::InclusionProof(
    uint64_t index, uint64_t tree_size) {
  if (absl::Status s = CheckTreeSize(tree_size); !s.ok()) return s;
  return tlog::InclusionProof(index, tree_size, [this](int level, uint64_t i) {
    return store_.AuditSubtree(level, i);
  });
}

absl::StatusOr<std::vector<std::string>> AccessLog::ConsistencyProof(
    uint64_t from_size, uint64_t to_size) {
  if (absl::Status s = CheckTreeSize(to_size); !s.ok()) return s;
  return tlog::ConsistencyProof(
      from_size, to_size,
      [this](int level, uint64_t i) { return store_.AuditSubtree(level, i); });
}

absl::StatusOr<ReadCounts> AccessLog::CountReads(absl::string_view who,
                                                 absl::Time since, bool group) {
  return store_.CountReads(who, group, since);
}

absl::StatusOr<uint32_t> AccessLog::CountCalls(absl::string_view who,
                                               bool group, v1::Action action,
                                               absl::Time since) {
  return store_.CountCalls(who, group, action, since);
}

absl::StatusOr<bool> AccessLog::ReadRecordSince(absl::string_view who,
                                                bool group,
                                                absl::string_view record_id,
                                                absl::Time since) {
  return store_.ReadRecordSince(who, group, record_id, since);
}

absl::StatusOr<std::vector<v1::DataCategory>> AccessLog::CategoriesRead(
    absl::string_view who, absl::string_view record_id, bool group) {
  return store_.CategoriesRead(who, group, record_id);
}

}  // namespace lanevault::vault
