#include "policy/contract.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/config.h"
#include "common/time_util.h"
#include "crypto/signing.h"
#include "policy/policy.h"

namespace lanevault::policy {
namespace {

// `per_window` records in each of `windows` windows, in whole records:
// 0 where there are no windows (a contract that ends before it starts, which
// the validator reports), the largest count where the product passes it (a
// window of a nanosecond). A double outside uint64_t's range has no
// conversion: it is undefined behaviour, not a large number.
uint64_t WholeRecords(uint64_t per_window, double windows) {
  const double records = static_cast<double>(per_window) * windows;
  if (!(records > 0)) return 0;             // NaN too
  if (records >= 18446744073709551616.0) {  // 2^64
    return std::numeric_limits<uint64_t>::max();
  }
  return static_cast<uint64_t>(records);
}

constexpr int64_t kSecondsPerDay = 86400;
constexpr int64_t kMaxGranularitySeconds = 7 * kSecondsPerDay;
constexpr double kDefaultMinCrossingsPerCell = 10;
// Permit.approval.required: more approvers than this is a typo, not control.
constexpr uint32_t kMaxApprovalsRequired = 5;

class Validator {
 public:
  explicit Validator(const v1::Contract& c) : c_(c) {}

  std::vector<ValidationIssue> Run() {
    Header();
    Categories();
    Purposes();
    Bindings();
    Rules();
    Approvals();
    DeadPermits();
    Harvest();
    Joins();
    return std::move(issues_);
  }

 private:
  void Error(std::string path, std::string message) {
    issues_.push_back({std::move(path), std::move(message), false});
  }
  void Warn(std::string path, std::string message) {
    issues_.push_back({std::move(path), std::move(message), true});
  }

  void Header() {
    if (c_.id().empty()) Error("id", "must be set");
    if (c_.version() == 0) Error("version", "must be 1 or more");
    if (!c_.has_effective_from()) Error("effective_from", "must be set");
    if (!c_.has_effective_until()) Error("effective_until", "must be set");
    if (c_.has_effective_from() && c_.has_effective_until() &&
        FromProto(c_.effective_until()) <= FromProto(c_.effective_from())) {
      Error("effective_until",
            "must be after effective_from (the window is empty or inverted)");
    }
    if (c_.checkpoints().empty())
      Error("checkpoints", "must name at least one");
    for (int i = 0; i < c_.checkpoints_size(); ++i) {
      // A wildcard in a signed contract would keep crossings from anywhere
      // and put no caller outside: name each checkpoint.
      if (absl::StrContains(c_.checkpoints(i), "*")) {
        Error(absl::StrCat("checkpoints[", i, "]"),
              "name each checkpoint; \"*\" is not a checkpoint (only the "
              "built-in development contract covers every checkpoint)");
      }
    }
    if (c_.has_max_retention() &&
        FromProto(c_.max_retention()) <= absl::ZeroDuration()) {
      Error("max_retention", "must be positive");
    }
  }

  void Categories() {
    // The cell deadlines run from: at least a second, as the policy takes
    // it; granularities past the bound are refused under purposes, so no
    // product below overflows.
    const int64_t cell = std::max<int64_t>(
        1, std::min(CoarsestGranularitySeconds(c_), kMaxGranularitySeconds));
    for (int i = 0; i < c_.categories_size(); ++i) {
      const auto& rule = c_.categories(i);
      const std::string path = absl::StrCat("categories[", i, "]");
      if (rule.category() == v1::DATA_CATEGORY_UNSPECIFIED) {
        Error(path + ".category", "must be set");
        continue;
      }
      if (!categories_.insert(rule.category()).second) {
        Error(path + ".category",
              absl::StrCat("duplicate rule for ",
                           v1::DataCategory_Name(rule.category())));
      }
      if (!rule.has_retention() ||
          FromProto(rule.retention()) <= absl::ZeroDuration()) {
        Error(path + ".retention",
              absl::StrCat(v1::DataCategory_Name(rule.category()),
                           " has no retention period"));
      } else if (c_.has_max_retention() &&
                 FromProto(rule.retention()) > FromProto(c_.max_retention())) {
        Error(path + ".retention",
              absl::StrCat(
                  "longer than the contract's max_retention (",
                  absl::FormatDuration(FromProto(rule.retention())), " > ",
                  absl::FormatDuration(FromProto(c_.max_retention())), ")"));
      }
      // Deadlines run from the capture time's cell of the coarsest purpose
      // (see DecideIntake): a shorter retention could expire at capture.
      if (rule.has_retention() &&
          FromProto(rule.retention()) < absl::Seconds(cell) * 2) {
        Error(path + ".retention",
              absl::StrCat(
                  "shorter than twice the coarsest purpose's time "
                  "granularity (",
                  absl::FormatDuration(FromProto(rule.retention())), " < 2 x ",
                  absl::FormatDuration(absl::Seconds(cell)),
                  "): deadlines are floored to whole cells, so when an item "
                  "expires says no more than an answer; a retention that "
                  "short could lose half of it"));
      }
      for (int j = 0; j < rule.lanes_size(); ++j) {
        if (!c_.lanes().empty() &&
            std::find(c_.lanes().begin(), c_.lanes().end(), rule.lanes(j)) ==
                c_.lanes().end()) {
          Error(absl::StrCat(path, ".lanes[", j, "]"),
                absl::StrCat("lane '", rule.lanes(j),
                             "' is not one the contract covers"));
        }
      }
    }
  }

  void Purposes() {
    // Deadlines run from the coarsest purpose's cell (DecideIntake); a
    // finer cell that did not divide it would cut a coarse cell into
    // pieces that an answer's time and an expiry together tell apart.
    const int64_t coarsest = CoarsestGranularitySeconds(c_);
    for (int i = 0; i < c_.purposes_size(); ++i) {
      const int64_t g = c_.purposes(i).time_granularity().seconds();
      if (g > 0 && coarsest % g != 0) {
        Error(absl::StrCat("purposes[", i, "].time_granularity"),
              absl::StrCat("must divide the coarsest purpose's (", g,
                           " s does not divide ", coarsest,
                           " s): items expire by whole cells of the "
                           "coarsest, and cells that do not nest would place "
                           "a crossing more finely than either"));
      }
    }
    for (int i = 0; i < c_.purposes_size(); ++i) {
      const std::string path = absl::StrCat("purposes[", i, "].id");
      if (c_.purposes(i).id().empty()) {
        Error(path, "must be set");
      } else if (!purposes_.insert(c_.purposes(i).id()).second) {
        Error(path,
              absl::StrCat("duplicate purpose '", c_.purposes(i).id(), "'"));
      }
      const v1::Purpose& p = c_.purposes(i);
      const auto& g = p.time_granularity();
      if (g.seconds() < 0 || g.nanos() != 0 ||
          g.seconds() > kMaxGranularitySeconds) {
        Error(absl::StrCat("purposes[", i, "].time_granularity"),
              absl::StrCat("whole seconds from 0 to ", kMaxGranularitySeconds,
                           " (7 days)"));
      } else if (g.seconds() > 0 && kSecondsPerDay % g.seconds() != 0 &&
                 g.seconds() % kSecondsPerDay != 0) {
        // Cells that do not tile a day would straddle midnight differently
        // each day, and two answers could be joined on the overlap.
        Error(absl::StrCat("purposes[", i, "].time_granularity"),
              "must divide a day (60, 300, 3600, ...) or be whole days");
      }
      for (char ch : p.scope()) {
        if (!absl::ascii_isalnum(ch) && ch != '-' && ch != '_' && ch != '.') {
          Error(absl::StrCat("purposes[", i, "].scope"),
                "letters, digits, '-', '_' and '.' only");
          break;
        }
      }
    }
  }

  // Whether a permit lets `purpose` name records (reads, lookups, searches).
  bool NamesRecords(const std::string& purpose) const {
    for (const v1::Permit& p : c_.permits()) {
      bool evidence = false;
      for (int a : p.actions()) {
        evidence = evidence || a == v1::ACTION_READ_RECORD ||
                   a == v1::ACTION_READ_ITEM || a == v1::ACTION_SEARCH_PLATE ||
                   a == v1::ACTION_SEARCH_METADATA;
      }
      if (evidence && std::find(p.purposes().begin(), p.purposes().end(),
                                purpose) != p.purposes().end()) {
        return true;
      }
    }
    return false;
  }

  // Two purposes whose answers name the same records would be joined by
  // whoever holds both: on a shared scope's handles, or on the cell (a time
  // slot at a lane or checkpoint) the coarser of the two places a record
  // in, when that cell holds so few crossings that it names one.
  void Joins() {
    const double per_cell_floor = c_.min_crossings_per_cell() > 0
                                      ? c_.min_crossings_per_cell()
                                      : kDefaultMinCrossingsPerCell;
    std::vector<int> named;
    for (int i = 0; i < c_.purposes_size(); ++i) {
      if (NamesRecords(c_.purposes(i).id())) named.push_back(i);
    }
    for (size_t x = 0; x < named.size(); ++x) {
      for (size_t y = x + 1; y < named.size(); ++y) {
        const PurposeView a = ViewOfPurpose(c_.purposes(named[x]));
        const PurposeView b = ViewOfPurpose(c_.purposes(named[y]));
        const std::string path = absl::StrCat("purposes[", named[y], "]");
        const std::string pair =
            absl::StrCat("purposes '", a.purpose, "' and '", b.purpose, "'");
        if (a.scope == b.scope) {
          Warn(path, absl::StrCat(pair, " share scope '", a.scope,
                                  "': their answers name each record by the "
                                  "same handle, so they join; give each a "
                                  "scope of its own"));
          continue;
        }
        const absl::Duration cell =
            std::max(a.time_granularity, b.time_granularity);
        const bool by_checkpoint = a.checkpoint_only || b.checkpoint_only;
        const std::string where = by_checkpoint ? "checkpoint" : "lane";
        if (!c_.has_harvest_limit() ||
            c_.harvest_limit().expected_crossings_per_day() == 0) {
          if (cell < absl::Hours(1)) {
            Warn(path,
                 absl::StrCat(pair, " may join on time and ", where,
                              ": the coarser places a record within ",
                              absl::FormatDuration(cell),
                              "; set harvest_limit.expected_crossings_per_day "
                              "so the crowd per cell can be judged, or "
                              "coarsen one of them to an hour or more"));
          }
          continue;
        }
        const double places =
            by_checkpoint
                ? std::max(1, c_.checkpoints_size())
                : std::max(c_.lanes_size(), std::max(1, c_.checkpoints_size()));
        const double per_cell =
            static_cast<double>(
                c_.harvest_limit().expected_crossings_per_day()) *
            absl::FDivDuration(cell, absl::Hours(24)) / places;
        if (per_cell >= per_cell_floor) continue;
        Warn(path,
             absl::StrCat(pair,
                          " would still join: the coarser of the two places a "
                          "record in ",
                          absl::FormatDuration(cell), " at a ", where,
                          ", about ", absl::StrFormat("%.1f", per_cell),
                          " crossings, fewer than min_crossings_per_cell (",
                          per_cell_floor,
                          "); coarsen the time or the place of one of them"));
      }
    }
  }

  bool KnownRole(const std::string& role) const {
    return RoleFromName(role) != Role::kUnknown;
  }

  void Bindings() {
    for (int i = 0; i < c_.bindings_size(); ++i) {
      const auto& b = c_.bindings(i);
      const std::string path = absl::StrCat("bindings[", i, "]");
      if (!KnownRole(b.role())) {
        Error(path + ".role", absl::StrCat("unknown role '", b.role(), "'"));
      }
      if (b.principal_patterns().empty()) {
        Error(path + ".principal_patterns", "must name at least one pattern");
      }
      const bool lane = RoleFromName(b.role()) == Role::kLane;
      for (int j = 0; j < b.lanes_size(); ++j) {
        const std::string at = absl::StrCat(path, ".lanes[", j, "]");
        if (!lane) {
          Error(at, absl::StrCat("only a binding of role lane names lanes "
                                 "(this one is '",
                                 b.role(), "')"));
        } else if (b.lanes(j).empty()) {
          Error(at, "must be set");
        } else if (absl::StrContains(b.lanes(j), "*")) {
          Error(at,
                "name each lane; \"*\" is not a lane (an empty list "
                "binds every lane the contract covers)");
        } else if (!c_.lanes().empty() &&
                   std::find(c_.lanes().begin(), c_.lanes().end(),
                             b.lanes(j)) == c_.lanes().end()) {
          Error(at, absl::StrCat("lane '", b.lanes(j),
                                 "' is not one the contract covers"));
        }
      }
      // A lane's checkpoints bound what it may submit: a wildcard would
      // bound nothing.
      for (int j = 0; lane && j < b.checkpoints_size(); ++j) {
        if (absl::StrContains(b.checkpoints(j), "*")) {
          Error(absl::StrCat(path, ".checkpoints[", j, "]"),
                "name each checkpoint; \"*\" is not a checkpoint (an empty "
                "list binds every checkpoint the contract covers)");
        }
      }
    }
  }

  void RuleId(const std::string& id, const std::string& path) {
    if (id.empty()) {
      Error(path, "must be set");
    } else if (!rule_ids_.insert(id).second) {
      Error(path, absl::StrCat("duplicate rule id '", id, "'"));
    }
  }

  void Rules() {
    for (int i = 0; i < c_.permits_size(); ++i) {
      const auto& p = c_.permits(i);
      const std::string path = absl::StrCat("permits[", i, "]");
      RuleId(p.id(), path + ".id");
      if (!KnownRole(p.role())) {
        Error(path + ".role", absl::StrCat("unknown role '", p.role(), "'"));
      }
      for (int j = 0; j < p.purposes_size(); ++j) {
        if (!purposes_.contains(p.purposes(j))) {
          Error(absl::StrCat(path, ".purposes[", j, "]"),
                absl::StrCat("unknown purpose '", p.purposes(j), "'"));
        }
      }
      if (p.actions().empty()) Error(path + ".actions", "must name an action");
      for (int j = 0; j < p.actions_size(); ++j) {
        if (p.actions(j) == v1::ACTION_UNSPECIFIED) {
          Error(absl::StrCat(path, ".actions[", j, "]"), "must be set");
        }
      }
      for (int j = 0; j < p.categories_size(); ++j) {
        if (!categories_.contains(p.categories(j))) {
          Error(absl::StrCat(path, ".categories[", j, "]"),
                absl::StrCat("unknown category ",
                             v1::DataCategory_Name(p.categories(j)),
                             " (the contract keeps no such data)"));
        }
      }
      const auto& q = p.quota();
      const bool any_limit =
          q.reads_per_window() > 0 || q.distinct_records_per_window() > 0 ||
          q.lookups_per_window() > 0 || q.searches_per_window() > 0 ||
          q.group_reads_per_window() > 0 ||
          q.group_distinct_records_per_window() > 0 ||
          q.group_lookups_per_window() > 0 || q.group_searches_per_window() > 0;
      if (q.alert_fraction() < 0 || q.alert_fraction() > 1) {
        Error(path + ".quota.alert_fraction", "must lie in [0, 1]");
      }
      if (any_limit &&
          (!q.has_window() || FromProto(q.window()) <= absl::ZeroDuration())) {
        Error(path + ".quota.window", "must be set when a limit is");
      }
    }
    for (int i = 0; i < c_.prohibitions_size(); ++i) {
      const auto& p = c_.prohibitions(i);
      const std::string path = absl::StrCat("prohibitions[", i, "]");
      RuleId(p.id(), path + ".id");
      for (int j = 0; j < p.roles_size(); ++j) {
        if (!KnownRole(p.roles(j))) {
          Error(absl::StrCat(path, ".roles[", j, "]"),
                absl::StrCat("unknown role '", p.roles(j), "'"));
        }
      }
      for (int j = 0; j < p.purposes_size(); ++j) {
        if (!purposes_.contains(p.purposes(j))) {
          Error(absl::StrCat(path, ".purposes[", j, "]"),
                absl::StrCat("unknown purpose '", p.purposes(j), "'"));
        }
      }
    }
  }

  // Permit.approval: a known approver role, a sane number of approvers, a
  // positive time; a warning when no permit lets that role approve at all
  // (then nobody can, and the permit never takes effect).
  void Approvals() {
    for (int i = 0; i < c_.permits_size(); ++i) {
      const v1::Permit& p = c_.permits(i);
      if (!p.has_approval()) continue;
      const v1::Approval& a = p.approval();
      const std::string path = absl::StrCat("permits[", i, "].approval");
      if (a.has_ttl() && FromProto(a.ttl()) <= absl::ZeroDuration()) {
        Error(path + ".ttl", "must be positive (unset: 1 hour)");
      }
      if (a.required() == 0) continue;
      if (std::find(p.actions().begin(), p.actions().end(),
                    v1::ACTION_APPROVE) != p.actions().end()) {
        // Approving would itself wait for an approval: nothing would move.
        Error(path, "a permit that grants ACTION_APPROVE cannot need approval");
      }
      if (a.required() > kMaxApprovalsRequired) {
        Error(path + ".required",
              absl::StrCat("at most ", kMaxApprovalsRequired,
                           " approvals (asked ", a.required(), ")"));
      }
      if (!KnownRole(a.approver_role())) {
        Error(path + ".approver_role",
              absl::StrCat("unknown role '", a.approver_role(), "'"));
        continue;
      }
      // Approval calls name no purpose: a permit that names purposes never
      // lets its role approve.
      const bool may_approve = std::any_of(
          c_.permits().begin(), c_.permits().end(), [&](const v1::Permit& q) {
            return q.role() == a.approver_role() && q.purposes().empty() &&
                   std::find(q.actions().begin(), q.actions().end(),
                             v1::ACTION_APPROVE) != q.actions().end();
          });
      if (!may_approve) {
        Warn(path + ".approver_role",
             absl::StrCat("no permit grants role '", a.approver_role(),
                          "' ACTION_APPROVE (for every purpose: approvals "
                          "name none): nobody can approve, so permit '",
                          p.id(), "' never takes effect"));
      }
    }
  }

  template <typename List, typename T>
  static bool Covers(const List& list, const T& value) {
    return list.empty() ||
           std::find(list.begin(), list.end(), value) != list.end();
  }

  // A permit is dead when, for each action it grants, one prohibition that
  // applies to every caller matches it for all its purposes and categories.
  void DeadPermits() {
    for (int i = 0; i < c_.permits_size(); ++i) {
      const auto& p = c_.permits(i);
      for (const auto& ban : c_.prohibitions()) {
        if (ban.outside_checkpoints() || !Covers(ban.roles(), p.role()))
          continue;
        bool all = !p.actions().empty();
        for (int a : p.actions()) all = all && Covers(ban.actions(), a);
        for (const auto& purpose : p.purposes()) {
          all = all && Covers(ban.purposes(), purpose);
        }
        if (p.purposes().empty()) all = all && ban.purposes().empty();
        for (int cat : p.categories())
          all = all && Covers(ban.categories(), cat);
        if (p.categories().empty()) all = all && ban.categories().empty();
        if (all) {
          Warn(absl::StrCat("permits[", i, "]"),
               absl::StrCat("permit '", p.id(),
                            "' can never apply: prohibition '", ban.id(),
                            "' forbids everything it grants"));
          break;
        }
      }
    }
  }

  // Read quotas against the harvest limit, over the contract's life.
  void Harvest() {
    const v1::HarvestLimit& limit = c_.harvest_limit();
    if (!c_.has_harvest_limit()) return;
    // Stated so that NaN fails it too.
    if (!(limit.max_share() > 0 && limit.max_share() <= 1)) {
      Error("harvest_limit.max_share", "must lie in (0, 1]");
      return;
    }
    if (!c_.has_effective_from() || !c_.has_effective_until()) return;
    const absl::Duration life =
        FromProto(c_.effective_until()) - FromProto(c_.effective_from());
    // A contract that ends before it starts is reported with its dates.
    if (life <= absl::ZeroDuration()) return;
    // In doubles: a count of crossings a day times whole days could wrap.
    const uint64_t expected =
        WholeRecords(limit.expected_crossings_per_day(),
                     absl::FDivDuration(life, absl::Hours(24)));
    for (const HarvestBudget& b : HarvestBudgets(c_)) {
      if (static_cast<double>(b.records_over_life) <=
          limit.max_share() * static_cast<double>(expected)) {
        continue;
      }
      Warn(absl::StrCat("permits[", b.permit_index, "].quota"),
           absl::StrCat("permit '", b.permit_id, "' lets ",
                        b.group.empty() ? "one principal"
                                        : absl::StrCat("group ", b.group),
                        " obtain up to ", b.records_over_life,
                        " records over the contract's life, more than ",
                        static_cast<int>(100 * limit.max_share()), "% of the ",
                        expected, " crossings expected (harvest_limit)"));
    }
  }

  const v1::Contract& c_;
  std::vector<ValidationIssue> issues_;
  absl::flat_hash_set<int> categories_;
  absl::flat_hash_set<std::string> purposes_;
  absl::flat_hash_set<std::string> rule_ids_;
};

}  // namespace

absl::StatusOr<v1::Contract> ParseContract(absl::string_view text) {
  v1::Contract contract;
  if (absl::Status s = ParseTextProto(text, "contract", &contract); !s.ok()) {
    return s;
  }
  return contract;
}

std::vector<HarvestBudget> HarvestBudgets(const v1::Contract& contract) {
  std::vector<HarvestBudget> out;
  if (!contract.has_effective_from() || !contract.has_effective_until()) {
    return out;
  }
  const absl::Duration life = FromProto(contract.effective_until()) -
                              FromProto(contract.effective_from());
  for (int i = 0; i < contract.permits_size(); ++i) {
    const v1::Permit& p = contract.permits(i);
    std::vector<std::string> groups;
    for (const auto& b : contract.bindings()) {
      if (b.role() == p.role() && !b.group().empty()) {
        groups.push_back(b.group());
      }
    }
    const v1::Quota& q = p.quota();
    const absl::Duration window = FromProto(q.window());
    if (window <= absl::ZeroDuration()) continue;
    // What a window lets through: distinct records, or reads where only
    // reads are limited.
    auto per_window = [](uint32_t records, uint32_t reads) -> uint64_t {
      return records > 0 ? records : reads;
    };
    // Windows begun, the last one partly: a Duration divided by a Duration
    // is a whole number, rounded down, so the division is FDivDuration's.
    const double six_weeks =
        std::ceil(absl::FDivDuration(absl::Hours(24 * 7 * 6), window));
    const double over_life = std::ceil(absl::FDivDuration(life, window));
    const uint64_t mine =
        per_window(q.distinct_records_per_window(), q.reads_per_window());
    const uint64_t ours = per_window(q.group_distinct_records_per_window(),
                                     q.group_reads_per_window());
    if (mine > 0) {
      out.push_back({i, p.id(), "", WholeRecords(mine, six_weeks),
                     WholeRecords(mine, over_life)});
    }
    for (const std::string& g : groups) {
      if (ours == 0) break;
      out.push_back({i, p.id(), g, WholeRecords(ours, six_weeks),
                     WholeRecords(ours, over_life)});
    }
  }
  return out;
}

int64_t CoarsestGranularitySeconds(const v1::Contract& contract) {
  int64_t coarsest = 0;
  for (const v1::Purpose& p : contract.purposes()) {
    coarsest = std::max<int64_t>(coarsest, p.time_granularity().seconds());
  }
  return coarsest;
}

std::vector<ValidationIssue> ValidateContract(const v1::Contract& contract) {
  return Validator(contract).Run();
}

bool HasErrors(const std::vector<ValidationIssue>& issues) {
  return std::any_of(issues.begin(), issues.end(),
                     [](const ValidationIssue& i) { return !i.warning; });
}

absl::Status FirstError(const std::vector<ValidationIssue>& issues) {
  for (const auto& i : issues) {
    if (!i.warning) {
      return absl::InvalidArgumentError(
          absl::StrCat(i.field_path, ": ", i.message));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckSignatures(const v1::SignedContract& signed_contract,
                             const std::vector<TrustedKey>& trusted,
                             int required) {
  absl::flat_hash_set<std::string> valid;
  for (const auto& sig : signed_contract.signatures()) {
    const bool is_trusted = std::any_of(
        trusted.begin(), trusted.end(),
        [&](const TrustedKey& k) { return k.public_key == sig.public_key(); });
    if (is_trusted &&
        crypto::VerifyEd25519(sig.public_key(), signed_contract.text(),
                              sig.signature())) {
      valid.insert(sig.public_key());
    }
  }
  if (static_cast<int>(valid.size()) < required) {
    return absl::PermissionDeniedError(
        absl::StrCat("the contract carries ", valid.size(),
                     " valid signature(s) by trusted compliance keys; ",
                     required, " required"));
  }
  return absl::OkStatus();
}

}  // namespace lanevault::policy
