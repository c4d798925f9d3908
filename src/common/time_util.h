#ifndef LANEVAULT_COMMON_TIME_UTIL_H_
#define LANEVAULT_COMMON_TIME_UTIL_H_

#include <cstdint>

#include "absl/time/time.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/timestamp.pb.h"

namespace lanevault {

google::protobuf::Timestamp ToProto(absl::Time t);
absl::Time FromProto(const google::protobuf::Timestamp& ts);
absl::Duration FromProto(const google::protobuf::Duration& d);
google::protobuf::Duration ToProto(absl::Duration d);

// `t` floored (or ceiled) to a multiple of `granularity` since the epoch
// (unchanged for a granularity of zero or an infinite time).
absl::Time FloorTo(absl::Time t, absl::Duration granularity);
absl::Time CeilTo(absl::Time t, absl::Duration granularity);

// Microseconds since the Unix epoch: how times are stored in the vault.
int64_t ToUnixMicrosSaturated(absl::Time t);
// The same, rounded up to the next whole microsecond: with the rounded-down
// start above, the microseconds a query's [since, until) must ask for to
// hold every time in it.
int64_t ToUnixMicrosCeilSaturated(absl::Time t);

}  // namespace lanevault

#endif  // LANEVAULT_COMMON_TIME_UTIL_H_
