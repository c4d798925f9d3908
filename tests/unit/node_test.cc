// The capture node's parts against a real vault behind a real gRPC server
// over mutual TLS: the spool (durable, in order, bounded, damage set
// aside), the sealing sink (nothing plain on disk) and the sender
// (acknowledged means removed, resends stored once, outages and refusals).

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/files.h"
#include "common/ids.h"
#include "common/time_util.h"
#include "crypto/sealed_box.h"
#include "gtest/gtest.h"
#include "node/sealing_sink.h"
#include "node/spool.h"
#include "node/vault_sender.h"
#include "testing/api_fixture.h"
#include "testing/test_util.h"

namespace lanevault {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

v1::SpoolEntry Entry(const std::string& lane, int64_t settled = 0,
                     const std::string& source = "") {
  v1::SpoolEntry e;
  e.set_lane_id(lane);
  e.set_checkpoint_id("demo-poe");
  e.set_sealed_record(RandomBytes(300));
  e.set_idempotency_key(NewId("sub_"));
  *e.mutable_spooled_at() = ToProto(absl::Now());
  e.set_source(source);
  e.set_settled_before(settled);
  return e;
}

std::vector<std::string> Files(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out.push_back(e.path().string());
  }
  return out;
}

std::unique_ptr<node::Spool> OpenSpool(const std::string& dir,
                                       node::SpoolLimits limits = {}) {
  auto spool = node::Spool::Open(dir, limits);
  EXPECT_TRUE(spool.ok()) << spool.status();
  return spool.ok() ? std::move(*spool) : nullptr;
}

TEST(SpoolTest, KeepsEntriesInOrderAcrossAReopen) {
  TempDir dir;
  const std::string path = dir.Join("spool");
  std::vector<std::string> keys;
  {
    auto spool = OpenSpool(path);
    for (int i = 0; i < 5; ++i) {
      v1::SpoolEntry e = Entry("lane-1");
      keys.push_back(e.idempotency_key());
      ASSERT_TRUE(spool->Append(e).ok());
    }
    // Taken, not removed: a crash now leaves it for the next start.
    auto first = spool->Take(absl::ZeroDuration());
    ASSERT_TRUE(first.has_value());
    EXPECT_EQ(first->entry.idempotency_key(), keys[0]);
  }
  auto spool = OpenSpool(path);
  EXPECT_EQ(spool->Stats().depth, 5u);
  for (int i = 0; i < 5; ++i) {
    auto taken = spool->Take(absl::ZeroDuration());
    ASSERT_TRUE(taken.has_value());
    EXPECT_EQ(taken->entry.idempotency_key(), keys[i]);
    ASSERT_TRUE(spool->Remove(*taken).ok());
  }
  EXPECT_FALSE(spool->Take(absl::ZeroDuration()).has_value());
  EXPECT_EQ(spool->Stats().depth, 0u);
}

TEST(SpoolTest, AReturnedEntryIsTakenAgainFirst) {
  TempDir dir;
  auto spool = OpenSpool(dir.Join("spool"));
  v1::SpoolEntry a = Entry("lane-1"), b = Entry("lane-1");
  ASSERT_TRUE(spool->Append(a).ok());
  ASSERT_TRUE(spool->Append(b).ok());
  auto first = spool->Take(absl::ZeroDuration());
  spool->Return(first->seq);
  auto again = spool->Take(absl::ZeroDuration());
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->entry.idempotency_key(), a.idempotency_key());
}

TEST(SpoolTest, ADamagedEntryIsSetAsideAndTheRestGoOn) {
  TempDir dir;
  const std::string path = dir.Join("spool");
  std::vector<std::string> keys;
  {
    auto spool = OpenSpool(path);
    for (int i = 0; i < 4; ++i) {
      v1::SpoolEntry e = Entry("lane-1");
      keys.push_back(e.idempotency_key());
      ASSERT_TRUE(spool->Append(e).ok());
    }
  }
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(path)) {
    if (e.path().extension() == ".rec") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  ASSERT_EQ(files.size(), 4u);
  {  // one byte flipped in the second, the third cut short
    std::fstream f(files[1], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(40);
    f.put('\x5a');
  }
  fs::resize_file(files[2], fs::file_size(files[2]) / 2);
  auto spool = OpenSpool(path);
  EXPECT_EQ(spool->Stats().damaged, 2u);
  EXPECT_EQ(spool->Stats().depth, 2u);
  // Damage that appears while the node runs is caught when it is taken.
  {
    std::ofstream f(files[3], std::ios::binary | std::ios::trunc);
    f << "garbage";
  }
  auto taken = spool->Take(absl::ZeroDuration());
  ASSERT_TRUE(taken.has_value());
  EXPECT_EQ(taken->entry.idempotency_key(), keys[0]);
  EXPECT_FALSE(spool->Take(absl::ZeroDuration()).has_value());
  EXPECT_EQ(spool->Stats().damaged, 3u);
  EXPECT_EQ(Files(path + "/damaged").size(), 3u);
}

// Files a vendor with root on the camera host could leave in the spool: a
// FIFO (a read would block), a link to /dev/zero (a read would never end),
// a sparse giant. Each is damage, set aside; the node starts and goes on.
TEST(SpoolTest, WhatNoNodeWroteNeitherHangsNorExhaustsTheNode) {
  TempDir dir;
  const std::string path = dir.Join("spool");
  v1::SpoolEntry real = Entry("lane-1");
  { ASSERT_TRUE(OpenSpool(path)->Append(real).ok()); }
  ASSERT_EQ(::mkfifo((path + "/00000000000000000007.rec").c_str(), 0600), 0);
  fs::create_symlink("/dev/zero", path + "/00000000000000000008.rec");
  { std::ofstream f(path + "/00000000000000000009.rec", std::ios::binary); }
  fs::resize_file(path + "/00000000000000000009.rec", uint64_t{4} << 30);
  auto spool = OpenSpool(path);
  EXPECT_EQ(spool->Stats().damaged, 3u);
  auto taken = spool->Take(absl::ZeroDuration());
  ASSERT_TRUE(taken.has_value());
  EXPECT_EQ(taken->entry.idempotency_key(), real.idempotency_key());
  EXPECT_FALSE(spool->Take(absl::ZeroDuration()).has_value());
}

TEST(SpoolTest, ADeferredEntryWaitsWhileTheOthersGoOn) {
  TempDir dir;
  auto spool = OpenSpool(dir.Join("spool"));
  v1::SpoolEntry a = Entry("lane-9"), b = Entry("lane-1");
  ASSERT_TRUE(spool->Append(a).ok());
  ASSERT_TRUE(spool->Append(b).ok());
  auto first = spool->Take(absl::ZeroDuration());
  spool->Defer(first->seq, absl::Milliseconds(300));
  auto next = spool->Take(absl::ZeroDuration());
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->entry.idempotency_key(), b.idempotency_key());
  EXPECT_FALSE(spool->Take(absl::ZeroDuration()).has_value());
  auto again = spool->Take(absl::Seconds(2));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->entry.idempotency_key(), a.idempotency_key());
}

TEST(SpoolTest, AFullSpoolRefusesUntilItDrains) {
  TempDir dir;
  node::SpoolLimits limits;
  limits.max_records = 2;
  auto spool = OpenSpool(dir.Join("spool"), limits);
  ASSERT_TRUE(spool->Append(Entry("lane-1")).ok());
  ASSERT_TRUE(spool->Append(Entry("lane-1")).ok());
  const auto full = spool->Append(Entry("lane-1"));
  EXPECT_TRUE(absl::IsResourceExhausted(full.status())) << full.status();
  EXPECT_TRUE(spool->Stats().full);
  EXPECT_EQ(spool->Stats().full_refusals, 1u);
  auto taken = spool->Take(absl::ZeroDuration());
  ASSERT_TRUE(spool->Remove(*taken).ok());
  EXPECT_TRUE(spool->Append(Entry("lane-1")).ok());
  EXPECT_FALSE(spool->Stats().full);
}

TEST(SpoolTest, AHalfWrittenFileFromACrashIsCleared) {
  TempDir dir;
  const std::string path = dir.Join("spool");
  { auto spool = OpenSpool(path); }
  ASSERT_TRUE(
      WriteFileAtomically(path + "/00000000000000000001.rec.tmp", "half", 0600)
          .ok());
  auto spool = OpenSpool(path);
  EXPECT_EQ(spool->Stats().depth, 0u);
  EXPECT_FALSE(fs::exists(path + "/00000000000000000001.rec.tmp"));
}

TEST(SpoolTest, AFolderOthersCanReadIsRefused) {
  TempDir dir;
  const std::string path = dir.Join("open");
  fs::create_directories(path);
  ::chmod(path.c_str(), 0755);
  auto spool = node::Spool::Open(path, {});
  EXPECT_TRUE(absl::IsFailedPrecondition(spool.status())) << spool.status();
}

// The floor a restarted lane resumes past: from the entries present, and
// kept on disk before an entry is removed.
TEST(SpoolTest, TheFloorOutlivesTheEntriesThatSetIt) {
  TempDir dir;
  const std::string path = dir.Join("spool");
  {
    auto spool = OpenSpool(path);
    ASSERT_TRUE(spool->Append(Entry("lane-1", 120, "file:/a size=1")).ok());
    ASSERT_TRUE(spool->Append(Entry("lane-1", 260, "file:/a size=1")).ok());
    auto taken = spool->Take(absl::ZeroDuration());
    ASSERT_TRUE(spool->Remove(*taken).ok());
    taken = spool->Take(absl::ZeroDuration());
    ASSERT_TRUE(spool->Remove(*taken).ok());
    ASSERT_TRUE(spool->Append(Entry("lane-2", 40, "file:/b size=1")).ok());
  }
  auto spool = OpenSpool(path);
  EXPECT_EQ(spool->Floor("lane-1", "file:/a size=1"), 260);
  EXPECT_EQ(spool->Floor("lane-2", "file:/b size=1"), 40);
  EXPECT_EQ(spool->Floor("lane-1", "file:/a size=2"), 0);  // another file
}

class NodeTest : public testing::ApiFixture {
 protected:
  node::SenderOptions Options(const std::string& address = "") {
    auto creds = rpc::ClientTlsCredentials(dir_->Join("pki/ca.pem"),
                                           dir_->Join("pki/lane-dev.pem"),
                                           dir_->Join("pki/lane-dev.key"));
    EXPECT_TRUE(creds.ok());
    node::SenderOptions o;
    o.addresses = {address.empty() ? absl::StrCat("127.0.0.1:", server_->port())
                                   : address};
    o.credentials = *creds;
    o.server_name = "localhost";
    o.timeout = absl::Seconds(5);
    o.initial_backoff = absl::Milliseconds(20);
    o.max_backoff = absl::Milliseconds(200);
    return o;
  }

  v1::Record Crossing(const std::string& plate, const std::string& crop) {
    v1::Record r;
    r.set_record_id(NewId("rec_"));
    r.set_lane_id("lane-1");
    r.set_checkpoint_id("demo-poe");
    *r.mutable_first_seen() = ToProto(absl::Now());
    *r.mutable_last_seen() = ToProto(absl::Now());
    auto* text = r.add_items();
    text->set_item_id(NewId("itm_"));
    text->set_category(v1::DATA_CATEGORY_PLATE_TEXT);
    text->set_content(plate);
    auto* face = r.add_items();
    face->set_item_id(NewId("itm_"));
    face->set_category(v1::DATA_CATEGORY_FACE_IMAGE);
    face->set_content(testing::JpegHeaderThen(crop));
    return r;
  }

  TempDir node_dir_;
};

TEST_F(NodeTest, TheSpoolHoldsNothingPlainAndOnlyTheVaultOpensIt) {
  auto spool = OpenSpool(node_dir_.Join("spool"));
  node::SealingSink sink(vault_->intake_key().public_key(), spool.get());
  std::string crop = RandomBytes(4096);
  // As scan data holds it (no marker), so the sealed crop holds it as is.
  std::replace(crop.begin(), crop.end(), '\xff', '\xfe');
  ASSERT_TRUE(sink.Submit(Crossing("QZX8812", crop)).ok());
  const std::vector<std::string> files = Files(node_dir_.path());
  ASSERT_FALSE(files.empty());
  for (const std::string& f : files) {
    auto bytes = ReadFileToString(f);
    ASSERT_TRUE(bytes.ok());
    EXPECT_FALSE(absl::StrContains(*bytes, "QZX8812")) << f;
    EXPECT_FALSE(absl::StrContains(*bytes, crop.substr(0, 64))) << f;
    EXPECT_FALSE(absl::StrContains(*bytes, crop.substr(2048, 64))) << f;
  }
  auto taken = spool->Take(absl::ZeroDuration());
  ASSERT_TRUE(taken.has_value());
  auto opened = vault_->intake_key().Open(taken->entry.sealed_record());
  ASSERT_TRUE(opened.ok());
  v1::Record back;
  ASSERT_TRUE(
      back.ParseFromArray(opened->data(), static_cast<int>(opened->size())));
  EXPECT_EQ(back.items(0).content(), "QZX8812");
}

TEST_F(NodeTest, TheSenderDrainsTheSpoolAndAResendIsStoredOnce) {
  auto spool = OpenSpool(node_dir_.Join("spool"));
  node::SealingSink sink(vault_->intake_key().public_key(), spool.get());
  const auto before = vault_->RecordCount();
  ASSERT_TRUE(before.ok());
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(sink.Submit(Crossing(absl::StrCat("AB", 1000 + i), "c")).ok());
  }
  // The same entry twice: an acknowledgement lost on the way back.
  auto first = spool->Take(absl::ZeroDuration());
  ASSERT_TRUE(first.has_value());
  spool->Return(first->seq);
  ASSERT_TRUE(spool->Append(first->entry).ok());
  node::VaultSender sender(spool.get(), Options());
  sender.Start();
  ASSERT_TRUE(sender.WaitUntilDrained(absl::Seconds(30)));
  sender.Stop(absl::ZeroDuration());
  EXPECT_EQ(*vault_->RecordCount(), *before + 6);
  EXPECT_EQ(sender.Stats().sent, 6u);
  EXPECT_EQ(sender.Stats().already_stored, 1u);
  EXPECT_TRUE(Files(node_dir_.Join("spool/refused")).empty());
}

TEST_F(NodeTest, AnUnreachableVaultLeavesRecordsSpooledUntilItIsBack) {
  auto spool = OpenSpool(node_dir_.Join("spool"));
  node::SealingSink sink(vault_->intake_key().public_key(), spool.get());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(sink.Submit(Crossing(absl::StrCat("CD", 2000 + i), "c")).ok());
  }
  const auto before = vault_->RecordCount();
  // Port 1 on loopback: nothing listens.
  node::VaultSender sender(spool.get(), Options("127.0.0.1:1"));
  sender.Start();
  absl::SleepFor(absl::Milliseconds(600));
  EXPECT_EQ(spool->Stats().depth, 3u);
  EXPECT_GT(sender.Stats().failures, 0u);
  EXPECT_FALSE(sender.Stats().last_error.empty());
  // A second address (failover) that answers.
  node::SenderOptions both = Options("127.0.0.1:1");
  both.addresses.push_back(absl::StrCat("127.0.0.1:", server_->port()));
  sender.Reconfigure(both);
  ASSERT_TRUE(sender.WaitUntilDrained(absl::Seconds(30)));
  sender.Stop(absl::ZeroDuration());
  EXPECT_EQ(*vault_->RecordCount(), *before + 3);
  EXPECT_TRUE(sender.Stats().last_error.empty());
}

TEST_F(NodeTest, ARecordTheVaultRefusesForGoodIsSetAsideNotRetried) {
  auto spool = OpenSpool(node_dir_.Join("spool"));
  // Sealed to a key that is not the vault's: it never opens there.
  const std::string other = RandomBytes(32);
  node::SealingSink wrong(other, spool.get());
  node::SealingSink right(vault_->intake_key().public_key(), spool.get());
  ASSERT_TRUE(wrong.Submit(Crossing("EF3000", "c")).ok());
  ASSERT_TRUE(right.Submit(Crossing("EF3001", "c")).ok());
  node::VaultSender sender(spool.get(), Options());
  sender.Start();
  ASSERT_TRUE(sender.WaitUntilDrained(absl::Seconds(30)));
  sender.Stop(absl::ZeroDuration());
  EXPECT_EQ(sender.Stats().refused, 1u);
  EXPECT_EQ(sender.Stats().sent, 1u);
  EXPECT_EQ(Files(node_dir_.Join("spool/refused")).size(), 1u);
  EXPECT_EQ(spool->Stats().refused, 1u);
}

// Under the pilot contract the dev lane certificate is bound to lane-1: a
// record for another lane (a vendor's, or a misconfigured lane) is refused
// and its lane's records wait in the spool, without holding up lane-1's
// and without being resent until the node locks itself out.
class NodePilotTest : public NodeTest {
 protected:
  std::unique_ptr<policy::Policy> MakePolicy() override {
    return testing::PilotPolicy();
  }
};

TEST_F(NodePilotTest, ARecordForAnUnboundLaneWaitsAndTheRestGoOn) {
  auto spool = OpenSpool(node_dir_.Join("spool"));
  node::SealingSink sink(vault_->intake_key().public_key(), spool.get());
  // More strays than the refusals that would lock the node out.
  for (int i = 0; i < 12; ++i) {
    v1::Record stray = Crossing(absl::StrCat("GH", 3900 + i), "c");
    stray.set_lane_id("lane-2");
    ASSERT_TRUE(sink.Submit(stray).ok());
  }
  // And one larger than the vault takes (4 MiB): set aside at once.
  ASSERT_TRUE(sink.Submit(Crossing("GH3999", RandomBytes(5 << 20))).ok());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(sink.Submit(Crossing(absl::StrCat("GH", 4001 + i), "c")).ok());
  }
  const auto before = vault_->RecordCount();
  node::SenderOptions options = Options();
  options.in_flight = 1;
  node::VaultSender sender(spool.get(), options);
  sender.Start();
  for (int i = 0; i < 100 && *vault_->RecordCount() < *before + 3; ++i) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  absl::SleepFor(absl::Milliseconds(500));
  sender.Stop(absl::ZeroDuration());
  EXPECT_EQ(*vault_->RecordCount(), *before + 3);
  EXPECT_EQ(spool->Stats().depth, 12u);   // the strays, kept
  EXPECT_EQ(spool->Stats().refused, 1u);  // the giant, set aside
  int refusals = 0;
  for (const v1::AuditEntry& e : Log()) {
    refusals += e.reason_code() == "lane_not_bound";
    EXPECT_NE(e.reason_code(), "locked_out");
  }
  EXPECT_EQ(refusals, 1);
}

TEST(NodeKeyTest, TheIntakeKeyIsBase64OfThirtyTwoBytes) {
  EXPECT_FALSE(node::ParseIntakePublicKey("not base64!").ok());
  EXPECT_FALSE(node::ParseIntakePublicKey("AAAA").ok());
  auto key = node::ParseIntakePublicKey(
      "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n");
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->size(), 32u);
}

}  // namespace
}  // namespace lanevault
