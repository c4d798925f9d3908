#ifndef LANEVAULT_REPLICA_KEK_MESSAGES_H_
#define LANEVAULT_REPLICA_KEK_MESSAGES_H_

// A stored KEK as it travels between replicas (lanevault/v1/replica.proto),
// still wrapped by the master key.

#include "lanevault/v1/replica.pb.h"
#include "vault/kek_store.h"

namespace lanevault::replica {

// What one hand-over call may carry, both ways. A replica makes a few KEKs
// a day, so these are far above honest use; they keep a peer (or a row in
// the database naming versions) from sending or asking for megabytes, and
// keep the access log entry of a call small.
inline constexpr int kMaxHandOverMessageBytes = 64 * 1024;
inline constexpr int kMaxVersionsPerCall = 256;

v1::ReplicaKek KekToProto(const vault::StoredKek& kek);
vault::StoredKek KekFromProto(const v1::ReplicaKek& kek);

}  // namespace lanevault::replica

#endif  // LANEVAULT_REPLICA_KEK_MESSAGES_H_
