// The witness half of "history root cannot rewrite": cosignatures as C2SP
// tlog-cosignature defines them (the spec's own example, a signed-note
// vector, a fixed key), and a real lanevault-witness library served over
// loopback HTTP with its state in real files: it cosigns a growing log,
// refuses a fork with the status the spec gives and keeps its state, and
// survives a restart.

#include "witness/witness.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "crypto/secure_bytes.h"
#include "crypto/signing.h"
#include "gtest/gtest.h"
#include "testing/test_util.h"
#include "tlog/checkpoint.h"
#include "tlog/cosignature.h"
#include "tlog/merkle.h"
#include "witness/client.h"
#include "witness/http_server.h"

namespace lanevault {
namespace {

using tlog::Hash;
using witness::AddCheckpointResult;

// A key from a fixed seed, through the same 0600 file the programs use.
crypto::SigningKey KeyFromSeed(const testing::TempDir& dir,
                               const std::string& name,
                               const std::string& seed) {
  const std::string path = dir.Join(name);
  {
    std::ofstream out(path, std::ios::binary);
    out << seed;
  }
  ::chmod(path.c_str(), 0600);
  auto key = crypto::SigningKey::LoadFromFile(path);
  EXPECT_TRUE(key.ok()) << key.status();
  return std::move(*key);
}

// --- Cosignature format ---------------------------------------------------

TEST(Cosignature, TheSpecsExampleLineCarriesItsTimestampBigEndian) {
  // tlog-cosignature's example: its line for witness.example.com/w1 and its
  // signed message example ("time 1679315147") are the same cosignature.
  std::string blob;
  ASSERT_TRUE(absl::Base64Unescape(
      "jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin"
      "1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==",
      &blob));
  ASSERT_EQ(blob.size(), 4u + 8u + 64u);
  uint64_t t = 0;
  for (int i = 4; i < 12; ++i)
    t = (t << 8) | static_cast<unsigned char>(blob[i]);
  EXPECT_EQ(t, 1679315147u);
  EXPECT_EQ(tlog::CosignedMessage("example.com/behind-the-sofa\n20852163\n"
                                  "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
                                  "\n",
                                  1679315147),
            "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n"
            "20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n");
}

TEST(Cosignature, SignedNoteKeyHashMatchesGosVector) {
  // golang.org/x/mod/sumdb/note's documented key: the key ID rule (type byte
  // after the name's newline) that cosignature/v1 reuses with type 0x04.
  const std::string vkey =
      "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
  std::string key;
  ASSERT_TRUE(absl::Base64Unescape(
      "ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", &key));
  EXPECT_EQ(tlog::VerifierKey("PeterNeumann", key.substr(1)), vkey);
  std::string sig;
  ASSERT_TRUE(absl::Base64Unescape(
      "x08go/ZJkuBS9UG/"
      "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngo"
      "tpRZb6KE6RyyBwJnAM=",
      &sig));
  EXPECT_TRUE(crypto::VerifyEd25519(
      key.substr(1),
      "If you think cryptography is the answer to your problem,\n"
      "then you don't know what your problem is.\n",
      sig.substr(4)));
}

TEST(Cosignature, FixedKeyGivesTheFixedLineAndVerifies) {
  ASSERT_TRUE(crypto::InitCrypto().ok());
  testing::TempDir dir;
  // RFC 8032 test 1's secret key.
  const crypto::SigningKey key = KeyFromSeed(
      dir, "w.key",
      absl::HexStringToBytes(
          "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
  EXPECT_EQ(absl::BytesToHexString(key.public_key()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  const std::string body =
      "example.com/behind-the-sofa\n20852163\n"
      "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
  const std::string line =
      tlog::Cosign(body, 1679315147, "witness.example.com/w1", key);
  // The key ID, then 0x00000000641850CB, then the signature.
  std::string blob;
  ASSERT_TRUE(absl::Base64Unescape(
      line.substr(line.rfind(' ') + 1, line.size() - line.rfind(' ') - 2),
      &blob));
  EXPECT_EQ(blob.substr(0, 4),
            tlog::CosignerKeyId("witness.example.com/w1", key.public_key()));
  EXPECT_EQ(absl::BytesToHexString(blob.substr(4, 8)), "00000000641850cb");
  EXPECT_TRUE(crypto::VerifyEd25519(key.public_key(),
                                    tlog::CosignedMessage(body, 1679315147),
                                    blob.substr(12)));

  const std::string vkey =
      tlog::CosignerVerifierKey("witness.example.com/w1", key.public_key());
  auto parsed = tlog::ParseCosignerVerifierKey(vkey);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const std::string note = body + "\n\xe2\x80\x94 log AAAA\n" + line;
  auto verified = tlog::VerifyCosignatures(note, {*parsed});
  ASSERT_TRUE(verified.ok());
  ASSERT_EQ(verified->size(), 1u);
  EXPECT_EQ((*verified)[0].timestamp, 1679315147u);

  // Another body, another key, a log key (type 0x01): none counts.
  EXPECT_TRUE(
      tlog::VerifyCosignatures(
          "other\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n" + line,
          {*parsed})
          ->empty());
  EXPECT_FALSE(
      tlog::ParseCosignerVerifierKey(
          tlog::VerifierKey("witness.example.com/w1", key.public_key()))
          .ok());
  std::string bad = vkey;
  bad[bad.find('+') + 1] ^= 1;
  EXPECT_FALSE(tlog::ParseCosignerVerifierKey(bad).ok());
}

// --- The witness over loopback --------------------------------------------

// A log in memory: leaves, RFC 6962 proofs, checkpoints signed as lanevault
// signs them. `Rewrite` changes an entry and recomputes everything above it,
// as root on the vault host could.
class MemoryLog {
 public:
  MemoryLog(const crypto::SigningKey& key, std::string origin)
      : key_(key), origin_(std::move(origin)) {}
  void Append(int n) {
    for (int i = 0; i < n; ++i) {
      leaves_.push_back(tlog::LeafHash(absl::StrCat("entry ", leaves_.size())));
    }
  }
  void Rewrite(uint64_t index) { leaves_[index] = tlog::LeafHash("rewritten"); }
  uint64_t size() const { return leaves_.size(); }
  Hash Subtree(int level, uint64_t index) const {
    if (level == 0) return leaves_[index];
    return tlog::NodeHash(Subtree(level - 1, 2 * index),
                          Subtree(level - 1, 2 * index + 1));
  }
  std::string Checkpoint() const {
    auto root = tlog::RootHash(size(), [this](int l, uint64_t i) {
      return absl::StatusOr<Hash>(Subtree(l, i));
    });
    return tlog::SignCheckpoint({origin_, size(), *root}, key_);
  }
  std::vector<std::string> Proof(uint64_t from) const {
    auto p = tlog::ConsistencyProof(from, size(), [this](int l, uint64_t i) {
      return absl::StatusOr<Hash>(Subtree(l, i));
    });
    return *p;
  }
  std::string VerifierKey() const {
    return tlog::VerifierKey(origin_, key_.public_key());
  }

 private:
  const crypto::SigningKey& key_;
  std::string origin_;
  std::vector<Hash> leaves_;
};

class WitnessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(crypto::InitCrypto().ok());
    ASSERT_TRUE(crypto::SigningKey::CreateKeyFile(dir_.Join("log.key")).ok());
    ASSERT_TRUE(
        crypto::SigningKey::CreateKeyFile(dir_.Join("witness.key")).ok());
    log_key_ = std::make_unique<crypto::SigningKey>(
        *crypto::SigningKey::LoadFromFile(dir_.Join("log.key")));
    witness_key_ = std::make_unique<crypto::SigningKey>(
        *crypto::SigningKey::LoadFromFile(dir_.Join("witness.key")));
    log_ = std::make_unique<MemoryLog>(*log_key_, "vault.example/log");
    StartWitness();
  }

  void StartWitness() {
    client_.reset();  // its idle connection would hold the server's stop
    server_.reset();
    witness::WitnessOptions opts;
    opts.name = "witness.example/w1";
    opts.key = witness_key_.get();
    opts.state_dir = dir_.Join("state");
    opts.logs[std::string("vault.example/log")] = log_->VerifierKey();
    std::filesystem::create_directories(opts.state_dir);
    auto w = witness::Witness::Create(opts);
    ASSERT_TRUE(w.ok()) << w.status();
    witness_ = std::move(*w);
    auto s = witness::HttpServer::Start(witness_.get(), "127.0.0.1", 0);
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
    auto c = witness::WitnessClient::Create(
        absl::StrCat("http://127.0.0.1:", server_->port()), absl::Seconds(5));
    ASSERT_TRUE(c.ok()) << c.status();
    client_ = std::move(*c);
  }

  AddCheckpointResult Add(uint64_t old_size, std::vector<std::string> proof,
                          const std::string& note) {
    auto r = client_->AddCheckpoint(old_size, proof, note);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : AddCheckpointResult{};
  }

  // Pushes the log's head from `old`, as a log does; returns the result.
  AddCheckpointResult Push(uint64_t old) {
    return Add(old, old == 0 ? std::vector<std::string>{} : log_->Proof(old),
               log_->Checkpoint());
  }

  size_t Cosigners(const std::string& note_with_lines) {
    auto trusted =
        tlog::ParseCosignerVerifierKey(witness_->VerifierKey()).value();
    return tlog::VerifyCosignatures(note_with_lines, {trusted})->size();
  }

  testing::TempDir dir_;
  std::unique_ptr<crypto::SigningKey> log_key_, witness_key_;
  std::unique_ptr<MemoryLog> log_;
  std::unique_ptr<witness::Witness> witness_;
  std::unique_ptr<witness::HttpServer> server_;
  std::unique_ptr<witness::WitnessClient> client_;
};

TEST_F(WitnessTest, CosignsAGrowingLog) {
  uint64_t acknowledged = 0;
  for (int step : {1, 2, 5, 8, 1, 13, 34}) {
    log_->Append(step);
    const AddCheckpointResult r = Push(acknowledged);
    ASSERT_EQ(r.kind, AddCheckpointResult::Kind::kCosigned)
        << r.http_status << " " << r.message;
    EXPECT_EQ(Cosigners(log_->Checkpoint() + r.lines), 1u);
    acknowledged = log_->size();
  }
  // The same head again: cosigned again, nothing moves.
  EXPECT_EQ(Push(acknowledged).kind, AddCheckpointResult::Kind::kCosigned);
}

TEST_F(WitnessTest, TellsAClientThatGuessesWrongTheSizeItHolds) {
  log_->Append(10);
  ASSERT_EQ(Push(0).kind, AddCheckpointResult::Kind::kCosigned);
  log_->Append(3);
  const AddCheckpointResult r = Push(0);  // a log that lost track
  EXPECT_EQ(r.kind, AddCheckpointResult::Kind::kConflict);
  EXPECT_EQ(r.http_status, 409);
  EXPECT_EQ(r.witness_size, 10u);
  EXPECT_EQ(Push(r.witness_size).kind, AddCheckpointResult::Kind::kCosigned);
}

TEST_F(WitnessTest, RefusesAForkAndKeepsItsState) {
  log_->Append(20);
  ASSERT_EQ(Push(0).kind, AddCheckpointResult::Kind::kCosigned);
  const std::string cosigned = log_->Checkpoint();

  // Root rewrites entry 7 and recomputes the tree: same size, other root.
  log_->Rewrite(7);
  AddCheckpointResult same_size = Push(20);
  EXPECT_EQ(same_size.kind, AddCheckpointResult::Kind::kConflict);
  EXPECT_EQ(same_size.http_status, 409);
  EXPECT_EQ(same_size.witness_size, 20u);

  // ...and grows it: no proof joins the cosigned root to the new one.
  log_->Append(5);
  AddCheckpointResult grown = Push(20);
  EXPECT_EQ(grown.kind, AddCheckpointResult::Kind::kRefused);
  EXPECT_EQ(grown.http_status, 422);
  EXPECT_NE(grown.message.find("FORK"), std::string::npos) << grown.message;

  // Its state still names the honest head, and the refusals were kept.
  auto held =
      witness::WitnessStateDir(dir_.Join("state")).Load("vault.example/log");
  ASSERT_TRUE(held.ok() && held->has_value());
  EXPECT_EQ((*held)->size, 20u);
  EXPECT_EQ((*held)->checkpoint, cosigned);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(
                              dir_.Join("state/evidence")),
                          std::filesystem::directory_iterator()),
            2);
}

TEST_F(WitnessTest, RefusesWhatItCannotTrustWithTheSpecsCodes) {
  log_->Append(4);
  const std::string note = log_->Checkpoint();
  // A log it does not witness: 404.
  MemoryLog stranger(*log_key_, "other.example/log");
  stranger.Append(4);
  EXPECT_EQ(Add(0, {}, stranger.Checkpoint()).http_status, 404);
  // A checkpoint signed by another key: 403.
  MemoryLog forger(*witness_key_, "vault.example/log");
  forger.Append(4);
  EXPECT_EQ(Add(0, {}, forger.Checkpoint()).http_status, 403);
  // An old size above the checkpoint's: 400; a proof from 0: 400.
  EXPECT_EQ(Add(9, {}, note).http_status, 400);
  EXPECT_EQ(Add(0, {std::string(32, 'x')}, note).http_status, 400);
  // A body that is not a request at all: 400.
  EXPECT_EQ(witness_->AddCheckpoint("hello").status, 400);
  EXPECT_EQ(witness_->AddCheckpoint("old 01\n\n" + note).status, 400);
  // None of it moved the state.
  EXPECT_EQ(Push(0).kind, AddCheckpointResult::Kind::kCosigned);
}

TEST_F(WitnessTest, SurvivesARestartWithItsState) {
  log_->Append(12);
  ASSERT_EQ(Push(0).kind, AddCheckpointResult::Kind::kCosigned);
  StartWitness();  // a new process's worth: fresh objects, same files
  log_->Rewrite(3);
  log_->Append(1);
  EXPECT_EQ(Push(0).witness_size, 12u);
  EXPECT_EQ(Push(12).http_status, 422);
  // A damaged state file is refused, never taken for "never cosigned".
  {
    std::ofstream out(witness::WitnessStateDir(dir_.Join("state"))
                          .PathFor("vault.example/log"),
                      std::ios::trunc);
    out << "garbage";
  }
  EXPECT_EQ(Push(0).http_status, 500);
}

TEST_F(WitnessTest, AnUnreachableWitnessIsUnavailable) {
  const int port = server_->port();
  client_.reset();
  server_.reset();
  auto c = witness::WitnessClient::Create(
      absl::StrCat("http://127.0.0.1:", port), absl::Seconds(1));
  ASSERT_TRUE(c.ok());
  log_->Append(1);
  auto r = (*c)->AddCheckpoint(0, {}, log_->Checkpoint());
  EXPECT_TRUE(absl::IsUnavailable(r.status())) << r.status();
}

}  // namespace
}  // namespace lanevault
