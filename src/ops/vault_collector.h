#ifndef LANEVAULT_OPS_VAULT_COLLECTOR_H_
#define LANEVAULT_OPS_VAULT_COLLECTOR_H_

// Copies what the vault knows about itself into Metrics: decisions from the
// access log (by action, verdict and rule; records stored and refused,
// quota refusals, lockouts), open alerts by kind, lockouts in force, items
// overdue and the purge lag, the log's and the database's size. The log is
// the record of every decision, so counting it misses none and needs no
// counting call in the gate. Called at each scrape (Metrics::SetRefresh);
// not thread-safe (the scrape is serialised).

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "ops/metrics.h"
#include "vault/vault.h"

namespace lanevault::ops {

class VaultCollector {
 public:
  // Counts decisions logged from now on (a restart starts counters at 0,
  // as Prometheus expects). `database` is the vault's file, for its size.
  VaultCollector(vault::Vault* vault, Metrics* metrics, std::string database);

  void Collect();

 private:
  vault::Vault* vault_;
  Metrics* metrics_;
  const std::string database_;
  uint64_t next_ = 0;  // the first entry not yet counted
  // The retention report reads every item row: at most once a minute.
  absl::Time retention_read_ = absl::InfinitePast();
  VaultFacts facts_;
};

}  // namespace lanevault::ops

#endif  // LANEVAULT_OPS_VAULT_COLLECTOR_H_
