#include "api/alert_feed.h"

#include "absl/strings/str_cat.h"

namespace lanevault::api {

AlertFeed::AlertFeed(vault::Oversight& oversight) : oversight_(oversight) {
  listener_ =
      oversight_.AddAlertListener([this](const v1::Alert& a) { Add(a); });
}

AlertFeed::~AlertFeed() { oversight_.RemoveAlertListener(listener_); }

void AlertFeed::Add(const v1::Alert& alert) {
  absl::MutexLock lock(&mu_);
  kept_.push_back(alert);
  if (kept_.size() > kKeep) {
    kept_.pop_front();
    ++first_;
  }
}

uint64_t AlertFeed::Position() const {
  absl::MutexLock lock(&mu_);
  return first_ + kept_.size();
}

absl::StatusOr<std::vector<v1::Alert>> AlertFeed::Read(
    uint64_t* position, absl::Duration wait) const {
  const uint64_t from = *position;
  auto arrived = [this, from]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return first_ + kept_.size() > from;
  };
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&arrived), wait);
  if (from < first_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("this watch fell ", first_ - from,
                     " alerts behind; watch again (open alerts come first)"));
  }
  std::vector<v1::Alert> out(kept_.begin() + (from - first_), kept_.end());
  *position = first_ + kept_.size();
  return out;
}

}  // namespace lanevault::api
