#ifndef LANEVAULT_API_CHECKPOINTER_H_
#define LANEVAULT_API_CHECKPOINTER_H_

#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "vault/vault.h"

namespace lanevault::api {

// Signs a checkpoint of the access log every `interval` while entries
// arrive, and a final one when stopped, so an auditor's view is never more
// than a few seconds behind and shutdown leaves a signed head.
class Checkpointer {
 public:
  Checkpointer(vault::Vault* vault, absl::Duration interval);
  ~Checkpointer();  // stops (signing a final checkpoint)
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  void Stop();

 private:
  void SignIfGrown();

  vault::Vault* vault_;
  absl::Duration interval_;
  absl::Notification stop_;
  std::thread thread_;
  uint64_t signed_size_ = 0;
};

}  // namespace lanevault::api

#endif  // LANEVAULT_API_CHECKPOINTER_H_
