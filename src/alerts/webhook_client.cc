#include "alerts/webhook_client.h"

#include <curl/curl.h>

#include <mutex>

#include "absl/strings/str_cat.h"
#include "alerts/webhook_signature.h"

namespace lanevault::alerts {
namespace {

size_t Discard(char*, size_t size, size_t n, void*) { return size * n; }

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

absl::Status PostJson(const WebhookTarget& target, absl::string_view body,
                      absl::string_view signature_header_value) {
  InitCurlOnce();
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return absl::UnavailableError("curl_easy_init failed");
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Content-Type: application/json");
  const std::string signature =
      absl::StrCat(kSignatureHeader, ": ", signature_header_value);
  headers = curl_slist_append(headers, signature.c_str());
  char error[CURL_ERROR_SIZE] = {};
  const long timeout_ms =
      static_cast<long>(absl::ToInt64Milliseconds(target.timeout) > 0
                            ? absl::ToInt64Milliseconds(target.timeout)
                            : 5000);
  curl_easy_setopt(curl, CURLOPT_URL, target.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  // The pusher's thread is not the one signals go to.
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!target.ca_file.empty()) {
    curl_easy_setopt(curl, CURLOPT_CAINFO, target.ca_file.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                   static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Discard);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  const CURLcode code = curl_easy_perform(curl);
  long http_status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http_status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (code != CURLE_OK) {
    return absl::UnavailableError(error[0] != '\0' ? error
                                                   : curl_easy_strerror(code));
  }
  if (http_status < 200 || http_status > 299) {
    return absl::UnavailableError(absl::StrCat("HTTP ", http_status));
  }
  return absl::OkStatus();
}

}  // namespace lanevault::alerts
