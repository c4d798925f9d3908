#ifndef LANEVAULT_COMMON_CLOCK_H_
#define LANEVAULT_COMMON_CLOCK_H_

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace lanevault {

// The source of "now" for deadlines, quotas and audit entries. Tests use
// FakeClock so that retention and windows can be checked without sleeping.
// Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

// The wall clock. Returns a process-wide instance; never null.
Clock* RealClock();

// A clock that moves only when told to.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time start) : now_(start) {}
  absl::Time Now() const override;
  void Advance(absl::Duration d);
  void Set(absl::Time t);

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace lanevault

#endif  // LANEVAULT_COMMON_CLOCK_H_
