// vault_bench: the vault's figures for issue 5, each beside a baseline
// measured in the same run.
//
//   vault_bench [--records N] [--writers W] [--dir DIR]
//
// 1. Durable intake, records/s, for records of one plate crop and two face
//    crops (~60 KB) plus the plate text: the vault (envelope encryption,
//    blind index, audit entry, group commit) against a baseline of raw
//    libsodium encryption plus plain SQLite inserts with the same
//    durability (WAL, synchronous=FULL) and the same commit grouping.
// 2. Single-item read latency p50/p99 in process (each read is logged, so
//    each read is a durable commit).
// 3. Purge rate, items/s, with intake running beside it and secure_delete
//    on: the vault's sweep against a baseline that deletes the same rows
//    (same sizes, same batches) from plain SQLite with secure_delete on,
//    with plain inserts running beside it, then truncates the WAL as the
//    sweep does. Interleaved, three runs each.
//
//   vault_bench --sections lookup [--lookup_days D]
//
// Exact-plate lookups per second in process (each logged first): plates kept
// until D different days, so each lookup asks for the plate's value of every
// hour (and day) up to the last deadline, against the same lookups where
// every plate is kept until one day. Interleaved, three rounds. Each vault
// holds --records records, each with its own plate: a lookup's time should
// not grow with them.
//
//   vault_bench --sections audit [--audit_entries E]
//
// Durable intake, committing each record, while an auditor's query asks a
// log of E entries for a principal with none (so it walks all of them),
// again and again (2 ms between calls, a client's turn), against intake
// alone; interleaved, three rounds.
//
//   vault_bench --postgres "host=/run/postgresql dbname=bench"
//
// Instead: durable intake on the PostgreSQL store against the SQLite store,
// same records, interleaved, one and W writers (each PostgreSQL run in a
// new schema, dropped after).
//
//   vault_bench --sections pages
//
// Instead of timing intake: the pages each record costs, as WAL frames
// written per record by b-tree (table or index; a table's overflow pages
// apart), for the vault and the baseline, one writer committing each and W
// writers grouped; also fsyncs, WAL bytes and checkpoint bytes per record,
// and both intakes' records/s against the disk's limit for the baseline's
// writes (disk_replay.h).
// Counted by a VFS shim under both (frame headers name their page), mapped
// to b-trees with dbstat once the run is over (intake frees no page).
//
//   vault_bench --sections sweepwal
//
// The same accounting for a purge: the sweep of --purge_records records
// (alone, no intake beside it) and the baseline's deletes, WAL frames per
// purged item by b-tree; freed pages (zeroed, secure_delete) as "(other)".
// Then three interleaved rounds of both purges beside the disk's own limit
// for the baseline's writes: the same bytes in the same commits replayed on
// plain files (disk_replay.h), as items/s.
//
//   vault_bench --sections blobpurge
//
// A purge route not built, measured: each ciphertext in a slot file beside
// the database, overwritten in place (blob_file_purge.h), against the same
// store with the ciphertext in its rows and the vault, intake beside each,
// three interleaved rounds; then that store's commit-each intake, slots
// against rows.
//
//   vault_bench --startup_gb 1
//
// Start-up time of a vault of that size (made first, ~60 KB records) with
// the structural check off, quick (the default) and full, interleaved.

#include <sodium.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "blob_file_purge.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/program.h"
#include "common/time_util.h"
#include "crypto/master_key.h"
#include "disk_replay.h"
#include "master_key_source.h"
#include "vault/group_commit.h"
#include "vault/postgres.h"
#include "vault/sqlite_checkpointer.h"
#include "vault/sqlite_vfs_shim.h"
#include "vault/vault.h"

ABSL_FLAG(int, records, 3000,
          "Records per intake run (and in each lookup vault).");
ABSL_FLAG(int, writers, 8, "Concurrent writers in the grouped runs.");
ABSL_FLAG(int, rounds, 3,
          "Interleaved rounds of vault and baseline intake for each figure "
          "(the medians are compared): more rounds, less of the disk's "
          "drift.");
ABSL_FLAG(int, plate_readings, 1,
          "Readings of each record's plate, its text included: intake keeps "
          "up to 5 (policy::kMaxPlateReadings), each one blind index row.");
ABSL_FLAG(int, purge_records, 2000,
          "Records (four items each) due in each purge run.");
ABSL_FLAG(int, audit_entries, 300000,
          "--sections audit: entries in the log the auditor's query walks.");
ABSL_FLAG(int, lookup_days, 30,
          "lookup: the days the looked-up plates' deadlines spread over.");
ABSL_FLAG(std::string, sections, "intake,read,purge",
          "Which of the figures to measure, comma-separated; 'pages' (not "
          "by default) counts the pages intake writes instead of timing it, "
          "'sweepwal' (not by default) the pages a purge writes and the "
          "disk's limit for them, 'blobpurge' (not by default) a purge of "
          "ciphertext kept in a slot file of its own (a route not built).");
ABSL_FLAG(std::string, baseline_secure_delete, "ON",
          "secure_delete of the purge baseline: ON (as the vault), or FAST "
          "(freed pages left as they are, cells zeroed where their page is "
          "written anyway), to see what the zeroing of freed pages costs.");
ABSL_FLAG(std::string, only, "",
          "Run only 'vault' or 'baseline' intake once, with --writers writers "
          "(for profiling with strace or perf).");
ABSL_FLAG(std::string, baseline_checkpoint, "commit",
          "Where the intake baseline checkpoints its WAL: 'commit' (SQLite's "
          "default: in the committing thread, every 1000 pages) or 'thread' "
          "(the vault's WalCheckpointer), to see what moving it bought.");
ABSL_FLAG(std::string, dir, "/tmp/lanevault-vault-bench",
          "Scratch folder (wiped).");
ABSL_FLAG(bool, anchor, true,
          "Keep the log anchor in a state directory, as lanevaultd does.");
ABSL_FLAG(bool, cold, false,
          "With --startup_gb: drop the page cache before each start (root), "
          "as after a reboot.");
ABSL_FLAG(std::string, master_key_source, "file",
          "Intake vaults' master key: 'file' (development key file) or "
          "'unseal' (a 3-of-5 seal file opened by 3 shares, as lanevaultd).");
ABSL_FLAG(std::string, postgres, "",
          "A libpq conninfo: instead of the figures below, intake records/s "
          "on the PostgreSQL store against SQLite, in the same run.");
ABSL_FLAG(double, startup_gb, 0,
          "Instead of the intake figures: make a vault of this many GB and "
          "time its start-up with each integrity check.");

namespace lanevault {
namespace {

// --- Page accounting (--sections pages): a VFS shim under every
// connection that notes each WAL frame's page number as it is written. ---
namespace pages {

struct Tally {
  std::map<uint32_t, int64_t> frames_by_page;
  int64_t frames = 0;
  int64_t commits = 0;
  int64_t syncs = 0;
  int64_t wal_bytes = 0;
  int64_t db_bytes = 0;  // checkpoints copying frames into the file
  int64_t page_size = 4096;
};

absl::Mutex g_mu;
bool g_counting ABSL_GUARDED_BY(g_mu) = false;
std::map<std::string, Tally> g_tallies ABSL_GUARDED_BY(g_mu);  // by db path
bool g_installed ABSL_GUARDED_BY(g_mu) = false;

// Per file: its database, whether it is that database's WAL, the WAL's page
// size (from its header).
struct FileState {
  std::string db;
  bool wal = false;
  int64_t page_size = 4096;
};

uint32_t Big32(const void* p) {
  const auto* b = static_cast<const unsigned char*>(p);
  return uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 | uint32_t{b[2]} << 8 |
         b[3];
}

void* OnOpen(const char* name, int flags) {
  auto* f = new FileState;
  f->db = name ? name : "";
  f->wal = (flags & SQLITE_OPEN_WAL) != 0;
  if (f->wal && absl::EndsWith(f->db, "-wal")) f->db.resize(f->db.size() - 4);
  return f;
}
void OnClose(void* state) { delete static_cast<FileState*>(state); }
int OnWrite(void* state, sqlite3_file*, const void* buf, int n,
            sqlite3_int64 off) {
  auto* s = static_cast<FileState*>(state);
  // A WAL header (32 bytes at 0) gives the page size; a frame is a 24-byte
  // header (page number, and the database size on a commit's last frame)
  // written before its page.
  if (s->wal && off == 0 && n == 32) s->page_size = Big32((const char*)buf + 8);
  absl::MutexLock lock(&g_mu);
  if (!g_counting) return SQLITE_OK;
  Tally& t = g_tallies[s->db];
  if (!s->wal) {
    t.db_bytes += n;
  } else {
    t.wal_bytes += n;
    t.page_size = s->page_size;
    if (n == 24 && off >= 32 && (off - 32) % (s->page_size + 24) == 0) {
      ++t.frames_by_page[Big32(buf)];
      ++t.frames;
      if (Big32((const char*)buf + 4) != 0) ++t.commits;
    }
  }
  return SQLITE_OK;
}
void OnSync(void* state) {
  absl::MutexLock lock(&g_mu);
  if (g_counting) ++g_tallies[static_cast<FileState*>(state)->db].syncs;
}

// Puts the shim under every connection opened from now on.
void Install() {
  vault::SqliteShimHooks hooks;
  hooks.on_open = OnOpen;
  hooks.on_close = OnClose;
  hooks.on_write = OnWrite;
  hooks.on_sync = OnSync;
  vault::RegisterShimVfs("lanevault-bench-pages", hooks, /*make_default=*/true);
  absl::MutexLock lock(&g_mu);
  g_installed = true;
}

// Counts what is written from Start() to Stop() (no-ops unless installed).
void Start() {
  absl::MutexLock lock(&g_mu);
  if (!g_installed) return;
  g_tallies.clear();
  g_counting = true;
}
void Stop() {
  absl::MutexLock lock(&g_mu);
  g_counting = false;
}

// What Start()..Stop() wrote to `db`, for a replay on plain files.
bench::WriteShape Shape(const std::string& db) {
  absl::MutexLock lock(&g_mu);
  const Tally& t = g_tallies[db];
  return {t.wal_bytes, t.commits, t.db_bytes, t.page_size};
}

// What Start()..Stop() wrote to `db` per record, by b-tree: a table's
// overflow pages as "<table> (overflow)"; pages dbstat does not list
// (the free list) as "(other)".
void Print(const std::string& label, const std::string& db, int records) {
  Tally t;
  {
    absl::MutexLock lock(&g_mu);
    t = g_tallies[db];
  }
  std::map<uint32_t, std::string> owner;
  sqlite3* c = nullptr;
  sqlite3_open_v2(db.c_str(), &c, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* q = nullptr;
  sqlite3_prepare_v2(c, "SELECT name, pageno, pagetype FROM dbstat", -1, &q,
                     nullptr);
  while (sqlite3_step(q) == SQLITE_ROW) {
    std::string name = reinterpret_cast<const char*>(sqlite3_column_text(q, 0));
    const std::string type =
        reinterpret_cast<const char*>(sqlite3_column_text(q, 2));
    if (type == "overflow") name += " (overflow)";
    owner[static_cast<uint32_t>(sqlite3_column_int64(q, 1))] = name;
  }
  sqlite3_finalize(q);
  sqlite3_close(c);
  std::map<std::string, int64_t> by_tree;
  for (const auto& [page, n] : t.frames_by_page) {
    auto it = owner.find(page);
    by_tree[it == owner.end() ? "(other)" : it->second] += n;
  }
  std::vector<std::pair<int64_t, std::string>> sorted;
  for (const auto& [name, n] : by_tree) sorted.push_back({n, name});
  std::sort(sorted.rbegin(), sorted.rend());
  const double r = records;
  std::printf(
      "%s: %.2f pages per record (%lld commits, %.2f fsyncs, WAL %.1f KB, "
      "checkpoints %.1f KB per record)\n",
      label.c_str(), t.frames / r, static_cast<long long>(t.commits),
      t.syncs / r, t.wal_bytes / r / 1024, t.db_bytes / r / 1024);
  for (const auto& [n, name] : sorted) {
    std::printf("    %-40s %6.2f\n", name.c_str(), n / r);
  }
}

}  // namespace pages

std::string Bytes(std::mt19937_64& rng, size_t n) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// One crossing: plate text, a plate crop and two face crops (~60 KB).
v1::Record MakeRecord(std::mt19937_64& rng, absl::Time now,
                      absl::Duration keep) {
  v1::Record r;
  r.set_record_id(NewId("rec_"));
  r.set_lane_id("lane-1");
  r.set_checkpoint_id("bench");
  r.set_contract_id("bench");
  r.set_contract_version(1);
  *r.mutable_first_seen() = ToProto(now);
  *r.mutable_last_seen() = ToProto(now);
  const std::pair<v1::DataCategory, size_t> parts[] = {
      {v1::DATA_CATEGORY_PLATE_TEXT, 0},
      {v1::DATA_CATEGORY_PLATE_IMAGE, 8 << 10},
      {v1::DATA_CATEGORY_FACE_IMAGE, 26 << 10},
      {v1::DATA_CATEGORY_FACE_IMAGE, 26 << 10}};
  for (const auto& [category, size] : parts) {
    v1::Item* item = r.add_items();
    item->set_item_id(NewId("itm_"));
    item->set_category(category);
    item->set_content(size == 0 ? "KXR4821" : Bytes(rng, size));
    *item->mutable_deadline() = ToProto(now + keep);
    if (size != 0) continue;
    // The other readings differ in the last character, as misreads do.
    for (int i = 1; i < absl::GetFlag(FLAGS_plate_readings); ++i) {
      v1::PlateCandidate* c = item->add_plate_candidates();
      c->set_text("KXR482" + std::string(1, static_cast<char>('A' + i)));
      c->set_confidence(0.5f);
      c->set_votes(1);
    }
  }
  return r;
}

v1::AuditEntry IntakeEntry(const v1::Record& r) {
  v1::AuditEntry e;
  e.set_principal("lane-1");
  e.set_action(v1::ACTION_INTAKE);
  e.set_verdict(v1::VERDICT_ALLOW);
  e.set_record_id(r.record_id());
  return e;
}

// Runs `work(i)` for i in [0, n) on `threads` threads; returns seconds.
template <typename F>
double Timed(int n, int threads, F work) {
  std::atomic<int> next{0};
  const absl::Time start = absl::Now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i; (i = next.fetch_add(1)) < n;) work(i);
    });
  }
  for (std::thread& t : pool) t.join();
  return absl::ToDoubleSeconds(absl::Now() - start);
}

std::unique_ptr<vault::Vault> OpenVault(const std::string& dir,
                                        Clock* clock = RealClock(),
                                        const std::string& postgres = "") {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  vault::VaultOptions o;
  crypto::SecureBytes held;  // the vault keeps its own copy
  if (absl::Status s = bench::UseMasterKeySource(
          absl::GetFlag(FLAGS_master_key_source), dir, o, held);
      !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    std::exit(1);
  }
  o.database = dir + "/vault.db";
  o.clock = clock;
  if (!postgres.empty()) {
    o.postgres.conninfo = postgres;
    o.key_store = dir + "/vault.keys";
  }
  if (absl::GetFlag(FLAGS_anchor)) o.state_dir = dir + "/state";
  auto v = vault::Vault::Open(o);
  if (!v.ok()) {
    std::fprintf(stderr, "%s\n", v.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(*v);
}

double VaultIntake(const std::vector<v1::Record>& records, int writers,
                   const std::string& dir, const std::string& postgres = "") {
  auto vault = OpenVault(dir, RealClock(), postgres);
  pages::Start();
  const double s = Timed(static_cast<int>(records.size()), writers, [&](int i) {
    if (!vault->Intake(records[i], IntakeEntry(records[i])).ok()) {
      std::abort();
    }
  });
  pages::Stop();
  return records.size() / s;
}

// The baseline: what the same durability costs with nothing but libsodium
// and SQLite: a fresh data key per item, XChaCha20-Poly1305, the key wrapped
// under one KEK, rows inserted in WAL mode with synchronous=FULL. Writers
// seal in parallel and commit through the vault's group commit
// (group_commit.h, as LevelDB's; it does not wait to gather): each returns once
// the transaction holding its record is durable, as a vault intake does. (One
// writer: every record is its own commit.)
double BaselineIntake(const std::vector<v1::Record>& records, int writers,
                      const std::string& dir) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  sqlite3* db = nullptr;
  sqlite3_open((dir + "/baseline.db").c_str(), &db);
  sqlite3_exec(db,
               "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
               "CREATE TABLE items(item_id TEXT PRIMARY KEY, record_id TEXT, "
               "wrapped BLOB, ciphertext BLOB);",
               nullptr, nullptr, nullptr);
  std::unique_ptr<vault::WalCheckpointer> checkpointer;
  if (absl::GetFlag(FLAGS_baseline_checkpoint) == "thread") {
    auto started = vault::WalCheckpointer::Start(dir + "/baseline.db", "", db);
    if (!started.ok()) std::abort();
    checkpointer = std::move(*started);
  }
  sqlite3_stmt* ins = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO items VALUES(?,?,?,?)", -1, &ins,
                     nullptr);
  unsigned char kek[32];
  crypto_aead_xchacha20poly1305_ietf_keygen(kek);
  constexpr size_t kN = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  constexpr size_t kT = crypto_aead_xchacha20poly1305_ietf_ABYTES;
  struct Sealed {
    std::string id, record, wrapped, ciphertext;
  };
  auto seal = [&](const v1::Record& r) {
    std::vector<Sealed> out;
    for (const v1::Item& item : r.items()) {
      unsigned char key[32];
      crypto_aead_xchacha20poly1305_ietf_keygen(key);
      Sealed s{item.item_id(), r.record_id(), std::string(kN + 32 + kT, '\0'),
               std::string(kN + item.content().size() + kT, '\0')};
      auto* n1 = reinterpret_cast<unsigned char*>(s.ciphertext.data());
      randombytes_buf(n1, kN);
      crypto_aead_xchacha20poly1305_ietf_encrypt(
          n1 + kN, nullptr,
          reinterpret_cast<const unsigned char*>(item.content().data()),
          item.content().size(), nullptr, 0, nullptr, n1, key);
      auto* n2 = reinterpret_cast<unsigned char*>(s.wrapped.data());
      randombytes_buf(n2, kN);
      crypto_aead_xchacha20poly1305_ietf_encrypt(n2 + kN, nullptr, key, 32,
                                                 nullptr, 0, nullptr, n2, kek);
      out.push_back(std::move(s));
    }
    return out;
  };
  // Each input is one record's rows; each result says the commit was done.
  auto flush = [&](std::vector<std::vector<Sealed>> group) {
    sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    for (const std::vector<Sealed>& rows : group) {
      for (const Sealed& s : rows) {
        sqlite3_bind_text(ins, 1, s.id.data(), s.id.size(), SQLITE_STATIC);
        sqlite3_bind_text(ins, 2, s.record.data(), s.record.size(),
                          SQLITE_STATIC);
        sqlite3_bind_blob(ins, 3, s.wrapped.data(), s.wrapped.size(),
                          SQLITE_STATIC);
        sqlite3_bind_blob(ins, 4, s.ciphertext.data(), s.ciphertext.size(),
                          SQLITE_STATIC);
        sqlite3_step(ins);
        sqlite3_reset(ins);
      }
    }
    const bool committed =
        sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK;
    return std::vector<bool>(group.size(), committed);
  };
  vault::GroupCommit<std::vector<Sealed>, bool> commits;
  pages::Start();
  const double s = Timed(static_cast<int>(records.size()), writers, [&](int i) {
    if (!commits.Submit(seal(records[i]), flush)) std::abort();
  });
  pages::Stop();
  checkpointer.reset();
  sqlite3_finalize(ins);
  sqlite3_close(db);
  return records.size() / s;
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * (v.size() - 1))];
}

struct PurgeFigures {
  double items_per_s = 0;
  double intake_per_s = 0;  // records taken in beside the purge
};

// The vault's sweep of `m` records' items (all due) while one writer keeps
// taking records in; the WAL truncation that ends a sweep is included.
PurgeFigures VaultPurge(const std::vector<v1::Record>& records, int m,
                        const std::string& dir, bool intake_beside = true) {
  FakeClock clock(absl::Now());
  auto vault = OpenVault(dir, &clock);
  for (int i = 0; i < m; ++i) {
    v1::Record r = records[i];
    for (v1::Item& item : *r.mutable_items()) {
      *item.mutable_deadline() = ToProto(clock.Now() + absl::Minutes(1));
    }
    if (!vault->Intake(r, IntakeEntry(r)).ok()) std::abort();
  }
  clock.Advance(absl::Minutes(2));
  std::atomic<bool> stop{false};
  std::atomic<int> taken{0};
  std::thread intake([&] {
    std::mt19937_64 r2(9);
    while (intake_beside && !stop) {
      v1::Record r = MakeRecord(r2, clock.Now(), absl::Hours(24));
      if (vault->Intake(r, IntakeEntry(r)).ok()) ++taken;
    }
  });
  pages::Start();
  const absl::Time t0 = absl::Now();
  auto purged = vault->SweepExpired();
  const double s = absl::ToDoubleSeconds(absl::Now() - t0);
  pages::Stop();
  stop = true;
  intake.join();
  if (!purged.ok() || purged->items != 4u * m) {
    std::fprintf(
        stderr, "sweep: %s\n",
        purged.ok() ? "too few items" : purged.status().ToString().c_str());
    std::abort();
  }
  return {purged->items / s, taken / s};
}

// The floor: the same items (same sizes) in a plain SQLite table with a
// deadline index, WAL, synchronous=FULL and secure_delete on, deleted in
// batches of the sweep's size with the sweep's pause between batches, while
// one writer inserts records (commit each) on the same connection; then the
// WAL truncated. No audit entries, no record bookkeeping, no holds.
PurgeFigures BaselinePurge(const std::vector<v1::Record>& records, int m,
                           const std::string& dir, bool intake_beside = true) {
  constexpr int kBatch = 500;  // the vault's sweep batch
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  sqlite3* db = nullptr;
  sqlite3_open((dir + "/baseline.db").c_str(), &db);
  const std::string secure_delete =
      absl::GetFlag(FLAGS_baseline_secure_delete) == "FAST" ? "FAST" : "ON";
  // The vault's writer's settings (sqlite_store.cc), its page cache too.
  sqlite3_exec(db,
               ("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                "PRAGMA secure_delete=" +
                secure_delete +
                "; PRAGMA cache_size=-8192;"
                "CREATE TABLE items(item_id TEXT PRIMARY KEY, record_id TEXT, "
                "deadline_us INTEGER, wrapped BLOB, ciphertext BLOB);"
                "CREATE INDEX items_by_deadline ON items(deadline_us);")
                   .c_str(),
               nullptr, nullptr, nullptr);
  sqlite3_stmt* ins = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO items VALUES(?,?,?,?,?)", -1, &ins,
                     nullptr);
  // Sealed sizes: nonce + content + tag; a wrapped key of 72 bytes.
  const std::string wrapped(72, 'w');
  auto insert = [&](const v1::Record& r, int64_t deadline_us) {
    for (const v1::Item& item : r.items()) {
      const std::string sealed = item.content() + std::string(40, 's');
      sqlite3_bind_text(ins, 1, item.item_id().data(), item.item_id().size(),
                        SQLITE_TRANSIENT);
      sqlite3_bind_text(ins, 2, r.record_id().data(), r.record_id().size(),
                        SQLITE_TRANSIENT);
      sqlite3_bind_int64(ins, 3, deadline_us);
      sqlite3_bind_blob(ins, 4, wrapped.data(), wrapped.size(), SQLITE_STATIC);
      sqlite3_bind_blob(ins, 5, sealed.data(), sealed.size(), SQLITE_TRANSIENT);
      if (sqlite3_step(ins) != SQLITE_DONE) std::abort();
      sqlite3_reset(ins);
    }
  };
  sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
  for (int i = 0; i < m; ++i) insert(records[i], 1);
  sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  absl::Mutex mu;  // one connection, serialised as the vault's store is
  std::atomic<bool> stop{false};
  std::atomic<int> taken{0};
  std::thread intake([&] {
    std::mt19937_64 r2(9);
    while (intake_beside && !stop) {
      v1::Record r = MakeRecord(r2, absl::Now(), absl::Hours(24));
      absl::MutexLock lock(&mu);
      sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
      insert(r, int64_t{1} << 60);
      sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
      ++taken;
    }
  });
  sqlite3_stmt* del = nullptr;
  sqlite3_prepare_v2(db,
                     "DELETE FROM items WHERE item_id IN (SELECT item_id FROM "
                     "items WHERE deadline_us <= 1 ORDER BY deadline_us "
                     "LIMIT ?)",
                     -1, &del, nullptr);
  pages::Start();
  const absl::Time t0 = absl::Now();
  int64_t deleted = 0;
  while (true) {
    int n = 0;
    {
      absl::MutexLock lock(&mu);
      sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
      sqlite3_bind_int(del, 1, kBatch);
      if (sqlite3_step(del) != SQLITE_DONE) std::abort();
      n = sqlite3_changes(db);
      sqlite3_reset(del);
      sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
    }
    deleted += n;
    if (n < kBatch) break;
    absl::SleepFor(absl::Milliseconds(2));
  }
  {
    absl::MutexLock lock(&mu);
    sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr,
                              nullptr);
  }
  const double s = absl::ToDoubleSeconds(absl::Now() - t0);
  pages::Stop();
  stop = true;
  intake.join();
  sqlite3_finalize(del);
  sqlite3_finalize(ins);
  sqlite3_close(db);
  if (deleted != 4 * m) std::abort();
  return {deleted / s, taken / s};
}

// Units (records, items) a second the disk gives `shape`'s bytes, replayed
// on plain files (disk_replay.h); 0, the error printed, if the replay fails.
double DiskRate(const std::string& dir, const bench::WriteShape& shape,
                int units) {
  absl::StatusOr<double> seconds = bench::ReplayWrites(dir, shape);
  if (!seconds.ok()) {
    std::fprintf(stderr, "disk replay: %s\n",
                 seconds.status().ToString().c_str());
    return 0;
  }
  return units / *seconds;
}

// Intake on PostgreSQL against SQLite: each PostgreSQL run in a schema of
// its own (made here, dropped after), interleaved with a SQLite run.
int StoreFigures(const std::vector<v1::Record>& records, int writers,
                 const std::string& dir, const std::string& conninfo) {
  absl::StatusOr<vault::pg::Connection> admin =
      vault::pg::Connection::Open(conninfo);
  if (!admin.ok()) {
    std::fprintf(stderr, "%s\n", admin.status().ToString().c_str());
    return 1;
  }
  std::printf("\ndurable intake, records/s: PostgreSQL store against SQLite\n");
  std::printf("%-28s %12s %12s %8s\n", "", "postgres", "sqlite", "ratio");
  int schema = 0;
  for (int w : {1, writers}) {
    std::vector<double> p, q;
    for (int rep = 0; rep < 3; ++rep) {
      q.push_back(VaultIntake(records, w, dir + "/sqlite"));
      // The schema name is ours (letters and digits): identifiers cannot be
      // bound as parameters.
      const std::string name = absl::StrCat("vault_bench_", ++schema);
      if (!admin
               ->Run(absl::StrCat("DROP SCHEMA IF EXISTS ", name,
                                  " CASCADE; CREATE SCHEMA ", name))
               .ok()) {
        std::fprintf(stderr, "cannot create schema %s\n", name.c_str());
        return 1;
      }
      p.push_back(VaultIntake(
          records, w, dir + "/postgres",
          absl::StrCat(conninfo, " options='-c search_path=", name, "'")));
      admin->Run(absl::StrCat("DROP SCHEMA ", name, " CASCADE")).IgnoreError();
    }
    const double pm = Percentile(p, 0.5), qm = Percentile(q, 0.5);
    std::printf(
        "%-28s %12.0f %12.0f %7.0f%%\n",
        absl::StrCat(w, w == 1 ? " writer, commit each" : " writers, grouped")
            .c_str(),
        pm, qm, 100 * pm / qm);
  }
  std::filesystem::remove_all(dir);
  return 0;
}

// Makes a vault of about `gb` GB, then opens it with each check in turn.
int StartupFigures(double gb, const std::string& dir) {
  const std::string at = dir + "/startup";
  const int n = static_cast<int>(gb * (1 << 30) / (61 << 10));
  {
    auto vault = OpenVault(at);
    std::mt19937_64 rng(7);
    std::vector<std::thread> pool;
    std::atomic<int> next{0};
    for (int t = 0; t < 8; ++t) {
      pool.emplace_back([&, t] {
        std::mt19937_64 mine(rng() + t);
        for (int i; (i = next.fetch_add(1)) < n;) {
          v1::Record r = MakeRecord(mine, absl::Now(), absl::Hours(24));
          if (!vault->Intake(r, IntakeEntry(r)).ok()) std::abort();
          if (i % 2000 == 0) std::fprintf(stderr, "  %d / %d records\n", i, n);
        }
      });
    }
    for (std::thread& t : pool) t.join();
  }
  std::printf("vault of %d records, %.2f GB\n", n,
              std::filesystem::file_size(at + "/vault.db") / double(1 << 30));
  using Check = vault::VaultOptions::IntegrityCheck;
  const std::pair<const char*, Check> checks[] = {
      {"off", Check::kOff}, {"quick", Check::kQuick}, {"full", Check::kFull}};
  std::vector<double> seconds[3];
  for (int rep = 0; rep < 3; ++rep) {
    for (int c = 0; c < 3; ++c) {
      vault::VaultOptions o;
      o.database = at + "/vault.db";
      o.master_key_file = at + "/master.key";
      o.state_dir = at + "/state";
      o.integrity_check = checks[c].second;
      if (absl::GetFlag(FLAGS_cold)) {
        sync();
        std::FILE* f = std::fopen("/proc/sys/vm/drop_caches", "w");
        if (f == nullptr || std::fputs("3", f) < 0) {
          std::fprintf(stderr, "--cold needs root\n");
          return 1;
        }
        std::fclose(f);
      }
      const absl::Time t0 = absl::Now();
      auto v = vault::Vault::Open(o);
      seconds[c].push_back(absl::ToDoubleSeconds(absl::Now() - t0));
      if (!v.ok()) {
        std::fprintf(stderr, "%s\n", v.status().ToString().c_str());
        return 1;
      }
    }
  }
  std::printf("start-up (page cache %s), median of 3 interleaved:\n",
              absl::GetFlag(FLAGS_cold) ? "dropped" : "warm");
  for (int c = 0; c < 3; ++c) {
    std::printf("  integrity check %-5s %8.3f s\n", checks[c].first,
                Percentile(seconds[c], 0.5));
  }
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace lanevault

int main(int argc, char** argv) {
  using namespace lanevault;
  absl::ParseCommandLine(argc, argv);
  DropMutexDeadlockGraphInReleaseBuilds();  // as the programs run
  if (sodium_init() < 0) return 1;
  const int n = absl::GetFlag(FLAGS_records);
  const int writers = absl::GetFlag(FLAGS_writers);
  const std::string dir = absl::GetFlag(FLAGS_dir);
  if (const double gb = absl::GetFlag(FLAGS_startup_gb); gb > 0) {
    return StartupFigures(gb, dir);
  }
  std::mt19937_64 rng(1);
  std::printf("preparing %d records of ~60 KB...\n", n);
  std::vector<v1::Record> records;
  for (int i = 0; i < n; ++i) {
    records.push_back(MakeRecord(rng, absl::Now(), absl::Hours(24)));
  }

  if (const std::string pg = absl::GetFlag(FLAGS_postgres); !pg.empty()) {
    return StoreFigures(records, writers, dir, pg);
  }
  if (const std::string only = absl::GetFlag(FLAGS_only); !only.empty()) {
    const double rate =
        only == "vault"
            ? VaultIntake(records, absl::GetFlag(FLAGS_writers), dir + "/vault")
            : BaselineIntake(records, absl::GetFlag(FLAGS_writers),
                             dir + "/baseline");
    std::printf("%s: %.0f records/s\n", only.c_str(), rate);
    return 0;
  }

  const std::string sections = absl::GetFlag(FLAGS_sections);
  auto want = [&](absl::string_view s) {
    return absl::StrContains(sections, s);
  };
  if (want("pages")) {
    pages::Install();
    for (int w : {1, writers}) {
      const std::string how = absl::StrCat(
          w, w == 1 ? " writer, commit each" : " writers, grouped");
      const double base = BaselineIntake(records, w, dir + "/baseline");
      const bench::WriteShape shape =
          pages::Shape(dir + "/baseline/baseline.db");
      pages::Print(absl::StrCat("baseline, ", how),
                   dir + "/baseline/baseline.db", n);
      const double vault = VaultIntake(records, w, dir + "/vault");
      pages::Print(absl::StrCat("vault, ", how), dir + "/vault/vault.db", n);
      // The same bytes in the same commits on plain files: what the disk
      // itself allows for the baseline's writes (disk_replay.h).
      const double disk = DiskRate(dir + "/replay", shape, n);
      if (disk <= 0) return 1;
      std::printf(
          "  records/s, %s: the disk's limit for the baseline's writes %.0f; "
          "baseline %.0f (%.2f of it), vault %.0f (%.2f)\n",
          how.c_str(), disk, base, base / disk, vault, vault / disk);
    }
    std::filesystem::remove_all(dir);
    return 0;
  }
  if (want("sweepwal")) {
    // Where a purge's writes go: the sweep alone (no intake beside it), its
    // WAL frames per purged item by b-tree; freed pages, zeroed by
    // secure_delete and on the free list after, show as "(other)". Then
    // the disk's own limit for those bytes: the baseline's writes replayed
    // on plain files (bench/disk_replay.h), three rounds interleaved with
    // both purges.
    pages::Install();
    const int m = std::min(n, absl::GetFlag(FLAGS_purge_records));
    const int items = 4 * m;
    std::vector<double> v, b, d;
    for (int rep = 0; rep < 3; ++rep) {
      const PurgeFigures base = BaselinePurge(records, m, dir + "/purge-base",
                                              /*intake_beside=*/false);
      // The shim counts every write of these timed runs (a lock and a map
      // update a write, the same on both sides); the replay has none.
      bench::WriteShape shape = pages::Shape(dir + "/purge-base/baseline.db");
      shape.zero_pages = true;  // secure_delete's zeroed pages
      if (rep == 0) {
        pages::Print(absl::StrFormat("baseline purge (%.0f items/s), per item",
                                     base.items_per_s),
                     dir + "/purge-base/baseline.db", items);
      }
      const PurgeFigures vault =
          VaultPurge(records, m, dir + "/purge", /*intake_beside=*/false);
      if (rep == 0) {
        pages::Print(absl::StrFormat("vault purge (%.0f items/s), per item",
                                     vault.items_per_s),
                     dir + "/purge/vault.db", items);
        std::printf(
            "\npurge alone, items/s, against the disk's limit for the "
            "baseline's writes (%.1f KB an item, replayed on plain files)\n"
            "%-8s %12s %12s %12s %10s %10s %10s\n",
            (shape.wal_bytes + shape.db_bytes) / 1024.0 / items, "", "vault",
            "baseline", "disk", "vault/disk", "base/disk", "disk MB/s");
      }
      const double disk = DiskRate(dir + "/replay", shape, items);
      if (disk <= 0) return 1;
      v.push_back(vault.items_per_s);
      b.push_back(base.items_per_s);
      d.push_back(disk);
      std::printf("round %d  %12.0f %12.0f %12.0f %10.2f %10.2f %10.0f\n",
                  rep + 1, vault.items_per_s, base.items_per_s, disk,
                  vault.items_per_s / disk, base.items_per_s / disk,
                  (shape.wal_bytes + shape.db_bytes) * disk / items / 1e6);
    }
    const double vm = Percentile(v, 0.5), bm = Percentile(b, 0.5),
                 dm = Percentile(d, 0.5);
    std::printf("median   %12.0f %12.0f %12.0f %10.2f %10.2f\n", vm, bm, dm,
                vm / dm, bm / dm);
    std::filesystem::remove_all(dir);
    return 0;
  }
  if (want("blobpurge")) {
    // A route not built (blob_file_purge.h): each ciphertext in a file of
    // slots beside the database, overwritten in place by the purge (with
    // zeros, and with noise no disk can skip writing), against the same
    // store with the ciphertext in its rows and against the vault, intake
    // beside each; three interleaved rounds.
    const int m = std::min(n, absl::GetFlag(FLAGS_purge_records));
    const std::vector<v1::Record> due(records.begin(), records.begin() + m);
    std::printf(
        "\npurge with intake running, %d items due, items/s (intake "
        "records/s): ciphertext in a slot file overwritten in place (not "
        "built) against the same store with it in the rows (secure_delete "
        "on)\n%-8s %16s %16s %16s %16s %10s %10s\n",
        4 * m, "", "slots, zeros", "slots, noise", "in rows", "vault",
        "zeros/rows", "noise/rows");
    std::vector<double> fz, fn, fr, fv;
    for (int rep = 0; rep < 3; ++rep) {
      std::vector<bench::BlobPurgeFigures> got;
      for (auto [placement, overwrite] :
           {std::pair{bench::Placement::kSlotFile, bench::Overwrite::kZeros},
            {bench::Placement::kSlotFile, bench::Overwrite::kNoise},
            {bench::Placement::kInRow, bench::Overwrite::kZeros}}) {
        std::mt19937_64 r2(9);
        absl::StatusOr<bench::BlobPurgeFigures> f = bench::BlobFilePurge(
            placement, overwrite, due,
            [&] { return MakeRecord(r2, absl::Now(), absl::Hours(24)); },
            dir + "/purge-blobs");
        if (!f.ok()) {
          std::fprintf(stderr, "slot file purge: %s\n",
                       f.status().ToString().c_str());
          return 1;
        }
        got.push_back(*f);
      }
      const PurgeFigures vault = VaultPurge(records, m, dir + "/purge");
      fz.push_back(got[0].items_per_s);
      fn.push_back(got[1].items_per_s);
      fr.push_back(got[2].items_per_s);
      fv.push_back(vault.items_per_s);
      std::printf(
          "round %d  %9.0f (%4.0f) %9.0f (%4.0f) %9.0f (%4.0f) %9.0f (%4.0f) "
          "%10.2f %10.2f\n",
          rep + 1, got[0].items_per_s, got[0].intake_per_s, got[1].items_per_s,
          got[1].intake_per_s, got[2].items_per_s, got[2].intake_per_s,
          vault.items_per_s, vault.intake_per_s,
          got[0].items_per_s / got[2].items_per_s,
          got[1].items_per_s / got[2].items_per_s);
    }
    const double rm = Percentile(fr, 0.5);
    std::printf("median   %16.0f %16.0f %16.0f %16.0f %10.2f %10.2f\n",
                Percentile(fz, 0.5), Percentile(fn, 0.5), rm,
                Percentile(fv, 0.5), Percentile(fz, 0.5) / rm,
                Percentile(fn, 0.5) / rm);
    // What the route would cost intake: a second fdatasync per commit (the
    // slots before the rows), far fewer bytes through the WAL.
    std::printf(
        "\ndurable intake alone, one writer committing each, records/s: "
        "slots against rows, the same store\n%-8s %12s %12s %8s\n",
        "", "slots", "in rows", "ratio");
    std::vector<double> si, ri;
    for (int rep = 0; rep < 3; ++rep) {
      for (auto [placement, out] : {std::pair{bench::Placement::kInRow, &ri},
                                    {bench::Placement::kSlotFile, &si}}) {
        absl::StatusOr<double> rate =
            bench::BlobFileIntake(placement, records, dir + "/intake-blobs");
        if (!rate.ok()) {
          std::fprintf(stderr, "slot file intake: %s\n",
                       rate.status().ToString().c_str());
          return 1;
        }
        out->push_back(*rate);
      }
      std::printf("round %d  %12.0f %12.0f %8.2f\n", rep + 1, si.back(),
                  ri.back(), si.back() / ri.back());
    }
    std::printf("median   %12.0f %12.0f %8.2f\n", Percentile(si, 0.5),
                Percentile(ri, 0.5), Percentile(si, 0.5) / Percentile(ri, 0.5));
    std::filesystem::remove_all(dir);
    return 0;
  }
  if (want("intake")) {
    std::printf("\n1. durable intake (WAL, synchronous=FULL), records/s\n");
    std::printf("%-28s %8s %12s %12s\n", "", "ratio", "vault", "baseline");
    for (int w : {1, writers}) {
      // Interleave and repeat so drift on a shared machine hits both alike.
      std::vector<double> v, b;
      const std::string label = absl::StrCat(
          w, w == 1 ? " writer, commit each" : " writers, grouped");
      for (int rep = 0; rep < std::max(1, absl::GetFlag(FLAGS_rounds)); ++rep) {
        b.push_back(BaselineIntake(records, w, dir + "/baseline"));
        v.push_back(VaultIntake(records, w, dir + "/vault"));
        std::printf("%-28s %7.0f%% %12.0f %12.0f\n",
                    absl::StrCat("  round ", rep + 1).c_str(),
                    100 * v.back() / b.back(), v.back(), b.back());
      }
      const double vm = Percentile(v, 0.5), bm = Percentile(b, 0.5);
      std::printf("%-28s %7.0f%% %12.0f %12.0f\n", label.c_str(), 100 * vm / bm,
                  vm, bm);
    }
  }

  if (want("read")) {
    std::printf("\n2. single-item read, in process (each read logged first)\n");
    auto vault = OpenVault(dir + "/read");
    const int m = std::min(n, 2000);
    for (int i = 0; i < m; ++i) {
      (void)vault->Intake(records[i], IntakeEntry(records[i]));
    }
    std::vector<double> ms;
    std::mt19937 pick(3);
    for (int i = 0; i < 3000; ++i) {
      const v1::Record& r = records[pick() % m];
      v1::AuditEntry e;
      e.set_principal("inspector-1");
      e.set_action(v1::ACTION_READ_ITEM);
      e.set_verdict(v1::VERDICT_ALLOW);
      e.set_record_id(r.record_id());
      const absl::Time t0 = absl::Now();
      auto read = vault->Read(r.record_id(), {v1::DATA_CATEGORY_FACE_IMAGE}, e);
      ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
      if (!read.ok()) std::abort();
    }
    std::printf("p50 %.3f ms   p99 %.3f ms   (%zu reads)\n",
                Percentile(ms, 0.5), Percentile(ms, 0.99), ms.size());
  }

  if (want("purge")) {
    const int m = std::min(n, absl::GetFlag(FLAGS_purge_records));
    std::printf(
        "\n3. purge with intake running, secure_delete on, %d items due, "
        "items/s\n",
        4 * m);
    std::printf("%-8s %8s %12s %12s %16s %16s\n", "", "ratio", "vault",
                "baseline", "vault intake/s", "base intake/s");
    std::vector<double> v, b;
    for (int rep = 0; rep < 3; ++rep) {
      const PurgeFigures base = BaselinePurge(records, m, dir + "/purge-base");
      const PurgeFigures vault = VaultPurge(records, m, dir + "/purge");
      b.push_back(base.items_per_s);
      v.push_back(vault.items_per_s);
      std::printf("round %d  %7.0f%% %12.0f %12.0f %16.0f %16.0f\n", rep + 1,
                  100 * vault.items_per_s / base.items_per_s, vault.items_per_s,
                  base.items_per_s, vault.intake_per_s, base.intake_per_s);
    }
    const double vm = Percentile(v, 0.5), bm = Percentile(b, 0.5);
    std::printf("median   %7.0f%% %12.0f %12.0f\n", 100 * vm / bm, vm, bm);
  }

  if (want("lookup")) {
    const int days = std::max(1, absl::GetFlag(FLAGS_lookup_days));
    std::printf(
        "\n4. plate lookups in process (each logged first), lookups/s: %d "
        "plates kept until %d days against until one\n",
        n, days);
    // Plate i kept until day 1 + i % spread; every plate its own record,
    // so --records sets each vault's size.
    const auto fill = [&](const std::string& sub, int spread) {
      std::unique_ptr<vault::Vault> v = OpenVault(dir + "/" + sub);
      std::mt19937_64 r(2);
      for (int i = 0; i < n; ++i) {
        v1::Record rec =
            MakeRecord(r, absl::Now(), absl::Hours(24) * (1 + i % spread));
        rec.mutable_items(0)->set_content(absl::StrFormat("P%05d", i));
        if (!v->Intake(rec, IntakeEntry(rec)).ok()) std::abort();
      }
      return v;
    };
    std::unique_ptr<vault::Vault> spread = fill("lookup-days", days);
    std::unique_ptr<vault::Vault> one = fill("lookup-one", 1);
    const auto rate = [&](vault::Vault& v, int round) {
      std::mt19937 pick(round);
      const int lookups = 500;
      const absl::Time t0 = absl::Now();
      for (int i = 0; i < lookups; ++i) {
        v1::AuditEntry e;
        e.set_principal("inspector-1");
        e.set_action(v1::ACTION_SEARCH_PLATE);
        e.set_verdict(v1::VERDICT_ALLOW);
        auto found = v.LookupPlate(absl::StrFormat("P%05d", pick() % n), 5, e);
        if (!found.ok() || found->size() != 1) std::abort();
      }
      return lookups / absl::ToDoubleSeconds(absl::Now() - t0);
    };
    std::printf("%-8s %8s %12s %12s\n", "", "ratio", "days", "one day");
    std::vector<double> d, o;
    for (int rep = 0; rep < 3; ++rep) {
      o.push_back(rate(*one, rep));
      d.push_back(rate(*spread, rep));
      std::printf("round %d  %7.0f%% %12.0f %12.0f\n", rep + 1,
                  100 * d.back() / o.back(), d.back(), o.back());
    }
    const double dm = Percentile(d, 0.5), om = Percentile(o, 0.5);
    std::printf("median   %7.0f%% %12.0f %12.0f\n", 100 * dm / om, dm, om);
  }

  if (want("audit")) {
    // Intake committing each record while an auditor asks the log, again
    // and again, for a principal with no entry in it (a filter whose walk
    // is the whole log), against intake alone on the same vault.
    const int padding = absl::GetFlag(FLAGS_audit_entries);
    std::printf(
        "\n5. intake of %d records, commit each, while an auditor's query "
        "walks a log of %d entries, against intake alone, records/s\n",
        n, padding);
    std::unique_ptr<vault::Vault> v = OpenVault(dir + "/audit");
    // Entry i is stamped i ms after an hour ago.
    const absl::Time base = absl::Now() - absl::Hours(1);
    for (int done = 0; done < padding;) {
      std::vector<v1::AuditEntry> batch;
      for (int i = 0; i < 1000 && done < padding; ++i, ++done) {
        v1::AuditEntry e;
        e.set_principal("inspector-1");
        e.set_action(v1::ACTION_READ_RECORD);
        e.set_verdict(v1::VERDICT_ALLOW);
        e.set_record_id(absl::StrFormat("rec-%08d", done));
        *e.mutable_time() = ToProto(base + absl::Milliseconds(done));
        batch.push_back(std::move(e));
      }
      if (!v->log().AppendBatch(std::move(batch)).ok()) std::abort();
    }
    int taken = 0;
    const auto intake = [&] {
      const absl::Time t0 = absl::Now();
      for (int i = 0; i < n; ++i) {
        v1::Record r = records[i];
        r.set_record_id(absl::StrCat(r.record_id(), "-", taken++));
        if (!v->Intake(r, IntakeEntry(r)).ok()) std::abort();
      }
      return n / absl::ToDoubleSeconds(absl::Now() - t0);
    };
    std::printf("%-8s %8s %14s %12s %14s\n", "", "ratio", "with auditor",
                "alone", "walks/s");
    std::vector<double> with, alone;
    for (int rep = 0; rep < 3; ++rep) {
      alone.push_back(intake());
      std::atomic<bool> stop{false};
      std::atomic<int> walks{0};
      const absl::Time t0 = absl::Now();
      std::thread auditor([&] {
        vault::AuditQuery q;
        q.principal = "nobody";
        while (!stop.load()) {
          if (!v->log().Query(q).ok()) std::abort();
          ++walks;
          // A client's turn between calls.
          absl::SleepFor(absl::Milliseconds(2));
        }
      });
      with.push_back(intake());
      stop = true;
      auditor.join();
      const double walks_per_s =
          walks.load() / absl::ToDoubleSeconds(absl::Now() - t0);
      std::printf("round %d  %7.0f%% %14.0f %12.0f %14.2f\n", rep + 1,
                  100 * with.back() / alone.back(), with.back(), alone.back(),
                  walks_per_s);
    }
    const double wm = Percentile(with, 0.5), am = Percentile(alone, 0.5);
    std::printf("median   %7.0f%% %14.0f %12.0f\n", 100 * wm / am, wm, am);
    // A window of the last 1,000 entries stamped (the intake's entries
    // carry no time), against the log's first 100 entries (a walk that
    // stops at once).
    vault::AuditQuery recent;
    recent.since = base + absl::Milliseconds(padding - 1000);
    recent.limit = 100;
    vault::AuditQuery first;
    first.limit = 100;
    const auto ms_per = [&](const vault::AuditQuery& q) {
      const int tries = 20;
      const absl::Time t0 = absl::Now();
      for (int i = 0; i < tries; ++i) {
        auto got = v->log().Query(q);
        if (!got.ok() || got->size() != 100u) std::abort();
      }
      return absl::ToDoubleMilliseconds(absl::Now() - t0) / tries;
    };
    const double recent_ms = ms_per(recent), first_ms = ms_per(first);
    std::printf(
        "the last 1,000 stamped entries' first 100: %.2f ms a query, the "
        "log's "
        "first 100: %.2f ms (ratio %.1f)\n",
        recent_ms, first_ms, recent_ms / first_ms);
  }
  std::filesystem::remove_all(dir);
  return 0;
}
