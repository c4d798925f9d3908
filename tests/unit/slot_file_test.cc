// The slot file, the place item ciphertext is to move to out of SQLite so a
// purge writes each purged byte once: what is appended reads back after a
// reopen, what rows never committed is gone at open, an erased slot leaves
// none of its bytes in the file and gives its blocks back (and can be erased
// again), a full disk appends nothing, and a file cut short,
// missing, linked or open to others is refused.

#include "vault/slot_file.h"

#include <sys/resource.h>
#include <sys/stat.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "gtest/gtest.h"
#include "testing/test_util.h"

namespace lanevault::vault {
namespace {

using testing::FileBytes;

namespace fs = std::filesystem;

std::string Bytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// Whether any of `item`'s first, middle or last 48 bytes (or all of a
// shorter one) are in `file`.
bool HoldsAnyOf(const std::string& file, const std::string& item) {
  if (item.size() <= 48) return file.find(item) != std::string::npos;
  for (size_t at : {size_t{0}, item.size() / 2, item.size() - 48}) {
    if (file.find(item.substr(at, 48)) != std::string::npos) return true;
  }
  return false;
}

int64_t BlocksOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(stat(path.c_str(), &st), 0);
  return st.st_blocks;
}

Slot Appended(SlotFile& f, const std::string& bytes) {
  absl::StatusOr<Slot> s = f.Append(bytes);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *s : Slot{-1, 0};
}

std::string ReadBack(const SlotFile& f, const Slot& slot) {
  absl::StatusOr<std::string> r = f.Read(slot);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : std::string();
}

class SlotFileTest : public ::testing::Test {
 protected:
  std::string path() const { return dir_.Join("vault.db.slots"); }
  std::unique_ptr<SlotFile> OpenAt(int64_t committed_end) {
    absl::StatusOr<std::unique_ptr<SlotFile>> f =
        SlotFile::Open(path(), committed_end);
    EXPECT_TRUE(f.ok()) << f.status();
    return f.ok() ? *std::move(f) : nullptr;
  }

  testing::TempDir dir_;
};

TEST_F(SlotFileTest, WhatIsAppendedAndSyncedReadsBackAfterAReopen) {
  const std::string a = Bytes(9000, 1), b = Bytes(26000, 2);
  Slot sa, sb;
  {
    std::unique_ptr<SlotFile> f = OpenAt(0);
    ASSERT_NE(f, nullptr);
    sa = Appended(*f, a);
    sb = Appended(*f, b);
    ASSERT_TRUE(f->Sync().ok());
  }
  EXPECT_EQ(sa.at, 0);
  EXPECT_EQ(sb.at, sa.at + sa.length);
  std::unique_ptr<SlotFile> f = OpenAt(sb.at + sb.length);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->end(), sb.at + sb.length);
  EXPECT_EQ(ReadBack(*f, sa), a);
  EXPECT_EQ(ReadBack(*f, sb), b);
  struct stat st {};
  ASSERT_EQ(stat(path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // Slots no row could name are refused, not read.
  for (const Slot bad : {Slot{-1, 10}, Slot{0, -1}, Slot{sb.at, sb.length + 1},
                         Slot{INT64_MAX, 2}}) {
    absl::StatusOr<std::string> r = f->Read(bad);
    EXPECT_TRUE(absl::IsDataLoss(r.status())) << bad.at << " " << r.status();
  }
}

TEST_F(SlotFileTest, BytesOfRowsThatNeverCommittedAreGoneAtOpen) {
  const std::string kept = Bytes(9000, 3), orphan = Bytes(26000, 4);
  Slot sk;
  {
    std::unique_ptr<SlotFile> f = OpenAt(0);
    ASSERT_NE(f, nullptr);
    sk = Appended(*f, kept);
    Appended(*f, orphan);
    ASSERT_TRUE(f->Sync().ok());
  }
  ASSERT_TRUE(HoldsAnyOf(FileBytes(path()), orphan));
  // Only the first slot's row committed. (Reading the file cannot tell an
  // overwrite and a cut from the cut alone; the overwrite is for the
  // disk's blocks.)
  std::unique_ptr<SlotFile> f = OpenAt(sk.at + sk.length);
  ASSERT_NE(f, nullptr);
  const std::string file = FileBytes(path());
  EXPECT_EQ(static_cast<int64_t>(file.size()), sk.at + sk.length);
  EXPECT_FALSE(HoldsAnyOf(file, orphan));
  EXPECT_EQ(ReadBack(*f, sk), kept);
  EXPECT_EQ(Appended(*f, "next").at, sk.at + sk.length);
}

TEST_F(SlotFileTest, AnErasedSlotLeavesNoneOfItsBytesAndGivesItsBlocksBack) {
  const std::string before = Bytes(9000, 5), gone = Bytes(256 * 1024, 6),
                    after = Bytes(9000, 7);
  std::unique_ptr<SlotFile> f = OpenAt(0);
  ASSERT_NE(f, nullptr);
  const Slot s1 = Appended(*f, before), s2 = Appended(*f, gone),
             s3 = Appended(*f, after);
  ASSERT_TRUE(f->Sync().ok());
  const int64_t blocks = BlocksOf(path());
  ASSERT_TRUE(HoldsAnyOf(FileBytes(path()), gone));

  ASSERT_TRUE(f->Erase({s2}).ok());
  const std::string file = FileBytes(path());
  EXPECT_FALSE(HoldsAnyOf(file, gone));
  EXPECT_EQ(static_cast<int64_t>(file.size()), s3.at + s3.length)
      << "length kept";
  // The neighbours, sharing a block with it at each end, are untouched.
  EXPECT_EQ(ReadBack(*f, s1), before);
  EXPECT_EQ(ReadBack(*f, s3), after);
  // 256 KiB of whole blocks went back to the file system (512-byte units).
  EXPECT_LT(BlocksOf(path()), blocks - 256 * 2 + 32);
  // Erased again (a purge's queue run twice after a crash): it succeeds
  // and nothing else changes. (That it skips the blocks given back, so a
  // full disk cannot stop it, reading the file cannot show: they are
  // punched again either way.)
  ASSERT_TRUE(f->Erase({s2}).ok());
  EXPECT_EQ(ReadBack(*f, s1), before);
  EXPECT_EQ(ReadBack(*f, s3), after);
  // A reopen keeps every slot (erasure is not the end of the file).
  f.reset();
  f = OpenAt(s3.at + s3.length);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(ReadBack(*f, s3), after);
}

TEST_F(SlotFileTest, SmallAndNeighbouringSlotsErasedTogetherLeaveNothing) {
  std::unique_ptr<SlotFile> f = OpenAt(0);
  ASSERT_NE(f, nullptr);
  const std::string keep = Bytes(700, 20), tiny = Bytes(100, 21),
                    left = Bytes(6000, 22), right = Bytes(7000, 23),
                    last = Bytes(700, 24);
  const Slot k = Appended(*f, keep), t = Appended(*f, tiny),
             l = Appended(*f, left), r = Appended(*f, right),
             z = Appended(*f, last);
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(f->Erase({t, l, r}).ok());
  const std::string file = FileBytes(path());
  for (const std::string* gone : {&tiny, &left, &right}) {
    EXPECT_FALSE(HoldsAnyOf(file, *gone));
  }
  EXPECT_EQ(ReadBack(*f, k), keep);
  EXPECT_EQ(ReadBack(*f, z), last);
  // A slot that is not one is refused before anything is written.
  absl::Status bad = f->Erase({k, Slot{z.at, z.length + 1}});
  EXPECT_TRUE(absl::IsInvalidArgument(bad)) << bad;
  EXPECT_EQ(ReadBack(*f, k), keep);
}

TEST_F(SlotFileTest, ARewindPutsLaterAppendsWhereRolledBackRowsWere) {
  std::unique_ptr<SlotFile> f = OpenAt(0);
  ASSERT_NE(f, nullptr);
  const Slot a = Appended(*f, Bytes(5000, 8));
  const std::string rolled_back = Bytes(9000, 9), next = Bytes(3000, 10);
  Appended(*f, rolled_back);
  f->Rewind(a.at + a.length);
  const Slot n = Appended(*f, next);
  EXPECT_EQ(n.at, a.at + a.length);
  ASSERT_TRUE(f->Sync().ok());
  EXPECT_EQ(ReadBack(*f, n), next);
  f->Rewind(n.at + n.length + 100);  // past the end: nothing to forget
  EXPECT_EQ(f->end(), n.at + n.length);
  // The shorter append left the rolled-back bytes' tail in the file until
  // the next open cuts it off at the last committed slot.
  EXPECT_TRUE(HoldsAnyOf(FileBytes(path()), rolled_back));
  f.reset();
  f = OpenAt(n.at + n.length);
  ASSERT_NE(f, nullptr);
  EXPECT_FALSE(HoldsAnyOf(FileBytes(path()), rolled_back));
}

// The file's size limit stands in for a full disk: writes that would grow
// the file fail (EFBIG) as they would with ENOSPC. Process-wide while it
// lasts, so it lasts one call.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    ok_ = sigaction(SIGXFSZ, &ignore, &old_action_) == 0 &&
          getrlimit(RLIMIT_FSIZE, &old_) == 0;
    rlimit tight = old_;
    tight.rlim_cur = bytes;
    ok_ = ok_ && setrlimit(RLIMIT_FSIZE, &tight) == 0;
  }
  ~FileSizeLimit() {
    EXPECT_EQ(setrlimit(RLIMIT_FSIZE, &old_), 0);
    EXPECT_EQ(sigaction(SIGXFSZ, &old_action_, nullptr), 0);
  }
  bool ok() const { return ok_; }

 private:
  bool ok_ = false;
  rlimit old_{};
  struct sigaction old_action_ {};
};

TEST_F(SlotFileTest, AFullDiskAppendsNothingAndTheNextAppendStillWorks) {
  std::unique_ptr<SlotFile> f = OpenAt(0);
  ASSERT_NE(f, nullptr);
  const Slot a = Appended(*f, Bytes(4096, 11));
  ASSERT_TRUE(f->Sync().ok());
  const std::string big = Bytes(64 * 1024, 12);
  absl::StatusOr<Slot> refused;
  {
    FileSizeLimit limit(a.at + a.length + 8192);
    ASSERT_TRUE(limit.ok());
    refused = f->Append(big);
  }
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(absl::IsResourceExhausted(refused.status())) << refused.status();
  EXPECT_NE(refused.status().message().find("full"), std::string::npos);
  EXPECT_EQ(f->end(), a.at + a.length);
  const Slot b = Appended(*f, big);
  EXPECT_EQ(b.at, a.at + a.length);
  ASSERT_TRUE(f->Sync().ok());
  EXPECT_EQ(ReadBack(*f, b), big);
}

TEST_F(SlotFileTest, AFileShorterThanItsRowsSayOrMissingIsDataLoss) {
  {
    std::unique_ptr<SlotFile> f = OpenAt(0);
    ASSERT_NE(f, nullptr);
    Appended(*f, Bytes(5000, 13));
    ASSERT_TRUE(f->Sync().ok());
  }
  fs::resize_file(path(), 3000);  // cut, or an older copy
  absl::StatusOr<std::unique_ptr<SlotFile>> f = SlotFile::Open(path(), 5000);
  EXPECT_TRUE(absl::IsDataLoss(f.status())) << f.status();
  fs::remove(path());
  f = SlotFile::Open(path(), 5000);
  EXPECT_TRUE(absl::IsDataLoss(f.status())) << f.status();
  EXPECT_FALSE(fs::exists(path())) << "not made where rows name slots";
  f = SlotFile::Open(path(), -1);
  EXPECT_TRUE(absl::IsInvalidArgument(f.status())) << f.status();
}

TEST_F(SlotFileTest, AFileOthersMayUseOrALinkIsRefused) {
  std::ofstream(path()) << "";
  fs::permissions(path(), fs::perms(0644));
  absl::StatusOr<std::unique_ptr<SlotFile>> f = SlotFile::Open(path(), 0);
  EXPECT_TRUE(absl::IsFailedPrecondition(f.status())) << f.status();
  fs::permissions(path(), fs::perms(0600));
  ASSERT_TRUE(SlotFile::Open(path(), 0).ok());

  // A second name for it: a copy of the slots under another name.
  const std::string hard = dir_.Join("other-name");
  fs::create_hard_link(path(), hard);
  f = SlotFile::Open(path(), 0);
  EXPECT_TRUE(absl::IsFailedPrecondition(f.status())) << f.status();
  fs::remove(hard);

  const std::string link = dir_.Join("linked.slots");
  fs::create_symlink(path(), link);
  f = SlotFile::Open(link, 0);
  EXPECT_TRUE(absl::IsFailedPrecondition(f.status())) << f.status();
}

}  // namespace
}  // namespace lanevault::vault
