// The quota ledger decides counted calls exactly, and holds other decisions
// only while an admitted call logs itself: once it is logged, the rest of
// its handler (a slow image mark) must not keep another principal waiting.

#include "wiring/quota_ledger.h"

#include <atomic>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace lanevault::wiring {
namespace {

// An allowed read that a quota counts.
policy::AccessDecision CountedAllow() {
  policy::AccessDecision d;
  d.decision.set_verdict(v1::VERDICT_ALLOW);
  d.quota_counted = true;
  d.categories = {v1::DATA_CATEGORY_PLATE_TEXT};
  return d;
}

class QuotaLedgerTest : public ::testing::Test {
 protected:
  QuotaLedger::Reservation Admit(const std::string& principal,
                                 const std::string& record) {
    return ledger_.Admit(principal, "", v1::ACTION_READ_RECORD, record,
                         [&]() -> const policy::AccessDecision& {
                           pending_seen_ = ledger_.Pending(
                               principal, false, v1::ACTION_READ_RECORD);
                           return allow_;
                         });
  }

  QuotaLedger ledger_;
  const policy::AccessDecision allow_ = CountedAllow();
  uint32_t pending_seen_ = 0;
};

TEST_F(QuotaLedgerTest, AnAdmittedCallCountsAsPendingUntilSettled) {
  QuotaLedger::Reservation first = Admit("inspector-1", "rec_a");
  ASSERT_TRUE(allow_.allowed());
  QuotaLedger::Reservation second = Admit("inspector-1", "rec_b");
  EXPECT_EQ(pending_seen_, 1u);  // the first, not yet logged
  ledger_.Settle(first, [](absl::FunctionRef<void()>) {});
  QuotaLedger::Reservation third = Admit("inspector-1", "rec_c");
  EXPECT_EQ(pending_seen_, 1u);  // the second only
}

TEST_F(QuotaLedgerTest, ALoggedCallNoLongerHoldsOtherDecisions) {
  QuotaLedger::Reservation slow = Admit("inspector-1", "rec_a");
  absl::Notification logged, other_decided;
  bool decided_meanwhile = false;
  std::thread reader([&] {
    ledger_.Settle(slow, [&](absl::FunctionRef<void()> settle) {
      settle();  // its entry is in the log
      logged.Notify();
      // The slow rest of its handler. Had the ledger stayed locked, the
      // other principal's decision could only come after it, and this
      // would time out.
      decided_meanwhile =
          other_decided.WaitForNotificationWithTimeout(absl::Seconds(10));
    });
  });
  logged.WaitForNotification();
  QuotaLedger::Reservation other = Admit("inspector-2", "rec_b");
  other_decided.Notify();
  reader.join();
  EXPECT_TRUE(decided_meanwhile);
  // Settled: the logged call is no longer pending for its principal.
  QuotaLedger::Reservation again = Admit("inspector-1", "rec_c");
  EXPECT_EQ(pending_seen_, 0u);
}

TEST_F(QuotaLedgerTest, UntilLoggedOtherDecisionsWait) {
  QuotaLedger::Reservation first = Admit("inspector-1", "rec_a");
  absl::Notification inside;
  std::atomic<bool> decided{false};
  std::thread other;
  ledger_.Settle(first, [&](absl::FunctionRef<void()> settle) {
    other = std::thread([&] {
      inside.WaitForNotification();
      QuotaLedger::Reservation r = Admit("inspector-2", "rec_b");
      decided = true;
    });
    inside.Notify();
    absl::SleepFor(absl::Milliseconds(200));
    // Not logged yet: the other decision must not have run.
    EXPECT_FALSE(decided.load());
    settle();
    settle();  // a second call does nothing
  });
  other.join();
  EXPECT_TRUE(decided.load());
}

}  // namespace
}  // namespace lanevault::wiring
