// The policy a contract defines, compiled once into bitmasks so that a
// decision is a few table lookups (the benchmark's target is < 2 µs).

#include <fnmatch.h>

#include <algorithm>
#include <array>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/time_util.h"
#include "policy/contract.h"
#include "policy/policy.h"

namespace lanevault::policy {
namespace {

using Bits = uint32_t;
constexpr int kRoles = static_cast<int>(Role::kContractor) + 1;
constexpr Bits kPlate = (1u << v1::DATA_CATEGORY_PLATE_TEXT) |
                        (1u << v1::DATA_CATEGORY_PLATE_IMAGE);
constexpr Bits kFace = 1u << v1::DATA_CATEGORY_FACE_IMAGE;

// Values a bit cannot stand for are left out (a shift past the width is
// undefined, and wrapped it would read as another value); DecideAccess
// refuses requests that carry them before any bits are made.
template <typename List>
Bits BitsOf(const List& values) {
  Bits b = 0;
  for (auto v : values) {
    const int i = static_cast<int>(v);
    if (i >= 0 && i < 32) b |= 1u << i;
  }
  return b;
}

// Roles that oversee the contract, and still read the log after it ends.
bool IsOversight(Role role) {
  return role == Role::kAuditor || role == Role::kCompliance;
}

bool IsRead(v1::Action a) {
  return a == v1::ACTION_READ_RECORD || a == v1::ACTION_READ_ITEM;
}

// Contract.checkpoints: the one entry that covers every checkpoint.

// Quota.alert_fraction and alert_sustained_windows when unset.
constexpr double kDefaultAlertFraction = 0.8;
constexpr uint32_t kDefaultSustainedWindows = 3;

struct CompiledPermit {
  const v1::Permit* source;
  Bits actions;
  Bits categories;
  absl::flat_hash_set<std::string> purposes;  // empty: any purpose
  absl::Duration window;
};

struct CompiledProhibition {
  const v1::Prohibition* source;
  uint32_t roles;   // bit per Role; 0: every role
  Bits actions;     // 0: every action
  Bits categories;  // 0: every category
  absl::flat_hash_set<std::string> purposes;
};

struct Binding {
  std::string pattern;
  Role role;
  std::vector<std::string> checkpoints;
  std::string group;
  std::vector<std::string> lanes;  // role lane: what it may submit for
  std::string path;                // "bindings[i]": the rule that decides
};

// A binding's list bounds a value unless it is empty.
bool Bound(const std::vector<std::string>& list, const std::string& value) {
  return list.empty() ||
         std::find(list.begin(), list.end(), value) != list.end();
}

AccessDecision Deny(std::string rule, std::string code, std::string reason) {
  return {MakeDecision(v1::VERDICT_DENY, {std::move(rule)}, std::move(code),
                       std::move(reason)),
          {}};
}

std::string CategoryNames(Bits bits) {
  std::vector<std::string> names;
  for (int c = 1; c <= v1::DataCategory_MAX; ++c) {
    if (bits & (1u << c)) {
      names.push_back(v1::DataCategory_Name(static_cast<v1::DataCategory>(c)));
    }
  }
  return absl::StrJoin(names, ", ");
}

class ContractPolicy final : public Policy {
 public:
  ContractPolicy(v1::Contract contract, bool every_checkpoint)
      : contract_(std::move(contract)),
        every_checkpoint_(every_checkpoint),
        from_(FromProto(contract_.effective_from())),
        until_(FromProto(contract_.effective_until())),
        deadline_cell_(absl::Seconds(
            std::max<int64_t>(1, CoarsestGranularitySeconds(contract_)))),
        checkpoints_(contract_.checkpoints().begin(),
                     contract_.checkpoints().end()) {
    for (const auto& p : contract_.permits()) {
      const Role role = RoleFromName(p.role());
      CompiledPermit cp{&p,
                        BitsOf(p.actions()),
                        BitsOf(p.categories()),
                        {p.purposes().begin(), p.purposes().end()},
                        FromProto(p.quota().window())};
      permits_[static_cast<int>(role)].push_back(std::move(cp));
    }
    for (const auto& p : contract_.prohibitions()) {
      uint32_t roles = 0;
      for (const auto& r : p.roles())
        roles |= 1u << static_cast<int>(RoleFromName(r));
      prohibitions_.push_back({&p,
                               roles,
                               BitsOf(p.actions()),
                               BitsOf(p.categories()),
                               {p.purposes().begin(), p.purposes().end()}});
    }
    for (int i = 0; i < contract_.bindings_size(); ++i) {
      const v1::RoleBinding& b = contract_.bindings(i);
      for (const auto& pattern : b.principal_patterns()) {
        bindings_.push_back({pattern,
                             RoleFromName(b.role()),
                             {b.checkpoints().begin(), b.checkpoints().end()},
                             b.group(),
                             {b.lanes().begin(), b.lanes().end()},
                             absl::StrCat("bindings[", i, "]")});
      }
    }
  }

  std::string contract_id() const override { return contract_.id(); }
  uint64_t contract_version() const override { return contract_.version(); }

  Role RoleOf(absl::string_view principal) const override {
    const Binding* b = BindingOf(principal);
    return b ? b->role : Role::kUnknown;
  }

  std::string GroupOf(absl::string_view principal) const override {
    const Binding* b = BindingOf(principal);
    return b ? b->group : "";
  }

  absl::StatusOr<PurposeView> ViewOf(absl::string_view purpose) const override {
    for (const v1::Purpose& p : contract_.purposes()) {
      if (p.id() == purpose) return ViewOfPurpose(p);
    }
    return absl::NotFoundError(
        absl::StrCat("the contract declares no purpose '", purpose, "'"));
  }

  std::vector<std::string> Scopes() const override {
    std::vector<std::string> out;
    for (const v1::Purpose& p : contract_.purposes()) {
      std::string scope = ViewOfPurpose(p).scope;
      if (std::find(out.begin(), out.end(), scope) == out.end()) {
        out.push_back(std::move(scope));
      }
    }
    return out;
  }

  std::vector<std::string> PurposesOf(absl::string_view scope) const override {
    std::vector<std::string> out;
    for (const v1::Purpose& p : contract_.purposes()) {
      if (ViewOfPurpose(p).scope == scope) out.push_back(p.id());
    }
    return out;
  }

  bool MayEver(Role role, v1::Action action) const override {
    if (!v1::Action_IsValid(action) || action == v1::ACTION_UNSPECIFIED) {
      return false;
    }
    // What DecideAccess allows outside the window, whatever the permits.
    if (action == v1::ACTION_READ_AUDIT && IsOversight(role)) return true;
    // Prohibitions are left to DecideAccess, which names the one that
    // refuses; here only whether any permit could apply.
    for (const CompiledPermit& p : permits_[static_cast<int>(role)]) {
      if (p.actions & (1u << action)) return true;
    }
    return false;
  }

  v1::IntakeDecision DecideIntake(const v1::Record& record) const override {
    v1::IntakeDecision out;
    out.set_record_id(record.record_id());
    out.set_contract_id(contract_.id());
    out.set_contract_version(contract_.version());
    const absl::Time seen = FromProto(record.first_seen());
    std::string refusal;
    if (seen < from_ || seen >= until_) {
      refusal = "outside_effective_window";
    } else if (!Covers(record.checkpoint_id())) {
      refusal = "checkpoint_not_covered";
    } else if (!contract_.lanes().empty() &&
               std::find(contract_.lanes().begin(), contract_.lanes().end(),
                         record.lane_id()) == contract_.lanes().end()) {
      refusal = "lane_not_covered";
    }
    for (const v1::Item& item : record.items()) {
      v1::ItemDecision* d = out.add_items();
      d->set_item_id(item.item_id());
      d->set_category(item.category());
      const v1::CategoryRule* rule = RuleFor(item.category(), record.lane_id());
      if (!refusal.empty() || rule == nullptr) {
        const std::string code = refusal.empty() ? "not_permitted" : refusal;
        *d->mutable_decision() = MakeDecision(
            v1::VERDICT_DENY, {"default-deny"}, code,
            refusal.empty()
                ? absl::StrCat(v1::DataCategory_Name(item.category()),
                               " is not kept under contract ", contract_.id())
                : absl::StrCat("nothing is kept: ", code));
        continue;
      }
      d->set_keep(true);
      d->set_redact_faces(rule->redact_faces());
      // Run from the capture time's cell of the coarsest purpose: an item
      // that expires to the second would tell a reader who polls it near
      // its deadline the capture time to the second, finer than any answer
      // says it. Every crossing of one cell expires at one instant, whatever
      // the retention. (ValidateContract refuses a retention shorter than
      // two cells, and granularities that do not nest.)
      *d->mutable_deadline() =
          ToProto(FloorTo(seen, deadline_cell_) + FromProto(rule->retention()));
      *d->mutable_deadline_cell() = ToProto(deadline_cell_);
      *d->mutable_decision() = MakeDecision(
          v1::VERDICT_ALLOW,
          {absl::StrCat("categories.", v1::DataCategory_Name(item.category()))},
          "allowed",
          absl::StrCat("kept for ",
                       absl::FormatDuration(FromProto(rule->retention()))));
    }
    return out;
  }

  AccessDecision DecideAccess(const AccessRequest& r) const override {
    // A value no bit stands for would be read as another one.
    if (!v1::Action_IsValid(r.action) ||
        !std::all_of(r.categories.begin(), r.categories.end(),
                     v1::DataCategory_IsValid) ||
        !std::all_of(r.available.begin(), r.available.end(),
                     v1::DataCategory_IsValid)) {
      return Deny("default-deny", "invalid_request",
                  "the request names an action or category this contract "
                  "does not know");
    }
    // Outside the effective window only oversight reads the log. Purging
    // is the vault's retention sweeper's ("system"), which asks no policy:
    // no role may purge, in the window or out of it.
    if (r.now < from_ || r.now >= until_) {
      if (r.action == v1::ACTION_READ_AUDIT && IsOversight(r.role)) {
        return {MakeDecision(v1::VERDICT_ALLOW, {"effective-window"}, "allowed",
                             "outside the effective window: the access log, "
                             "for auditors and compliance officers only"),
                {}};
      }
      return Deny("effective-window", "outside_effective_window",
                  absl::StrCat("contract ", contract_.id(),
                               " is not in effect at this time"));
    }
    const Bits asked = BitsOf(r.categories);
    const Bits available = BitsOf(r.available);
    Bits history = 0;
    if (r.history != nullptr && !r.record_id.empty() && IsRead(r.action)) {
      // What the principal has seen, and what anyone of its group has:
      // members who compare notes link no more than one may.
      history = BitsOf(r.history->CategoriesRead(r.principal, r.record_id));
      if (!r.group.empty()) {
        history |= BitsOf(r.history->GroupCategoriesRead(r.group, r.record_id));
      }
    }
    // The categories this call would touch; reads without a list ask for
    // all that is there.
    Bits touched = asked != 0 ? asked : (IsRead(r.action) ? available : 0);
    const bool asks_both =
        r.action == v1::ACTION_LINK || ((asked & kPlate) && (asked & kFace));
    const bool links_history =
        !asks_both && (((asked & kPlate) && (history & kFace)) ||
                       ((asked & kFace) && (history & kPlate)));
    const bool explicit_link = asks_both || links_history;
    // A linkage refusal for what was seen before, marked so (see
    // AccessDecision::linkage_by_history).
    auto by_history = [](AccessDecision d) {
      d.linkage_by_history = true;
      return d;
    };

    // Prohibitions first: they beat any permit.
    const Binding* binding = BindingOf(r.principal);
    const bool outside =
        !r.checkpoint.empty()
            ? !Covers(r.checkpoint)
            : (!binding || binding->checkpoints.empty() ||
               std::none_of(binding->checkpoints.begin(),
                            binding->checkpoints.end(),
                            [&](const std::string& c) { return Covers(c); }));
    auto banned = [&](v1::Action action,
                      Bits categories) -> const CompiledProhibition* {
      for (const auto& p : prohibitions_) {
        if (p.roles && !(p.roles & (1u << static_cast<int>(r.role)))) continue;
        if (p.actions && !(p.actions & (1u << action))) continue;
        if (p.categories && !(p.categories & categories)) continue;
        if (!p.purposes.empty() && !p.purposes.contains(r.purpose)) continue;
        if (p.source->outside_checkpoints() && !outside) continue;
        return &p;
      }
      return nullptr;
    };
    if (const auto* p = banned(r.action, touched)) return Prohibited(*p);
    if (explicit_link) {
      if (const auto* p = banned(v1::ACTION_LINK, touched)) {
        return links_history ? by_history(Prohibited(*p)) : Prohibited(*p);
      }
    }
    // A capture node speaks for its own lanes and checkpoints only.
    if (r.action == v1::ACTION_INTAKE && r.role == Role::kLane && binding) {
      if (!Bound(binding->lanes, r.lane)) {
        return Deny(binding->path, "lane_not_bound",
                    absl::StrCat("lane '", r.lane, "' is not bound to ",
                                 r.principal, " (it may submit for ",
                                 absl::StrJoin(binding->lanes, ", "), ")"));
      }
      if (!Bound(binding->checkpoints, r.record_checkpoint)) {
        return Deny(
            binding->path, "checkpoint_not_bound",
            absl::StrCat("checkpoint '", r.record_checkpoint,
                         "' is not bound to ", r.principal,
                         " (it may submit records of ",
                         absl::StrJoin(binding->checkpoints, ", "), ")"));
      }
    }

    // Permits: the union of what every matching permit grants.
    Bits granted = 0;
    std::vector<NearQuota> near;
    std::vector<std::string> rules;
    std::string blocked_rule, blocked_code, blocked_reason;
    bool link_permitted = false;
    bool quota_counted = false;
    // What permits needing no approval grant, and the permits that need one
    // (Permit.approval): the call needs an approval only for what no
    // permit of the first kind grants.
    Bits granted_free = 0;
    bool action_free = false;
    std::vector<const CompiledPermit*> gated;
    for (const CompiledPermit& p : permits_[static_cast<int>(r.role)]) {
      if (!p.purposes.empty() && !p.purposes.contains(r.purpose)) continue;
      const bool grants_action = p.actions & (1u << r.action);
      const bool grants_link = p.actions & (1u << v1::ACTION_LINK);
      if (!grants_action && !grants_link) continue;
      if (p.source->case_id_required() && r.case_id.empty()) {
        blocked_rule = p.source->id();
        blocked_code = "case_id_required";
        blocked_reason =
            absl::StrCat("permit '", p.source->id(), "' requires a case id");
        continue;
      }
      if (std::string why = OverQuota(p, r, &near); !why.empty()) {
        blocked_rule = p.source->id();
        blocked_code = "quota";
        blocked_reason = std::move(why);
        continue;
      }
      if (grants_link) link_permitted = true;
      if (grants_action) {
        granted |= p.categories;
        rules.push_back(p.source->id());
        quota_counted |= p.source->has_quota();
        if (p.source->approval().required() > 0) {
          gated.push_back(&p);
        } else {
          granted_free |= p.categories;
          action_free = true;
        }
      }
    }
    if (rules.empty()) {
      if (!blocked_rule.empty()) {
        return Deny(blocked_rule, blocked_code, blocked_reason);
      }
      return Deny(
          "default-deny", "default_deny",
          absl::StrCat("no permit lets role ", RoleName(r.role), " do ",
                       v1::Action_Name(r.action),
                       r.purpose.empty()
                           ? ""
                           : absl::StrCat(" for purpose '", r.purpose, "'")));
    }
    if (explicit_link && !link_permitted) {
      if (links_history) {
        return by_history(Deny("default-deny", "linkage",
                               "this would join the crossing's plate and faces "
                               "(you or your group already read the other "
                               "side): linkage is not permitted"));
      }
      return Deny("default-deny", "linkage",
                  "a crossing's plate and faces may not be read together: "
                  "linkage is not permitted");
    }
    if (!IsRead(r.action) && r.action != v1::ACTION_SEARCH_PLATE &&
        r.action != v1::ACTION_SEARCH_METADATA) {
      AccessDecision out{
          MakeDecision(v1::VERDICT_ALLOW, rules, "allowed", "permitted"), {}};
      if (!action_free) out.approval = ApprovalFor(gated, ~Bits{0});
      return out;
    }
    if (asked & ~granted) {
      return Deny(rules.front(), "category_not_permitted",
                  absl::StrCat(CategoryNames(asked & ~granted),
                               " not readable for purpose '", r.purpose, "'"));
    }
    if (!IsRead(r.action)) {
      AccessDecision out{MakeDecision(v1::VERDICT_ALLOW, rules, "allowed",
                                      "search returns record ids only"),
                         {},
                         std::move(near)};
      out.quota_counted = quota_counted;
      if (!action_free) out.approval = ApprovalFor(gated, ~Bits{0});
      return out;
    }
    // Only what the record holds: a category asked for and absent is not
    // handed over, nor named in the log as if it were.
    Bits give = touched & granted;
    if (!r.available.empty()) give &= available;
    if (!link_permitted) {
      // Never hand over both sides of a crossing, nor the other side of
      // what this principal already has.
      const Bits wanted = give;
      if (history & kPlate) give &= ~kFace;
      if (history & kFace) give &= ~kPlate;
      if (give == 0 && wanted != 0) {
        // All this call could give is the other side: it is a linkage.
        if (const auto* p = banned(v1::ACTION_LINK, wanted)) {
          return by_history(Prohibited(*p));
        }
        return by_history(Deny("default-deny", "linkage",
                               "this would join the crossing's plate and faces "
                               "(you or your group already read the other "
                               "side): linkage is not permitted"));
      }
      if ((give & kPlate) && (give & kFace)) {
        return Deny("default-deny", "linkage",
                    "this record's plate and faces are both readable for this "
                    "purpose; ask for one side (--categories), not both");
      }
    }
    if (give == 0) {
      return Deny(
          rules.front(), "nothing_readable",
          absl::StrCat("the record holds nothing readable for purpose '",
                       r.purpose, "'"));
    }
    AccessDecision out{
        MakeDecision(v1::VERDICT_ALLOW, rules, "allowed",
                     absl::StrCat("readable for purpose '", r.purpose,
                                  "': ", CategoryNames(give))),
        {}};
    for (int c = 1; c <= v1::DataCategory_MAX; ++c) {
      if (give & (1u << c))
        out.categories.push_back(static_cast<v1::DataCategory>(c));
    }
    out.near_quota = std::move(near);
    out.quota_counted = quota_counted;
    if (Bits needed = give & ~granted_free; needed != 0) {
      out.approval = ApprovalFor(gated, needed);
    }
    return out;
  }

 private:
  // The approval the call needs: of the permits in `gated` that grant any
  // of `needed`, the one requiring most approvals.
  static std::optional<ApprovalRule> ApprovalFor(
      const std::vector<const CompiledPermit*>& gated, Bits needed) {
    const v1::Permit* strictest = nullptr;
    for (const CompiledPermit* p : gated) {
      if (p->categories != 0 && !(p->categories & needed)) continue;
      if (strictest == nullptr ||
          p->source->approval().required() > strictest->approval().required()) {
        strictest = p->source;
      }
    }
    if (strictest == nullptr && !gated.empty()) {
      strictest = gated.front()->source;
    }
    if (strictest == nullptr) return std::nullopt;
    const v1::Approval& a = strictest->approval();
    ApprovalRule rule;
    rule.permit_id = strictest->id();
    rule.required = a.required();
    rule.approver_role = a.approver_role();
    if (a.has_ttl() && FromProto(a.ttl()) > absl::ZeroDuration()) {
      rule.ttl = FromProto(a.ttl());
    }
    return rule;
  }

  static AccessDecision Prohibited(const CompiledProhibition& p) {
    return Deny(
        p.source->id(), "prohibited",
        p.source->description().empty()
            ? absl::StrCat("prohibited by '", p.source->id(), "'")
            : absl::StrCat(p.source->description(), " (", p.source->id(), ")"));
  }

  // Empty when the call is within every limit of `p`; then `near` gets the
  // limits it brings to the quota's alert fraction.
  std::string OverQuota(const CompiledPermit& p, const AccessRequest& r,
                        std::vector<NearQuota>* near) const {
    const v1::Quota& q = p.source->quota();
    if (r.history == nullptr) return "";
    const std::string per = absl::FormatDuration(p.window);
    const absl::Time since = r.now - p.window;
    const bool group = !r.group.empty();
    const double fraction =
        q.alert_fraction() > 0 ? q.alert_fraction() : kDefaultAlertFraction;
    const uint32_t sustained = q.has_window() && q.alert_sustained_windows() > 0
                                   ? q.alert_sustained_windows()
                                   : kDefaultSustainedWindows;
    // Over `limit` at `used`: the refusal; near it: noted.
    auto check = [&](uint64_t used, uint32_t limit, absl::string_view what,
                     absl::string_view who, bool of_group) -> std::string {
      if (limit == 0) return "";
      if (used >= limit) {
        return absl::StrCat(of_group ? absl::StrCat("group ", who, "'s ") : "",
                            "quota of ", limit, " ", what, " per ", per,
                            " reached");
      }
      if (used + 1 >= fraction * limit) {
        near->push_back({std::string(who), of_group, p.window, sustained,
                         absl::StrCat(limit, " ", what, " per ", per)});
      }
      return "";
    };
    std::string why;
    auto first = [&why](std::string s) {
      if (why.empty()) why = std::move(s);
    };
    if (IsRead(r.action)) {
      // A second look at a record already read in the window takes a read
      // but no new record.
      auto again = [&](absl::string_view who, bool of_group) {
        return !r.record_id.empty() &&
               r.history->ReadSince(who, of_group, r.record_id, since);
      };
      if (q.reads_per_window() > 0 || q.distinct_records_per_window() > 0) {
        const auto past = r.history->ReadsSince(r.principal, since);
        first(check(past.reads, q.reads_per_window(), "reads", r.principal,
                    false));
        if (!again(r.principal, false)) {
          first(check(past.records, q.distinct_records_per_window(), "records",
                      r.principal, false));
        }
      }
      if (group && (q.group_reads_per_window() > 0 ||
                    q.group_distinct_records_per_window() > 0)) {
        const auto past = r.history->GroupReadsSince(r.group, since);
        first(check(past.reads, q.group_reads_per_window(), "reads", r.group,
                    true));
        if (!again(r.group, true)) {
          first(check(past.records, q.group_distinct_records_per_window(),
                      "records", r.group, true));
        }
      }
      return why;
    }
    const bool lookup = r.action == v1::ACTION_SEARCH_PLATE;
    if (!lookup && r.action != v1::ACTION_SEARCH_METADATA) return "";
    const uint32_t mine =
        lookup ? q.lookups_per_window() : q.searches_per_window();
    const uint32_t ours =
        lookup ? q.group_lookups_per_window() : q.group_searches_per_window();
    const char* what = lookup ? "lookups" : "searches";
    if (mine > 0) {
      first(check(r.history->CallsSince(r.principal, false, r.action, since),
                  mine, what, r.principal, false));
    }
    if (group && ours > 0) {
      first(check(r.history->CallsSince(r.group, true, r.action, since), ours,
                  what, r.group, true));
    }
    return why;
  }

  // Whether the contract covers `checkpoint`: one it names, or any at all
  // for the development contract (NewDevelopmentContractPolicy).
  bool Covers(const std::string& checkpoint) const {
    return every_checkpoint_ || checkpoints_.contains(checkpoint);
  }

  const Binding* BindingOf(absl::string_view principal) const {
    const std::string name(principal);
    for (const Binding& b : bindings_) {
      if (fnmatch(b.pattern.c_str(), name.c_str(), 0) == 0) return &b;
    }
    return nullptr;
  }

  const v1::CategoryRule* RuleFor(v1::DataCategory category,
                                  const std::string& lane) const {
    for (const auto& rule : contract_.categories()) {
      if (rule.category() != category) continue;
      if (!rule.lanes().empty() &&
          std::find(rule.lanes().begin(), rule.lanes().end(), lane) ==
              rule.lanes().end()) {
        return nullptr;
      }
      return &rule;
    }
    return nullptr;
  }

  v1::Contract contract_;
  const bool every_checkpoint_;
  absl::Time from_, until_;
  // Deadlines run from the capture time floored to it: the coarsest
  // purpose's cell, a second at least.
  const absl::Duration deadline_cell_;
  absl::flat_hash_set<std::string> checkpoints_;
  std::array<std::vector<CompiledPermit>, kRoles> permits_;
  std::vector<CompiledProhibition> prohibitions_;
  std::vector<Binding> bindings_;
};

absl::StatusOr<std::unique_ptr<Policy>> Compile(v1::Contract contract,
                                                bool every_checkpoint) {
  if (absl::Status s = FirstError(ValidateContract(contract)); !s.ok())
    return s;
  return std::make_unique<ContractPolicy>(std::move(contract),
                                          every_checkpoint);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Policy>> NewContractPolicy(
    v1::Contract contract) {
  return Compile(std::move(contract), /*every_checkpoint=*/false);
}

absl::StatusOr<std::unique_ptr<Policy>> NewDevelopmentContractPolicy(
    v1::Contract contract) {
  return Compile(std::move(contract), /*every_checkpoint=*/true);
}

}  // namespace lanevault::policy
