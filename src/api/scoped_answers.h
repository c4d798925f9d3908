#ifndef LANEVAULT_API_SCOPED_ANSWERS_H_
#define LANEVAULT_API_SCOPED_ANSWERS_H_

// What an evidence answer may say under one purpose (policy::PurposeView):
// records and items named by handles of the purpose's scope, times cut down
// to its granularity, the lane left out where it needs only the
// checkpoint, and nothing else that two answers of different scopes could
// be joined on (frame numbers, frame counts, the ids of withheld items).

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/time_util.h"  // FloorTo, CeilTo
#include "crypto/handles.h"
#include "lanevault/v1/receipt.pb.h"
#include "lanevault/v1/types.pb.h"
#include "opencv2/core.hpp"
#include "policy/policy.h"

namespace lanevault::api {

// Rewrites an opened record for its reader under `view`: handles for ids,
// coarse times (first and last seen both the cell it was first seen in;
// deadlines rounded up, so they still say "destroyed by then"), no frame
// numbers or frame count, no lane where the purpose sees
// checkpoints only. `record_handle`, when not empty, is the record's
// handle under `view` as the caller named it (opened by the gate, so the
// very string Issue would give): it is used instead of issuing it again.
absl::Status ScopeRecord(const crypto::HandleKey& handles,
                         const policy::PurposeView& view, v1::Record& record,
                         absl::string_view record_handle = "");

// The same for a search's summary; `readable` are the categories the
// purpose may read (a summary names only those, so what else a record
// holds does not single it out).
absl::Status ScopeSummary(const crypto::HandleKey& handles,
                          const policy::PurposeView& view,
                          const std::vector<v1::DataCategory>& readable,
                          v1::RecordSummary& summary);

absl::StatusOr<std::string> RecordHandle(const crypto::HandleKey& handles,
                                         const policy::PurposeView& view,
                                         const std::string& record_id);

// What a caller of a scoped call is told of a failure: the same code, in
// words that name no record or item id (the vault's own words do, and an
// id is the same under every scope).
absl::Status ScopedFailure(const absl::Status& failure);

// The size every image of a category is returned at (and a lane's
// snapshot, as a scene): a crop's own size is its box's, which grows with
// the vehicle's nearness on the plate side and the face side alike (a
// join), and a scene's is its camera's (a lane).
cv::Size AnswerSize(v1::DataCategory c);

// `image` marked with the watermark naming `token`, at `category`'s answer
// size; INVALID_ARGUMENT (before anything is decoded) when its header is
// not a JPEG or PNG within the category's limits, or the mark's own error
// when it cannot be marked.
absl::StatusOr<std::string> MarkAtAnswerSize(absl::string_view watermark_key,
                                             uint64_t token,
                                             absl::string_view image,
                                             v1::DataCategory category);

// Marks every image item with the vault's watermark naming `token` (the
// read's access-log sequence number). An item whose bytes are not an image
// the watermark can carry (not a JPEG or PNG, too large by its header, or
// not decodable) is withheld: its content and media type are cleared, so
// the reader gets the item's id and category and no bytes, and it is named
// in the returned list so the caller can say so in its log.
std::vector<std::string> MarkImages(absl::string_view watermark_key,
                                    uint64_t token, v1::Record& record);

}  // namespace lanevault::api

#endif  // LANEVAULT_API_SCOPED_ANSWERS_H_
