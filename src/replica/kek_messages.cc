#include "replica/kek_messages.h"

namespace lanevault::replica {

v1::ReplicaKek KekToProto(const vault::StoredKek& kek) {
  v1::ReplicaKek out;
  out.set_version(kek.version);
  out.set_period_day(kek.period_day);
  out.set_generation(kek.generation);
  out.set_wrapped(kek.wrapped);
  out.set_created_unix_micros(absl::ToUnixMicros(kek.created));
  return out;
}

vault::StoredKek KekFromProto(const v1::ReplicaKek& kek) {
  vault::StoredKek out;
  out.version = kek.version();
  out.period_day = kek.period_day();
  out.generation = kek.generation();
  out.wrapped = kek.wrapped();
  out.created = absl::FromUnixMicros(kek.created_unix_micros());
  return out;
}

}  // namespace lanevault::replica
