#include "vault/vault.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/time_util.h"
#include "vault/checkpoint.h"
#include "vault/merkle.h"

namespace lanevault::vault {
namespace {

void AppendField(std::string& out, absl::string_view field) {
  // Length-prefixed so that no two different tuples encode alike.
  absl::StrAppend(&out, field.size(), ":", field, ";");
}

absl::Status Annotate(const absl::Status& s, absl::string_view record_id) {
  return absl::Status(s.code(),
                      absl::StrCat("record ", record_id, ": ", s.message()));
}

}  // namespace

std::string ItemAssociatedData(absl::string_view record_id,
                               absl::string_view item_id,
                               v1::DataCategory category,
                               absl::string_view contract_id,
                               uint64_t contract_version, absl::Time deadline) {
  std::string ad = "lanevault.item.v1;";
  AppendField(ad, record_id);
  AppendField(ad, item_id);
  AppendField(ad, absl::StrCat(static_cast<int>(category)));
  AppendField(ad, contract_id);
  AppendField(ad, absl::StrCat(contract_version));
  AppendField(ad, absl::StrCat(ToUnixMicrosSaturated(deadline)));
  return ad;
}

absl::StatusOr<std::unique_ptr<Vault>> Vault::Open(const VaultOptions& opts) {
  absl::StatusOr<MasterKey> key = MasterKey::LoadFromFile(opts.master_key_file);
  if (!key.ok()) return key.status();
  absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(opts.database);
  if (!store.ok()) return store.status();
  SigningKey log_key = SigningKey::DeriveFrom(*key, "lvaudit1");
  return std::unique_ptr<Vault>(
      new Vault(std::move(*store), Envelope(std::move(*key)),
                std::move(log_key), opts.log_origin, opts.clock));
}

absl::Status Vault::Intake(const v1::Record& record, v1::AuditEntry audit) {
  if (record.record_id().empty() || record.lane_id().empty()) {
    return absl::InvalidArgumentError("a record needs an id and a lane");
  }
  if (record.items().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("record ", record.record_id(), " has no items to keep"));
  }
  StoredRecord stored;
  v1::RecordSummary& s = stored.summary;
  s.set_record_id(record.record_id());
  s.set_lane_id(record.lane_id());
  s.set_checkpoint_id(record.checkpoint_id());
  *s.mutable_first_seen() = record.first_seen();
  *s.mutable_last_seen() = record.last_seen();
  s.set_contract_id(record.contract_id());
  s.set_contract_version(record.contract_version());
  for (const v1::Item& item : record.items()) {
    if (item.item_id().empty() || !item.has_deadline()) {
      return absl::InvalidArgumentError(
          absl::StrCat("record ", record.record_id(),
                       ": every item needs an id and a deadline"));
    }
    StoredItem& out = stored.items.emplace_back();
    out.item_id = item.item_id();
    out.category = item.category();
    out.deadline = FromProto(item.deadline());
    // The whole item (content, box, confidence) is sealed; only category and
    // deadline stay in the clear.
    std::string plaintext = item.SerializeAsString();
    absl::StatusOr<SealedItem> sealed = envelope_.Seal(
        plaintext, ItemAssociatedData(record.record_id(), item.item_id(),
                                      item.category(), record.contract_id(),
                                      record.contract_version(), out.deadline));
    Wipe(plaintext);
    if (!sealed.ok()) return sealed.status();
    out.sealed = std::move(*sealed);
  }
  absl::StatusOr<uint64_t> seq = store_->PutRecord(stored, std::move(audit));
  if (!seq.ok()) return Annotate(seq.status(), record.record_id());
  return absl::OkStatus();
}

absl::StatusOr<v1::RecordSummary> Vault::Describe(absl::string_view record_id) {
  absl::StatusOr<StoredRecord> stored = store_->GetRecord(record_id);
  if (!stored.ok()) return stored.status();
  const absl::Time now = clock_->Now();
  v1::RecordSummary summary = stored->summary;
  summary.clear_categories();
  for (const StoredItem& item : stored->items) {
    if (item.deadline > now) summary.add_categories(item.category);
  }
  if (summary.categories().empty()) {
    return absl::NotFoundError(absl::StrCat("no record ", record_id));
  }
  return summary;
}

absl::StatusOr<v1::Record> Vault::Read(
    absl::string_view record_id,
    const std::vector<v1::DataCategory>& categories, v1::AuditEntry audit) {
  absl::StatusOr<StoredRecord> stored = store_->GetRecord(record_id);
  if (!stored.ok()) return stored.status();
  // Fail closed: the read is logged before anything is opened.
  if (absl::StatusOr<uint64_t> seq = store_->AppendAudit(std::move(audit));
      !seq.ok()) {
    return absl::UnavailableError(
        absl::StrCat("the access log cannot be written, so nothing is read: ",
                     seq.status().message()));
  }
  const absl::Time now = clock_->Now();
  const v1::RecordSummary& s = stored->summary;
  v1::Record out;
  out.set_record_id(s.record_id());
  out.set_lane_id(s.lane_id());
  out.set_checkpoint_id(s.checkpoint_id());
  *out.mutable_first_seen() = s.first_seen();
  *out.mutable_last_seen() = s.last_seen();
  out.set_contract_id(s.contract_id());
  out.set_contract_version(s.contract_version());
  for (const StoredItem& item : stored->items) {
    if (item.deadline <= now) continue;  // expired: never returned
    if (!categories.empty() && std::find(categories.begin(), categories.end(),
                                         item.category) == categories.end()) {
      continue;
    }
    absl::StatusOr<SecureBytes> plain = envelope_.Open(
        item.sealed, ItemAssociatedData(s.record_id(), item.item_id,
                                        item.category, s.contract_id(),
                                        s.contract_version(), item.deadline));
    if (!plain.ok()) {
      return absl::DataLossError(absl::StrCat("record ", record_id, " item ",
                                              item.item_id, ": ",
                                              plain.status().message()));
    }
    v1::Item* opened = out.add_items();
    if (!opened->ParseFromArray(plain->data(),
                                static_cast<int>(plain->size())) ||
        opened->item_id() != item.item_id ||
        opened->category() != item.category) {
      return absl::DataLossError(absl::StrCat("record ", record_id, " item ",
                                              item.item_id,
                                              " does not match its row"));
    }
  }
  return out;
}

absl::StatusOr<uint64_t> Vault::Audit(v1::AuditEntry audit) {
  absl::StatusOr<uint64_t> seq = store_->AppendAudit(std::move(audit));
  if (!seq.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "the access log cannot be written: ", seq.status().message()));
  }
  return seq;
}

absl::StatusOr<std::vector<v1::RecordSummary>> Vault::Find(
    const RecordQuery& q) {
  return store_->FindRecords(q);
}

absl::StatusOr<std::vector<v1::AuditEntry>> Vault::AuditEntries(uint64_t start,
                                                                uint64_t end) {
  return store_->ReadAudit(start, end);
}

absl::StatusOr<uint64_t> Vault::RecordCount() { return store_->CountRecords(); }

absl::StatusOr<uint64_t> Vault::AuditBatch(
    std::vector<v1::AuditEntry> entries) {
  absl::StatusOr<uint64_t> first = store_->AppendAuditBatch(std::move(entries));
  if (!first.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "the access log cannot be written: ", first.status().message()));
  }
  return first;
}

uint64_t Vault::AuditSize() { return store_->AuditSize(); }

absl::Status Vault::KeepContractVersion(const std::string& contract_id,
                                        uint64_t version,
                                        const std::string& signed_text) {
  return store_->PutContractVersion(
      {contract_id, version, signed_text, clock_->Now()});
}

absl::StatusOr<std::vector<ContractVersionRow>> Vault::ContractVersions() {
  return store_->ContractVersions();
}

absl::StatusOr<ReadCounts> Vault::CountReads(absl::string_view principal,
                                             absl::Time since) {
  return store_->CountReads(principal, since);
}

absl::StatusOr<std::vector<v1::DataCategory>> Vault::CategoriesRead(
    absl::string_view principal, absl::string_view record_id) {
  return store_->CategoriesRead(principal, record_id);
}

std::string Vault::LogVerifierKey() const {
  return VerifierKey(origin_, log_key_.public_key());
}

namespace {

v1::Checkpoint ToProto(const TreeHead& head, std::string note) {
  v1::Checkpoint cp;
  cp.set_origin(head.origin);
  cp.set_tree_size(head.size);
  cp.set_root_hash(head.root_hash);
  cp.set_signed_note(std::move(note));
  return cp;
}

}  // namespace

absl::StatusOr<v1::Checkpoint> Vault::SignCheckpoint() {
  const uint64_t size = store_->AuditSize();
  if (absl::StatusOr<StoredCheckpoint> last = store_->LatestCheckpoint();
      last.ok() && last->tree_size >= size) {
    return LatestCheckpoint();
  }
  absl::StatusOr<merkle::Hash> root =
      merkle::RootHash(size, [this](int level, uint64_t index) {
        return store_->AuditSubtree(level, index);
      });
  if (!root.ok()) return root.status();
  TreeHead head{origin_, size, *root};
  std::string note = vault::SignCheckpoint(head, log_key_);
  if (absl::Status s = store_->PutCheckpoint({size, note}); !s.ok()) return s;
  return ToProto(head, std::move(note));
}

absl::StatusOr<v1::Checkpoint> Vault::LatestCheckpoint() {
  absl::StatusOr<StoredCheckpoint> last = store_->LatestCheckpoint();
  if (absl::IsNotFound(last.status())) return SignCheckpoint();
  if (!last.ok()) return last.status();
  // Our own note, checked with our own key: a damaged row is caught here.
  absl::StatusOr<TreeHead> head = OpenCheckpoint(last->note, LogVerifierKey());
  if (!head.ok()) return head.status();
  return ToProto(*head, std::move(last->note));
}

absl::Status Vault::CheckTreeSize(uint64_t size) {
  const uint64_t have = store_->AuditSize();
  if (size > have) {
    return absl::OutOfRangeError(
        absl::StrCat("the log has ", have, " entries, not ", size));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> Vault::InclusionProof(
    uint64_t index, uint64_t tree_size) {
  if (absl::Status s = CheckTreeSize(tree_size); !s.ok()) return s;
  return merkle::InclusionProof(
      index, tree_size,
      [this](int level, uint64_t i) { return store_->AuditSubtree(level, i); });
}

absl::StatusOr<std::vector<std::string>> Vault::ConsistencyProof(
    uint64_t from_size, uint64_t to_size) {
  if (absl::Status s = CheckTreeSize(to_size); !s.ok()) return s;
  return merkle::ConsistencyProof(
      from_size, to_size,
      [this](int level, uint64_t i) { return store_->AuditSubtree(level, i); });
}

absl::StatusOr<std::vector<std::string>> Vault::AuditLeafData(uint64_t start,
                                                              uint64_t end) {
  return store_->AuditLeafData(start, end);
}

absl::StatusOr<std::vector<v1::AuditEntry>> Vault::QueryAudit(
    const AuditQuery& q) {
  return store_->QueryAudit(q);
}

}  // namespace lanevault::vault
