#ifndef LANEVAULT_COMMON_DATA_CATEGORY_H_
#define LANEVAULT_COMMON_DATA_CATEGORY_H_

#include "lanevault/v1/types.pb.h"

namespace lanevault {

// Whether items of category `c` hold pictures (a plate's crop, a face, a
// scene), as against text (a plate's reading, metadata).
inline bool IsImageCategory(v1::DataCategory c) {
  return c == v1::DATA_CATEGORY_PLATE_IMAGE ||
         c == v1::DATA_CATEGORY_FACE_IMAGE ||
         c == v1::DATA_CATEGORY_SCENE_IMAGE;
}

}  // namespace lanevault

#endif  // LANEVAULT_COMMON_DATA_CATEGORY_H_
