#include "vault/key_registry.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"

namespace lanevault::vault {
namespace {

constexpr char kKekDestroyedPayload[] = "lanevault.dev/kek-destroyed";

}  // namespace

absl::Status KekDestroyedError(uint32_t version) {
  absl::Status s = absl::AbortedError(
      absl::StrCat("key version ", version,
                   " was destroyed by another replica before this record "
                   "committed"));
  s.SetPayload(kKekDestroyedPayload, absl::Cord("1"));
  return s;
}

bool IsKekDestroyed(const absl::Status& status) {
  return absl::IsAborted(status) &&
         status.GetPayload(kKekDestroyedPayload).has_value();
}

}  // namespace lanevault::vault
