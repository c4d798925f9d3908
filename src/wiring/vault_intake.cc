#include "wiring/vault_intake.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/data_category.h"
#include "common/image_header.h"
#include "common/logging.h"
#include "common/time_util.h"
#include "crypto/secure_bytes.h"
#include "wiring/canary.h"

namespace lanevault::wiring {

VaultIntake::VaultIntake(const policy::Policy* policy, vault::Vault* vault,
                         int canary_every, absl::Duration max_clock_skew,
                         bool planter_thread)
    : policy_(policy),
      vault_(vault),
      canaries_(canary_every),
      max_clock_skew_(max_clock_skew) {
  if (canary_every > 0 && planter_thread) {
    planter_ = std::thread([this] {
      while (!stop_planter_.WaitForNotificationWithTimeout(
          absl::Milliseconds(250))) {
        PlantDueCanaries();
      }
    });
  }
}

VaultIntake::~VaultIntake() {
  stop_planter_.Notify();
  if (planter_.joinable()) planter_.join();
}

void VaultIntake::PlantDueCanaries() {
  for (CanaryPlanter::Decoy& d : canaries_.Due(vault_->clock()->Now())) {
    // Logged as a real record is (a canary's log line would give it away);
    // a failure only costs a decoy.
    const std::string id = d.record.record_id();
    if (absl::Status s = vault_->PlantCanary(d.record, std::move(d.entry));
        !s.ok()) {
      spdlog::warn("could not plant a canary: {}", s.message());
      continue;
    }
    spdlog::info(
        "stored record {} from lane {} ({} items, {} dropped by policy)", id,
        d.record.lane_id(), d.record.items_size(), d.dropped);
  }
}

uint64_t VaultIntake::ItemsDropped(absl::string_view lane_id) const {
  absl::MutexLock lock(&mu_);
  auto it = dropped_.find(std::string(lane_id));
  return it == dropped_.end() ? 0 : it->second;
}

absl::Status VaultIntake::Submit(v1::Record record) {
  v1::AuditEntry entry;
  entry.set_principal(absl::StrCat("lane:", record.lane_id()));
  entry.set_role("lane");
  entry.set_verdict(v1::VERDICT_ALLOW);
  entry.set_reason_code("allowed");
  return Take(std::move(record), std::move(entry)).status();
}

namespace {

// Ids end up in logs and in the access log: letters, digits, '_' and '-'.
bool PlainToken(absl::string_view id) {
  return !id.empty() && id.size() <= 64 &&
         std::all_of(id.begin(), id.end(), [](char c) {
           return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
                  c == '_' || c == '-';
         });
}

// What a plate reading can be: capitals, digits, and the spaces and dashes
// some regions print; no plate is longer. Anything else in a plate-text
// item (an image, a note) is not a reading and would be kept as one.
bool PlateReading(absl::string_view text) {
  constexpr size_t kLongestPlate = 16;
  auto letter_or_digit = [](char c) {
    return absl::ascii_isupper(static_cast<unsigned char>(c)) ||
           absl::ascii_isdigit(static_cast<unsigned char>(c));
  };
  return !text.empty() && text.size() <= kLongestPlate &&
         letter_or_digit(text.front()) && letter_or_digit(text.back()) &&
         std::all_of(text.begin(), text.end(), [&](char c) {
           return letter_or_digit(c) || c == ' ' || c == '-';
         });
}

// The media type a category's content may declare ("" for none).
bool MediaTypeFits(const v1::Item& item) {
  const std::string& type = item.media_type();
  if (type.empty()) return true;
  if (item.category() == v1::DATA_CATEGORY_PLATE_TEXT) {
    return type == "text/plain";
  }
  if (item.category() == v1::DATA_CATEGORY_METADATA) {
    return type == "text/plain" || type == "application/json";
  }
  return type == "image/jpeg";
}

// Metadata is counts, timings and boxes: a few kilobytes of printable
// ASCII. Anything else (an image, above all: metadata is never marked) is
// not metadata.
bool MetadataText(absl::string_view text) {
  constexpr size_t kLongestMetadata = 4096;
  return text.size() <= kLongestMetadata &&
         std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= ' ' && c <= '~') || c == '\n' || c == '\t' || c == '\r';
         });
}

}  // namespace

absl::Status VaultIntake::CheckSubmission(const v1::Record& record) const {
  if (!record.record_id().empty() && !PlainToken(record.record_id())) {
    return absl::InvalidArgumentError(
        "a record id is letters, digits, '_' and '-' (64 at most)");
  }
  if (!PlainToken(record.lane_id())) {
    return absl::InvalidArgumentError(
        "a lane id is letters, digits, '_' and '-' (64 at most)");
  }
  if (!PlainToken(record.checkpoint_id())) {
    return absl::InvalidArgumentError(
        "a checkpoint id is letters, digits, '_' and '-' (64 at most)");
  }
  // A crossing is a plate and a few faces; a bound keeps its intake entry
  // (which names every item) within the access log's entry size.
  constexpr int kMaxItems = 32;
  if (record.items_size() > kMaxItems) {
    return absl::InvalidArgumentError(absl::StrCat("a record holds at most ",
                                                   kMaxItems, " items, not ",
                                                   record.items_size()));
  }
  absl::flat_hash_set<std::string> item_ids;
  for (const v1::Item& item : record.items()) {
    if (!PlainToken(item.item_id()) ||
        !item_ids.insert(item.item_id()).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "every item needs its own id (letters, digits, '_' and '-'): '",
          item.item_id().substr(0, 64), "' is missing, malformed or repeated"));
    }
    if (!v1::DataCategory_IsValid(item.category()) ||
        item.category() == v1::DATA_CATEGORY_UNSPECIFIED) {
      return absl::InvalidArgumentError(
          absl::StrCat("item ", item.item_id(), " has no known category"));
    }
    if (!MediaTypeFits(item)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "item ", item.item_id(), " declares a media type its category ",
          "does not have (image/jpeg for images, text/plain for plate text, "
          "text/plain or application/json for metadata)"));
    }
    if (item.category() == v1::DATA_CATEGORY_METADATA &&
        !MetadataText(item.content())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "item ", item.item_id(),
          " is not metadata (at most 4096 bytes of printable ASCII: counts, "
          "timings, boxes; never pixels)"));
    }
    if (IsImageCategory(item.category())) {
      // A crop is a JPEG of a crop's size: anything else would be kept and
      // could not be watermarked on a read (so it would never be returned),
      // and a header that claims gigapixels would cost every read.
      absl::StatusOr<ImageHeader> header =
          CheckImageSize(item.content(), LimitsFor(item.category()),
                         absl::StrCat("item ", item.item_id()));
      if (!header.ok()) return header.status();
      if (header->format != ImageHeader::Format::kJpeg) {
        return absl::InvalidArgumentError(absl::StrCat(
            "item ", item.item_id(), " is a PNG; image items are JPEG"));
      }
    }
    if (item.category() == v1::DATA_CATEGORY_PLATE_TEXT &&
        !PlateReading(item.content())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "item ", item.item_id(),
          " is not a plate reading (1 to 16 capitals, digits, spaces or "
          "dashes, starting and ending with a capital or digit)"));
    }
  }
  if (!record.has_first_seen() || record.first_seen().seconds() <= 0) {
    return absl::InvalidArgumentError(
        "the record has no capture time (first_seen)");
  }
  // A timestamp's nanos are 0 to 999,999,999; anything else is no time
  // (each reader would round it its own way).
  for (const google::protobuf::Timestamp* t :
       {&record.first_seen(), &record.last_seen()}) {
    if (t->nanos() < 0 || t->nanos() > 999'999'999) {
      return absl::InvalidArgumentError(absl::StrCat(
          "a capture time's nanos are 0 to 999999999, not ", t->nanos()));
    }
  }
  const absl::Time now = vault_->clock()->Now();
  const absl::Time first = FromProto(record.first_seen());
  const absl::Time last =
      record.has_last_seen() ? FromProto(record.last_seen()) : first;
  if (first > now + max_clock_skew_ || last > now + max_clock_skew_) {
    return absl::InvalidArgumentError(
        absl::StrCat("the record claims a capture time ",
                     absl::FormatDuration(std::max(first, last) - now),
                     " ahead of the vault's clock (at most ",
                     absl::FormatDuration(max_clock_skew_),
                     " is accepted): check the capture node's clock"));
  }
  if (last < first) {
    return absl::InvalidArgumentError(
        "the record's last_seen is before its first_seen");
  }
  return absl::OkStatus();
}

void VaultIntake::NoteDiskFull(bool full, absl::string_view why) {
  std::string pending;
  {
    absl::MutexLock lock(&mu_);
    if (disk_full_ == full) return;
    disk_full_ = full;
    if (full) {
      pending_alert_ = absl::StrCat(
          "the vault's disk was full from ", FormatTime(vault_->clock()->Now()),
          ": intake refused with UNAVAILABLE (capture nodes retry): ", why);
    }
    pending = pending_alert_;
  }
  if (full) {
    // Once per episode. A full disk may not take the alert's row: then it
    // is stored when space returns, so officers see it either way.
    if (vault_->oversight()
            .TryRaiseAlert("critical", "disk_full", "system", pending)
            .ok()) {
      absl::MutexLock lock(&mu_);
      pending_alert_.clear();
    }
    return;
  }
  spdlog::warn("intake resumed: the vault's disk has room again");
  if (!pending.empty() &&
      vault_->oversight()
          .TryRaiseAlert("critical", "disk_full", "system", pending)
          .ok()) {
    absl::MutexLock lock(&mu_);
    pending_alert_.clear();
  }
}

absl::StatusOr<VaultIntake::Kept> VaultIntake::Take(
    v1::Record record, v1::AuditEntry entry,
    absl::string_view submission_digest) {
  if (absl::Status s = CheckSubmission(record); !s.ok()) return s;
  const absl::Time now = vault_->clock()->Now();
  const v1::IntakeDecision decision = policy_->DecideIntake(record);
  int dropped = 0;
  v1::Record kept = policy::ApplyIntake(record, decision, &dropped);
  // The policy runs every deadline from the capture time's cell
  // (ItemDecision.deadline_cell, the same for each item), and never from a
  // time later than the vault's now: a clock within the skew cannot buy
  // extra retention. Moved, a deadline runs from the now's cell instead, so
  // it moves by whole cells.
  const absl::Duration cell =
      decision.items().empty() ? absl::ZeroDuration()
                               : FromProto(decision.items(0).deadline_cell());
  if (const absl::Time first = FromProto(record.first_seen()); first > now) {
    for (v1::Item& item : *kept.mutable_items()) {
      *item.mutable_deadline() =
          ToProto(FromProto(item.deadline()) -
                  (FloorTo(first, cell) - FloorTo(now, cell)));
    }
  }
  if (dropped > 0) {
    absl::MutexLock lock(&mu_);
    dropped_[record.lane_id()] += static_cast<uint64_t>(dropped);
  }
  // The capture-side copy holds plaintext crops and plate readings; clear
  // them as soon as the kept copy exists.
  for (v1::Item& item : *record.mutable_items()) {
    crypto::Wipe(*item.mutable_content());
  }
  for (v1::PlateCandidate& c : *record.mutable_plate_candidates()) {
    crypto::Wipe(*c.mutable_text());
  }
  Kept result{kept.record_id(), kept.items_size(), dropped};
  *entry.mutable_time() = ToProto(vault_->clock()->Now());
  entry.set_action(v1::ACTION_INTAKE);
  entry.set_record_id(kept.record_id());
  for (const v1::Item& item : kept.items()) entry.add_item_ids(item.item_id());
  entry.set_detail(absl::StrCat(
      "kept=", kept.items_size(), " dropped=", dropped,
      " contract=", decision.contract_id(), "@", decision.contract_version()));
  if (kept.items().empty()) {
    // Nothing may be kept: the decision itself is still logged.
    entry.set_verdict(v1::VERDICT_DENY);
    entry.set_reason_code("nothing_kept");
    if (absl::Status s = vault_->LogUnkept(kept.record_id(), submission_digest,
                                           std::move(entry));
        !s.ok()) {
      return s;
    }
    return result;
  }
  // What a decoy may copy of this record: its shape, never its content.
  RecordShape shape = ShapeOf(kept, entry, dropped, now, cell);
  absl::Status s = vault_->Intake(kept, std::move(entry), submission_digest);
  for (v1::Item& item : *kept.mutable_items()) {
    crypto::Wipe(*item.mutable_content());
    for (v1::PlateCandidate& c : *item.mutable_plate_candidates()) {
      crypto::Wipe(*c.mutable_text());
    }
  }
  if (vault::IsDiskFull(s)) NoteDiskFull(true, s.message());
  if (!s.ok()) return s;
  NoteDiskFull(false, "");
  spdlog::info("stored record {} from lane {} ({} items, {} dropped by policy)",
               kept.record_id(), kept.lane_id(), kept.items_size(), dropped);
  canaries_.NoteReal(std::move(shape), now);
  return result;
}

}  // namespace lanevault::wiring
