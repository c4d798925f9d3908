#include "api/scoped_answers.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/data_category.h"
#include "common/image_header.h"
#include "common/time_util.h"
#include "watermark/watermark.h"

namespace lanevault::api {
namespace {

using Kind = crypto::HandleKey::Kind;

void Coarsen(google::protobuf::Timestamp* t, absl::Duration g, bool up) {
  const absl::Time at = FromProto(*t);
  *t = ToProto(up ? CeilTo(at, g) : FloorTo(at, g));
}

// A crossing's times as a purpose may tell them: the cell it was first
// seen in, for both ends. Its last seen cell would say when it straddled a
// cell's edge (a vehicle over the hour), a rare trait that a purpose told
// finer times computes too: a join key. Exact answers (a cell of a second
// or less) keep both ends.
void CoarsenCrossing(google::protobuf::Timestamp* first,
                     google::protobuf::Timestamp* last, absl::Duration g) {
  Coarsen(first, g, /*up=*/false);
  if (g > absl::Seconds(1)) {
    *last = *first;
  } else {
    Coarsen(last, g, /*up=*/false);
  }
}

}  // namespace

cv::Size AnswerSize(v1::DataCategory c) {
  switch (c) {
    case v1::DATA_CATEGORY_PLATE_IMAGE:
      return {256, 64};
    case v1::DATA_CATEGORY_FACE_IMAGE:
      return {128, 128};
    default:
      return {640, 360};
  }
}

absl::Status ScopedFailure(const absl::Status& failure) {
  switch (failure.code()) {
    case absl::StatusCode::kOk:
      return failure;
    case absl::StatusCode::kNotFound:
      return absl::NotFoundError(
          "no such record, or no such item in it, under this purpose (or it "
          "is past its deadline)");
    case absl::StatusCode::kDataLoss:
      return absl::DataLossError(
          "the record is damaged and cannot be opened; compliance officers "
          "have been alerted");
    default:
      break;
  }
  const absl::string_view m = failure.message();
  if (absl::StrContains(m, "rec_") || absl::StrContains(m, "itm_")) {
    return absl::Status(failure.code(),
                        "the vault could not answer for this record");
  }
  return failure;
}

absl::StatusOr<std::string> RecordHandle(const crypto::HandleKey& handles,
                                         const policy::PurposeView& view,
                                         const std::string& record_id) {
  return handles.Issue(Kind::kRecord, view.scope, record_id);
}

absl::Status ScopeRecord(const crypto::HandleKey& handles,
                         const policy::PurposeView& view, v1::Record& record,
                         absl::string_view record_handle) {
  if (record_handle.empty()) {
    absl::StatusOr<std::string> handle =
        handles.Issue(Kind::kRecord, view.scope, record.record_id());
    if (!handle.ok()) return handle.status();
    record.set_record_id(*handle);
  } else {
    record.set_record_id(std::string(record_handle));
  }
  if (view.checkpoint_only) record.clear_lane_id();
  const absl::Duration g = view.time_granularity;
  CoarsenCrossing(record.mutable_first_seen(), record.mutable_last_seen(), g);
  record.clear_frames_seen();
  // The crossing's readings are answered only as part of its plate text
  // item, which is here only when the purpose may read plate text: they
  // are that item's content read otherwise, and tell the reader how sure
  // the match was (a lookup may have matched the fourth reading).
  record.clear_plate_candidates();
  for (v1::Item& item : *record.mutable_items()) {
    if (item.category() != v1::DATA_CATEGORY_PLATE_TEXT) {
      item.clear_plate_candidates();
    }
    absl::StatusOr<std::string> item_handle =
        handles.Issue(Kind::kItem, view.scope, item.item_id());
    if (!item_handle.ok()) return item_handle.status();
    item.set_item_id(*item_handle);
    item.clear_frame_index();
    // Where in the frame the crop was cut follows the vehicle across the
    // lane on both sides of a crossing: a join key.
    item.clear_box();
    if (item.has_deadline()) Coarsen(item.mutable_deadline(), g, /*up=*/true);
  }
  // In the order of their handles within each category, not as stored:
  // the stored order is the same on every side of a crossing.
  auto* items = record.mutable_items();
  std::sort(items->begin(), items->end(),
            [](const v1::Item& x, const v1::Item& y) {
              return std::make_pair(x.category(), x.item_id()) <
                     std::make_pair(y.category(), y.item_id());
            });
  return absl::OkStatus();
}

absl::Status ScopeSummary(const crypto::HandleKey& handles,
                          const policy::PurposeView& view,
                          const std::vector<v1::DataCategory>& readable,
                          v1::RecordSummary& summary) {
  absl::StatusOr<std::string> handle =
      handles.Issue(Kind::kRecord, view.scope, summary.record_id());
  if (!handle.ok()) return handle.status();
  summary.set_record_id(*handle);
  if (view.checkpoint_only) summary.clear_lane_id();
  CoarsenCrossing(summary.mutable_first_seen(), summary.mutable_last_seen(),
                  view.time_granularity);
  auto* categories = summary.mutable_categories();
  categories->erase(
      std::remove_if(categories->begin(), categories->end(),
                     [&](int c) {
                       return std::find(readable.begin(), readable.end(),
                                        static_cast<v1::DataCategory>(c)) ==
                              readable.end();
                     }),
      categories->end());
  return absl::OkStatus();
}

absl::StatusOr<std::string> MarkAtAnswerSize(absl::string_view watermark_key,
                                             uint64_t token,
                                             absl::string_view image,
                                             v1::DataCategory category) {
  // Sized by its header before anything is decoded: a few stored bytes can
  // claim gigapixels.
  absl::StatusOr<ImageHeader> header =
      CheckImageSize(image, LimitsFor(category), "the image");
  if (!header.ok()) return header.status();
  // Plates at their answer size mostly keep the budget at the second
  // strength (their characters' edges cost the codec more than a face's
  // do): that one is made first, and the strongest only tried if it leaves
  // room.
  const bool plate = category == v1::DATA_CATEGORY_PLATE_IMAGE;
  return watermark::EmbedEncoded(
      watermark_key, static_cast<uint32_t>(token), image, AnswerSize(category),
      /*stats=*/nullptr,
      /*start_busy_percent=*/
      plate ? watermark::kMarkStrengths[1] : watermark::kMarkStrengths[0]);
}

std::vector<std::string> MarkImages(absl::string_view watermark_key,
                                    uint64_t token, v1::Record& record) {
  std::vector<std::string> unmarked;
  for (v1::Item& item : *record.mutable_items()) {
    if (item.category() == v1::DATA_CATEGORY_METADATA &&
        ReadImageHeader(item.content()).ok()) {
      // Kept before intake checked metadata: pixels that would go out
      // unmarked under a category that is never marked.
      unmarked.push_back(
          absl::StrCat(item.item_id(), " (an image as metadata)"));
      item.clear_content();
      item.clear_media_type();
      continue;
    }
    if (!IsImageCategory(item.category())) continue;
    absl::StatusOr<std::string> marked =
        MarkAtAnswerSize(watermark_key, token, item.content(), item.category());
    if (!marked.ok()) {
      // Withheld, never returned as stored: an image the reader got
      // without a mark could leak without naming the read.
      unmarked.push_back(
          absl::StrCat(item.item_id(), " (", marked.status().message(), ")"));
      item.clear_content();
      item.clear_media_type();
      continue;
    }
    item.set_content(*std::move(marked));
    item.set_media_type("image/jpeg");
  }
  return unmarked;
}

}  // namespace lanevault::api
