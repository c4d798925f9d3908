#ifndef LANEVAULT_API_CANARY_H_
#define LANEVAULT_API_CANARY_H_

// Canary records: decoys planted at intake beside real crossings. To a
// reader (ids, lane, times, categories, sizes) and to a copy of the vault
// file (sealed items, a keyed mark) they look like any record; reading one
// raises a critical alert and locks the reader out (see Gate::Run). A
// decoy's plate is 10 characters, longer than any real plate, so an exact
// plate lookup for a real vehicle never returns one.

#include "lanevault/v1/types.pb.h"

namespace lanevault::api {

// Whether to plant a decoy beside this record: on average once in `every`
// records; never when `every` <= 0.
bool ShouldPlantCanary(int every);

// A decoy shaped like `real` (already minimised and given deadlines): new
// ids of the same form, times a few seconds earlier, the same categories
// and deadlines, random content of the same sizes.
v1::Record MakeCanary(const v1::Record& real);

}  // namespace lanevault::api

#endif  // LANEVAULT_API_CANARY_H_
