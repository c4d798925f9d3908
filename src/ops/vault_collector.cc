#include "ops/vault_collector.h"

#include <sys/stat.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "lanevault/v1/decision.pb.h"
#include "lanevault/v1/types.pb.h"

namespace lanevault::ops {
namespace {

// At most this many entries are counted per scrape, so a scrape after a
// burst stays short; the rest are counted by the next.
constexpr uint64_t kMaxEntriesPerCollect = 20000;
constexpr uint64_t kPage = 1000;

}  // namespace

VaultCollector::VaultCollector(vault::Vault* vault, Metrics* metrics,
                               std::string database)
    : vault_(vault),
      metrics_(metrics),
      database_(std::move(database)),
      next_(vault->log().Size()) {}

void VaultCollector::Collect() {
  const uint64_t size = vault_->log().Size();
  const uint64_t end = std::min(size, next_ + kMaxEntriesPerCollect);
  while (next_ < end) {
    const uint64_t to = std::min(end, next_ + kPage);
    auto entries = vault_->log().Entries(next_, to);
    if (!entries.ok()) {
      spdlog::warn("metrics: cannot read the access log: {}",
                   entries.status().message());
      break;
    }
    for (const v1::AuditEntry& e : *entries) {
      DecisionFacts d;
      d.action = std::string(
          absl::StripPrefix(v1::Action_Name(e.action()), "ACTION_"));
      d.verdict = std::string(
          absl::StripPrefix(v1::Verdict_Name(e.verdict()), "VERDICT_"));
      d.rules.assign(e.rule_ids().begin(), e.rule_ids().end());
      d.reason_code = e.reason_code();
      metrics_->CountDecision(d);
    }
    next_ = to;
  }
  facts_.log_entries = size;
  if (struct stat st; stat(database_.c_str(), &st) == 0) {
    facts_.database_bytes = static_cast<uint64_t>(st.st_size);
  }
  if (auto alerts = vault_->oversight().Alerts(false); alerts.ok()) {
    facts_.open_alerts_by_kind.clear();
    for (const vault::AlertRow& a : *alerts) {
      ++facts_.open_alerts_by_kind[a.kind];
    }
  }
  if (auto lockouts = vault_->oversight().Lockouts(); lockouts.ok()) {
    facts_.lockouts_in_force = lockouts->size();
  }
  const absl::Time now = vault_->clock()->Now();
  if (now - retention_read_ >= absl::Minutes(1)) {
    if (auto rows = vault_->RetentionReport(); rows.ok()) {
      retention_read_ = now;
      facts_.overdue_by_category.clear();
      facts_.purge_lag = absl::ZeroDuration();
      for (const vault::CategoryRetentionRow& row : *rows) {
        const std::string category = std::string(absl::StripPrefix(
            v1::DataCategory_Name(row.category), "DATA_CATEGORY_"));
        facts_.overdue_by_category[category] = row.overdue;
        // The oldest deadline not on hold is the oldest overdue item's
        // when any is overdue.
        if (row.overdue > 0 && row.next_deadline < now) {
          facts_.purge_lag =
              std::max(facts_.purge_lag, now - row.next_deadline);
        }
      }
    }
  }
  metrics_->UpdateVault(facts_);
}

}  // namespace lanevault::ops
