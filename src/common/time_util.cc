#include "common/time_util.h"

namespace lanevault {

absl::Time FloorTo(absl::Time t, absl::Duration granularity) {
  if (granularity <= absl::ZeroDuration() || t == absl::InfinitePast() ||
      t == absl::InfiniteFuture()) {
    return t;
  }
  const absl::Duration since = t - absl::UnixEpoch();
  return absl::UnixEpoch() + absl::Floor(since, granularity);
}

absl::Time CeilTo(absl::Time t, absl::Duration granularity) {
  const absl::Time floor = FloorTo(t, granularity);
  return floor == t ? t : floor + granularity;
}

google::protobuf::Timestamp ToProto(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t seconds = absl::ToUnixSeconds(t);
  ts.set_seconds(seconds);
  ts.set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(seconds))));
  return ts;
}

absl::Time FromProto(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

absl::Duration FromProto(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

google::protobuf::Duration ToProto(absl::Duration d) {
  google::protobuf::Duration out;
  const int64_t seconds = absl::IDivDuration(d, absl::Seconds(1), &d);
  out.set_seconds(seconds);
  out.set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(d)));
  return out;
}

int64_t ToUnixMicrosSaturated(absl::Time t) {
  if (t == absl::InfiniteFuture()) return INT64_MAX;
  if (t == absl::InfinitePast()) return INT64_MIN;
  return absl::ToUnixMicros(t);
}

int64_t ToUnixMicrosCeilSaturated(absl::Time t) {
  const int64_t us = ToUnixMicrosSaturated(t);
  if (us == INT64_MAX || us == INT64_MIN) return us;
  return absl::FromUnixMicros(us) < t ? us + 1 : us;
}

}  // namespace lanevault
