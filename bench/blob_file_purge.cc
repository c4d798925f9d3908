#include "blob_file_purge.h"

#include <sqlite3.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <random>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/files.h"
#include "scratch_file.h"

namespace lanevault::bench {
namespace {

constexpr int kBatch = 500;  // the vault's sweep batch
// Sealed sizes, as the purge baseline's: nonce + content + tag.
constexpr size_t kSealOverhead = 40;
// Deadlines: the items due, and those taken in beside the purge.
constexpr int64_t kDue = 1;
constexpr int64_t kKept = int64_t{1} << 60;

// The rows, and the slots where the placement puts ciphertext there, behind
// one lock, as the vault's one writer.
class BlobStore {
 public:
  BlobStore(Placement placement, Overwrite overwrite)
      : placement_(placement), wrapped_(72, 'w') {
    // Noise to overwrite slots with, read from a varying place each time.
    std::mt19937_64 rng(11);
    noise_.resize(1 << 17);
    for (char& c : noise_) c = static_cast<char>(rng() | 1);
    if (overwrite == Overwrite::kZeros) noise_.assign(noise_.size(), '\0');
  }
  BlobStore(const BlobStore&) = delete;
  BlobStore& operator=(const BlobStore&) = delete;
  ~BlobStore() {
    for (sqlite3_stmt* s : {insert_, due_, remove_, queue_, unqueue_}) {
      sqlite3_finalize(s);
    }
    sqlite3_close(db_);
  }

  absl::Status Open(const std::string& dir) {
    if (absl::Status s = slots_.Create(dir + "/slots"); !s.ok()) return s;
    if (sqlite3_open((dir + "/rows.db").c_str(), &db_) != SQLITE_OK) {
      return Fail("open");
    }
    if (absl::Status s =
            Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                 "PRAGMA secure_delete=ON; PRAGMA cache_size=-8192;"
                 "CREATE TABLE items(item_id TEXT PRIMARY KEY, record_id TEXT, "
                 "deadline_us INTEGER, wrapped BLOB, ciphertext BLOB, "
                 "slot_at INTEGER, slot_length INTEGER);"
                 "CREATE INDEX items_by_deadline ON items(deadline_us);"
                 // Slots whose rows are gone but whose bytes may not be
                 // overwritten yet: a start after a crash finishes them.
                 "CREATE TABLE erase_queue(slot_at INTEGER PRIMARY KEY, "
                 "slot_length INTEGER);");
        !s.ok()) {
      return s;
    }
    for (auto [sql, stmt] :
         {std::pair{"INSERT INTO items VALUES(?,?,?,?,?,?,?)", &insert_},
          {"SELECT item_id, slot_at, slot_length FROM items WHERE "
           "deadline_us <= ? ORDER BY deadline_us LIMIT ?",
           &due_},
          {"DELETE FROM items WHERE item_id = ?", &remove_},
          {"INSERT INTO erase_queue VALUES(?,?)", &queue_},
          {"DELETE FROM erase_queue", &unqueue_}}) {
      if (sqlite3_prepare_v2(db_, sql, -1, stmt, nullptr) != SQLITE_OK) {
        return Fail("prepare");
      }
    }
    return absl::OkStatus();
  }

  // Durable on return: the slots synced, then the rows committed.
  absl::Status Take(const std::vector<v1::Record>& records,
                    int64_t deadline_us) {
    absl::MutexLock lock(&mu_);
    const bool in_slots = placement_ == Placement::kSlotFile;
    std::vector<std::string> sealed;
    std::vector<int64_t> at;
    for (const v1::Record& r : records) {
      for (const v1::Item& item : r.items()) {
        sealed.push_back(item.content() + std::string(kSealOverhead, 's'));
        at.push_back(end_);
        if (!in_slots) continue;
        if (absl::Status s = slots_.WriteAt(sealed.back().data(),
                                            sealed.back().size(), end_);
            !s.ok()) {
          return s;
        }
        end_ += static_cast<int64_t>(sealed.back().size());
      }
    }
    if (in_slots) {
      if (absl::Status s = slots_.Sync(); !s.ok()) return s;
    }
    if (absl::Status s = Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
    size_t n = 0;
    for (const v1::Record& r : records) {
      for (const v1::Item& item : r.items()) {
        sqlite3_bind_text(insert_, 1, item.item_id().data(),
                          item.item_id().size(), SQLITE_STATIC);
        sqlite3_bind_text(insert_, 2, r.record_id().data(),
                          r.record_id().size(), SQLITE_STATIC);
        sqlite3_bind_int64(insert_, 3, deadline_us);
        sqlite3_bind_blob(insert_, 4, wrapped_.data(), wrapped_.size(),
                          SQLITE_STATIC);
        if (in_slots) {
          sqlite3_bind_null(insert_, 5);
          sqlite3_bind_int64(insert_, 6, at[n]);
          sqlite3_bind_int64(insert_, 7,
                             static_cast<int64_t>(sealed[n].size()));
        } else {
          sqlite3_bind_blob(insert_, 5, sealed[n].data(), sealed[n].size(),
                            SQLITE_STATIC);
          sqlite3_bind_null(insert_, 6);
          sqlite3_bind_null(insert_, 7);
        }
        ++n;
        const int rc = sqlite3_step(insert_);
        sqlite3_reset(insert_);
        if (rc != SQLITE_DONE) return Abandon("insert");
      }
    }
    return Exec("COMMIT");
  }

  // One batch: rows deleted (and their slots queued) in one transaction,
  // then the slots overwritten and synced and the queue cleared. Returns
  // the items purged.
  absl::StatusOr<int> PurgeBatch() {
    absl::MutexLock lock(&mu_);
    if (absl::Status s = Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
    std::vector<std::pair<int64_t, int64_t>> slots;
    std::vector<std::string> ids;
    sqlite3_bind_int64(due_, 1, kDue);
    sqlite3_bind_int(due_, 2, kBatch);
    int rc;
    while ((rc = sqlite3_step(due_)) == SQLITE_ROW) {
      ids.emplace_back(
          reinterpret_cast<const char*>(sqlite3_column_text(due_, 0)));
      if (sqlite3_column_type(due_, 1) != SQLITE_NULL) {
        slots.push_back(
            {sqlite3_column_int64(due_, 1), sqlite3_column_int64(due_, 2)});
      }
    }
    sqlite3_reset(due_);
    if (rc != SQLITE_DONE) return Abandon("select due");
    for (const std::string& id : ids) {
      sqlite3_bind_text(remove_, 1, id.data(), id.size(), SQLITE_STATIC);
      rc = sqlite3_step(remove_);
      sqlite3_reset(remove_);
      if (rc != SQLITE_DONE) return Abandon("delete");
    }
    for (const auto& [at, length] : slots) {
      sqlite3_bind_int64(queue_, 1, at);
      sqlite3_bind_int64(queue_, 2, length);
      rc = sqlite3_step(queue_);
      sqlite3_reset(queue_);
      if (rc != SQLITE_DONE) return Abandon("queue");
    }
    if (absl::Status s = Exec("COMMIT"); !s.ok()) return s;
    if (slots.empty()) return static_cast<int>(ids.size());
    for (const auto& [at, length] : slots) {
      if (absl::Status s = Overwrite(at, length); !s.ok()) return s;
    }
    if (absl::Status s = slots_.Sync(); !s.ok()) return s;
    rc = sqlite3_step(unqueue_);
    sqlite3_reset(unqueue_);
    if (rc != SQLITE_DONE) return Fail("unqueue");
    return static_cast<int>(ids.size());
  }

  absl::Status TruncateWal() {
    absl::MutexLock lock(&mu_);
    return sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE,
                                     nullptr, nullptr) == SQLITE_OK
               ? absl::OkStatus()
               : Fail("checkpoint");
  }

 private:
  absl::Status Overwrite(int64_t at, int64_t length) {
    while (length > 0) {
      const size_t from = static_cast<size_t>(at) % (noise_.size() / 2);
      const size_t n = std::min<size_t>(length, noise_.size() - from);
      if (absl::Status s = slots_.WriteAt(noise_.data() + from, n, at);
          !s.ok()) {
        return s;
      }
      at += static_cast<int64_t>(n);
      length -= static_cast<int64_t>(n);
    }
    return absl::OkStatus();
  }
  absl::Status Exec(const char* sql) {
    return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) == SQLITE_OK
               ? absl::OkStatus()
               : Fail(sql);
  }
  absl::Status Fail(absl::string_view what) {
    return absl::InternalError(absl::StrCat(what, ": ", sqlite3_errmsg(db_)));
  }
  // Fails naming `what` and rolls the open transaction back.
  absl::Status Abandon(absl::string_view what) {
    absl::Status s = Fail(what);
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return s;
  }

  const Placement placement_;
  const std::string wrapped_;
  std::string noise_;
  absl::Mutex mu_;
  ScratchFile slots_;
  int64_t end_ = 0;  // where the next slot goes
  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
  sqlite3_stmt* due_ = nullptr;
  sqlite3_stmt* remove_ = nullptr;
  sqlite3_stmt* queue_ = nullptr;
  sqlite3_stmt* unqueue_ = nullptr;
};

// The images of `records` (the plate text is too short to search for).
std::vector<const v1::Item*> Images(const std::vector<v1::Record>& records) {
  std::vector<const v1::Item*> out;
  for (const v1::Record& r : records) {
    for (const v1::Item& item : r.items()) {
      if (item.content().size() >= 100) out.push_back(&item);
    }
  }
  return out;
}

// INTERNAL if one of 20 purged items, spread over all of them, still has
// its first, middle or last bytes in `files`, or one of 20 kept ones has
// none there (the scan sees).
absl::Status ScanFor(const std::vector<v1::Record>& purged,
                     const std::vector<v1::Record>& kept,
                     const std::string& files) {
  constexpr size_t kSamples = 20;
  constexpr size_t kProbe = 48;
  auto in_files = [&](const v1::Item& item) {
    const std::string& c = item.content();
    for (size_t at : {size_t{0}, c.size() / 2, c.size() - kProbe}) {
      if (files.find(c.substr(at, kProbe)) != std::string::npos) return true;
    }
    return false;
  };
  const std::vector<const v1::Item*> gone = Images(purged);
  const std::vector<const v1::Item*> there = Images(kept);
  for (size_t i = 0; i < gone.size(); i += gone.size() / kSamples + 1) {
    if (in_files(*gone[i])) {
      return absl::InternalError(
          absl::StrCat("purged item ", gone[i]->item_id(), " is still there"));
    }
  }
  for (size_t i = 0; i < there.size(); i += there.size() / kSamples + 1) {
    if (!in_files(*there[i])) {
      return absl::InternalError("the scan does not see a kept item");
    }
  }
  return absl::OkStatus();
}

absl::Status FreshDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (!ec) std::filesystem::create_directories(dir, ec);
  return ec ? absl::InternalError(absl::StrCat(dir, ": ", ec.message()))
            : absl::OkStatus();
}

}  // namespace

absl::StatusOr<BlobPurgeFigures> BlobFilePurge(
    Placement placement, Overwrite overwrite,
    const std::vector<v1::Record>& due,
    const std::function<v1::Record()>& make_record, const std::string& dir) {
  if (absl::Status s = FreshDir(dir); !s.ok()) return s;
  BlobStore store(placement, overwrite);
  if (absl::Status s = store.Open(dir); !s.ok()) return s;
  if (absl::Status s = store.Take(due, kDue); !s.ok()) return s;

  std::atomic<bool> stop{false};
  std::atomic<int> taken{0};
  std::vector<v1::Record> kept;
  absl::Status intake_status;
  std::thread intake([&] {
    while (!stop) {
      std::vector<v1::Record> one = {make_record()};
      intake_status = store.Take(one, kKept);
      if (!intake_status.ok()) return;
      kept.push_back(std::move(one[0]));
      ++taken;
    }
  });
  const absl::Time t0 = absl::Now();
  int64_t purged = 0;
  absl::Status status;
  while (true) {
    absl::StatusOr<int> n = store.PurgeBatch();
    if (!n.ok()) {
      status = n.status();
      break;
    }
    purged += *n;
    if (*n < kBatch) break;
    absl::SleepFor(absl::Milliseconds(2));
  }
  if (status.ok()) status = store.TruncateWal();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - t0);
  stop = true;
  intake.join();
  if (!status.ok()) return status;
  if (!intake_status.ok()) return intake_status;
  int64_t items = 0;
  for (const v1::Record& r : due) items += r.items_size();
  if (purged != items) {
    return absl::InternalError(
        absl::StrCat("purged ", purged, " items of ", items));
  }
  std::string files;
  for (const char* name : {"/slots", "/rows.db", "/rows.db-wal"}) {
    absl::StatusOr<std::string> bytes = ReadFileToString(dir + name);
    if (bytes.ok()) files += *bytes;  // a file not there holds nothing
  }
  if (absl::Status s = ScanFor(due, kept, files); !s.ok()) return s;
  return BlobPurgeFigures{purged / seconds, taken / seconds};
}

absl::StatusOr<double> BlobFileIntake(Placement placement,
                                      const std::vector<v1::Record>& records,
                                      const std::string& dir) {
  if (absl::Status s = FreshDir(dir); !s.ok()) return s;
  BlobStore store(placement, Overwrite::kZeros);
  if (absl::Status s = store.Open(dir); !s.ok()) return s;
  const absl::Time t0 = absl::Now();
  for (const v1::Record& r : records) {
    if (absl::Status s = store.Take({r}, kKept); !s.ok()) return s;
  }
  return records.size() / absl::ToDoubleSeconds(absl::Now() - t0);
}

}  // namespace lanevault::bench
