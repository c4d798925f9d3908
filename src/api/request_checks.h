#ifndef LANEVAULT_API_REQUEST_CHECKS_H_
#define LANEVAULT_API_REQUEST_CHECKS_H_

// Range checks of the enums in requests, for a CallSpec's `check`. Proto3
// enums are open: a caller may send any number, and C++ keeps it as sent.
// Used as a bit index (the policy's category and action masks) a value of
// 32 or more is undefined behaviour and, wrapped, reads as another value;
// so each is refused with INVALID_ARGUMENT before the policy sees it.

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/repeated_field.h"
#include "lanevault/v1/audit_service.pb.h"
#include "lanevault/v1/compliance.pb.h"
#include "lanevault/v1/evidence.pb.h"

namespace lanevault::api {

// Every value a data category, and none DATA_CATEGORY_UNSPECIFIED.
absl::Status CheckCategories(
    absl::string_view field,
    const google::protobuf::RepeatedField<int>& values);

absl::Status CheckGetRecordRequest(const v1::GetRecordRequest& request);
absl::Status CheckQueryEntriesRequest(const v1::QueryEntriesRequest& request);
absl::Status CheckExplainRequest(const v1::ExplainRequest& request);

}  // namespace lanevault::api

#endif  // LANEVAULT_API_REQUEST_CHECKS_H_
