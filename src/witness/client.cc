#include "witness/client.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "httplib.h"
#include "witness/witness.h"

namespace lanevault::witness {

struct WitnessClient::Impl {
  explicit Impl(const std::string& base) : client(base) {}
  httplib::Client client;
  std::string path;
  std::string url;
};

WitnessClient::WitnessClient(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
WitnessClient::~WitnessClient() = default;

absl::StatusOr<std::unique_ptr<WitnessClient>> WitnessClient::Create(
    const std::string& url, absl::Duration timeout) {
  if (!absl::StartsWith(url, "http://") && !absl::StartsWith(url, "https://")) {
    return absl::InvalidArgumentError(
        absl::StrCat("witness url '", url, "' is not http:// or https://"));
  }
  const size_t host_start = url.find("://") + 3;
  const size_t slash = url.find('/', host_start);
  const std::string base =
      slash == std::string::npos ? url : url.substr(0, slash);
  std::string path = slash == std::string::npos ? "" : url.substr(slash);
  while (absl::EndsWith(path, "/")) path.pop_back();
  auto impl = std::make_unique<Impl>(base);
  if (!impl->client.is_valid()) {
    return absl::InvalidArgumentError(
        absl::StrCat("witness url '", url, "' is not usable"));
  }
  impl->path = path + "/add-checkpoint";
  impl->url = url;
  const int64_t us = absl::ToInt64Microseconds(timeout);
  impl->client.set_connection_timeout(us / 1000000, us % 1000000);
  impl->client.set_read_timeout(us / 1000000, us % 1000000);
  impl->client.set_write_timeout(us / 1000000, us % 1000000);
  impl->client.set_keep_alive(true);
  impl->client.set_tcp_nodelay(true);  // else Nagle: +40 ms a request
  return std::unique_ptr<WitnessClient>(new WitnessClient(std::move(impl)));
}

absl::StatusOr<AddCheckpointResult> WitnessClient::AddCheckpoint(
    uint64_t old_size, const std::vector<std::string>& proof,
    const std::string& checkpoint_note) {
  httplib::Result res = impl_->client.Post(
      impl_->path, AddCheckpointRequest(old_size, proof, checkpoint_note),
      "text/plain");
  if (!res) {
    return absl::UnavailableError(
        absl::StrCat("witness ", impl_->url,
                     " not reached: ", httplib::to_string(res.error())));
  }
  AddCheckpointResult out;
  out.http_status = res->status;
  if (res->status == 200) {
    out.kind = AddCheckpointResult::Kind::kCosigned;
    out.lines = res->body;
    if (!out.lines.empty() && out.lines.back() != '\n') out.lines += '\n';
    return out;
  }
  if (res->status == 409 &&
      absl::StartsWith(res->get_header_value("Content-Type"),
                       "text/x.tlog.size") &&
      absl::SimpleAtoi(absl::StripAsciiWhitespace(res->body),
                       &out.witness_size)) {
    out.kind = AddCheckpointResult::Kind::kConflict;
    return out;
  }
  out.kind = AddCheckpointResult::Kind::kRefused;
  out.message = std::string(absl::StripAsciiWhitespace(res->body));
  return out;
}

}  // namespace lanevault::witness
