#ifndef LANEVAULT_ALERTS_WEBHOOK_CLIENT_H_
#define LANEVAULT_ALERTS_WEBHOOK_CLIENT_H_

// One signed POST to the alert webhook (libcurl). Certificates are verified
// for https; no redirects are followed; nothing of the answer is kept.

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace lanevault::alerts {

struct WebhookTarget {
  std::string url;      // http:// or https://
  std::string ca_file;  // https: the CA to trust; empty: the system's
  absl::Duration timeout = absl::Seconds(5);
};

// OK on a 2xx answer; UNAVAILABLE with what went wrong (no connection, a
// TLS failure, a timeout, or the HTTP status) otherwise. Thread-safe: each
// call has its own handle.
absl::Status PostJson(const WebhookTarget& target, absl::string_view body,
                      absl::string_view signature_header_value);

}  // namespace lanevault::alerts

#endif  // LANEVAULT_ALERTS_WEBHOOK_CLIENT_H_
