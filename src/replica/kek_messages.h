#ifndef LANEVAULT_REPLICA_KEK_MESSAGES_H_
#define LANEVAULT_REPLICA_KEK_MESSAGES_H_

// A stored KEK as it travels between replicas (lanevault/v1/replica.proto),
// still wrapped by the master key.

#include "lanevault/v1/replica.pb.h"
#include "vault/kek_store.h"

namespace lanevault::replica {

v1::ReplicaKek KekToProto(const vault::StoredKek& kek);
vault::StoredKek KekFromProto(const v1::ReplicaKek& kek);

}  // namespace lanevault::replica

#endif  // LANEVAULT_REPLICA_KEK_MESSAGES_H_
