#include "wiring/canary.h"

#include <algorithm>

#include "common/ids.h"
#include "common/time_util.h"

namespace lanevault::wiring {
namespace {

// Recent real shapes a decoy is drawn from.
constexpr size_t kShapes = 64;

std::string DecoyPlate() {
  static constexpr char kChars[] = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789";
  std::string plate(10, ' ');
  for (char& c : plate) c = kChars[RandomBelow(sizeof kChars - 1)];
  return plate;
}

// Uniform in [0, d).
absl::Duration RandomWithin(absl::Duration d) {
  const int64_t ms = std::max<int64_t>(1, absl::ToInt64Milliseconds(d));
  return absl::Milliseconds(
      RandomBelow(static_cast<uint32_t>(std::min<int64_t>(ms, 1 << 30))));
}

// Within 10 % of `d` either way, to the millisecond.
absl::Duration Jitter(absl::Duration d) {
  const int64_t ms = absl::ToInt64Milliseconds(d);
  const int64_t spread = std::max<int64_t>(1, ms / 5);
  return absl::Milliseconds(ms - ms / 10 +
                            RandomBelow(static_cast<uint32_t>(
                                std::min<int64_t>(spread, 1 << 30)))) +
         absl::Microseconds(RandomBelow(1000));
}

}  // namespace

uint64_t CanaryPlanter::Planted(absl::string_view lane_id) {
  absl::MutexLock lock(&mu_);
  auto it = planted_.find(std::string(lane_id));
  return it == planted_.end() ? 0 : it->second;
}

RecordShape ShapeOf(const v1::Record& kept, const v1::AuditEntry& entry,
                    int dropped, absl::Time stored_at,
                    absl::Duration deadline_cell) {
  RecordShape s;
  s.lane_id = kept.lane_id();
  s.checkpoint_id = kept.checkpoint_id();
  s.cell = deadline_cell;
  s.contract_id = kept.contract_id();
  s.contract_version = kept.contract_version();
  const absl::Time first = FromProto(kept.first_seen());
  const absl::Time last =
      kept.has_last_seen() ? FromProto(kept.last_seen()) : first;
  s.duration = std::max(last - first, absl::ZeroDuration());
  s.lag = std::max(stored_at - last, absl::ZeroDuration());
  for (const v1::Item& item : kept.items()) {
    RecordShape::ItemShape is;
    is.meta = item;
    is.meta.clear_content();
    is.meta.clear_item_id();
    is.meta.clear_deadline();
    // How many readings a plate had, never what they said: a decoy gets
    // as many random ones (Due), so it has as many blind index rows.
    for (v1::PlateCandidate& c : *is.meta.mutable_plate_candidates()) {
      c.clear_text();
    }
    is.size = item.content().size();
    is.keep = FromProto(item.deadline()) - FloorTo(first, deadline_cell);
    s.items.push_back(std::move(is));
  }
  s.dropped = dropped;
  s.entry = entry;
  s.entry.clear_time();
  s.entry.clear_record_id();
  s.entry.clear_item_ids();
  s.entry.clear_sequence();
  return s;
}

void CanaryPlanter::NoteReal(RecordShape shape, absl::Time now) {
  if (every_ <= 0) return;
  absl::MutexLock lock(&mu_);
  if (last_real_ != absl::InfinitePast() && now > last_real_) {
    // A slow average of the gaps between real records.
    mean_gap_ = mean_gap_ * 0.9 + (now - last_real_) * 0.1;
  }
  last_real_ = now;
  absl::Time& free_from = lane_free_from_[shape.lane_id];
  free_from = std::max(free_from, now - shape.lag);
  shapes_.push_back(std::move(shape));
  if (shapes_.size() > kShapes) shapes_.pop_front();
  if (RandomBelow(static_cast<uint32_t>(every_)) == 0) {
    // Somewhere in the next two average gaps: as a next crossing would.
    scheduled_.push_back(now + RandomWithin(2 * mean_gap_));
  }
}

std::vector<CanaryPlanter::Decoy> CanaryPlanter::Due(absl::Time now) {
  std::vector<Decoy> out;
  absl::MutexLock lock(&mu_);
  for (auto it = scheduled_.begin(); it != scheduled_.end();) {
    if (*it > now || shapes_.empty()) {
      ++it;
      continue;
    }
    const RecordShape& shape =
        shapes_[RandomBelow(static_cast<uint32_t>(shapes_.size()))];
    // Times near the shape's, never the same: a twin's duration would
    // give a decoy away.
    const absl::Time last = now - Jitter(shape.lag);
    const absl::Time first = last - Jitter(shape.duration);
    absl::Time& free_from = lane_free_from_[shape.lane_id];
    // Not over the lane's last crossing, and only once the lane has been
    // quiet for about a crossing's length: a vehicle may be in view that
    // the capture node has not finished, and a decoy overlapping it would
    // stand out. The wait ends after a few minutes on a lane never quiet.
    const bool quiet = now - free_from >= shape.duration + 2 * shape.lag ||
                       now - *it >= absl::Minutes(5);
    if (first <= free_from + absl::Milliseconds(500) || !quiet) {
      ++it;  // a later tick
      continue;
    }
    it = scheduled_.erase(it);
    free_from = last;
    ++planted_[shape.lane_id];
    Decoy d;
    v1::Record& r = d.record;
    r.set_record_id(NewId("rec_"));
    r.set_lane_id(shape.lane_id);
    r.set_checkpoint_id(shape.checkpoint_id);
    r.set_contract_id(shape.contract_id);
    r.set_contract_version(shape.contract_version);
    *r.mutable_first_seen() = ToProto(first);
    *r.mutable_last_seen() = ToProto(last);
    d.entry = shape.entry;
    *d.entry.mutable_time() = ToProto(now);
    d.entry.set_record_id(r.record_id());
    for (const RecordShape::ItemShape& is : shape.items) {
      v1::Item* item = r.add_items();
      *item = is.meta;
      item->set_item_id(NewId("itm_"));
      if (is.meta.category() == v1::DATA_CATEGORY_PLATE_TEXT) {
        item->set_content(DecoyPlate());
        for (v1::PlateCandidate& c : *item->mutable_plate_candidates()) {
          c.set_text(DecoyPlate());
        }
      } else {
        // Within 8 % of the shape's size either way.
        const size_t spread = is.size * 16 / 100 + 1;
        item->set_content(
            RandomBytes(is.size - is.size * 8 / 100 +
                        RandomBelow(static_cast<uint32_t>(
                            std::min<size_t>(spread, 1u << 30)))));
      }
      *item->mutable_deadline() = ToProto(FloorTo(first, shape.cell) + is.keep);
      d.entry.add_item_ids(item->item_id());
    }
    d.dropped = shape.dropped;
    out.push_back(std::move(d));
    break;  // one a call: two decoys logged at one instant would stand out
  }
  return out;
}

}  // namespace lanevault::wiring
