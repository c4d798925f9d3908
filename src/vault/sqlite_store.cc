#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/time_util.h"
#include "tlog/merkle.h"
#include "vault/sqlite.h"
#include "vault/sqlite_store_impl.h"
#include "vault/store.h"

namespace lanevault::vault {

absl::Status SqliteStore::Init() {
  absl::MutexLock lock(&mu_);
  // WAL for concurrent readers; FULL sync so a commit survives power loss;
  // secure_delete so freed pages holding ciphertext are overwritten.
  for (absl::string_view pragma :
       {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
        "PRAGMA secure_delete=ON", "PRAGMA foreign_keys=ON",
        // 8 MiB of page cache: the upper index pages of a large vault stay
        // in memory instead of being read back for every commit. Not more:
        // every commit's end walks the writer's whole page cache (under
        // sqlite3PagerCommitPhaseTwo), and the cache fills with ciphertext
        // overflow pages no commit reads again.
        "PRAGMA cache_size=-8192"}) {
    if (absl::Status s = db_.Exec(pragma); !s.ok()) return s;
  }
  if (absl::StatusOr<int64_t> ran = MigrateSchema(db_); !ran.ok()) {
    return ran.status();
  }
  // Each intake record's savepoint journals the pages it changes; past
  // 64 KiB SQLite spilled that to a temporary file, created, written and
  // deleted per record. It only serves ROLLBACK TO inside a transaction
  // (the WAL alone makes commits durable), so it stays in memory, with the
  // writer's other temporary tables (its GROUP BYs over categories and key
  // versions, a row a group). Set after the migration: a step that builds
  // an index sorts the whole table, which need not fit in memory.
  if (absl::Status s = db_.Exec("PRAGMA temp_store=MEMORY"); !s.ok()) {
    return s;
  }
  if (absl::Status s = LoadTreeEdge(); !s.ok()) return s;
  // Opened once the file is checked and migrated: they read what the
  // writer has committed, never an older layout.
  absl::StatusOr<std::unique_ptr<SqliteReaders>> readers =
      SqliteReaders::Open(path_, vfs_, damage_, kReadConnections);
  if (!readers.ok()) return readers.status();
  readers_ = std::move(*readers);
  absl::StatusOr<std::unique_ptr<WalCheckpointer>> checkpointer =
      WalCheckpointer::Start(path_, vfs_, db_.handle());
  if (!checkpointer.ok()) return checkpointer.status();
  checkpointer_ = std::move(*checkpointer);
  return absl::OkStatus();
}

absl::Status SqliteStore::TruncateWalLocked() {
  const int rc =
      checkpointer_->Exclusive([this]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return sqlite3_wal_checkpoint_v2(db_.handle(), nullptr,
                                         SQLITE_CHECKPOINT_TRUNCATE, nullptr,
                                         nullptr);
      });
  return SqliteStatus(rc, "WAL checkpoint", db_.handle());
}

void SqliteStore::SetBeforeCommitForTesting(std::function<void()> hook) {
  absl::MutexLock lock(&mu_);
  before_commit_for_testing_ = std::move(hook);
}

void SqliteStore::BeforeCommitLocked() {
  if (before_commit_for_testing_) before_commit_for_testing_();
}

std::vector<absl::Status> SqliteStore::PutRecords(
    std::vector<IntakeRow>& rows) {
  absl::MutexLock lock(&mu_);
  std::vector<absl::Status> out(rows.size());
  absl::StatusOr<Transaction> tx = Transaction::Begin(db_);
  if (!tx.ok()) {
    std::fill(out.begin(), out.end(), tx.status());
    return out;
  }
  tlog::CompactRange edge = edge_;
  for (size_t i = 0; i < rows.size(); ++i) {
    // A savepoint per record, so one bad record (a duplicate id) fails
    // alone while the rest of the group commits.
    if (absl::Status s = db_.Exec("SAVEPOINT intake_row"); !s.ok()) {
      out[i] = s;
      continue;
    }
    tlog::CompactRange attempt = edge;
    absl::Status s = InsertRecordLocked(rows[i].record);
    bool log_failed = false;
    if (s.ok()) {
      absl::StatusOr<uint64_t> seq = AppendLocked(rows[i].audit, attempt);
      if (seq.ok()) {
        rows[i].audit.set_sequence(*seq);
      } else {
        s = seq.status();
        log_failed = true;
      }
    }
    if (s.ok()) {
      edge = std::move(attempt);
    } else if (sqlite3_get_autocommit(db_.handle()) || log_failed) {
      // SQLite rolled the whole transaction back itself (a full disk, an
      // I/O error), or the log cannot take the entry: no record of this
      // group is stored (the transaction is rolled back on return).
      std::fill(out.begin(), out.end(), s);
      return out;
    } else {
      db_.Exec("ROLLBACK TO intake_row").IgnoreError();
      out[i] = WithRecord(s, rows[i].record.summary.record_id());
    }
    db_.Exec("RELEASE intake_row").IgnoreError();
  }
  BeforeCommitLocked();
  if (absl::Status s = tx->Commit(); !s.ok()) {
    std::fill(out.begin(), out.end(), s);
    return out;
  }
  AdoptEdgeLocked(std::move(edge));
  return out;
}

absl::StatusOr<std::string> PackPlateBlinds(
    const std::vector<std::string>& blinds) {
  if (blinds.size() > 255) {
    return absl::InvalidArgumentError("more than 255 plate readings");
  }
  std::string out(1, '\0');  // the count, set below
  unsigned char count = 0;
  for (size_t i = 0; i < blinds.size(); ++i) {
    if (blinds[i].empty()) continue;
    if (blinds[i].size() > 255) {
      return absl::InvalidArgumentError("a plate blind index over 255 bytes");
    }
    out.push_back(static_cast<char>(i + 1));
    out.push_back(static_cast<char>(blinds[i].size()));
    out += blinds[i];
    ++count;
  }
  if (count == 0) return std::string();
  out[0] = static_cast<char>(count);
  return out;
}

absl::StatusOr<std::vector<RankedBlind>> UnpackPlateBlinds(
    absl::string_view packed) {
  std::vector<RankedBlind> out;
  if (packed.empty()) return out;
  const auto count = static_cast<unsigned char>(packed[0]);
  packed.remove_prefix(1);
  while (!packed.empty()) {
    // An entry cut anywhere, its header included, leaves `packed` unread.
    if (packed.size() < 2) break;
    const auto rank = static_cast<unsigned char>(packed[0]);
    const auto size = static_cast<unsigned char>(packed[1]);
    if (packed.size() - 2 < size) break;
    out.push_back({rank, std::string(packed.substr(2, size))});
    packed.remove_prefix(2 + size);
  }
  if (!packed.empty() || out.size() != count) {
    return absl::DataLossError(
        absl::StrCat("an item's plate blind indexes are cut short or "
                     "overlong (",
                     out.size(), " whole entries of ", count, ")"));
  }
  return out;
}

namespace {

// Item ids are unique within their record (record ids are unique, so that
// makes the pair unique across the vault): checked here, as no index on
// (record_id, item_id) does it since schema step 14.
absl::Status CheckItemIdsUnique(const StoredRecord& record) {
  absl::flat_hash_set<absl::string_view> seen;
  for (const StoredItem& it : record.items) {
    if (!seen.insert(it.item_id).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("item id ", it.item_id, " is already used"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<int64_t> SqliteStore::NextItemRowidLocked() {
  absl::StatusOr<Statement> last = db_.Cached("SELECT MAX(rowid) FROM items");
  if (!last.ok()) return last.status();
  absl::StatusOr<bool> row = last->Step();
  if (!row.ok()) return row.status();
  return (*row && !last->IsNull(0)) ? last->Int(0) + 1 : 1;
}

absl::Status SqliteStore::InsertRecordLocked(const StoredRecord& record) {
  const v1::RecordSummary& r = record.summary;
  if (absl::Status s = CheckItemIdsUnique(record); !s.ok()) return s;
  // The record's items take the next row ids, one after another; the range
  // in the record's row is how they are found (schema step 14).
  absl::StatusOr<int64_t> first_item = NextItemRowidLocked();
  if (!first_item.ok()) return first_item.status();
  absl::StatusOr<Statement> ins = db_.Cached(
      "INSERT INTO records(record_id, lane_id, checkpoint_id, "
      "first_seen_us, last_seen_us, contract_id, contract_version, "
      "item_count, submission_digest, canary_mark, items_first, "
      "items_last) "
      "VALUES(?,?,?,?,?,?,?,?,?,?,?,?)");
  if (!ins.ok()) return ins.status();
  ins->Bind(1, r.record_id())
      .Bind(2, r.lane_id())
      .Bind(3, r.checkpoint_id())
      .Bind(4, ToUnixMicrosSaturated(FromProto(r.first_seen())))
      .Bind(5, ToUnixMicrosSaturated(FromProto(r.last_seen())))
      .Bind(6, r.contract_id())
      .Bind(7, static_cast<int64_t>(r.contract_version()))
      .Bind(8, static_cast<int64_t>(record.items.size()));
  if (!record.submission_digest.empty()) {
    ins->BindBlob(9, record.submission_digest);
  }
  if (!record.canary_mark.empty()) ins->BindBlob(10, record.canary_mark);
  if (!record.items.empty()) {
    ins->Bind(11, *first_item)
        .Bind(12, *first_item + static_cast<int64_t>(record.items.size()) - 1);
  }
  if (absl::Status s = ins->Run(); !s.ok()) {
    if (absl::IsAlreadyExists(s)) {
      return absl::AlreadyExistsError("this record id is already stored");
    }
    return s;
  }
  for (size_t n = 0; n < record.items.size(); ++n) {
    const StoredItem& it = record.items[n];
    const int64_t item_rowid = *first_item + static_cast<int64_t>(n);
    absl::StatusOr<std::string> blinds =
        PackPlateBlinds(it.plate_blind_indexes);
    if (!blinds.ok()) return blinds.status();
    absl::StatusOr<Statement> one = db_.Cached(
        "INSERT INTO items(record_id, item_id, category, deadline_us, "
        "key_version, plate_blind, wrapped_key, ciphertext, item_rowid) "
        "VALUES(?,?,?,?,?,?,?,?,?)");
    if (!one.ok()) return one.status();
    one->Bind(1, r.record_id())
        .Bind(2, it.item_id)
        .Bind(3, static_cast<int64_t>(it.category))
        .Bind(4, ToUnixMicrosSaturated(it.deadline))
        .Bind(5, static_cast<int64_t>(it.sealed.key_version))
        .BindBlob(7, it.sealed.wrapped_key)
        .BindBlobInPlace(8, it.sealed.ciphertext)  // `record` outlives `one`
        .Bind(9, item_rowid);
    if (!blinds->empty()) one->BindBlob(6, *blinds);
    if (absl::Status s = one->Run(); !s.ok()) {
      // A row id taken: not the caller's doing (a resend or a clash of
      // record ids is found at the record's row), so not ALREADY_EXISTS.
      if (absl::IsAlreadyExists(s)) {
        return absl::InternalError(absl::StrCat("item row id ", item_rowid,
                                                " is taken: ", s.message()));
      }
      return s;
    }
    for (size_t i = 0; i < it.plate_blind_indexes.size(); ++i) {
      if (it.plate_blind_indexes[i].empty()) continue;
      absl::StatusOr<Statement> cand = db_.Cached(
          "INSERT INTO plate_blinds(record_id, item_id, rank, blind) "
          "VALUES(?,?,?,?)");
      if (!cand.ok()) return cand.status();
      cand->Bind(1, r.record_id())
          .Bind(2, it.item_id)
          .Bind(3, static_cast<int64_t>(i + 1))
          .BindBlob(4, it.plate_blind_indexes[i]);
      if (absl::Status s = cand->Run(); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> SqliteStore::SubmissionDigest(
    absl::string_view record_id) {
  SqliteReaders::Lease db = readers_->Borrow();
  absl::StatusOr<Statement> q = db->Cached(
      "SELECT submission_digest FROM records WHERE record_id = ?1 UNION ALL "
      "SELECT digest FROM unkept_submissions WHERE record_id = ?1");
  if (!q.ok()) return q.status();
  q->Bind(1, record_id);
  absl::StatusOr<bool> row = q->Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::NotFoundError(absl::StrCat("no record ", record_id));
  return q->Blob(0);
}

absl::Status SqliteStore::PutUnkept(absl::string_view record_id,
                                    absl::string_view digest,
                                    v1::AuditEntry audit) {
  absl::MutexLock lock(&mu_);
  return WithAuditLocked(std::move(audit), [&]() -> absl::Status {
    absl::StatusOr<Statement> ins = db_.Cached(
        "INSERT INTO unkept_submissions(record_id, digest) VALUES(?, ?)");
    if (!ins.ok()) return ins.status();
    ins->Bind(1, record_id).BindBlob(2, digest);
    return ins->Run();
  });
}

absl::StatusOr<bool> SqliteStore::WasPurged(absl::string_view record_id) {
  SqliteReaders::Lease db = readers_->Borrow();
  absl::StatusOr<Statement> q = db->Cached(kWasPurged);
  if (!q.ok()) return q.status();
  q->Bind(1, record_id).Bind(2, static_cast<int64_t>(v1::ACTION_PURGE));
  return q->Step();
}

absl::Status SqliteStore::CheckIntegrity(bool full) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Statement> q = db_.Prepare(full ? "PRAGMA integrity_check(20)"
                                                 : "PRAGMA quick_check(20)");
  if (!q.ok()) return q.status();
  std::vector<std::string> problems;
  absl::Status rows = q->ForEachRow([&] {
    if (q->Text(0) != "ok") problems.push_back(q->Text(0));
    return absl::OkStatus();
  });
  if (!rows.ok()) return rows;
  if (problems.empty()) return absl::OkStatus();
  return absl::DataLossError(absl::StrCat(
      full ? "integrity_check" : "quick_check", " found ", problems.size(),
      problems.size() >= 20 ? "+" : "", " problem(s), first: ", problems[0]));
}

namespace {

// A lookup asks for a plate's values in every time cell an unexpired
// reading can be in (a month of hours is ~750), so its statement is made
// for the next power of two from 32 values and kept, the spare places left
// NULL (which matches nothing). Parsing ~750 placeholders took as long as
// the lookup itself. Past kMostCachedPlateValues (asked for when an item
// is kept more than about four and a half years) the statement is made for
// the lookup alone: one for 16,384 values holds ~3.5 MB, and each reader
// connection would keep its own.
constexpr size_t kFewestPlateValues = 32;
constexpr size_t kMostCachedPlateValues = 4096;
// Within SQLITE_MAX_VARIABLE_NUMBER (32766) with ?1 and ?2.
static_assert(kMostPlateIndexValues + 2 <= 32766);

// ?1 is the time, ?2 the limit, ?3 the undated value and ?3 to ?(2 + n)
// the values asked for. The joins are CROSS (their order fixed: the
// readings, then their record, then its items by their rowid range) and
// the items NOT INDEXED: without statistics, SQLite's planner otherwise
// chose, for lists of a few hundred values, to build an automatic index of
// every unexpired item or walk them by deadline, once per lookup. Readings
// from before schema step 12 (plate_candidates) were all indexed before
// time cells, so only their undated value is asked for there.
std::string FindPlateSql(size_t n) {
  std::string values;
  for (size_t i = 0; i < n; ++i) {
    absl::StrAppend(&values, i == 0 ? "" : ",", "?", i + 3);
  }
  constexpr char kJoins[] =
      " c CROSS JOIN records r ON r.record_id = c.record_id "
      "CROSS JOIN items i NOT INDEXED "
      "ON i.item_rowid BETWEEN r.items_first AND r.items_last "
      "AND i.record_id = c.record_id AND i.item_id = c.item_id ";
  return absl::StrCat(
      "SELECT record_id FROM (SELECT c.record_id, c.rank FROM plate_blinds",
      kJoins, "WHERE c.blind IN (", values,
      ") AND i.deadline_us > ?1 UNION ALL "
      "SELECT c.record_id, c.rank FROM plate_candidates",
      kJoins,
      "WHERE c.blind = ?3 AND i.deadline_us > ?1) "
      "GROUP BY record_id ORDER BY MIN(rank), record_id LIMIT ?2");
}

// The kept statement's text for at least `n` values (n at most
// kMostCachedPlateValues). Built once and never freed: each connection's
// cache keys statements by the text's address.
const char* CachedFindPlateSql(size_t n) {
  static const std::vector<std::string>* const kSql = [] {
    auto* sql = new std::vector<std::string>;
    for (size_t m = kFewestPlateValues; m <= kMostCachedPlateValues; m *= 2) {
      sql->push_back(FindPlateSql(m));
    }
    return sql;
  }();
  size_t i = 0;
  for (size_t m = kFewestPlateValues; m < n; m *= 2) ++i;
  return (*kSql)[i].c_str();
}

}  // namespace

absl::StatusOr<std::vector<std::string>> SqliteStore::FindPlate(
    const PlateIndexValues& plate, absl::Time now, int limit) {
  if (plate.undated.empty()) {
    return absl::InvalidArgumentError("a plate lookup needs a blind index");
  }
  const size_t n = 1 + plate.cells.size();
  if (n > kMostPlateIndexValues) {
    return absl::InternalError(
        absl::StrCat("a plate lookup asked for ", n, " values, more than the ",
                     kMostPlateIndexValues, " a store takes"));
  }
  SqliteReaders::Lease db = readers_->Borrow();
  // One statement, so one snapshot.
  absl::StatusOr<Statement> q = n <= kMostCachedPlateValues
                                    ? db->Cached(CachedFindPlateSql(n))
                                    : db->Prepare(FindPlateSql(n));
  if (!q.ok()) return q.status();
  // The values outlive the statement's use here (a kept statement's
  // bindings are cleared as it goes back to the cache), so they are not
  // copied.
  q->Bind(1, ToUnixMicrosSaturated(now))
      .Bind(2, static_cast<int64_t>(limit))
      .BindBlobInPlace(3, plate.undated);
  for (size_t i = 0; i < plate.cells.size(); ++i) {
    q->BindBlobInPlace(static_cast<int>(i + 4), plate.cells[i]);
  }
  return q->AllText(0);
}

absl::StatusOr<StoredRecord> SqliteStore::GetRecord(
    absl::string_view record_id) {
  SqliteReaders::Lease db = readers_->Borrow();
  // The record's row and its items from one commit: a purge between the
  // two would otherwise look like damage (fewer items than counted).
  absl::StatusOr<ReadSnapshot> snapshot = ReadSnapshot::Begin(*db);
  if (!snapshot.ok()) return snapshot.status();
  absl::StatusOr<Statement> q = db->Cached(
      "SELECT lane_id, checkpoint_id, first_seen_us, last_seen_us, "
      "contract_id, contract_version, item_count, items_first, items_last "
      "FROM records WHERE record_id=?");
  if (!q.ok()) return q.status();
  q->Bind(1, record_id);
  absl::StatusOr<bool> row = q->Step();
  if (!row.ok()) return WithRecord(row.status(), record_id);
  if (!*row) {
    return absl::NotFoundError(absl::StrCat("no record ", record_id));
  }
  StoredRecord out;
  v1::RecordSummary& s = out.summary;
  s.set_record_id(std::string(record_id));
  s.set_lane_id(q->Text(0));
  s.set_checkpoint_id(q->Text(1));
  *s.mutable_first_seen() = ToProto(absl::FromUnixMicros(q->Int(2)));
  *s.mutable_last_seen() = ToProto(absl::FromUnixMicros(q->Int(3)));
  s.set_contract_id(q->Text(4));
  s.set_contract_version(static_cast<uint64_t>(q->Int(5)));
  const int64_t expected_items = q->Int(6);
  const bool has_items = !q->IsNull(7) && !q->IsNull(8);
  const int64_t items_first = has_items ? q->Int(7) : 1;
  const int64_t items_last = has_items ? q->Int(8) : 0;
  absl::StatusOr<Statement> items = db->Cached(
      "SELECT item_id, category, deadline_us, key_version, wrapped_key, "
      "ciphertext FROM items WHERE item_rowid BETWEEN ?2 AND ?3 AND "
      "record_id = ?1 ORDER BY item_id");
  if (!items.ok()) return items.status();
  items->Bind(1, record_id).Bind(2, items_first).Bind(3, items_last);
  // Every error, the step's or a bad row's, names the record.
  absl::Status rows = items->ForEachRow([&] {
    StoredItem it;
    it.item_id = items->Text(0);
    const int64_t category = items->Int(1);
    if (!v1::DataCategory_IsValid(static_cast<int>(category))) {
      return absl::DataLossError(
          absl::StrCat("item ", it.item_id, " has category ", category));
    }
    it.category = static_cast<v1::DataCategory>(category);
    it.deadline = absl::FromUnixMicros(items->Int(2));
    it.sealed.key_version = static_cast<uint32_t>(items->Int(3));
    it.sealed.wrapped_key = items->Blob(4);
    it.sealed.ciphertext = items->Blob(5);
    s.add_categories(it.category);
    out.items.push_back(std::move(it));
    return absl::OkStatus();
  });
  if (!rows.ok()) return WithRecord(rows, record_id);
  if (expected_items >= 0 &&
      out.items.size() != static_cast<size_t>(expected_items)) {
    return absl::DataLossError(absl::StrCat("record ", record_id, ": ",
                                            expected_items, " items expected, ",
                                            out.items.size(), " found"));
  }
  return out;
}

namespace {

constexpr char kSummaryColumns[] =
    "SELECT record_id, lane_id, checkpoint_id, first_seen_us, last_seen_us, "
    "contract_id, contract_version FROM records ";
constexpr char kSummaryFilter[] =
    "WHERE (?1 = '' OR lane_id = ?1) AND first_seen_us >= ?2 "
    "AND first_seen_us < ?3 AND record_id > ?4 ";

absl::StatusOr<std::vector<v1::RecordSummary>> Summaries(Statement& q) {
  std::vector<v1::RecordSummary> out;
  absl::Status rows = q.ForEachRow([&] {
    v1::RecordSummary& s = out.emplace_back();
    s.set_record_id(q.Text(0));
    s.set_lane_id(q.Text(1));
    s.set_checkpoint_id(q.Text(2));
    *s.mutable_first_seen() = ToProto(absl::FromUnixMicros(q.Int(3)));
    *s.mutable_last_seen() = ToProto(absl::FromUnixMicros(q.Int(4)));
    s.set_contract_id(q.Text(5));
    s.set_contract_version(static_cast<uint64_t>(q.Int(6)));
    return absl::OkStatus();
  });
  if (!rows.ok()) return rows;
  return out;
}

}  // namespace

absl::StatusOr<std::vector<v1::RecordSummary>> SqliteStore::FindRecords(
    const RecordQuery& query) {
  // On a reader connection: a search does not hold up intake or the log.
  SqliteReaders::Lease db = readers_->Borrow();
  // One snapshot for both statements below.
  absl::StatusOr<ReadSnapshot> snapshot = ReadSnapshot::Begin(*db);
  if (!snapshot.ok()) return snapshot.status();
  const auto bind = [&](Statement& q, int64_t limit) {
    q.Bind(1, query.lane_id)
        .Bind(2, ToUnixMicrosSaturated(query.since))
        .Bind(3, ToUnixMicrosSaturated(query.until))
        .Bind(4, query.after_record_id)
        .Bind(5, limit);
  };
  // SQLite plans the query below, knowing no values, as a walk of every
  // record by id: cheap when the window holds many (it stops at the
  // limit), a walk of the vault to find a quiet hour's few. So a bounded
  // window (a start, an end or both) is first read through
  // records_by_time, in time order, stopping one past the limit: when that
  // is all of it, it is the answer (put in id order), at the cost of at
  // most the limit's rows and the other lanes' between them.
  if (query.limit >= 0 && (query.since != absl::InfinitePast() ||
                           query.until != absl::InfiniteFuture())) {
    static const std::string* const kInTimeOrder = new std::string(
        absl::StrCat(kSummaryColumns, "INDEXED BY records_by_time ",
                     kSummaryFilter, "LIMIT ?5"));
    absl::StatusOr<Statement> q = db->Cached(kInTimeOrder->c_str());
    if (!q.ok()) return q.status();
    bind(*q, static_cast<int64_t>(query.limit) + 1);
    absl::StatusOr<std::vector<v1::RecordSummary>> window = Summaries(*q);
    if (!window.ok()) return window.status();
    if (window->size() <= static_cast<size_t>(query.limit)) {
      std::sort(window->begin(), window->end(),
                [](const v1::RecordSummary& a, const v1::RecordSummary& b) {
                  return a.record_id() < b.record_id();
                });
      return window;
    }
  }
  static const std::string* const kById = new std::string(absl::StrCat(
      kSummaryColumns, kSummaryFilter, "ORDER BY record_id LIMIT ?5"));
  absl::StatusOr<Statement> q = db->Cached(kById->c_str());
  if (!q.ok()) return q.status();
  bind(*q, query.limit);
  return Summaries(*q);
}

absl::StatusOr<uint64_t> SqliteStore::AppendAuditBatch(
    std::vector<v1::AuditEntry> entries) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Transaction> tx = Transaction::Begin(db_);
  if (!tx.ok()) return tx.status();
  tlog::CompactRange edge = edge_;
  const uint64_t first = edge.size();
  for (v1::AuditEntry& e : entries) {
    absl::StatusOr<uint64_t> seq = AppendLocked(std::move(e), edge);
    if (!seq.ok()) return seq.status();
  }
  BeforeCommitLocked();
  if (absl::Status s = tx->Commit(); !s.ok()) return s;
  AdoptEdgeLocked(std::move(edge));
  return first;
}

absl::StatusOr<std::vector<std::string>> SqliteStore::AuditLeafData(
    uint64_t start, uint64_t end) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Statement> q = db_.Cached(
      "SELECT sequence, entry FROM audit_log WHERE sequence >= ? AND "
      "sequence < ? ORDER BY sequence");
  if (!q.ok()) return q.status();
  q->Bind(1, static_cast<int64_t>(start)).Bind(2, static_cast<int64_t>(end));
  std::vector<std::string> out;
  absl::Status rows = q->ForEachRow([&] {
    out.push_back(q->Blob(1));
    return absl::OkStatus();
  });
  if (!rows.ok()) return rows;
  return out;
}

uint64_t SqliteStore::AuditSize() {
  absl::MutexLock lock(&mu_);
  return edge_.size();
}

absl::StatusOr<std::string> SqliteStore::AuditSubtree(int level,
                                                      uint64_t index) {
  absl::MutexLock lock(&mu_);
  return ReadNodeLocked(level, index);
}

namespace {

// The log's size: one past its last entry's sequence.
constexpr char kLogSize[] =
    "SELECT COALESCE(MAX(sequence) + 1, 0) FROM audit_log";

// The first sequence at or after `start` whose block of the log may hold
// an entry of [since, until): whole blocks whose span of times lies outside
// it are passed over, the block still filling never. With a block's row
// missing (a damaged table) nothing is passed over.
absl::StatusOr<uint64_t> FirstBlockReaching(Database& db, uint64_t start,
                                            absl::Time since,
                                            absl::Time until) {
  absl::StatusOr<Statement> q = db.Cached(
      "SELECT COUNT(*), COALESCE(MAX(block) + 1, 0), (SELECT MIN(block) FROM "
      "audit_blocks WHERE block >= ?1 AND max_time_us >= ?2 AND "
      "min_time_us < ?3) FROM audit_blocks");
  if (!q.ok()) return q.status();
  q->Bind(1, static_cast<int64_t>(start / kAuditBlockEntries))
      .Bind(2, ToUnixMicrosSaturated(since))
      .Bind(3, ToUnixMicrosCeilSaturated(until));
  absl::StatusOr<bool> row = q->Step();
  if (!row.ok()) return row.status();
  const int64_t blocks = q->Int(0), whole = q->Int(1);
  if (blocks != whole) return start;
  const int64_t first = q->IsNull(2) ? whole : q->Int(2);
  return static_cast<uint64_t>(first) * kAuditBlockEntries;
}

}  // namespace

absl::StatusOr<AuditPage> SqliteStore::QueryAudit(const AuditQuery& query) {
  // On a reader connection, in one snapshot: a query that walks far (a
  // filter few entries match) neither holds up appends, which every intake
  // and read makes, nor sees half of a batch.
  SqliteReaders::Lease db = readers_->Borrow();
  absl::StatusOr<ReadSnapshot> snapshot = ReadSnapshot::Begin(*db);
  if (!snapshot.ok()) return snapshot.status();
  absl::StatusOr<Statement> size = db->Cached(kLogSize);
  if (!size.ok()) return size.status();
  absl::StatusOr<bool> row = size->Step();
  if (!row.ok()) return row.status();
  const uint64_t end =
      std::min(static_cast<uint64_t>(size->Int(0)), query.end_sequence);
  uint64_t start = query.start_sequence;
  if (query.since != absl::InfinitePast() ||
      query.until != absl::InfiniteFuture()) {
    absl::StatusOr<uint64_t> first =
        FirstBlockReaching(*db, start, query.since, query.until);
    if (!first.ok()) return first.status();
    start = std::max(start, *first);
  }
  const uint64_t stop = ScanStop(start, end, query.scan_limit);
  absl::StatusOr<Statement> q = db->Cached(
      "SELECT entry FROM audit_log WHERE sequence >= ?1 AND sequence < ?9 "
      "AND (?2 = '' OR principal = ?2) AND (?3 = '' OR record_id = ?3 OR "
      "sequence IN (SELECT sequence FROM audit_reveals WHERE record_id = ?3)) "
      "AND (?4 = 0 OR action = ?4) AND (?5 = 0 OR verdict = ?5) "
      "AND time_us >= ?6 AND time_us < ?7 ORDER BY sequence LIMIT ?8");
  if (!q.ok()) return q.status();
  q->Bind(1, static_cast<int64_t>(start))
      .Bind(2, query.principal)
      .Bind(3, query.record_id)
      .Bind(4, static_cast<int64_t>(query.action))
      .Bind(5, static_cast<int64_t>(query.verdict))
      .Bind(6, ToUnixMicrosSaturated(query.since))
      .Bind(7, ToUnixMicrosCeilSaturated(query.until))
      .Bind(8, static_cast<int64_t>(query.limit))
      .Bind(9, static_cast<int64_t>(stop));
  absl::StatusOr<std::vector<v1::AuditEntry>> entries = ReadEntries(*q);
  if (!entries.ok()) return entries.status();
  return PageOf(*std::move(entries), query, stop, end);
}

absl::StatusOr<std::vector<v1::AuditEntry>> ReadEntries(Statement& q) {
  std::vector<v1::AuditEntry> out;
  absl::Status rows = q.ForEachRow([&] {
    if (!out.emplace_back().ParseFromString(q.Blob(0))) {
      return absl::DataLossError("an audit entry does not parse");
    }
    return absl::OkStatus();
  });
  if (!rows.ok()) return rows;
  return out;
}

absl::StatusOr<ReadCounts> SqliteStore::CountReads(absl::string_view who,
                                                   bool group,
                                                   absl::Time since) {
  SqliteReaders::Lease db = readers_->Borrow();
  absl::StatusOr<Statement> q =
      db->Cached(group ? kCountReadsByGroup : kCountReadsByPrincipal);
  if (!q.ok()) return q.status();
  q->Bind(1, who)
      .Bind(2, ToUnixMicrosSaturated(since))
      .Bind(3, static_cast<int64_t>(v1::VERDICT_ALLOW))
      .Bind(4, static_cast<int64_t>(v1::ACTION_READ_RECORD))
      .Bind(5, static_cast<int64_t>(v1::ACTION_READ_ITEM));
  absl::StatusOr<bool> row = q->Step();
  if (!row.ok()) return row.status();
  return ReadCounts{static_cast<uint32_t>(q->Int(0)),
                    static_cast<uint32_t>(q->Int(1))};
}

absl::StatusOr<uint32_t> SqliteStore::CountCalls(absl::string_view who,
                                                 bool group, v1::Action action,
                                                 absl::Time since) {
  if (action == v1::ACTION_INTAKE) {
    return absl::InvalidArgumentError("intakes are not counted by principal");
  }
  SqliteReaders::Lease db = readers_->Borrow();
  absl::StatusOr<Statement> q =
      db->Cached(group ? kCountCallsByGroup : kCountCallsByPrincipal);
  if (!q.ok()) return q.status();
  q->Bind(1, who)
      .Bind(2, ToUnixMicrosSaturated(since))
      .Bind(3, static_cast<int64_t>(v1::VERDICT_ALLOW))
      .Bind(4, static_cast<int64_t>(action));
  absl::StatusOr<bool> row = q->Step();
  if (!row.ok()) return row.status();
  return static_cast<uint32_t>(q->Int(0));
}

absl::StatusOr<bool> SqliteStore::ReadRecordSince(absl::string_view who,
                                                  bool group,
                                                  absl::string_view record_id,
                                                  absl::Time since) {
  SqliteReaders::Lease db = readers_->Borrow();
  absl::StatusOr<Statement> q =
      db->Cached(group ? kReadRecordSinceByGroup : kReadRecordSinceByPrincipal);
  if (!q.ok()) return q.status();
  q->Bind(1, record_id)
      .Bind(2, who)
      .Bind(3, ToUnixMicrosSaturated(since))
      .Bind(4, static_cast<int64_t>(v1::VERDICT_ALLOW))
      .Bind(5, static_cast<int64_t>(v1::ACTION_READ_RECORD))
      .Bind(6, static_cast<int64_t>(v1::ACTION_READ_ITEM));
  return q->Step();
}

absl::StatusOr<std::vector<v1::DataCategory>> SqliteStore::CategoriesRead(
    absl::string_view who, bool group, absl::string_view record_id) {
  SqliteReaders::Lease db = readers_->Borrow();
  absl::StatusOr<Statement> q =
      db->Cached(group ? kCategoriesReadByGroup : kCategoriesReadByPrincipal);
  if (!q.ok()) return q.status();
  q->Bind(1, record_id)
      .Bind(2, who)
      .Bind(3, static_cast<int64_t>(v1::VERDICT_ALLOW));
  std::vector<v1::DataCategory> out;
  absl::Status rows = q->ForEachRow([&] {
    v1::AuditEntry e;
    if (!e.ParseFromString(q->Blob(0))) {
      return absl::DataLossError("an audit entry does not parse");
    }
    for (int c : e.categories()) {
      if (v1::DataCategory_IsValid(c)) {
        out.push_back(static_cast<v1::DataCategory>(c));
      }
    }
    return absl::OkStatus();
  });
  if (!rows.ok()) return rows;
  return out;
}

absl::Status SqliteStore::PutContractVersion(const ContractVersionRow& row) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Statement> q = db_.Cached(
      "INSERT OR IGNORE INTO contracts(contract_id, version, signed_text, "
      "activated_us) VALUES(?, ?, ?, ?)");
  if (!q.ok()) return q.status();
  q->Bind(1, row.contract_id)
      .Bind(2, static_cast<int64_t>(row.version))
      .BindBlob(3, row.signed_text)
      .Bind(4, ToUnixMicrosSaturated(row.activated));
  return q->Run();
}

absl::StatusOr<std::vector<ContractVersionRow>>
SqliteStore::ContractVersions() {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Statement> q = db_.Cached(
      "SELECT contract_id, version, signed_text, activated_us FROM contracts "
      "ORDER BY activated_us DESC");
  if (!q.ok()) return q.status();
  std::vector<ContractVersionRow> out;
  absl::Status rows = q->ForEachRow([&] {
    out.push_back({q->Text(0), static_cast<uint64_t>(q->Int(1)), q->Blob(2),
                   absl::FromUnixMicros(q->Int(3))});
    return absl::OkStatus();
  });
  if (!rows.ok()) return rows;
  return out;
}

absl::Status SqliteStore::PutCheckpoint(const StoredCheckpoint& checkpoint) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Statement> q = db_.Cached(
      "INSERT OR IGNORE INTO audit_checkpoints(tree_size, note) VALUES(?, "
      "?)");
  if (!q.ok()) return q.status();
  q->Bind(1, static_cast<int64_t>(checkpoint.tree_size))
      .Bind(2, checkpoint.note);
  return q->Run();
}

absl::StatusOr<StoredCheckpoint> SqliteStore::LatestCheckpoint() {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Statement> q = db_.Cached(
      "SELECT tree_size, note FROM audit_checkpoints ORDER BY tree_size "
      "DESC LIMIT 1");
  if (!q.ok()) return q.status();
  absl::StatusOr<bool> row = q->Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::NotFoundError("no checkpoint has been issued yet");
  return StoredCheckpoint{static_cast<uint64_t>(q->Int(0)), q->Text(1)};
}

absl::StatusOr<uint64_t> SqliteStore::CountRecords() {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Statement> q = db_.Cached("SELECT COUNT(*) FROM records");
  if (!q.ok()) return q.status();
  absl::StatusOr<bool> row = q->Step();
  if (!row.ok()) return row.status();
  return static_cast<uint64_t>(q->Int(0));
}

void SqliteStore::AdoptEdgeLocked(tlog::CompactRange edge) {
  const bool grew = edge.size() != edge_.size();
  edge_ = std::move(edge);
  if (grew && log_listener_) log_listener_(edge_.size(), edge_.Root());
}

void SqliteStore::SetLogListener(LogListener listener) {
  absl::MutexLock lock(&mu_);
  log_listener_ = std::move(listener);
}

absl::Status SqliteStore::WithRecord(const absl::Status& s,
                                     absl::string_view record_id) {
  return absl::Status(s.code(),
                      absl::StrCat("record ", record_id, ": ", s.message()));
}

absl::Status SqliteStore::LoadTreeEdge() {
  absl::StatusOr<Statement> q = db_.Prepare(kLogSize);
  if (!q.ok()) return q.status();
  absl::StatusOr<bool> row = q->Step();
  if (!row.ok()) return row.status();
  const uint64_t size = static_cast<uint64_t>(q->Int(0));
  std::vector<tlog::Hash> peaks;
  uint64_t covered = 0;
  for (int level = 63; level >= 0; --level) {
    if ((size >> level & 1) == 0) continue;
    absl::StatusOr<std::string> h = ReadNodeLocked(level, covered >> level);
    if (!h.ok()) return h.status();
    peaks.push_back(*h);
    covered += uint64_t{1} << level;
  }
  edge_ = tlog::CompactRange::FromPeaks(size, std::move(peaks));
  return absl::OkStatus();
}

namespace {

constexpr size_t kHashSize = 32;

// A tree node's key (schema step 8): the log size at which its subtree is
// whole, so one append's nodes sort together. Since step 10 that append's
// entry (sequence pos - 1) holds them in its own row.
int64_t NodePosition(int level, uint64_t index) {
  return static_cast<int64_t>((index + 1) << level);
}

}  // namespace

absl::StatusOr<std::string> SqliteStore::ReadNodeLocked(int level,
                                                        uint64_t index) {
  const int64_t pos = NodePosition(level, index);
  {
    absl::StatusOr<Statement> q =
        db_.Cached("SELECT nodes FROM audit_log WHERE sequence = ?");
    if (!q.ok()) return q.status();
    q->Bind(1, pos - 1);
    absl::StatusOr<bool> row = q->Step();
    if (!row.ok()) return row.status();
    if (*row && !q->IsNull(0)) {
      const std::string nodes = q->Blob(0);
      const size_t at = static_cast<size_t>(level) * kHashSize;
      if (nodes.size() % kHashSize != 0 || nodes.size() < at + kHashSize) {
        return absl::DataLossError(absl::StrCat("access log tree node ", level,
                                                "/", index, " is missing"));
      }
      return nodes.substr(at, kHashSize);
    }
  }
  // Completed before schema step 10.
  absl::StatusOr<Statement> q =
      db_.Cached("SELECT hash FROM audit_nodes WHERE pos = ? AND level = ?");
  if (!q.ok()) return q.status();
  q->Bind(1, pos).Bind(2, static_cast<int64_t>(level));
  absl::StatusOr<bool> row = q->Step();
  if (!row.ok()) return row.status();
  if (!*row) {
    return absl::DataLossError(absl::StrCat("access log tree node ", level, "/",
                                            index, " is missing"));
  }
  return q->Blob(0);
}

absl::StatusOr<uint64_t> SqliteStore::AppendLocked(v1::AuditEntry entry,
                                                   tlog::CompactRange& edge) {
  const uint64_t seq = edge.size();
  entry.set_sequence(seq);
  const std::string bytes = entry.SerializeAsString();
  // The nodes this append completes, from its leaf up: stored in its row,
  // level L at byte 32 * L. The caller drops `edge` if this fails.
  std::string nodes;
  for (const auto& node : edge.Append(tlog::LeafHash(bytes))) {
    if (node.level * kHashSize != nodes.size() ||
        node.hash.size() != kHashSize) {
      return absl::InternalError("access log nodes out of order");
    }
    nodes += node.hash;
  }
  absl::StatusOr<Statement> ins = db_.Cached(
      "INSERT INTO audit_log(sequence, time_us, principal, record_id, "
      "action, verdict, entry, refusal_count, grp, nodes) "
      "VALUES(?,?,?,?,?,?,?,?,?,?)");
  if (!ins.ok()) return ins.status();
  ins->Bind(1, static_cast<int64_t>(seq))
      .Bind(2, ToUnixMicrosSaturated(FromProto(entry.time())))
      .Bind(3, entry.principal())
      .Bind(4, entry.record_id())
      .Bind(5, static_cast<int64_t>(entry.action()))
      .Bind(6, static_cast<int64_t>(entry.verdict()))
      .BindBlob(7, bytes)
      .Bind(8, static_cast<int64_t>(entry.verdict() == v1::VERDICT_DENY
                                        ? entry.refusal_count()
                                        : v1::REFUSAL_COUNT_NONE))
      .Bind(9, entry.group())
      .BindBlob(10, nodes);
  if (absl::Status s = ins->Run(); !s.ok()) {
    if (absl::IsAlreadyExists(s)) {
      // Our copy of the tree's edge says the position is free and the file
      // says it is taken: someone else wrote this log. Nothing may be
      // acknowledged on top of that: the vault goes out of service.
      const std::string what =
          absl::StrCat("access log position ", seq,
                       " is already taken: another process writes this vault");
      damage_->Trip(what);
      return absl::UnavailableError(what);
    }
    return s;
  }
  if ((seq + 1) % kAuditBlockEntries == 0) {
    // The block's last entry: its span of times, for queries of a window.
    absl::StatusOr<Statement> block = db_.Cached(
        "INSERT INTO audit_blocks(block, min_time_us, max_time_us) "
        "SELECT ?1, MIN(time_us), MAX(time_us) FROM audit_log "
        "WHERE sequence >= ?2 AND sequence <= ?3");
    if (!block.ok()) return block.status();
    block->Bind(1, static_cast<int64_t>(seq / kAuditBlockEntries))
        .Bind(2, static_cast<int64_t>(seq + 1 - kAuditBlockEntries))
        .Bind(3, static_cast<int64_t>(seq));
    if (absl::Status s = block->Run(); !s.ok()) return s;
  }
  if (entry.verdict() == v1::VERDICT_ALLOW) {
    for (const std::string& record_id : entry.revealed_record_ids()) {
      absl::StatusOr<Statement> reveal = db_.Cached(
          "INSERT INTO audit_reveals(sequence, principal, grp, record_id) "
          "VALUES(?, ?, ?, ?)");
      if (!reveal.ok()) return reveal.status();
      reveal->Bind(1, static_cast<int64_t>(seq))
          .Bind(2, entry.principal())
          .Bind(3, entry.group())
          .Bind(4, record_id);
      if (absl::Status s = reveal->Run(); !s.ok()) return s;
    }
  }
  return seq;
}

absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(
    const std::string& path, const SqliteOptions& options) {
  absl::StatusOr<Database> db = Database::Open(path, options.vfs);
  if (!db.ok()) return db.status();
  auto store = std::make_unique<SqliteStore>(std::move(*db), path, options.vfs);
  if (absl::Status s = store->Init(); !s.ok()) {
    return absl::Status(s.code(),
                        absl::StrCat("vault ", path, ": ", s.message()));
  }
  return store;
}

}  // namespace lanevault::vault
