#include "witness/http_server.h"

#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "httplib.h"

namespace lanevault::witness {
namespace {

// A checkpoint with a few signatures and 63 proof lines is under 8 KiB.
constexpr size_t kMaxRequestBytes = 64 * 1024;

}  // namespace

struct HttpServer::Impl {
  httplib::Server server;
  std::thread thread;
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Stop() {
  if (!impl_->thread.joinable()) return;
  impl_->server.stop();
  impl_->thread.join();
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(
    Witness* witness, const std::string& host, int port) {
  auto impl = std::make_unique<Impl>();
  httplib::Server& s = impl->server;
  s.set_payload_max_length(kMaxRequestBytes);
  s.set_read_timeout(10, 0);
  s.set_write_timeout(10, 0);
  // Stopping waits for idle keep-alive connections: keep them short. A
  // log pushes every few seconds and reconnects on loopback cheaply.
  s.set_keep_alive_timeout(2);
  // Headers and body leave in separate writes: without this, Nagle and
  // delayed ACKs add 40 ms to every answer.
  s.set_tcp_nodelay(true);
  s.Post("/add-checkpoint",
         [witness](const httplib::Request& req, httplib::Response& res) {
           const Response r = witness->AddCheckpoint(req.body);
           res.status = r.status;
           res.set_content(r.body, r.content_type.c_str());
         });
  s.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) {
      res.set_content(
          absl::StrCat(
              res.status == 404 ? "only POST /add-checkpoint here" : "refused",
              "\n"),
          "text/plain; charset=utf-8");
    }
  });
  int bound = port;
  if (port == 0) {
    bound = s.bind_to_any_port(host.c_str());
  } else if (!s.bind_to_port(host.c_str(), port)) {
    bound = -1;
  }
  if (bound <= 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", host, ":", port));
  }
  impl->thread = std::thread([&s] { s.listen_after_bind(); });
  // stop() before the loop runs would be lost and the join would hang.
  while (!s.is_running()) absl::SleepFor(absl::Milliseconds(1));
  auto out = std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
  out->port_ = bound;
  return out;
}

}  // namespace lanevault::witness
