// The slot file, the place item ciphertext is to move to out of SQLite so a
// purge writes each purged byte once: what is appended reads back after a
// reopen, what rows never committed is gone at open, an erased slot leaves
// none of its bytes in the file and gives its blocks back, a full disk
// appends nothing, and a file cut short or open to others is refused.

#include "vault/slot_file.h"

#include <sys/resource.h>
#include <sys/stat.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>

#include "gtest/gtest.h"
#include "testing/test_util.h"

namespace lanevault::vault {
namespace {

std::string FileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

std::string Bytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// Whether any of `item`'s first, middle or last 48 bytes are in `file`.
bool HoldsAnyOf(const std::string& file, const std::string& item) {
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
    absl::StatusOr<Slot> s = f->Append(a);
    ASSERT_TRUE(s.ok()) << s.status();
    sa = *s;
    s = f->Append(b);
    ASSERT_TRUE(s.ok()) << s.status();
    sb = *s;
    ASSERT_TRUE(f->Sync().ok());
  }
  EXPECT_EQ(sa.at, 0);
  EXPECT_EQ(sb.at, sa.end());
  std::unique_ptr<SlotFile> f = OpenAt(sb.end());
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->end(), sb.end());
  EXPECT_EQ(*f->Read(sa), a);
  EXPECT_EQ(*f->Read(sb), b);
  struct stat st {};
  ASSERT_EQ(stat(path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(SlotFileTest, BytesOfRowsThatNeverCommittedAreGoneAtOpen) {
  const std::string kept = Bytes(9000, 3), orphan = Bytes(26000, 4);
  Slot sk;
  {
    std::unique_ptr<SlotFile> f = OpenAt(0);
    ASSERT_NE(f, nullptr);
    sk = *f->Append(kept);
    ASSERT_TRUE(f->Append(orphan).ok());
    ASSERT_TRUE(f->Sync().ok());
  }
  ASSERT_TRUE(HoldsAnyOf(FileBytes(path()), orphan));
  // Only the first slot's row committed.
  std::unique_ptr<SlotFile> f = OpenAt(sk.end());
  ASSERT_NE(f, nullptr);
  const std::string file = FileBytes(path());
  EXPECT_EQ(static_cast<int64_t>(file.size()), sk.end());
  EXPECT_FALSE(HoldsAnyOf(file, orphan));
  EXPECT_EQ(*f->Read(sk), kept);
  // The next slot goes where the orphan was.
  EXPECT_EQ(f->Append("next")->at, sk.end());
}

TEST_F(SlotFileTest, AnErasedSlotLeavesNoneOfItsBytesAndGivesItsBlocksBack) {
  const std::string before = Bytes(9000, 5), gone = Bytes(256 * 1024, 6),
                    after = Bytes(9000, 7);
  std::unique_ptr<SlotFile> f = OpenAt(0);
  ASSERT_NE(f, nullptr);
  const Slot s1 = *f->Append(before), s2 = *f->Append(gone),
             s3 = *f->Append(after);
  ASSERT_TRUE(f->Sync().ok());
  const int64_t blocks = BlocksOf(path());
  ASSERT_TRUE(HoldsAnyOf(FileBytes(path()), gone));

  ASSERT_TRUE(f->Erase({s2}).ok());
  const std::string file = FileBytes(path());
  EXPECT_FALSE(HoldsAnyOf(file, gone));
  EXPECT_EQ(static_cast<int64_t>(file.size()), s3.end()) << "length kept";
  // The neighbours, sharing a block with it at each end, are untouched.
  EXPECT_EQ(*f->Read(s1), before);
  EXPECT_EQ(*f->Read(s3), after);
  // 256 KiB of whole blocks went back to the file system (512-byte units).
  EXPECT_LT(BlocksOf(path()), blocks - 256 * 2 + 32);
  // A reopen keeps every slot (erasure is not the end of the file).
  f.reset();
  f = OpenAt(s3.end());
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(*f->Read(s3), after);
}

TEST_F(SlotFileTest, ARewindWritesTheNextSlotOverRowsRolledBack) {
  std::unique_ptr<SlotFile> f = OpenAt(0);
  ASSERT_NE(f, nullptr);
  const Slot a = *f->Append(Bytes(5000, 8));
  const std::string rolled_back = Bytes(5000, 9), next = Bytes(5000, 10);
  ASSERT_TRUE(f->Append(rolled_back).ok());
  f->Rewind(a.end());
  const Slot n = *f->Append(next);
  EXPECT_EQ(n.at, a.end());
  ASSERT_TRUE(f->Sync().ok());
  EXPECT_FALSE(HoldsAnyOf(FileBytes(path()), rolled_back));
  EXPECT_EQ(*f->Read(n), next);
  f->Rewind(n.end() + 100);  // past the end: nothing to forget
  EXPECT_EQ(f->end(), n.end());
}

// The file's size limit stands in for a full disk: writes that would grow
// the file fail (EFBIG) as they would with ENOSPC.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    getrlimit(RLIMIT_FSIZE, &old_);
    rlimit tight = old_;
    tight.rlim_cur = bytes;
    setrlimit(RLIMIT_FSIZE, &tight);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &old_);
    std::signal(SIGXFSZ, old_handler_);
  }

 private:
  rlimit old_{};
  void (*old_handler_)(int) = nullptr;
};

TEST_F(SlotFileTest, AFullDiskAppendsNothingAndTheNextAppendStillWorks) {
  std::unique_ptr<SlotFile> f = OpenAt(0);
  ASSERT_NE(f, nullptr);
  const Slot a = *f->Append(Bytes(4096, 11));
  ASSERT_TRUE(f->Sync().ok());
  const std::string big = Bytes(64 * 1024, 12);
  {
    FileSizeLimit limit(a.end() + 8192);
    absl::StatusOr<Slot> s = f->Append(big);
    ASSERT_FALSE(s.ok());
    EXPECT_TRUE(absl::IsResourceExhausted(s.status())) << s.status();
    EXPECT_NE(s.status().message().find("full"), std::string::npos);
    EXPECT_EQ(f->end(), a.end());
  }
  const Slot b = *f->Append(big);
  EXPECT_EQ(b.at, a.end());
  ASSERT_TRUE(f->Sync().ok());
  EXPECT_EQ(*f->Read(b), big);
}

TEST_F(SlotFileTest, AFileShorterThanItsRowsSayIsDataLoss) {
  {
    std::unique_ptr<SlotFile> f = OpenAt(0);
    ASSERT_NE(f, nullptr);
    ASSERT_TRUE(f->Append(Bytes(5000, 13)).ok());
    ASSERT_TRUE(f->Sync().ok());
  }
  std::filesystem::resize_file(path(), 3000);  // cut, or an older copy
  absl::StatusOr<std::unique_ptr<SlotFile>> f = SlotFile::Open(path(), 5000);
  ASSERT_FALSE(f.ok());
  EXPECT_TRUE(absl::IsDataLoss(f.status())) << f.status();
  // And a slot past the end, read from a file opened as it is now.
  f = SlotFile::Open(path(), 3000);
  ASSERT_TRUE(f.ok()) << f.status();
  absl::StatusOr<std::string> r = (*f)->Read({2000, 3000});
  EXPECT_TRUE(absl::IsDataLoss(r.status())) << r.status();
}

TEST_F(SlotFileTest, AFileOthersMayUseOrALinkIsRefused) {
  std::ofstream(path()) << "";
  std::filesystem::permissions(path(), std::filesystem::perms(0644));
  absl::StatusOr<std::unique_ptr<SlotFile>> f = SlotFile::Open(path(), 0);
  EXPECT_TRUE(absl::IsFailedPrecondition(f.status())) << f.status();

  const std::string elsewhere = dir_.Join("elsewhere");
  std::ofstream(elsewhere) << "";
  std::filesystem::permissions(elsewhere, std::filesystem::perms(0600));
  const std::string link = dir_.Join("linked.slots");
  std::filesystem::create_symlink(elsewhere, link);
  f = SlotFile::Open(link, 0);
  EXPECT_FALSE(f.ok());
}

}  // namespace
}  // namespace lanevault::vault
