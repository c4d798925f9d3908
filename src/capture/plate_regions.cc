#include "capture/plate_regions.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace lanevault::capture {
namespace {

// The standard formats of the US states, DC and the territories, letters
// and digits only ('L', 'D', '?' either), as OpenALPR's postprocess lists
// them (runtime_data/postprocess/us.patterns); a character class there
// became L, D or ?, and its '?' (a state's emblem between characters, never
// read) was left out. Patterns only doubt readings that fit none
// (PlateTextRules), so the union of all states serves every lane: it cannot
// say which state a plate is from, but it does say which mixes of letters
// and digits no state issues. It holds 93 of us-dev's 98 plates. Measured
// with lanevault-eval --plate_region us: us-dev 44.9 -> 53.1% exact,
// top-10 59.2 -> 64.3% (three training seeds: +4, +7 and +8 plates).
std::vector<std::string> UsStatesFormats() {
  return {// 3 characters
          "DDD",
          // 4 characters
          "DDDD", "DDDL", "DDLL", "LDDD",
          // 5 characters
          "DDDDD", "DDDDL", "DDDLD", "DDDLL", "DDLDD", "DDLLL", "DLLDL",
          "LDDDD", "LLDDD",
          // 6 characters
          "?LDDDD", "?LLDDD", "DDDDDD", "DDDDDL", "DDDDLL", "DDDLLD", "DDDLLL",
          "DDLDDD", "DDLLDD", "DDLLLD", "DLDDDD", "DLLDDD", "DLLDDL", "DLLLDD",
          "DLLLLD", "LDDDDD", "LDDDLL", "LDDLLL", "LDLDDD", "LLDDDD", "LLDDDL",
          "LLDDLL", "LLDLDL", "LLLDDD", "LLLDDL", "LLLLDD", "LLLLLD",
          // 7 characters
          "DDDDDDD", "DDDDDDL", "DDDDDLD", "DDDDDLL", "DDDDLLL", "DDDLDDD",
          "DDLDDDL", "DDLDDLD", "DDLDLDL", "DLDDDDD", "DLDDDDL", "DLDDLDD",
          "DLLDDDD", "DLLDDDL", "DLLLDDD", "LDDDDDD", "LDDDDDL", "LLDDDDD",
          "LLDDDDL", "LLDLDDD", "LLLDDDD", "LLLDDDL"};
}

// European formats of fixed letter and digit positions, whose fonts (the
// German FE font and its kin) draw O and 0 nearly alike: France's and
// Italy's "AB 123 CD" and Slovakia's "BA 302 OZ" (LLDDDLL), Britain's
// "OY09 FEU" (LLDDLLL), Spain's "1234 BCD" (DDDDLLL), Croatia's
// "ZG 1234 AB" (LLDDDDLL). Not Czechia's "4B0 4979": its third character
// is a letter or a digit, and a format with a digit first would make
// Germany's "OS A 1234" 0SA1234. Germany's and most others' formats vary
// in length and mix, so no position of theirs settles O against 0.
std::vector<std::string> EuZeroOFormats() {
  return {"LLDDDLL", "LLDDLLL", "DDDDLLL", "LLDDDDLL"};
}

}  // namespace

std::vector<std::string> KnownPlateRegions() { return {"br", "eu", "us"}; }

v1::PlateReader RegionDefaultReader(absl::string_view region) {
  return region.empty() ? v1::PLATE_READER_FUSED : v1::PLATE_READER_LEARNED;
}

absl::StatusOr<PlateTextRules> RegionPlateRules(absl::string_view region) {
  PlateTextRules rules;
  if (region.empty()) return rules;
  if (region == "us") {
    rules.patterns = UsStatesFormats();
    return rules;
  }
  if (region == "br") {
    // Brazil: the old grey plates (LLL-DDDD) and Mercosul's (LLLDLDD).
    rules.patterns = {"LLLDDDD", "LLLDLDD"};
    return rules;
  }
  if (region == "eu") {
    // "AB 123 CD", "B MW 1234": see PlateTextRules::max_letter_digit_groups.
    rules.max_letter_digit_groups = 3;
    rules.zero_o_formats = EuZeroOFormats();
    return rules;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown plate region '", region,
                   "' (known: ", absl::StrJoin(KnownPlateRegions(), ", "),
                   "; or leave it empty and list plate_patterns)"));
}

}  // namespace lanevault::capture
