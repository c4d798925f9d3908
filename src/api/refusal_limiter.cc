#include "api/refusal_limiter.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace lanevault::api {
namespace {

// Where the refusals of keys beyond RefusalLimits::max_keys are counted.
constexpr char kOverflowKey[] = "(other keys: too many at once)";

}  // namespace

RefusalLimiter::RefusalLimiter(const Clock* clock, RefusalLimits limits)
    : clock_(clock), limits_(std::move(limits)) {}

bool RefusalLimiter::Admit(absl::string_view kind, absl::string_view key,
                           const v1::AuditEntry& entry,
                           std::vector<Summary>* due) {
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  KindWindow& all = kinds_[std::string(kind)];
  std::string id = absl::StrCat(kind, "\n", key);
  auto it = windows_.find(id);
  if (it == windows_.end()) {
    // Each kind has max_keys of its own: a flood of one kind (callers
    // without a certificate varying their address) does not push another
    // kind's principals into the overflow key, where they go unnamed.
    if (all.keys >= limits_.max_keys) {
      key = kOverflowKey;
      id = absl::StrCat(kind, "\n", key);
      it = windows_.find(id);
    }
    if (it == windows_.end()) {
      Window fresh;
      fresh.kind = std::string(kind);
      fresh.key = std::string(key);
      fresh.start = now;
      it = windows_.emplace(id, std::move(fresh)).first;
      ++all.keys;
    }
  }
  Window& w = it->second;
  if (now >= w.start + limits_.window) {
    if (w.suppressed > 0 && due != nullptr) {
      due->push_back(Close(w, w.start + limits_.window));
    }
    w.start = now;
    w.logged = 0;
    w.suppressed = 0;
    w.sample.Clear();
  }
  if (now >= all.start + limits_.window) {
    all.start = now;
    all.logged = 0;
  }
  if (w.logged < limits_.logged_per_window &&
      all.logged < limits_.logged_per_window_all_keys) {
    ++w.logged;
    ++all.logged;
    return true;
  }
  if (w.suppressed++ == 0) w.sample = entry;
  return false;
}

std::vector<RefusalLimiter::Summary> RefusalLimiter::TakeDue(bool everything) {
  const absl::Time now = clock_->Now();
  std::vector<Summary> out;
  absl::MutexLock lock(&mu_);
  for (auto it = windows_.begin(); it != windows_.end();) {
    Window& w = it->second;
    const absl::Time end = w.start + limits_.window;
    if (now < end && !everything) {
      ++it;
      continue;
    }
    if (w.suppressed > 0) out.push_back(Close(w, std::min(now, end)));
    --kinds_[w.kind].keys;
    windows_.erase(it++);
  }
  return out;
}

RefusalLimiter::Summary RefusalLimiter::Close(Window& w,
                                              absl::Time until) const {
  Summary s;
  s.kind = w.kind;
  s.key = w.key;
  s.suppressed = w.suppressed;
  s.from = w.start;
  s.until = until;
  s.sample = std::move(w.sample);
  return s;
}

std::string PeerAddress(absl::string_view peer) {
  const size_t colon = peer.rfind(':');
  if (colon == absl::string_view::npos || colon + 1 == peer.size()) {
    return std::string(peer);
  }
  for (char c : peer.substr(colon + 1)) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return std::string(peer);
    }
  }
  return std::string(peer.substr(0, colon));
}

}  // namespace lanevault::api
