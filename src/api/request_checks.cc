#include "api/request_checks.h"

#include "absl/strings/str_cat.h"

namespace lanevault::api {
namespace {

absl::Status NotOne(absl::string_view field, int value, absl::string_view of) {
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": ", value, " is not ", of));
}

}  // namespace

absl::Status CheckCategories(
    absl::string_view field,
    const google::protobuf::RepeatedField<int>& values) {
  for (int i = 0; i < values.size(); ++i) {
    const int c = values.Get(i);
    if (!v1::DataCategory_IsValid(c) || c == v1::DATA_CATEGORY_UNSPECIFIED) {
      return NotOne(absl::StrCat(field, "[", i, "]"), c, "a data category");
    }
  }
  return absl::OkStatus();
}

absl::Status CheckGetRecordRequest(const v1::GetRecordRequest& request) {
  return CheckCategories("categories", request.categories());
}

absl::Status CheckQueryEntriesRequest(const v1::QueryEntriesRequest& request) {
  // Zero (unspecified) means "any" in a query.
  if (!v1::Action_IsValid(request.action())) {
    return NotOne("action", request.action(), "an action");
  }
  if (!v1::Verdict_IsValid(request.verdict())) {
    return NotOne("verdict", request.verdict(), "a verdict");
  }
  return absl::OkStatus();
}

absl::Status CheckExplainRequest(const v1::ExplainRequest& request) {
  if (!v1::Action_IsValid(request.action()) ||
      request.action() == v1::ACTION_UNSPECIFIED) {
    return NotOne("action", request.action(), "an action");
  }
  return CheckCategories("categories", request.categories());
}

}  // namespace lanevault::api
