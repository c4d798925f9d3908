#include "blob_file_purge.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace lanevault::bench {
namespace {

constexpr int kBatch = 500;  // the vault's sweep batch
// Sealed sizes, as the purge baseline's: nonce + content + tag.
constexpr size_t kSealOverhead = 40;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The slots, one file, appended to; a slot is overwritten with zeros when
// its item is purged. One writer at a time (the caller's lock).
class SlotFile {
 public:
  ~SlotFile() {
    if (fd_ >= 0) close(fd_);
  }
  absl::Status Open(const std::string& path) {
    fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd_ < 0) return Errno("open " + path);
    return absl::OkStatus();
  }
  // Writes `bytes` at the end; returns where.
  absl::StatusOr<int64_t> Append(const std::string& bytes) {
    const int64_t at = end_;
    if (absl::Status s = Write(bytes.data(), bytes.size(), at); !s.ok()) {
      return s;
    }
    end_ += static_cast<int64_t>(bytes.size());
    return at;
  }
  absl::Status Zero(int64_t at, int64_t length) {
    if (zeros_.size() < static_cast<size_t>(length)) zeros_.resize(length);
    return Write(zeros_.data(), static_cast<size_t>(length), at);
  }
  absl::Status Sync() {
    return fdatasync(fd_) == 0 ? absl::OkStatus() : Errno("fdatasync");
  }

 private:
  static absl::Status Errno(const std::string& what) {
    return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
  }
  absl::Status Write(const char* p, size_t n, int64_t at) {
    while (n > 0) {
      const ssize_t w = pwrite(fd_, p, n, at);
      if (w < 0) {
        if (errno == EINTR) continue;
        return Errno("pwrite");
      }
      p += w;
      n -= static_cast<size_t>(w);
      at += w;
    }
    return absl::OkStatus();
  }

  int fd_ = -1;
  int64_t end_ = 0;
  std::vector<char> zeros_;
};

// The rows and the slots behind one lock, as the vault's one writer.
class BlobStore {
 public:
  ~BlobStore() {
    for (sqlite3_stmt* s : {insert_, due_, remove_, queue_, unqueue_}) {
      sqlite3_finalize(s);
    }
    sqlite3_close(db_);
  }

  absl::Status Open(const std::string& dir) {
    if (absl::Status s = slots_.Open(dir + "/slots"); !s.ok()) return s;
    if (sqlite3_open((dir + "/rows.db").c_str(), &db_) != SQLITE_OK) {
      return Fail("open");
    }
    if (absl::Status s =
            Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                 "PRAGMA secure_delete=ON; PRAGMA cache_size=-8192;"
                 "CREATE TABLE items(item_id TEXT PRIMARY KEY, record_id TEXT, "
                 "deadline_us INTEGER, wrapped BLOB, slot_at INTEGER, "
                 "slot_length INTEGER);"
                 "CREATE INDEX items_by_deadline ON items(deadline_us);"
                 // Slots whose rows are gone but whose bytes may not be zeroed
                 // yet: a start after a crash zeroes what is left here.
                 "CREATE TABLE zero_queue(slot_at INTEGER PRIMARY KEY, "
                 "slot_length INTEGER);");
        !s.ok()) {
      return s;
    }
    for (auto [sql, stmt] :
         {std::pair{"INSERT INTO items VALUES(?,?,?,?,?,?)", &insert_},
          {"SELECT item_id, slot_at, slot_length FROM items WHERE "
           "deadline_us <= ? ORDER BY deadline_us LIMIT ?",
           &due_},
          {"DELETE FROM items WHERE item_id = ?", &remove_},
          {"INSERT INTO zero_queue VALUES(?,?)", &queue_},
          {"DELETE FROM zero_queue", &unqueue_}}) {
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
    struct Row {
      const v1::Item* item;
      const v1::Record* record;
      int64_t at, length;
    };
    std::vector<Row> rows;
    for (const v1::Record& r : records) {
      for (const v1::Item& item : r.items()) {
        const std::string sealed =
            item.content() + std::string(kSealOverhead, 's');
        absl::StatusOr<int64_t> at = slots_.Append(sealed);
        if (!at.ok()) return at.status();
        rows.push_back({&item, &r, *at, static_cast<int64_t>(sealed.size())});
      }
    }
    if (absl::Status s = slots_.Sync(); !s.ok()) return s;
    if (absl::Status s = Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
    static const std::string wrapped(72, 'w');
    for (const Row& row : rows) {
      sqlite3_bind_text(insert_, 1, row.item->item_id().data(),
                        row.item->item_id().size(), SQLITE_STATIC);
      sqlite3_bind_text(insert_, 2, row.record->record_id().data(),
                        row.record->record_id().size(), SQLITE_STATIC);
      sqlite3_bind_int64(insert_, 3, deadline_us);
      sqlite3_bind_blob(insert_, 4, wrapped.data(), wrapped.size(),
                        SQLITE_STATIC);
      sqlite3_bind_int64(insert_, 5, row.at);
      sqlite3_bind_int64(insert_, 6, row.length);
      const int rc = sqlite3_step(insert_);
      sqlite3_reset(insert_);
      if (rc != SQLITE_DONE) return Fail("insert");
    }
    return Exec("COMMIT");
  }

  // One batch: rows deleted and their slots queued in one transaction, the
  // slots zeroed and synced, the queue cleared. Returns the items purged.
  absl::StatusOr<int> PurgeBatch(int64_t now_us) {
    absl::MutexLock lock(&mu_);
    if (absl::Status s = Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
    std::vector<std::pair<int64_t, int64_t>> slots;
    std::vector<std::string> ids;
    sqlite3_bind_int64(due_, 1, now_us);
    sqlite3_bind_int(due_, 2, kBatch);
    while (sqlite3_step(due_) == SQLITE_ROW) {
      ids.emplace_back(
          reinterpret_cast<const char*>(sqlite3_column_text(due_, 0)));
      slots.push_back(
          {sqlite3_column_int64(due_, 1), sqlite3_column_int64(due_, 2)});
    }
    sqlite3_reset(due_);
    for (size_t i = 0; i < ids.size(); ++i) {
      sqlite3_bind_text(remove_, 1, ids[i].data(), ids[i].size(),
                        SQLITE_STATIC);
      const int removed = sqlite3_step(remove_);
      sqlite3_reset(remove_);
      sqlite3_bind_int64(queue_, 1, slots[i].first);
      sqlite3_bind_int64(queue_, 2, slots[i].second);
      const int queued = sqlite3_step(queue_);
      sqlite3_reset(queue_);
      if (removed != SQLITE_DONE || queued != SQLITE_DONE) {
        return Fail("delete");
      }
    }
    if (absl::Status s = Exec("COMMIT"); !s.ok()) return s;
    for (const auto& [at, length] : slots) {
      if (absl::Status s = slots_.Zero(at, length); !s.ok()) return s;
    }
    if (absl::Status s = slots_.Sync(); !s.ok()) return s;
    if (sqlite3_step(unqueue_) != SQLITE_DONE) {
      sqlite3_reset(unqueue_);
      return Fail("unqueue");
    }
    sqlite3_reset(unqueue_);
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
  absl::Status Exec(const char* sql) {
    return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) == SQLITE_OK
               ? absl::OkStatus()
               : Fail(sql);
  }
  absl::Status Fail(absl::string_view what) {
    return absl::InternalError(absl::StrCat(what, ": ", sqlite3_errmsg(db_)));
  }

  absl::Mutex mu_;
  SlotFile slots_;
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
// bytes in `files`, or one of 20 kept ones has none there (the scan sees).
absl::Status ScanFor(const std::vector<v1::Record>& purged,
                     const std::vector<v1::Record>& kept,
                     const std::string& files) {
  constexpr size_t kSamples = 20;
  auto found = [&](const v1::Item& item) {
    return files.find(item.content().substr(item.content().size() / 2, 48)) !=
           std::string::npos;
  };
  const std::vector<const v1::Item*> gone = Images(purged),
                                     there = Images(kept);
  for (size_t i = 0; i < gone.size(); i += gone.size() / kSamples + 1) {
    if (found(*gone[i])) {
      return absl::InternalError(
          absl::StrCat("purged item ", gone[i]->item_id(), " is still there"));
    }
  }
  for (size_t i = 0; i < there.size(); i += there.size() / kSamples + 1) {
    if (!found(*there[i])) {
      return absl::InternalError("the scan does not see a kept item");
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<BlobPurgeFigures> BlobFilePurge(
    const std::vector<v1::Record>& due,
    const std::function<v1::Record()>& make_record, const std::string& dir,
    bool intake_beside) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  BlobStore store;
  if (absl::Status s = store.Open(dir); !s.ok()) return s;
  if (absl::Status s = store.Take(due, /*deadline_us=*/1); !s.ok()) return s;

  std::atomic<bool> stop{false};
  std::atomic<int> taken{0};
  std::vector<v1::Record> kept;
  absl::Status intake_status;
  std::thread intake([&] {
    while (intake_beside && !stop) {
      std::vector<v1::Record> one = {make_record()};
      intake_status = store.Take(one, int64_t{1} << 60);
      if (!intake_status.ok()) return;
      kept.push_back(std::move(one[0]));
      ++taken;
    }
  });
  const absl::Time t0 = absl::Now();
  int64_t purged = 0;
  absl::Status status;
  while (true) {
    absl::StatusOr<int> n = store.PurgeBatch(/*now_us=*/1);
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
  if (absl::Status s =
          ScanFor(due, kept,
                  ReadAll(dir + "/slots") + ReadAll(dir + "/rows.db") +
                      ReadAll(dir + "/rows.db-wal"));
      !s.ok()) {
    return s;
  }
  return BlobPurgeFigures{purged / seconds, taken / seconds};
}

absl::StatusOr<double> BlobFileIntake(const std::vector<v1::Record>& records,
                                      const std::string& dir) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  BlobStore store;
  if (absl::Status s = store.Open(dir); !s.ok()) return s;
  const absl::Time t0 = absl::Now();
  for (const v1::Record& r : records) {
    if (absl::Status s = store.Take({r}, int64_t{1} << 60); !s.ok()) return s;
  }
  return records.size() / absl::ToDoubleSeconds(absl::Now() - t0);
}

}  // namespace lanevault::bench
