#include "wiring/tree_head_signer.h"

#include "common/logging.h"

namespace lanevault::wiring {

TreeHeadSigner::TreeHeadSigner(vault::Vault* vault, absl::Duration interval)
    : vault_(vault), interval_(interval) {
  thread_ = std::thread([this] {
    while (!stop_.WaitForNotificationWithTimeout(interval_)) SignIfGrown();
  });
}

TreeHeadSigner::~TreeHeadSigner() { Stop(); }

void TreeHeadSigner::Stop() {
  if (!thread_.joinable()) return;
  stop_.Notify();
  thread_.join();
  SignIfGrown();
}

void TreeHeadSigner::SignIfGrown() {
  // One replica signs at a time; a new holder signs the tree the database
  // holds (Size() and the root are read from it), so it continues the
  // checkpoints of the one before.
  if (!vault_->HoldsReplicaRole()) return;
  if (vault_->log().Size() == signed_size_) return;
  absl::StatusOr<v1::Checkpoint> cp = vault_->log().SignCheckpoint();
  if (!cp.ok()) {
    spdlog::error("cannot sign an access-log checkpoint: {}",
                  cp.status().message());
    return;
  }
  signed_size_ = cp->tree_size();
  spdlog::debug("signed access-log checkpoint at size {}", signed_size_);
}

}  // namespace lanevault::wiring
