#ifndef LANEVAULT_CAPTURE_BOUNDED_QUEUE_H_
#define LANEVAULT_CAPTURE_BOUNDED_QUEUE_H_

#include <cstddef>
#include <deque>
#include <optional>

#include "absl/synchronization/mutex.h"

namespace lanevault::capture {

// A small blocking queue between a lane's threads. The producer chooses what
// happens when it is full: wait (records, which must never be lost) or drop
// the oldest entry (frames, which a live camera will not wait for).
template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity) : capacity_(capacity ? capacity : 1) {}

  // Waits for room. False when the queue was closed first.
  bool PushWait(T value) {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(this, &BoundedQueue::HasRoomOrClosed));
    if (closed_) return false;
    items_.push_back(std::move(value));
    return true;
  }

  // Never waits: false, and `value` not queued, when full or closed. For
  // what may be left out when the consumer is behind (a lane's position
  // marks, which a later one supersedes).
  bool TryPush(T value) {
    absl::MutexLock lock(&mu_);
    if (closed_ || items_.size() >= capacity_) return false;
    items_.push_back(std::move(value));
    return true;
  }

  // Never waits: when full, the oldest entry is discarded. Returns how many
  // were discarded (0 or 1); a closed queue discards `value` itself.
  int PushDropOldest(T value) {
    absl::MutexLock lock(&mu_);
    if (closed_) return 1;
    int dropped = 0;
    if (items_.size() >= capacity_) {
      items_.pop_front();
      dropped = 1;
    }
    items_.push_back(std::move(value));
    return dropped;
  }

  // Waits for an entry; nullopt once the queue is closed and empty.
  std::optional<T> Pop() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(this, &BoundedQueue::HasItemOrClosed));
    if (items_.empty()) return std::nullopt;
    T value = std::move(items_.front());
    items_.pop_front();
    return value;
  }

  // No more pushes; Pop drains what is left.
  void Close() {
    absl::MutexLock lock(&mu_);
    closed_ = true;
  }

  size_t size() const {
    absl::MutexLock lock(&mu_);
    return items_.size();
  }

 private:
  bool HasRoomOrClosed() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return closed_ || items_.size() < capacity_;
  }
  bool HasItemOrClosed() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return closed_ || !items_.empty();
  }

  const size_t capacity_;
  mutable absl::Mutex mu_;
  std::deque<T> items_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace lanevault::capture

#endif  // LANEVAULT_CAPTURE_BOUNDED_QUEUE_H_
