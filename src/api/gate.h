#ifndef LANEVAULT_API_GATE_H_
#define LANEVAULT_API_GATE_H_

// The one decision path every RPC takes: a chain of steps, each of which
// lets the call on or refuses it (Gate::Run, gate_chain.cc, lists them), in
// this order:
//
//   authenticate  the verified client certificate (revocation, deny-list)
//   bound         lockouts; each principal's call rate; a deadline is
//                 required; request size; a role no permit lets do the
//                 call's action at all is refused with one answer, whatever
//                 the call names; concurrent calls per principal; purpose
//                 where needed; canary records; the call's own request
//                 checks (CallSpec::check)
//   facts         what the policy must know of the record the call names
//                 (CallSpec::record_facts), asked of the vault once
//   decide        the policy decision, quotas included (the contract)
//   log           audit append (before anything is returned; fail closed)
//   handle        the handler, settling the call's quota reservation
//
// Handlers are reached only through Gate::Run. A server interceptor
// (GateInterceptorFactory) checks every call on its way out: a call that
// did not pass through Run is answered INTERNAL with its message emptied,
// so a handler written without the gate leaks nothing. Every refusal is
// logged, in one place, and enough of them in a window lock the principal
// out.
//
// The log itself is guarded here too. Until the caller is authenticated and
// its request within size, an entry holds nothing of the request: the
// method, the peer or principal, and the gate's own reason. After that,
// every field copied from the request is cut to a short cap (marked), and
// every entry the gate appends or hands to the vault passes
// BoundAuditEntry. Refusals of nobody and of the locked out, which nothing
// else stops, are rate-limited into counted summaries (refusal_limiter.h).

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "api/approvals.h"
#include "api/contract_follower.h"
#include "api/peer_verifier.h"
#include "api/refusal_limiter.h"
#include "google/protobuf/message_lite.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_interceptor.h"
#include "grpcpp/support/status.h"
#include "lanevault/v1/audit.pb.h"
#include "policy/policy.h"
#include "vault/vault.h"
#include "wiring/quota_ledger.h"
#include "wiring/vault_history.h"

namespace lanevault::api {

struct Caller {
  Caller() = default;
  explicit Caller(std::string principal_in,
                  policy::Role role_in = policy::Role::kUnknown,
                  std::string group_in = "")
      : principal(std::move(principal_in)),
        role(role_in),
        group(std::move(group_in)) {}
  std::string principal;
  policy::Role role = policy::Role::kUnknown;
  std::string group;  // the contract's RoleBinding.group; empty: none
};

grpc::Status ToGrpc(const absl::Status& status);

// No entry the gate writes is larger than this, its sequence number
// included: the raw bytes of an auditor's page of 1000 entries
// (GetEntries) then fit in the default 4 MiB response limit, so the log
// stays fetchable, and no caller can make one entry a burden to store,
// hash or serve.
inline constexpr size_t kMaxAuditEntryBytes = 4096;
// Longer certificate names are refused at authentication: a principal is
// logged whole, since lockouts and quotas are counted by it.
inline constexpr size_t kMaxPrincipalBytes = 256;

// Cuts every string of `entry` to its field's cap, marking each cut, and
// the whole entry to kMaxAuditEntryBytes. Every entry the gate writes or
// hands to the vault passes here; a handler that adds to an admitted
// entry should call it again before the vault appends it.
void BoundAuditEntry(v1::AuditEntry& entry);

struct GateLimits {
  // Requests larger than this are refused (and logged) by the gate; gRPC's
  // own limit, which refuses without a log entry, is set four times higher.
  size_t max_request_bytes = 4 << 20;
  int max_calls_per_principal = 32;
  // Calls a principal may make a second, sustained, and in a burst (a
  // token bucket per principal); 0: no limit. Every call is an access-log
  // entry, so without it a valid certificate calling in a loop grows the
  // log without bound; past it, calls are refused and summarised.
  double calls_per_second = 20;
  int call_burst = 400;
  int lockout_refusals = 10;
  absl::Duration lockout_window = absl::Minutes(10);
  // A lane's malformed submissions (damaged in transit, a clock far off)
  // lock it out only at this many in the window: they are faults more often
  // than attacks, and a lane locked out stops the evidence.
  int lockout_malformed_submissions = 100;
  // Refusals of callers without a valid certificate (per peer address) and
  // of principals locked out (per principal) logged one by one; the rest
  // are counted into one summary entry per key and window.
  RefusalLimits refusals;
  // Requests waiting for approval (approvals.h): how many, how long kept.
  ApprovalLimits approvals;
};

// What the policy must know of the record a call opens (CallSpec::record_id),
// stated by its handler up front so that the gate asks the vault once
// (Vault::Describe, for the call's case) instead of calling back into the
// service.
struct RecordFacts {
  // The categories asked for; empty: whatever the record holds.
  std::vector<v1::DataCategory> categories;
  // One item of the record: the question is about its category alone.
  std::string item_id;
};

// What one call asks, filled by its handler from the request.
struct CallSpec {
  v1::Action action = v1::ACTION_UNSPECIFIED;
  std::string purpose;
  std::string case_id;
  std::string record_id;  // a call about one record
  // Intake: the lane submitted for and the record's checkpoint, which the
  // policy checks against the caller's binding.
  std::string lane;
  std::string record_checkpoint;
  bool needs_purpose = false;  // evidence calls must say why
  // The vault appends the entry itself, in the transaction that acts (a
  // read, a hold, a rotation): Admission::entry is then stamped but not
  // yet logged, and the handler must hand it to the vault.
  bool vault_logs = false;
  absl::string_view plate;  // plate lookups: logged by blind index only
  // Evidence calls: the record (`record_id`) and item
  // (`record_facts->item_id`) are named by handles of the purpose's scope
  // (crypto/handles.h), which the gate opens to ids before anything else
  // looks at them; the handler reads the ids and the purpose's view from
  // the Admission.
  bool scoped = false;
  std::string detail;  // non-personal context for the log
  // Request checks that need no policy (sizes, ranges): a non-OK status
  // refuses the call with its code and message, logged, counted as
  // `check_counts`.
  std::function<absl::Status()> check;
  v1::RefusalCount check_counts = v1::REFUSAL_COUNT_CALLER;
  // Set for a call that opens `record_id`: the policy is then asked about
  // the categories the record holds now. A record the vault cannot
  // describe refuses the call with the vault's code, logged.
  std::optional<RecordFacts> record_facts;
};

// A call the gate let through.
struct Admission {
  Caller caller;
  // Scoped calls (CallSpec::scoped): the purpose's view, and the ids the
  // handles named (empty when the call named none).
  policy::PurposeView view;
  std::string record_id;
  std::string item_id;
  // The handle that named `record_id` (it opened under the view's scope, so
  // it is the handle an answer would issue for it).
  std::string record_handle;
  // Calls about one record: the categories it holds now, and the record as
  // the vault fetched it to say so (sealed), for the handler's Vault::Read
  // to open rather than fetch again.
  std::vector<v1::DataCategory> available;
  std::optional<vault::StoredRecord> fetched;
  policy::AccessDecision decision;
  v1::AuditEntry entry;  // see CallSpec::vault_logs
  // The sequence number of the entry the gate logged (0 when the vault
  // logs the call itself): what an image the call returns is marked with.
  uint64_t logged_sequence = 0;
  // Held until the handler returns, which runs settling it (quota_ledger.h).
  wiring::QuotaLedger::Reservation* reservation = nullptr;
  // A handler whose vault logs the call (CallSpec::vault_logs) calls this
  // once the entry is in the log, or could not be written: quota-counted
  // calls are decided with the ledger locked until then, and what the
  // handler does after (marking images, signing) must not hold other
  // callers' decisions. Calling it again does nothing.
  std::function<void()> logged = [] {};
};

class Gate {
 public:
  // `peers` null: the development plain-text mode, where callers name
  // themselves (loopback only; see ServerOptions).
  Gate(const policy::Policy* policy, vault::Vault* vault,
       const PeerVerifier* peers, GateLimits limits = {});
  // Logs the summaries of refusals still only counted.
  ~Gate();

  // The only way into a handler: takes the call down the chain described
  // at the top. Returns the refusal (logged) or what the handler returns.
  grpc::Status Run(grpc::ServerContext* ctx,
                   const google::protobuf::MessageLite& request,
                   const CallSpec& spec,
                   absl::FunctionRef<grpc::Status(Admission&)> handler);

  // What a plate lookup may name of `ids`: none whose faces the caller or
  // its group has seen (logged or in flight); those kept count as plate
  // seen until the call's entry is logged.
  // At most `max` are named; `more` says whether there were more.
  // `withheld` receives how many were withheld for faces seen.
  std::vector<std::string> RevealPlates(Admission& admission,
                                        std::vector<std::string> ids,
                                        size_t max, bool* more,
                                        size_t* withheld);
  // A "linkage_probe" alert (at most one a principal an hour): `caller`
  // was kept from one side of a crossing because it or its group has seen
  // the other: a plate lookup withheld matches whose faces were seen, or a
  // read was refused as linkage. Withholding keeps the sides apart, but the
  // empty answer or the refusal tells what was seen: asked after each of a
  // colleague's face reads, it links a plate to one face. So it is never
  // silent. `what` says what happened, naming no record and no plate.
  void AlertLinkageProbe(const Caller& caller, absl::string_view what);

  // For services that are not lanevault's (health, reflection): whether
  // the caller presents a valid certificate.
  bool PeerVerified(const grpc::ServerContextBase& ctx) const;

  // The interceptor's side: every call is announced before its handler
  // runs, asked on the way out whether it went through Run, and forgotten
  // when it ends.
  void BeginCall(const void* ctx, absl::string_view method);
  bool Gated(const void* ctx);
  void EndCall(const void* ctx);
  // Logs a call refused before the gate saw it (by gRPC itself: an
  // oversized or malformed message), or answered without it.
  void LogUngated(const grpc::ServerContextBase& ctx, absl::string_view method,
                  const grpc::Status& status);

  const policy::Policy& policy() const { return *policy_; }
  // Replicas: before each call, `follower` (not owned) brings the contract
  // in force up to the newest one kept in the vault. Set before serving.
  void SetContractFollower(ContractFollower* follower) { follower_ = follower; }
  vault::Vault& vault() const { return *vault_; }
  const GateLimits& limits() const { return limits_; }
  // Requests waiting for approval (Permit.approval; approvals.h): the
  // gate's RequireApproval step opens and uses them, ApprovalService
  // decides them.
  ApprovalBook& approvals() { return approvals_; }
  // The policy question for this caller, with its history.
  policy::AccessRequest Request(const Caller& caller,
                                const CallSpec& spec) const;
  // Counts a logged refusal towards its caller's lockout (what its
  // refusal_count names), locking the caller out at the threshold. For
  // refusals a handler logs itself after admission.
  void CountTowardsLockout(const v1::AuditEntry& refusal);
  // Writes the verdict and the deciding rules into an entry.
  static void Stamp(v1::AuditEntry& entry, v1::Verdict verdict,
                    const v1::Decision& decision);

 private:
  class CallSlot;
  // One call on its way down the chain: its state and its steps
  // (gate_chain.cc).
  class Call;
  // Marks the call as gated for the interceptor; its method. INTERNAL for a
  // call the interceptor never announced.
  absl::StatusOr<std::string> Announce(const void* ctx);
  absl::StatusOr<Caller> Authenticate(const grpc::ServerContextBase& ctx) const;
  // An entry with who called what, and nothing of the request.
  v1::AuditEntry Entry(const Caller& caller, v1::Action action,
                       absl::string_view method) const;
  // Adds the request's fields, each cut to its cap: only once the caller
  // is authenticated and the request within size.
  void AddRequestFields(v1::AuditEntry& entry, const CallSpec& spec) const;
  // Logs a refusal, counts it towards what `counts` names (nothing for the
  // refusals of nobody, of someone already locked out, or of what the
  // caller did not cause), and returns what to send: `code` with `message`,
  // or UNAVAILABLE when the refusal cannot be logged.
  grpc::Status Refuse(v1::AuditEntry entry, absl::string_view reason_code,
                      grpc::StatusCode code, absl::string_view message,
                      v1::RefusalCount counts = v1::REFUSAL_COUNT_CALLER);
  // A refusal of someone nothing else stops (`kind` "unauthenticated" by
  // peer address, "locked_out" by principal): logged through Refuse while
  // its key is within RefusalLimits, otherwise only counted for the
  // window's summary. The caller is refused either way.
  grpc::Status RefuseLimited(v1::AuditEntry entry,
                             absl::string_view reason_code,
                             absl::string_view kind, absl::string_view key,
                             grpc::StatusCode code, absl::string_view message,
                             v1::RefusalCount counts);
  // The entry for a caller not authenticated: where the call came from
  // and why it was refused, none of the request.
  v1::AuditEntry UnauthenticatedEntry(const grpc::ServerContextBase& ctx,
                                      absl::string_view method,
                                      v1::Action action,
                                      const absl::Status& why) const;
  // Appends one summary entry for each; an error if any could not be.
  absl::Status LogSummaries(std::vector<RefusalLimiter::Summary> due);
  // Whether a failure to gather a record's facts is the caller's doing (an
  // unknown id) or the vault's (damage, a full disk, a purged item).
  static v1::RefusalCount Blame(const absl::Status& failure);
  grpc::Status LockOutNow(const v1::AuditEntry& cause, absl::string_view kind,
                          absl::string_view reason);

  // Whether `principal` may make one more call now; takes it if so.
  bool TakeCallToken(const std::string& principal);
  // A "quota_reached" alert, at most one a principal and limit an hour.
  void AlertQuotaReached(const Caller& caller, absl::string_view why);
  // Whether no alert of `key` was raised in the hour before now; if so,
  // notes one now.
  bool FirstAlertThisHour(const std::string& key);
  // A "quota_sustained" alert when a principal or group has come near a
  // limit in each of its last `sustained_windows` windows.
  void NoteNearQuota(const Caller& caller, const policy::NearQuota& near);
  struct NearHistory {
    std::deque<int64_t> windows;  // the last windows it came near in
    int64_t alerted_window = -1;
  };

  const policy::Policy* policy_;
  ContractFollower* follower_ = nullptr;
  vault::Vault* vault_;
  const PeerVerifier* peers_;
  const GateLimits limits_;
  wiring::QuotaLedger ledger_;
  wiring::VaultAccessHistory history_;
  ApprovalBook approvals_;

  struct CallState {
    std::string method;
    bool gated = false;
  };
  absl::Mutex mu_;
  absl::flat_hash_map<const void*, CallState> calls_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, int> in_flight_ ABSL_GUARDED_BY(mu_);
  // Each principal's call budget (GateLimits::calls_per_second), on the
  // vault's clock, as its quotas are.
  struct CallBucket {
    double tokens = 0;
    absl::Time last;
  };
  absl::flat_hash_map<std::string, CallBucket> call_buckets_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, absl::Time> quota_alerted_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, NearHistory> near_quota_
      ABSL_GUARDED_BY(mu_);

  RefusalLimiter refusal_limiter_;
  // Summarises windows that ended while their keys went quiet. Declared
  // last: it starts once everything it uses is built.
  absl::Notification stop_flusher_;
  std::thread flusher_;
};

// Installs the check described at the top on every call of a server.
class GateInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit GateInterceptorFactory(Gate* gate) : gate_(gate) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  Gate* gate_;
};

}  // namespace lanevault::api

#endif  // LANEVAULT_API_GATE_H_
