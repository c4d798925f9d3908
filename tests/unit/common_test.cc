#include <sys/stat.h>

#include <filesystem>

#include "absl/strings/escaping.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/files.h"
#include "common/ids.h"
#include "common/image_header.h"
#include "common/program.h"
#include "gtest/gtest.h"
#include "testing/test_util.h"

namespace lanevault {
namespace {

TEST(Ids, AreRandomAndWellFormed) {
  const std::string a = NewId("rec_");
  const std::string b = NewId("rec_");
  EXPECT_NE(a, b);
  EXPECT_TRUE(IsWellFormedId(a, "rec_"));
  EXPECT_FALSE(IsWellFormedId(a, "itm_"));
  EXPECT_FALSE(IsWellFormedId("rec_123", "rec_"));
  EXPECT_FALSE(IsWellFormedId("rec_" + std::string(32, 'G'), "rec_"));
}

TEST(FakeClock, MovesOnlyWhenTold) {
  FakeClock clock(absl::FromUnixSeconds(1000));
  EXPECT_EQ(clock.Now(), absl::FromUnixSeconds(1000));
  clock.Advance(absl::Hours(12));
  EXPECT_EQ(clock.Now(), absl::FromUnixSeconds(1000) + absl::Hours(12));
}

TEST(Files, PrivateFileCheckRefusesGroupReadable) {
  testing::TempDir dir;
  const std::string path = dir.Join("secret");
  ASSERT_TRUE(WriteFileAtomically(path, "x", 0600).ok());
  EXPECT_TRUE(CheckPrivateFile(path).ok());
  ASSERT_EQ(chmod(path.c_str(), 0640), 0);
  absl::Status s = CheckPrivateFile(path);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("0640"), absl::string_view::npos) << s;
  EXPECT_EQ(CheckPrivateFile(dir.Join("missing")).code(),
            absl::StatusCode::kNotFound);
}

TEST(Files, PrivateFileReadChecksTheFileItOpened) {
  testing::TempDir dir;
  const std::string path = dir.Join("secret");
  ASSERT_TRUE(WriteFileAtomically(path, "key bytes\n", 0600).ok());
  absl::StatusOr<std::string> read = ReadPrivateFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, "key bytes\n");

  // Readable by the group: refused, and nothing is read.
  ASSERT_EQ(chmod(path.c_str(), 0640), 0);
  read = ReadPrivateFile(path);
  EXPECT_EQ(read.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(read.status().message().find("0640"), absl::string_view::npos);
  EXPECT_EQ(OpenPrivateFile(path).status().code(),
            absl::StatusCode::kFailedPrecondition);

  // A FIFO in a secret's place is refused at once, not waited on.
  const std::string fifo = dir.Join("fifo");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  read = ReadPrivateFile(fifo);
  EXPECT_EQ(read.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(read.status().message().find("not a regular file"),
            absl::string_view::npos)
      << read.status();

  // Longer than a secret may be; missing.
  const std::string big = dir.Join("big");
  ASSERT_TRUE(WriteFileAtomically(big, std::string(100, 'x'), 0600).ok());
  EXPECT_EQ(ReadPrivateFile(big, 64).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ReadPrivateFile(big, 100).ok());
  EXPECT_EQ(ReadPrivateFile(dir.Join("missing")).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(Files, AtomicWriteReplacesContent) {
  testing::TempDir dir;
  const std::string path = dir.Join("f");
  ASSERT_TRUE(WriteFileAtomically(path, "one", 0644).ok());
  ASSERT_TRUE(WriteFileAtomically(path, "two", 0644).ok());
  EXPECT_EQ(*ReadFileToString(path), "two");
}

TEST(Files, MakeDirectoriesAcceptsEmptyAndReportsErrors) {
  testing::TempDir dir;
  EXPECT_TRUE(MakeDirectories("").ok());
  EXPECT_TRUE(MakeParentDirectories("bare-name").ok());
  EXPECT_TRUE(MakeParentDirectories(dir.Join("a/b/file")).ok());
  EXPECT_TRUE(std::filesystem::is_directory(dir.Join("a/b")));
  ASSERT_TRUE(WriteFileAtomically(dir.Join("plain"), "x", 0600).ok());
  absl::Status s = MakeDirectories(dir.Join("plain/sub"));
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("plain/sub"), absl::string_view::npos) << s;
}

TEST(Config, ParseErrorNamesLineAndColumn) {
  v1::DaemonConfig config;
  absl::Status s =
      ParseTextProto("listen: \"x:1\"\nbogus: 3\n", "d.conf", &config);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("d.conf:2:"), absl::string_view::npos) << s;
  EXPECT_NE(s.message().find("bogus"), absl::string_view::npos) << s;
}

v1::DaemonConfig ValidConfig() {
  v1::DaemonConfig c;
  c.set_listen("127.0.0.1:0");
  c.mutable_tls()->set_ca_cert("ca.pem");
  c.mutable_tls()->set_server_cert("s.pem");
  c.mutable_tls()->set_server_key("s.key");
  c.mutable_vault()->set_database("v.db");
  c.mutable_vault()->set_master_key("m.key");
  auto* lane = c.add_lanes();
  lane->set_lane_id("lane-1");
  lane->set_checkpoint_id("cp");
  lane->set_source("folder:frames");
  return c;
}

TEST(Config, ValidationNamesTheField) {
  EXPECT_TRUE(ValidateDaemonConfig(ValidConfig()).ok());

  auto c = ValidConfig();
  c.mutable_tls()->clear_server_key();
  EXPECT_EQ(ValidateDaemonConfig(c).message(), "tls.server_key: must be set");

  c = ValidConfig();
  *c.add_lanes() = c.lanes(0);
  EXPECT_NE(ValidateDaemonConfig(c).message().find("lanes[1].lane_id"),
            absl::string_view::npos);

  c = ValidConfig();
  c.mutable_lanes(0)->set_source("ftp://camera");
  EXPECT_NE(ValidateDaemonConfig(c).message().find("lanes[0].source"),
            absl::string_view::npos);

  c = ValidConfig();
  c.mutable_lanes(0)->mutable_roi()->set_width(1.5f);
  c.mutable_lanes(0)->mutable_roi()->set_height(0.5f);
  EXPECT_NE(ValidateDaemonConfig(c).message().find("roi"),
            absl::string_view::npos);
}

TEST(Config, PlainTextOnlyOnLoopback) {
  auto c = ValidConfig();
  c.clear_tls();
  c.set_dev_insecure_loopback(true);
  EXPECT_TRUE(ValidateDaemonConfig(c).ok());
  c.set_listen("0.0.0.0:7443");
  EXPECT_FALSE(ValidateDaemonConfig(c).ok());
}

TEST(Config, LoadResolvesPathsAgainstTheFile) {
  testing::TempDir dir;
  const std::string path = dir.Join("d.textproto");
  v1::DaemonConfig c = ValidConfig();
  c.mutable_vault()->set_key_store("keys/ks.db");
  c.mutable_vault()->set_backup_dir("backups");
  ASSERT_TRUE(WriteFileAtomically(path, c.DebugString(), 0644).ok());
  auto loaded = LoadDaemonConfig(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->vault().database(), dir.Join("v.db"));
  EXPECT_EQ(loaded->vault().key_store(), dir.Join("keys/ks.db"));
  EXPECT_EQ(loaded->vault().backup_dir(), dir.Join("backups"));
  EXPECT_EQ(loaded->lanes(0).source(), "folder:" + dir.Join("frames"));
}

// A baseline JPEG frame header declaring `width` x `height`, after an APP0
// segment (so the walk must skip a marker first).
std::string JpegDeclaring(int width, int height) {
  std::string b("\xff\xd8\xff\xe0\x00\x04\x00\x00\xff\xc0\x00\x0b\x08", 13);
  for (int v : {height, width}) {
    b.push_back(static_cast<char>(v >> 8));
    b.push_back(static_cast<char>(v & 0xff));
  }
  return b + std::string("\x01\x01\x11\x00", 4);
}

TEST(ImageHeaderTest, ReadsTheSizeAJpegOrAPngDeclares) {
  absl::StatusOr<ImageHeader> jpeg = ReadImageHeader(testing::TestJpeg(48, 32));
  ASSERT_TRUE(jpeg.ok()) << jpeg.status();
  EXPECT_EQ(jpeg->format, ImageHeader::Format::kJpeg);
  EXPECT_EQ(jpeg->width, 48);
  EXPECT_EQ(jpeg->height, 32);
  absl::StatusOr<ImageHeader> skipped = ReadImageHeader(JpegDeclaring(640, 2));
  ASSERT_TRUE(skipped.ok()) << skipped.status();
  EXPECT_EQ(skipped->width, 640);
  EXPECT_EQ(skipped->height, 2);
  const std::string png(
      "\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x01\x00\x00\x00\x00\x40",
      24);
  absl::StatusOr<ImageHeader> p = ReadImageHeader(png);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->format, ImageHeader::Format::kPng);
  EXPECT_EQ(p->width, 256);
  EXPECT_EQ(p->height, 64);
}

TEST(ImageHeaderTest, WhatIsNoImageOrClaimsTooMuchIsRefusedByItsHeader) {
  for (const std::string& bad :
       {std::string("GIF89a"), std::string(), std::string("\xff\xd8", 2),
        std::string("\xff\xd8\xff\xda\x00\x02", 6),  // data before a frame
        JpegDeclaring(640, 480).substr(0, 15),       // header cut short
        JpegDeclaring(0, 480), std::string("\x89PNG\r\n\x1a\n\x00\x00", 10)}) {
    EXPECT_EQ(ReadImageHeader(bad).status().code(),
              absl::StatusCode::kInvalidArgument)
        << absl::CEscape(bad);
  }
  EXPECT_TRUE(
      CheckImageSize(JpegDeclaring(4096, 1024), kCropLimits, "a crop").ok());
  for (const std::string& big :
       {JpegDeclaring(4097, 16), JpegDeclaring(2049, 2049),
        JpegDeclaring(20000, 20000)}) {
    absl::StatusOr<ImageHeader> h = CheckImageSize(big, kCropLimits, "a crop");
    EXPECT_EQ(h.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(h.status().message().find("a crop declares"), std::string::npos)
        << h.status();
  }
  // A whole frame may be an 8K camera's; a crop may not.
  EXPECT_TRUE(
      CheckImageSize(JpegDeclaring(7680, 4320), kFrameLimits, "a frame").ok());
  EXPECT_EQ(LimitsFor(v1::DATA_CATEGORY_SCENE_IMAGE).max_side,
            kFrameLimits.max_side);
  EXPECT_EQ(LimitsFor(v1::DATA_CATEGORY_FACE_IMAGE).max_side,
            kCropLimits.max_side);
}

// A progressive JPEG's decoder passes over the whole picture a scan: a
// small file of thousands of near-empty scans costs every read seconds.
TEST(ImageHeaderTest, AJpegOfTooManyScansOrTwoFramesIsRefused) {
  // A scan header (SOS, 8 bytes of length) and two bytes of data, with a
  // stuffed 0xFF 0x00 and a restart marker the walk must step over.
  const std::string scan(
      "\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00"
      "\x12\xff\x00\x34\xff\xd0\x56",
      17);
  std::string ok = JpegDeclaring(64, 64);
  for (int i = 0; i < kMaxJpegScans; ++i) ok += scan;
  EXPECT_TRUE(CheckImageSize(ok + "\xff\xd9", kCropLimits, "a crop").ok());
  const std::string many = ok + scan + "\xff\xd9";
  absl::StatusOr<ImageHeader> h = CheckImageSize(many, kCropLimits, "a crop");
  EXPECT_EQ(h.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(h.status().message().find("scans"), std::string::npos)
      << h.status();
  // A small frame declared first, a large one after it.
  std::string two = JpegDeclaring(100, 100) + scan;
  two += JpegDeclaring(5000, 600).substr(8);  // its SOF, not its SOI/APP0
  EXPECT_EQ(CheckImageSize(two, kCropLimits, "a crop").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(
      CheckImageSize(testing::TestJpeg(64, 48), kCropLimits, "a crop").ok());
  // 0xFF 0x00 between segments is two stray bytes to libjpeg, which then
  // reads on: a walk that skipped it as a segment of length 0x0400 would
  // land on a small frame and miss the large one the decoder reads.
  std::string hidden("\xff\xd8\xff\x00\x04\x00", 6);
  hidden += JpegDeclaring(20000, 20000).substr(8);
  hidden.resize(hidden.size() + 0x400, 'x');
  EXPECT_EQ(CheckImageSize(hidden, kCropLimits, "a crop").status().code(),
            absl::StatusCode::kInvalidArgument);
  std::string reserved = JpegDeclaring(64, 64) + "\xff\x50\x00\x04\x00\x00";
  EXPECT_EQ(CheckImageSize(reserved, kCropLimits, "a crop").status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Takes two mutexes in one order, then in the other: a lock-order cycle.
void InvertLockOrder() {
  absl::Mutex a, b;
  {
    absl::MutexLock first(&a);
    absl::MutexLock second(&b);
  }
  absl::MutexLock first(&b);
  absl::MutexLock second(&a);
}

// Debian's Abseil keeps its lock-order graph on (and aborts on a cycle), so
// tests catch an inversion; the programs drop the graph, which every lock in
// the process (gRPC's too) otherwise updates under one process-wide lock.
TEST(Program, TestsKeepTheLockOrderGraphAndReleaseProgramsDropIt) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(InvertLockOrder(), "deadlock");
  EXPECT_EXIT(
      {
        DropMutexDeadlockGraphInReleaseBuilds();
        InvertLockOrder();
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace lanevault
