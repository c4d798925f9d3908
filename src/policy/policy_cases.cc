// `lanevaultctl policy test`: a contract's expected decisions, checked the
// way `opa test` checks Rego.

#include "absl/strings/str_cat.h"
#include "common/time_util.h"
#include "policy/policy.h"

namespace lanevault::policy {
namespace {

// The past a case describes: a count of reads and records in the window,
// and what of this record was already read.
class CaseHistory final : public AccessHistory {
 public:
  explicit CaseHistory(const v1::PolicyCase& c) : case_(c) {}
  Reads ReadsSince(absl::string_view, absl::Time) const override {
    return {case_.reads_in_window(), case_.records_in_window()};
  }
  std::vector<v1::DataCategory> CategoriesRead(
      absl::string_view, absl::string_view) const override {
    std::vector<v1::DataCategory> out;
    for (int c : case_.already_read())
      out.push_back(static_cast<v1::DataCategory>(c));
    return out;
  }

 private:
  const v1::PolicyCase& case_;
};

}  // namespace

std::vector<std::string> RunPolicyCases(const Policy& policy,
                                        const v1::Contract& contract,
                                        const v1::PolicyCases& cases) {
  std::vector<std::string> failures;
  // By default a case happens in the middle of the effective window.
  const absl::Time from = FromProto(contract.effective_from());
  const absl::Time until = FromProto(contract.effective_until());
  const absl::Time middle = from + (until - from) / 2;
  for (int i = 0; i < cases.cases_size(); ++i) {
    const v1::PolicyCase& c = cases.cases(i);
    CaseHistory history(c);
    AccessRequest r;
    r.principal = c.principal().empty() ? c.role() + "-test" : c.principal();
    r.role = RoleFromName(c.role());
    r.action = c.action();
    r.purpose = c.purpose();
    r.case_id = c.case_id();
    r.checkpoint = c.checkpoint();
    r.lane = c.lane();
    r.record_checkpoint = c.record_checkpoint();
    for (int cat : c.categories()) {
      r.categories.push_back(static_cast<v1::DataCategory>(cat));
      r.available.push_back(static_cast<v1::DataCategory>(cat));
    }
    r.record_id = "rec_case";
    r.history = &history;
    r.now = c.has_at() ? FromProto(c.at()) : middle;
    const AccessDecision d = policy.DecideAccess(r);
    const std::string name =
        c.name().empty() ? absl::StrCat("case ", i) : c.name();
    if (d.decision.verdict() != c.expect()) {
      failures.push_back(absl::StrCat(name, ": expected ",
                                      v1::Verdict_Name(c.expect()), ", got ",
                                      v1::Verdict_Name(d.decision.verdict()),
                                      " (", d.decision.reason(), ")"));
      continue;
    }
    if (!c.expect_rule().empty() &&
        std::find(d.decision.rule_ids().begin(), d.decision.rule_ids().end(),
                  c.expect_rule()) == d.decision.rule_ids().end()) {
      failures.push_back(absl::StrCat(name, ": decided by ",
                                      d.decision.rule_ids_size()
                                          ? d.decision.rule_ids(0)
                                          : std::string("no rule"),
                                      ", expected ", c.expect_rule()));
    }
  }
  return failures;
}

}  // namespace lanevault::policy
