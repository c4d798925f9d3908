// libFuzzer target: contract text -> parse -> validate -> policy -> decide.
// Whatever the bytes, nothing may crash, hang or read out of bounds, and a
// contract that validates must yield a policy that answers every request.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "common/time_util.h"
#include "policy/contract.h"
#include "policy/policy.h"

namespace {

class FuzzHistory final : public lanevault::policy::AccessHistory {
 public:
  Reads ReadsSince(absl::string_view, absl::Time) const override {
    return {5, 5};
  }
  std::vector<lanevault::v1::DataCategory> CategoriesRead(
      absl::string_view, absl::string_view) const override {
    return {lanevault::v1::DATA_CATEGORY_PLATE_TEXT};
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lanevault;
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto contract = policy::ParseContract(text);
  if (!contract.ok()) return 0;
  const auto issues = policy::ValidateContract(*contract);
  if (policy::HasErrors(issues)) return 0;
  auto engine = policy::NewContractPolicy(*contract);
  if (!engine.ok()) __builtin_trap();  // validated contracts must build
  FuzzHistory history;
  v1::Record record;
  record.set_record_id("rec_f");
  record.set_checkpoint_id(
      contract->checkpoints_size() ? contract->checkpoints(0) : "");
  *record.mutable_first_seen() = contract->effective_from();
  for (int c = 1; c <= v1::DataCategory_MAX; ++c) {
    auto* item = record.add_items();
    item->set_item_id("itm_" + std::to_string(c));
    item->set_category(static_cast<v1::DataCategory>(c));
  }
  (void)(*engine)->DecideIntake(record);
  for (const char* role : {"lane", "operator", "inspector", "auditor",
                           "compliance", "contractor", "nobody"}) {
    for (int a = 1; a <= v1::Action_MAX; ++a) {
      policy::AccessRequest r;
      r.principal = std::string(role) + "-fuzz";
      r.role = policy::RoleFromName(role);
      r.action = static_cast<v1::Action>(a);
      r.purpose = contract->purposes_size() ? contract->purposes(0).id() : "";
      r.categories = {v1::DATA_CATEGORY_FACE_IMAGE};
      r.available = {v1::DATA_CATEGORY_PLATE_TEXT,
                     v1::DATA_CATEGORY_FACE_IMAGE};
      r.record_id = "rec_f";
      r.history = &history;
      r.now = FromProto(contract->effective_from());
      policy::AccessDecision d = (*engine)->DecideAccess(r);
      // Every decision says who decided and why.
      if (d.decision.rule_ids().empty() || d.decision.reason().empty()) {
        __builtin_trap();
      }
    }
  }
  return 0;
}
