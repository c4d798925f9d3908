#include "api/canary.h"

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/time_util.h"
#include "vault/crypto.h"

namespace lanevault::api {
namespace {

// "rec_" of "rec_0123…": new ids keep the form of the real ones.
std::string IdLike(const std::string& id) {
  const size_t cut = id.find('_');
  return NewId(cut == std::string::npos ? "" : id.substr(0, cut + 1));
}

std::string DecoyPlate() {
  static constexpr char kChars[] = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789";
  std::string plate(10, ' ');
  for (char& c : plate) c = kChars[RandomBelow(sizeof kChars - 1)];
  return plate;
}

}  // namespace

bool ShouldPlantCanary(int every) {
  return every > 0 && RandomBelow(static_cast<uint32_t>(every)) == 0;
}

v1::Record MakeCanary(const v1::Record& real) {
  v1::Record decoy = real;
  decoy.set_record_id(IdLike(real.record_id()));
  const absl::Duration earlier = absl::Milliseconds(500 + RandomBelow(20000));
  *decoy.mutable_first_seen() = ToProto(FromProto(real.first_seen()) - earlier);
  *decoy.mutable_last_seen() = ToProto(FromProto(real.last_seen()) - earlier);
  for (v1::Item& item : *decoy.mutable_items()) {
    item.set_item_id(IdLike(item.item_id()));
    const size_t size = item.content().size();
    vault::Wipe(*item.mutable_content());  // the real crop's copy
    item.set_content(item.category() == v1::DATA_CATEGORY_PLATE_TEXT
                         ? DecoyPlate()
                         : RandomBytes(size));
  }
  return decoy;
}

}  // namespace lanevault::api
