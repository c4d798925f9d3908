#ifndef LANEVAULT_VAULT_MAINTAINER_H_
#define LANEVAULT_VAULT_MAINTAINER_H_

#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace lanevault::vault {

class Vault;

// The vault's background thread. It purges what is due, re-wraps data keys
// after a rotation in small batches (so intake is never blocked for long),
// destroys key versions nothing uses, and then sleeps until the next
// deadline — not a fixed poll. Intake of an earlier deadline, a lifted hold
// or a rotation wakes it early. On start it first catches up on everything
// that fell due while the vault was down.
class Maintainer {
 public:
  explicit Maintainer(Vault* vault);
  ~Maintainer();  // stops and joins
  Maintainer(const Maintainer&) = delete;
  Maintainer& operator=(const Maintainer&) = delete;

  // Work may be due sooner than planned: look again now.
  void Wake();
  // A deadline was taken in; wakes the thread only if it is sooner than the
  // one it sleeps towards.
  void NoteDeadline(absl::Time deadline);

 private:
  void Run();
  bool Ready() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stop_ || woken_;
  }

  Vault* vault_;
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool woken_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time planned_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  std::thread thread_;
};

}  // namespace lanevault::vault

#endif  // LANEVAULT_VAULT_MAINTAINER_H_
