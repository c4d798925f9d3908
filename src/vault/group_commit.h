#ifndef LANEVAULT_VAULT_GROUP_COMMIT_H_
#define LANEVAULT_VAULT_GROUP_COMMIT_H_

// Group commit, as in LevelDB's DBImpl::Write: writers queue up; the one at
// the front commits everyone queued behind it (up to a bound) in one
// transaction, so one fsync, and wakes them with their own result. Nobody
// returns before the commit that holds their input.

#include <algorithm>
#include <cstddef>
#include <deque>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"

namespace lanevault::vault {

// How many inputs one commit takes at most.
inline constexpr size_t kMaxGroupCommit = 128;

template <typename In, typename Out>
class GroupCommit {
 public:
  // `commit` gets a group's inputs in queue order and returns one result
  // per input, in the same order.
  using CommitFn = absl::FunctionRef<std::vector<Out>(std::vector<In>)>;

  explicit GroupCommit(size_t max_group = kMaxGroupCommit)
      : max_group_(max_group) {}
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  // Queues `input` and returns its result once a commit holding it is done;
  // the caller runs `commit` itself when it reaches the front.
  Out Submit(In input, CommitFn commit) {
    Writer w;
    w.input = std::move(input);
    absl::MutexLock lock(&mu_);
    queue_.push_back(&w);
    while (!w.done && &w != queue_.front()) w.cv.Wait(&mu_);
    if (w.done) return std::move(w.result);
    const size_t n = std::min(queue_.size(), max_group_);
    std::vector<In> inputs;
    inputs.reserve(n);
    for (size_t i = 0; i < n; ++i)
      inputs.push_back(std::move(queue_[i]->input));
    // Others queue up behind the group while it commits.
    mu_.Unlock();
    std::vector<Out> results = commit(std::move(inputs));
    mu_.Lock();
    for (size_t i = 0; i < n; ++i) {
      Writer* g = queue_.front();
      queue_.pop_front();
      g->result = std::move(results[i]);
      g->done = true;
      if (g != &w) g->cv.Signal();
    }
    if (!queue_.empty()) queue_.front()->cv.Signal();
    return std::move(w.result);
  }

 private:
  struct Writer {
    In input;
    Out result;
    bool done = false;
    absl::CondVar cv;
  };

  const size_t max_group_;
  absl::Mutex mu_;
  std::deque<Writer*> queue_ ABSL_GUARDED_BY(mu_);
};

}  // namespace lanevault::vault

#endif  // LANEVAULT_VAULT_GROUP_COMMIT_H_
