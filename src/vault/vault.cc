#include "vault/vault.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/time_util.h"
#include "vault/checkpoint.h"
#include "vault/maintainer.h"
#include "vault/merkle.h"

namespace lanevault::vault {
namespace {

void AppendField(std::string& out, absl::string_view field) {
  // Length-prefixed so that no two different tuples encode alike.
  absl::StrAppend(&out, field.size(), ":", field, ";");
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

namespace {

constexpr absl::string_view kSaltKey = "passphrase_salt";
constexpr absl::string_view kParamsKey = "passphrase_params";
constexpr size_t kMaxGroupCommit = 128;

absl::StatusOr<MasterKey> LoadMasterKey(const VaultOptions& opts,
                                        Store& store) {
  if (opts.passphrase == nullptr) {
    return MasterKey::LoadFromFile(opts.master_key_file);
  }
  // The salt and cost are not secret; they live in the vault so the same
  // passphrase opens it again.
  PassphraseParams params = opts.passphrase_params;
  absl::StatusOr<std::string> salt = store.GetMeta(kSaltKey);
  if (absl::IsNotFound(salt.status())) {
    salt = NewPassphraseSalt();
    if (absl::Status s = store.PutMeta(kSaltKey, *salt); !s.ok()) return s;
    if (absl::Status s = store.PutMeta(
            kParamsKey, absl::StrCat(params.ops_limit, ":", params.mem_limit));
        !s.ok()) {
      return s;
    }
  } else if (!salt.ok()) {
    return salt.status();
  } else if (absl::StatusOr<std::string> stored = store.GetMeta(kParamsKey);
             stored.ok()) {
    std::pair<std::string, std::string> parts = absl::StrSplit(*stored, ':');
    if (!absl::SimpleAtoi(parts.first, &params.ops_limit) ||
        !absl::SimpleAtoi(parts.second, &params.mem_limit)) {
      return absl::DataLossError(
          "the stored passphrase parameters are damaged");
    }
  }
  return MasterKey::FromPassphrase(*opts.passphrase, *salt, params);
}

}  // namespace

Vault::Vault(std::unique_ptr<Store> store, MasterKey& master,
             std::string origin, Clock* clock)
    : store_(std::move(store)),
      log_key_(SigningKey::DeriveFrom(master, "lvaudit1")),
      plates_(BlindIndex::DeriveFrom(master)),
      canary_marks_(BlindIndex::DeriveFrom(master, 2, "lvcanary")),
      idempotent_ids_(BlindIndex::DeriveFrom(master, 3, "lvidempo")),
      intake_key_(IntakeKey::DeriveFrom(master)),
      keys_(std::move(master)),
      origin_(std::move(origin)),
      clock_(clock) {}

Vault::~Vault() { StopMaintenance(); }

absl::StatusOr<std::unique_ptr<Vault>> Vault::Open(const VaultOptions& opts) {
  if (absl::Status s = InitCrypto(); !s.ok()) return s;
  absl::StatusOr<std::unique_ptr<Store>> store =
      OpenSqliteStore(opts.database, opts.sqlite);
  if (!store.ok()) return store.status();
  absl::StatusOr<MasterKey> key = LoadMasterKey(opts, **store);
  if (!key.ok()) return key.status();
  std::unique_ptr<Vault> vault(
      new Vault(std::move(*store), *key, opts.log_origin, opts.clock));
  if (absl::Status s = vault->LoadKeys(); !s.ok()) return s;
  if (absl::Status s = vault->LoadLockouts(); !s.ok()) return s;
  return vault;
}

absl::Status Vault::LoadKeys() {
  absl::StatusOr<std::vector<KekRow>> keks = store_->Keks();
  if (!keks.ok()) return keks.status();
  if (keks->empty()) {
    // A new vault (or one from before versioned KEKs): its first KEK.
    KekRow first{keys_.NewKek(1), clock_->Now()};
    if (absl::Status s = store_->PutKek(first, std::nullopt); !s.ok()) {
      return s;
    }
    keys_.SetCurrent(1);
    return absl::OkStatus();
  }
  for (const KekRow& row : *keks) {
    if (absl::Status s = keys_.AddKek(row.kek); !s.ok()) return s;
  }
  keys_.SetCurrent(keks->back().kek.version);
  return absl::OkStatus();
}

v1::AuditEntry Vault::SystemEntry(v1::Action action) const {
  v1::AuditEntry e;
  *e.mutable_time() = ToProto(clock_->Now());
  e.set_principal("system");
  e.set_role("system");
  e.set_action(action);
  e.set_verdict(v1::VERDICT_ALLOW);
  return e;
}

absl::Status Vault::Intake(const v1::Record& record, v1::AuditEntry audit) {
  return Keep(record, std::move(audit), /*canary=*/false);
}

absl::Status Vault::PlantCanary(const v1::Record& decoy, v1::AuditEntry audit) {
  return Keep(decoy, std::move(audit), /*canary=*/true);
}

absl::StatusOr<bool> Vault::IsCanary(absl::string_view record_id) {
  return store_->HasCanaryMark(canary_marks_.Mac(record_id));
}

std::string Vault::IdempotentRecordId(absl::string_view lane_id,
                                      absl::string_view idempotency_key) const {
  const std::string mac =
      idempotent_ids_.Mac(absl::StrCat(lane_id, "\n", idempotency_key));
  return absl::StrCat(
      "rec_", absl::BytesToHexString(absl::string_view(mac).substr(0, 16)));
}

absl::Status Vault::Keep(const v1::Record& record, v1::AuditEntry audit,
                         bool canary) {
  if (record.record_id().empty() || record.lane_id().empty()) {
    return absl::InvalidArgumentError("a record needs an id and a lane");
  }
  if (record.items().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("record ", record.record_id(), " has no items to keep"));
  }
  IntakeRow row;
  row.audit = std::move(audit);
  StoredRecord& stored = row.record;
  v1::RecordSummary& s = stored.summary;
  s.set_record_id(record.record_id());
  s.set_lane_id(record.lane_id());
  s.set_checkpoint_id(record.checkpoint_id());
  *s.mutable_first_seen() = record.first_seen();
  *s.mutable_last_seen() = record.last_seen();
  s.set_contract_id(record.contract_id());
  s.set_contract_version(record.contract_version());
  if (canary) stored.canary_mark = canary_marks_.Mac(record.record_id());
  absl::Time earliest = absl::InfiniteFuture();
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
    earliest = std::min(earliest, out.deadline);
    if (item.category() == v1::DATA_CATEGORY_PLATE_TEXT) {
      out.plate_blind_index = plates_.Of(item.content());
    }
    // The whole item (content, box, confidence) is sealed; only category and
    // deadline stay in the clear.
    std::string plaintext = item.SerializeAsString();
    absl::StatusOr<SealedItem> sealed = keys_.Seal(
        plaintext, ItemAssociatedData(record.record_id(), item.item_id(),
                                      item.category(), record.contract_id(),
                                      record.contract_version(), out.deadline));
    Wipe(plaintext);
    if (!sealed.ok()) return sealed.status();
    out.sealed = std::move(*sealed);
  }
  if (absl::Status st = Commit(std::move(row)); !st.ok()) return st;
  NoteDeadline(earliest);
  return absl::OkStatus();
}

// Group commit, as in LevelDB's DBImpl::Write: writers queue up; the one at
// the front commits everyone queued behind it in one transaction (one
// fsync) and wakes them with their own result. Nobody returns before the
// commit that holds their record.
absl::Status Vault::Commit(IntakeRow row) {
  Writer w;
  w.row = std::move(row);
  absl::MutexLock lock(&write_mu_);
  writers_.push_back(&w);
  while (!w.done && &w != writers_.front()) w.cv.Wait(&write_mu_);
  if (w.done) return w.status;
  const size_t n = std::min(writers_.size(), kMaxGroupCommit);
  std::vector<Writer*> group(writers_.begin(), writers_.begin() + n);
  std::vector<IntakeRow> rows;
  rows.reserve(n);
  for (Writer* g : group) rows.push_back(std::move(g->row));
  write_mu_.Unlock();
  std::vector<absl::Status> results = store_->PutRecords(rows);
  write_mu_.Lock();
  for (size_t i = 0; i < n; ++i) {
    Writer* g = writers_.front();
    writers_.pop_front();
    g->status = results[i];
    g->done = true;
    if (g != &w) g->cv.Signal();
  }
  if (!writers_.empty()) writers_.front()->cv.Signal();
  return w.status;
}

absl::StatusOr<uint64_t> Vault::AppendGrouped(v1::AuditEntry entry) {
  LogWriter w;
  w.entry = std::move(entry);
  absl::MutexLock lock(&log_mu_);
  log_writers_.push_back(&w);
  while (!w.done && &w != log_writers_.front()) w.cv.Wait(&log_mu_);
  if (w.done) return w.sequence;
  // The front writer commits everyone queued behind it.
  const size_t n = std::min(log_writers_.size(), kMaxGroupCommit);
  std::vector<v1::AuditEntry> entries;
  entries.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    entries.push_back(std::move(log_writers_[i]->entry));
  }
  log_mu_.Unlock();
  absl::StatusOr<uint64_t> first = store_->AppendAuditBatch(std::move(entries));
  log_mu_.Lock();
  for (size_t i = 0; i < n; ++i) {
    LogWriter* g = log_writers_.front();
    log_writers_.pop_front();
    g->sequence =
        first.ok() ? absl::StatusOr<uint64_t>(*first + i) : first.status();
    g->done = true;
    if (g != &w) g->cv.Signal();
  }
  if (!log_writers_.empty()) log_writers_.front()->cv.Signal();
  return w.sequence;
}

absl::StatusOr<StoredRecord> Vault::Fetch(absl::string_view record_id,
                                          absl::string_view principal) {
  absl::StatusOr<StoredRecord> stored = store_->GetRecord(record_id);
  if (absl::IsDataLoss(stored.status())) {
    RaiseAlert("critical", "data_loss", principal, stored.status().message());
  }
  return stored;
}

absl::StatusOr<bool> Vault::HeldForCase(const StoredRecord& record,
                                        absl::string_view case_id,
                                        absl::Time now) {
  // Only an item past its deadline needs a hold to be seen, so the common
  // read asks nothing more of the store.
  const bool any_expired =
      std::any_of(record.items.begin(), record.items.end(),
                  [now](const StoredItem& i) { return i.deadline <= now; });
  if (case_id.empty() || !any_expired) return false;
  absl::StatusOr<std::vector<std::string>> cases =
      store_->HoldCases(record.summary.record_id());
  if (!cases.ok()) return cases.status();
  return std::find(cases->begin(), cases->end(), case_id) != cases->end();
}

absl::StatusOr<v1::RecordSummary> Vault::Describe(absl::string_view record_id,
                                                  absl::string_view case_id,
                                                  absl::string_view item_id) {
  absl::StatusOr<StoredRecord> stored = Fetch(record_id, "system");
  if (!stored.ok()) return stored.status();
  const absl::Time now = clock_->Now();
  absl::StatusOr<bool> held = HeldForCase(*stored, case_id, now);
  if (!held.ok()) return held.status();
  v1::RecordSummary summary = stored->summary;
  summary.clear_categories();
  for (const StoredItem& item : stored->items) {
    if (!item_id.empty() && item.item_id != item_id) continue;
    if (item.deadline > now || *held) summary.add_categories(item.category);
  }
  if (summary.categories().empty()) {
    return absl::NotFoundError(
        item_id.empty()
            ? absl::StrCat("no record ", record_id)
            : absl::StrCat("no item ", item_id, " in record ", record_id));
  }
  return summary;
}

absl::StatusOr<v1::Record> Vault::Read(
    absl::string_view record_id,
    const std::vector<v1::DataCategory>& categories, v1::AuditEntry audit,
    absl::string_view item_id) {
  const std::string principal = audit.principal();
  const std::string case_id = audit.case_id();
  absl::StatusOr<StoredRecord> stored = Fetch(record_id, principal);
  if (!stored.ok()) return stored.status();
  // Fail closed: the read is logged before anything is opened.
  if (absl::StatusOr<uint64_t> seq = AppendGrouped(std::move(audit));
      !seq.ok()) {
    return absl::UnavailableError(
        absl::StrCat("the access log cannot be written, so nothing is read: ",
                     seq.status().message()));
  }
  const absl::Time now = clock_->Now();
  absl::StatusOr<bool> held = HeldForCase(*stored, case_id, now);
  if (!held.ok()) return held.status();
  const bool held_for_case = *held;
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
    if (item.deadline <= now && !held_for_case) continue;  // never returned
    if (!item_id.empty() && item.item_id != item_id) continue;
    if (!categories.empty() && std::find(categories.begin(), categories.end(),
                                         item.category) == categories.end()) {
      continue;
    }
    const std::string ad = ItemAssociatedData(
        s.record_id(), item.item_id, item.category, s.contract_id(),
        s.contract_version(), item.deadline);
    absl::StatusOr<SecureBytes> plain = keys_.Open(item.sealed, ad);
    if (absl::IsNotFound(plain.status())) {
      // Re-wrapped under a newer key (and the old one destroyed) between our
      // fetch and now: fetch the row again.
      absl::StatusOr<StoredRecord> again = Fetch(record_id, principal);
      if (!again.ok()) return again.status();
      for (const StoredItem& fresh : again->items) {
        if (fresh.item_id == item.item_id) plain = keys_.Open(fresh.sealed, ad);
      }
    }
    v1::Item* opened = out.add_items();
    absl::Status damage;
    if (!plain.ok()) {
      damage = plain.status();
    } else if (!opened->ParseFromArray(plain->data(),
                                       static_cast<int>(plain->size())) ||
               opened->item_id() != item.item_id ||
               opened->category() != item.category) {
      damage = absl::DataLossError("does not match its row");
    }
    if (!damage.ok()) {
      const std::string message = absl::StrCat(
          "record ", record_id, " item ", item.item_id, ": ", damage.message());
      RaiseAlert("critical", "data_loss", principal, message);
      return absl::DataLossError(message);
    }
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> Vault::LookupPlate(
    absl::string_view plate, int limit, v1::AuditEntry audit) {
  const std::string blind = plates_.Of(plate);
  if (blind.empty()) {
    return absl::InvalidArgumentError("a plate needs letters or digits");
  }
  audit.set_plate_blind_index(blind);
  if (absl::StatusOr<uint64_t> seq = AppendGrouped(std::move(audit));
      !seq.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "the access log cannot be written, so nothing is looked up: ",
        seq.status().message()));
  }
  return store_->FindPlate(blind, clock_->Now(), limit);
}

std::string Vault::PlateBlindIndex(absl::string_view plate) const {
  return plates_.Of(plate);
}

absl::StatusOr<uint64_t> Vault::Audit(v1::AuditEntry audit) {
  absl::StatusOr<uint64_t> seq = AppendGrouped(std::move(audit));
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
