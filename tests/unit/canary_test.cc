// Canaries must be indistinguishable, or they catch nobody. A vault takes
// in real crossings with decoys planted among them, then every
// distinguisher that told them apart before — twin durations and start
// times through the API, identical intake times in the access log, sealed
// plate-text lengths, crop sizes and the marks table in a copy of the file —
// is run over it, and none may do better than chance.

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/ids.h"
#include "gtest/gtest.h"
#include "policy/policy.h"
#include "testing/test_util.h"
#include "testing/vault_fixture.h"
#include "wiring/vault_intake.h"

namespace lanevault::api {
namespace {

class CanaryTest : public testing::VaultFixture {
 protected:
  // A crossing as a lane forms it: varied durations, crop sizes, lags.
  v1::Record Crossing() {
    v1::Record r;
    r.set_record_id(NewId("rec_"));
    r.set_lane_id("lane-1");
    r.set_checkpoint_id("demo-poe");
    const absl::Duration lag = absl::Milliseconds(300 + RandomBelow(700));
    const absl::Time last = clock_.Now() - lag;
    // One vehicle at a time: a crossing starts after the one before ended.
    // To the microsecond, as a lane's frame times (absl::Now() at each
    // frame) make them.
    const absl::Duration duration =
        std::min(absl::Milliseconds(2000 + RandomBelow(6000)) +
                     absl::Microseconds(RandomBelow(1000)),
                 last - lane_free_from_ - absl::Milliseconds(200));
    lane_free_from_ = last;
    *r.mutable_first_seen() = ToProto(last - duration);
    *r.mutable_last_seen() = ToProto(last);
    static constexpr char kChars[] = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789";
    std::string plate(7, ' ');
    for (char& c : plate) c = kChars[RandomBelow(sizeof kChars - 1)];
    const std::pair<v1::DataCategory, std::string> items[] = {
        {v1::DATA_CATEGORY_PLATE_TEXT, plate},
        // JPEG crops vary widely; a narrow range would make exact repeats
        // so common among real records that a decoy's could hide in them.
        // Intake reads an image's header, so each begins as a JPEG.
        {v1::DATA_CATEGORY_PLATE_IMAGE,
         testing::JpegHeaderThen(RandomBytes(3000 + RandomBelow(30000)))},
        {v1::DATA_CATEGORY_FACE_IMAGE,
         testing::JpegHeaderThen(RandomBytes(1500 + RandomBelow(20000)))}};
    for (const auto& [category, content] : items) {
      v1::Item* item = r.add_items();
      item->set_item_id(NewId("itm_"));
      item->set_category(category);
      item->set_content(content);
      item->set_confidence(0.5f + RandomBelow(50) / 100.0f);
      item->mutable_box()->set_x(static_cast<int32_t>(RandomBelow(1000)));
      item->mutable_box()->set_width(static_cast<int32_t>(RandomBelow(300)));
      item->set_frame_index(RandomBelow(100000));
    }
    return r;
  }

  // The fraction of canaries, and of real records, a distinguisher flags.
  struct Rates {
    double canaries = 0, real = 0;
  };
  Rates Score(const std::set<std::string>& flagged) {
    Rates r;
    for (const auto& [id, canary] : is_canary_) {
      (canary ? r.canaries : r.real) += flagged.contains(id) ? 1 : 0;
    }
    r.canaries /= std::max(1, canaries_);
    r.real /= std::max<size_t>(1, is_canary_.size() - canaries_);
    return r;
  }

  // How many standard errors the canaries' rate stands above the real
  // records' (a two-proportion z statistic, pooled). A fixed margin between
  // two sampled rates fails now and then by chance alone; this does not,
  // yet a distinguisher worth the name scores far above it.
  double Excess(const Rates& r) const {
    const double nc = canaries_;
    const double nr = static_cast<double>(is_canary_.size()) - canaries_;
    const double pooled = (r.canaries * nc + r.real * nr) / (nc + nr);
    const double se = std::sqrt(pooled * (1 - pooled) * (1 / nc + 1 / nr));
    if (se == 0) return 0;  // nothing flagged, or everything: no difference
    return (r.canaries - r.real) / se;
  }

  absl::Time lane_free_from_ = absl::InfinitePast();
  std::map<std::string, bool> is_canary_;
  int canaries_ = 0;
};

TEST_F(CanaryTest, NoDistinguisherDoesBetterThanChance) {
  auto policy = policy::NewBuiltinPolicy();
  wiring::VaultIntake intake(policy.get(), vault_.get(), /*canary_every=*/3,
                             absl::Minutes(5), /*planter_thread=*/false);
  // Crossings every 3-15 s; the planter looks in between, as its thread
  // does every quarter second.
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(intake.Submit(Crossing()).ok());
    for (int tick = 0; tick < 6; ++tick) {
      clock_.Advance(absl::Milliseconds(500 + RandomBelow(2000)));
      intake.PlantDueCanaries();
    }
    // A real thread's tick and a crossing never share a microsecond.
    clock_.Advance(absl::Microseconds(1 + RandomBelow(1000)));
  }
  for (int tick = 0; tick < 200; ++tick) {
    clock_.Advance(absl::Milliseconds(250));
    intake.PlantDueCanaries();
  }

  vault::RecordQuery all;
  all.limit = 10000;
  auto records = vault_->Find(all);
  ASSERT_TRUE(records.ok());
  std::map<std::string, v1::RecordSummary> by_id;
  for (const v1::RecordSummary& s : *records) {
    by_id[s.record_id()] = s;
    is_canary_[s.record_id()] = *vault_->IsCanary(s.record_id());
    canaries_ += is_canary_[s.record_id()] ? 1 : 0;
  }
  ASSERT_GT(canaries_, 50);  // about one in three
  auto duration = [](const v1::RecordSummary& s) {
    return FromProto(s.last_seen()) - FromProto(s.first_seen());
  };

  // 1. A twin: another record of exactly the same duration (through the
  // API), and one starting 0.5-20.5 s later with it.
  std::set<std::string> twins, offset_twins;
  for (const auto& [a, sa] : by_id) {
    for (const auto& [b, sb] : by_id) {
      if (a == b || duration(sa) != duration(sb)) continue;
      twins.insert(a);
      const absl::Duration gap =
          FromProto(sb.first_seen()) - FromProto(sa.first_seen());
      if (gap >= absl::Milliseconds(500) && gap <= absl::Milliseconds(20500)) {
        offset_twins.insert(a);
      }
    }
  }
  // One lane sees one vehicle at a time: a record overlapping another.
  std::set<std::string> overlapping;
  for (const auto& [a, sa] : by_id) {
    for (const auto& [b, sb] : by_id) {
      if (a != b && FromProto(sa.first_seen()) < FromProto(sb.last_seen()) &&
          FromProto(sb.first_seen()) < FromProto(sa.last_seen())) {
        overlapping.insert(a);
      }
    }
  }
  // 2. The access log: an intake entry at the very time of another's.
  auto log = vault_->log().Entries(0, vault_->log().Size());
  ASSERT_TRUE(log.ok());
  std::map<int64_t, std::vector<std::string>> by_time;
  for (const v1::AuditEntry& e : *log) {
    if (e.action() == v1::ACTION_INTAKE && !e.record_id().empty()) {
      by_time[absl::ToUnixMicros(FromProto(e.time()))].push_back(e.record_id());
    }
  }
  std::set<std::string> same_time;
  for (const auto& [t, ids] : by_time) {
    if (ids.size() > 1) same_time.insert(ids.begin(), ids.end());
  }
  // 3. A copy of the file: sealed lengths, repeated crop sizes, marks.
  const std::string rows = testing::QueryBlob(
      db_path(),
      "SELECT group_concat(record_id || ':' || category || ':' || "
      "length(ciphertext), ' ') FROM items");
  std::map<std::string, std::vector<std::pair<int, int>>> sealed;
  std::map<std::pair<int, int>, int> length_count;
  std::set<int> plate_lengths;
  for (absl::string_view row : absl::StrSplit(rows, ' ')) {
    std::vector<std::string> f = absl::StrSplit(row, ':');
    ASSERT_EQ(f.size(), 3u) << row;
    int category = 0, length = 0;
    ASSERT_TRUE(absl::SimpleAtoi(f[1], &category));
    ASSERT_TRUE(absl::SimpleAtoi(f[2], &length));
    sealed[f[0]].push_back({category, length});
    ++length_count[{category, length}];
    if (category == v1::DATA_CATEGORY_PLATE_TEXT) plate_lengths.insert(length);
  }
  std::set<std::string> repeated_size;
  for (const auto& [id, items] : sealed) {
    for (const auto& item : items) {
      if (item.first != v1::DATA_CATEGORY_PLATE_TEXT &&
          length_count[item] > 1) {
        repeated_size.insert(id);
      }
    }
  }
  EXPECT_EQ(plate_lengths.size(), 1u) << "sealed plate texts differ in length";
  // Every record's row carries a mark of one length (keyed for a decoy,
  // random otherwise), so the file does not count the canaries.
  EXPECT_EQ(testing::QueryBlob(db_path(),
                               "SELECT COUNT(*) FROM records WHERE "
                               "length(canary_mark) = (SELECT "
                               "length(canary_mark) FROM records LIMIT 1)"),
            testing::QueryBlob(db_path(), "SELECT COUNT(*) FROM records"))
      << "a record without its mark, or of another length";

  // 4. When its items expire: real deadlines run from whole cells of the
  // coarsest purpose (the built-in policy's hour), so the crossings of one
  // hour expire at one instant; a decoy's expiring at another would stand
  // out to a search run just after.
  std::set<std::string> off_the_grid;
  for (const auto& [id, summary] : by_id) {
    auto read = vault_->Read(id, {}, {});
    ASSERT_TRUE(read.ok()) << read.status();
    for (const v1::Item& item : read->items()) {
      const absl::Time deadline = FromProto(item.deadline());
      if (FloorTo(deadline, absl::Hours(1)) != deadline) {
        off_the_grid.insert(id);
      }
    }
  }
  const std::pair<const char*, const std::set<std::string>*> tests[] = {
      {"a deadline off the hour", &off_the_grid},
      {"duration twin", &twins},
      {"twin starting 0.5-20.5 s later", &offset_twins},
      {"intake logged at another's time", &same_time},
      {"a crop size repeated exactly", &repeated_size}};
  // Known and not yet closed: a decoy is planted while the lane may be
  // busy with a crossing the capture node has not finished, so on a busy
  // lane decoys overlap real crossings more often than real ones overlap
  // each other (never). Measured, not asserted; see the README.
  const Rates overlap = Score(overlapping);
  RecordProperty("overlap_canaries", absl::StrCat(overlap.canaries));
  RecordProperty("overlap_real", absl::StrCat(overlap.real));
  std::printf("overlap: %.2f of canaries, %.2f of real records\n",
              overlap.canaries, overlap.real);
  // Five standard errors either way (flagged more often, or less: both
  // tell decoys apart): by chance about once in 1.7 million runs. A decoy
  // that copied a real crop's size exactly, or a duration, scores tens.
  for (const auto& [name, flagged] : tests) {
    const Rates r = Score(*flagged);
    EXPECT_LE(std::abs(Excess(r)), 5.0)
        << name << ": flags " << r.canaries << " of canaries, " << r.real
        << " of real records";
  }
}

}  // namespace
}  // namespace lanevault::api
