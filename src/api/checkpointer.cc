#include "api/checkpointer.h"

#include "common/logging.h"

namespace lanevault::api {

Checkpointer::Checkpointer(vault::Vault* vault, absl::Duration interval)
    : vault_(vault), interval_(interval) {
  thread_ = std::thread([this] {
    while (!stop_.WaitForNotificationWithTimeout(interval_)) SignIfGrown();
  });
}

Checkpointer::~Checkpointer() { Stop(); }

void Checkpointer::Stop() {
  if (!thread_.joinable()) return;
  stop_.Notify();
  thread_.join();
  SignIfGrown();
}

void Checkpointer::SignIfGrown() {
  if (vault_->AuditSize() == signed_size_) return;
  absl::StatusOr<v1::Checkpoint> cp = vault_->SignCheckpoint();
  if (!cp.ok()) {
    spdlog::error("cannot sign an access-log checkpoint: {}",
                  cp.status().message());
    return;
  }
  signed_size_ = cp->tree_size();
  spdlog::debug("signed access-log checkpoint at size {}", signed_size_);
}

}  // namespace lanevault::api
