#ifndef LANEVAULT_TESTS_TESTING_COLLECTING_SINK_H_
#define LANEVAULT_TESTS_TESTING_COLLECTING_SINK_H_

#include <vector>

#include "absl/synchronization/mutex.h"
#include "capture/lane.h"

namespace lanevault::testing {

// Acknowledges every record a lane hands over, as the vault's intake would,
// and keeps them.
class CollectingSink : public capture::RecordSink {
 public:
  absl::Status Submit(v1::Record record) override {
    absl::MutexLock lock(&mu_);
    records_.push_back(std::move(record));
    return absl::OkStatus();
  }
  std::vector<v1::Record> records() {
    absl::MutexLock lock(&mu_);
    return records_;
  }

 private:
  absl::Mutex mu_;
  std::vector<v1::Record> records_ ABSL_GUARDED_BY(mu_);
};

}  // namespace lanevault::testing

#endif  // LANEVAULT_TESTS_TESTING_COLLECTING_SINK_H_
