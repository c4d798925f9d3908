#ifndef LANEVAULT_WIRING_TREE_HEAD_SIGNER_H_
#define LANEVAULT_WIRING_TREE_HEAD_SIGNER_H_

#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "vault/vault.h"

namespace lanevault::wiring {

// Signs a tree head (a C2SP checkpoint) of the access log every `interval`
// while entries arrive, and a final one when stopped, so an auditor's view is
// never more than a few seconds behind and shutdown leaves a signed head.
// Among replicas on one PostgreSQL vault only the role holder signs (see
// vault/replica_role.h); the others check each interval whether it is
// theirs, so a dead holder's successor signs within about one interval.
class TreeHeadSigner {
 public:
  TreeHeadSigner(vault::Vault* vault, absl::Duration interval);
  ~TreeHeadSigner();  // stops (signing a final checkpoint)
  TreeHeadSigner(const TreeHeadSigner&) = delete;
  TreeHeadSigner& operator=(const TreeHeadSigner&) = delete;

  void Stop();

 private:
  void SignIfGrown();

  vault::Vault* vault_;
  absl::Duration interval_;
  absl::Notification stop_;
  std::thread thread_;
  uint64_t signed_size_ = 0;
};

}  // namespace lanevault::wiring

#endif  // LANEVAULT_WIRING_TREE_HEAD_SIGNER_H_
