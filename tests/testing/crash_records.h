#ifndef LANEVAULT_TESTS_TESTING_CRASH_RECORDS_H_
#define LANEVAULT_TESTS_TESTING_CRASH_RECORDS_H_

// Records whose every byte follows from their id, so the crash test's parent
// can check what a killed child acknowledged without being told the
// content: a plate crop, two face crops (about 60 KB together) and the
// plate text.

#include <cstdint>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/time_util.h"
#include "lanevault/v1/types.pb.h"

namespace lanevault::testing {

inline uint64_t Fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

inline std::string DerivedBytes(const std::string& seed, size_t size) {
  std::mt19937_64 rng(Fnv1a(seed));
  std::string out(size, '\0');
  for (char& c : out) c = static_cast<char>(rng());
  return out;
}

inline v1::Record CrashRecord(const std::string& record_id, absl::Time now) {
  v1::Record r;
  r.set_record_id(record_id);
  r.set_lane_id("lane-1");
  r.set_checkpoint_id("cp");
  r.set_contract_id("crash-test");
  r.set_contract_version(1);
  *r.mutable_first_seen() = ToProto(now);
  *r.mutable_last_seen() = ToProto(now);
  struct Part {
    v1::DataCategory category;
    size_t size;
  };
  const Part parts[] = {{v1::DATA_CATEGORY_PLATE_TEXT, 0},
                        {v1::DATA_CATEGORY_PLATE_IMAGE, 8000},
                        {v1::DATA_CATEGORY_FACE_IMAGE, 26000},
                        {v1::DATA_CATEGORY_FACE_IMAGE, 26000}};
  int n = 0;
  for (const Part& p : parts) {
    v1::Item* item = r.add_items();
    item->set_item_id(absl::StrCat(record_id, "-", n++));
    item->set_category(p.category);
    item->set_content(p.size == 0
                          ? absl::StrCat("P", Fnv1a(record_id) % 1000000)
                          : DerivedBytes(item->item_id(), p.size));
    *item->mutable_deadline() = ToProto(now + absl::Hours(24 * 365));
  }
  return r;
}

}  // namespace lanevault::testing

#endif  // LANEVAULT_TESTS_TESTING_CRASH_RECORDS_H_
