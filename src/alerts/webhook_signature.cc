#include "alerts/webhook_signature.h"

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "crypto/hmac.h"
#include "google/protobuf/util/json_util.h"

namespace lanevault::alerts {
namespace {

std::string Mac(absl::string_view key, int64_t unix_seconds,
                absl::string_view body) {
  return crypto::HmacSha256(key, absl::StrCat(unix_seconds, ".", body));
}

}  // namespace

std::string SignatureHeaderValue(absl::string_view key, int64_t unix_seconds,
                                 absl::string_view body) {
  return absl::StrCat("t=", unix_seconds, ",v1=",
                      absl::BytesToHexString(Mac(key, unix_seconds, body)));
}

absl::Status VerifySignature(absl::string_view key,
                             absl::string_view header_value,
                             absl::string_view body, absl::Time now,
                             absl::Duration tolerance) {
  int64_t t = 0;
  bool have_t = false;
  std::string mac;
  for (absl::string_view part : absl::StrSplit(header_value, ',')) {
    if (absl::ConsumePrefix(&part, "t=")) {
      have_t = absl::SimpleAtoi(part, &t);
    } else if (absl::ConsumePrefix(&part, "v1=")) {
      if (part.size() != 64 ||
          part.find_first_not_of("0123456789abcdef") != part.npos) {
        return absl::InvalidArgumentError("v1= is not 64 hex digits");
      }
      mac = absl::HexStringToBytes(part);
    }
  }
  if (!have_t || mac.empty()) {
    return absl::InvalidArgumentError("the header needs t=UNIX,v1=HEX");
  }
  if (!crypto::ConstantTimeEqual(mac, Mac(key, t, body))) {
    return absl::PermissionDeniedError("the signature does not match");
  }
  if (absl::AbsDuration(absl::FromUnixSeconds(t) - now) > tolerance) {
    return absl::PermissionDeniedError("the signature's time is too far off");
  }
  return absl::OkStatus();
}

std::string AlertJson(const v1::Alert& alert, bool details) {
  v1::Alert out = alert;
  if (!details) {
    out.clear_principal();
    out.clear_message();
  }
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string json;
  // An Alert has no field JSON cannot print.
  if (!google::protobuf::util::MessageToJsonString(out, &json, options).ok()) {
    json = "{}";
  }
  return json;
}

}  // namespace lanevault::alerts
