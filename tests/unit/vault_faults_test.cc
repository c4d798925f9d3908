// The vault under damage and scarcity: flipped bytes in the file and in
// single ciphertexts, a disk that fills up, and what a purge leaves behind.
// In the spirit of LevelDB's corruption and fault-injection tests.

#include <fstream>
#include <random>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "testing/full_disk_vfs.h"
#include "testing/test_util.h"
#include "testing/vault_fixture.h"

namespace lanevault::vault {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
}

void WriteAll(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Content no other item shares, of a crop's size.
std::string CropBytes(std::mt19937& rng, size_t size) {
  std::string out(size, '\0');
  for (char& c : out) c = static_cast<char>(rng());
  return out;
}

class VaultFaultsTest : public testing::VaultFixture {
 protected:
  v1::Record TakeWithCrop(size_t crop_size, absl::Duration keep) {
    v1::Record r = MakeRecord("KXR4821", CropBytes(rng_, crop_size), keep);
    EXPECT_TRUE(
        vault_->Intake(r, Entry(v1::ACTION_INTAKE, r.record_id())).ok());
    return r;
  }
  // OK with the original items, or an error: never other content. With
  // `exact`, every item must come back; otherwise damage may legitimately
  // withhold one (a deadline byte flipped into the past reads as expired).
  absl::Status ReadAndCompare(const v1::Record& r, bool exact = true) {
    auto read = vault_->Read(r.record_id(), {},
                             Entry(v1::ACTION_READ_RECORD, r.record_id()));
    if (!read.ok()) return read.status();
    if (exact && read->items_size() != r.items_size()) {
      return absl::InternalError("item count differs");
    }
    for (const v1::Item& got : read->items()) {
      bool same = false;
      for (const v1::Item& want : r.items()) {
        same |= got.item_id() == want.item_id() &&
                got.content() == want.content() &&
                got.category() == want.category();
      }
      if (!same) return absl::InternalError("GARBAGE returned");
    }
    return absl::OkStatus();
  }
  std::string Column(const std::string& column, const std::string& item_id) {
    return testing::QueryBlob(db_path(), absl::StrCat("SELECT ", column,
                                                      " FROM items WHERE "
                                                      "item_id = '",
                                                      item_id, "'"));
  }

  std::mt19937 rng_{20261123};
};

TEST_F(VaultFaultsTest, FlippedByteInOneCiphertextIsDataLossForThatRecordOnly) {
  std::vector<v1::Record> records;
  for (int i = 0; i < 5; ++i) {
    records.push_back(TakeWithCrop(4000, absl::Hours(24)));
  }
  const v1::Record& victim = records[2];
  vault_.reset();  // checkpoints the WAL into the file
  const std::string ciphertext =
      Column("ciphertext", victim.items(1).item_id());
  ASSERT_GT(ciphertext.size(), 1000u);
  std::string file = ReadAll(db_path());
  // Find the ciphertext's middle in the raw file and flip one bit there.
  const std::string probe = ciphertext.substr(1500, 64);
  const size_t at = file.find(probe);
  ASSERT_NE(at, std::string::npos);
  file[at + 10] ^= 0x04;
  WriteAll(db_path(), file);
  Reopen();

  absl::Status damaged = ReadAndCompare(victim);
  EXPECT_EQ(damaged.code(), absl::StatusCode::kDataLoss) << damaged;
  EXPECT_NE(damaged.message().find(victim.record_id()), std::string::npos);
  for (const v1::Record& r : records) {
    if (r.record_id() != victim.record_id()) {
      EXPECT_TRUE(ReadAndCompare(r).ok()) << r.record_id();
    }
  }
  // A critical alert names the record, for the compliance officers.
  auto alerts = vault_->oversight().Alerts(false);
  ASSERT_TRUE(alerts.ok());
  ASSERT_EQ(alerts->size(), 1u);
  EXPECT_EQ((*alerts)[0].kind, "data_loss");
  EXPECT_EQ((*alerts)[0].severity, "critical");
  EXPECT_NE((*alerts)[0].message.find(victim.record_id()), std::string::npos);
}

TEST_F(VaultFaultsTest, DamagedPagesNeverCrashAndNeverReturnGarbage) {
  std::vector<v1::Record> records;
  for (int i = 0; i < 40; ++i) {
    records.push_back(TakeWithCrop(3000, absl::Hours(24)));
  }
  vault_.reset();
  const std::string pristine = ReadAll(db_path());
  const size_t page = 4096;
  ASSERT_GT(pristine.size(), 10 * page);
  int data_loss = 0, intact = 0, other = 0, open_failed = 0;
  for (int round = 0; round < 12; ++round) {
    std::string file = pristine;
    // Damage a few bytes in a few pages (never page 1, the schema: a vault
    // whose schema is gone cannot open at all, which is tested below).
    for (int k = 0; k < 4; ++k) {
      const size_t p = 1 + rng_() % (file.size() / page - 1);
      for (int b = 0; b < 8; ++b) {
        file[p * page + rng_() % page] ^= static_cast<char>(1 + rng_() % 255);
      }
    }
    WriteAll(db_path(), file);
    std::remove((db_path() + "-wal").c_str());
    auto v = Vault::Open(Options());
    if (!v.ok()) {
      ++open_failed;  // a clear error, not a crash
      continue;
    }
    vault_ = std::move(*v);
    for (const v1::Record& r : records) {
      absl::Status s = ReadAndCompare(r, /*exact=*/false);
      ASSERT_NE(s.code(), absl::StatusCode::kInternal) << s;  // no garbage
      if (s.ok()) {
        ++intact;
      } else if (absl::IsDataLoss(s)) {
        ++data_loss;
      } else {
        ++other;  // NOT_FOUND (its row gone), UNAVAILABLE (log unwritable)
      }
    }
    vault_.reset();
  }
  EXPECT_GT(intact, 0);
  EXPECT_GT(data_loss, 0);
  RecordProperty("intact", intact);
  RecordProperty("data_loss", data_loss);
  RecordProperty("other", other);
  RecordProperty("open_failed", open_failed);

  // A file that is not a vault at all: a clear error at open.
  WriteAll(db_path(), std::string(8192, 'x'));
  std::remove((db_path() + "-wal").c_str());
  auto garbage = Vault::Open(Options());
  EXPECT_EQ(garbage.status().code(), absl::StatusCode::kDataLoss)
      << garbage.status();
}

class FullDiskTest : public VaultFaultsTest {
 protected:
  VaultOptions Options() override {
    VaultOptions o = VaultFaultsTest::Options();
    o.sqlite.vfs = testing::FullDiskVfsName();
    return o;
  }
  void TearDown() override { testing::SetDiskFull(false); }
};

TEST_F(FullDiskTest, IntakeIsRefusedWhileFullAndResumesWithoutLoss) {
  std::vector<v1::Record> acknowledged;
  for (int i = 0; i < 10; ++i) {
    acknowledged.push_back(TakeWithCrop(20000, absl::Hours(24)));
  }
  testing::SetDiskFull(true);
  int refused = 0;
  for (int i = 0; i < 40; ++i) {
    v1::Record r = MakeRecord("KXR4821", CropBytes(rng_, 20000));
    absl::Status s = vault_->Intake(r, Entry(v1::ACTION_INTAKE, r.record_id()));
    if (s.ok()) {
      acknowledged.push_back(r);  // it fit in space the files already had
    } else {
      ++refused;
      // Not the submitter's fault, and it passes: UNAVAILABLE, retry.
      EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
      EXPECT_TRUE(IsDiskFull(s)) << s;
      EXPECT_NE(s.message().find("full"), std::string::npos) << s;
    }
  }
  EXPECT_GT(refused, 0);
  // Reads need their audit entry; if it cannot be written they refuse.
  absl::Status read_while_full = ReadAndCompare(acknowledged[0]);
  EXPECT_TRUE(read_while_full.ok() || absl::IsUnavailable(read_while_full))
      << read_while_full;

  testing::SetDiskFull(false);  // space returns: intake resumes at once
  for (int i = 0; i < 10; ++i) {
    acknowledged.push_back(TakeWithCrop(20000, absl::Hours(24)));
  }
  for (const v1::Record& r : acknowledged) {
    EXPECT_TRUE(ReadAndCompare(r).ok()) << r.record_id();
  }
  Reopen();
  for (const v1::Record& r : acknowledged) {
    EXPECT_TRUE(ReadAndCompare(r).ok()) << r.record_id();
  }
  vault_.reset();
  EXPECT_EQ(testing::QueryBlob(db_path(), "PRAGMA integrity_check"), "ok");
}

TEST_F(VaultFaultsTest, PurgedItemLeavesNoTraceInTheDatabaseOrItsWal) {
  std::vector<v1::Record> purged, kept;
  for (int i = 0; i < 20; ++i) {
    purged.push_back(TakeWithCrop(6000, absl::Hours(1)));
    kept.push_back(TakeWithCrop(6000, absl::Hours(48)));
  }
  struct Trace {
    std::string ciphertext, wrapped_key, plaintext;
  };
  auto traces = [&](const std::vector<v1::Record>& records) {
    std::vector<Trace> out;
    for (const v1::Record& r : records) {
      const v1::Item& face = r.items(1);
      out.push_back({Column("ciphertext", face.item_id()),
                     Column("wrapped_key", face.item_id()), face.content()});
    }
    return out;
  };
  const std::vector<Trace> gone = traces(purged);
  const std::vector<Trace> control = traces(kept);
  clock_.Advance(absl::Hours(2));
  auto result = vault_->SweepExpired();
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->items, 20u);

  // Scan the raw files while the vault is still open (as after a sweep in
  // the running daemon), and again after it closes.
  for (int pass = 0; pass < 2; ++pass) {
    const std::string db = ReadAll(db_path());
    const std::string wal = ReadAll(db_path() + "-wal");
    for (const Trace& t : gone) {
      for (const std::string* bytes : {&db, &wal}) {
        EXPECT_EQ(bytes->find(t.ciphertext.substr(100, 48)), std::string::npos);
        EXPECT_EQ(bytes->find(t.ciphertext.substr(t.ciphertext.size() - 48)),
                  std::string::npos);
        EXPECT_EQ(bytes->find(t.wrapped_key.substr(24, 24)), std::string::npos);
        EXPECT_EQ(bytes->find(t.plaintext.substr(100, 48)), std::string::npos);
      }
    }
    // The scan can see: the kept items' ciphertexts are there.
    int seen = 0;
    for (const Trace& t : control) {
      seen +=
          (db + wal).find(t.ciphertext.substr(100, 48)) != std::string::npos;
    }
    EXPECT_EQ(seen, 20) << "pass " << pass;
    vault_.reset();
  }
}

}  // namespace
}  // namespace lanevault::vault
