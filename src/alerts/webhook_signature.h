#ifndef LANEVAULT_ALERTS_WEBHOOK_SIGNATURE_H_
#define LANEVAULT_ALERTS_WEBHOOK_SIGNATURE_H_

// What a webhook POST carries, and how its receiver checks it came from
// this daemon: the header
//   X-Lanevault-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>
// whose HMAC is over "<unix seconds>.<body>" under the shared key. The
// receiver recomputes it, compares in constant time, and refuses a t more
// than a few minutes from its clock (a replayed POST); the alert id in the
// body lets it drop a retry it already has.

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lanevault/v1/compliance.pb.h"

namespace lanevault::alerts {

inline constexpr char kSignatureHeader[] = "X-Lanevault-Signature";

// The header's value for `body` sent at `unix_seconds`.
std::string SignatureHeaderValue(absl::string_view key, int64_t unix_seconds,
                                 absl::string_view body);

// OK when `header_value` signs `body` under `key` and its time is within
// `tolerance` of `now`; PERMISSION_DENIED (bad or stale signature) or
// INVALID_ARGUMENT (no such header shape) otherwise.
absl::Status VerifySignature(absl::string_view key,
                             absl::string_view header_value,
                             absl::string_view body, absl::Time now,
                             absl::Duration tolerance = absl::Minutes(5));

// The POST's body: the alert as JSON (proto field names, one object). With
// `details` false the principal and message are left out.
std::string AlertJson(const v1::Alert& alert, bool details);

}  // namespace lanevault::alerts

#endif  // LANEVAULT_ALERTS_WEBHOOK_SIGNATURE_H_
