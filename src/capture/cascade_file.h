#ifndef LANEVAULT_CAPTURE_CASCADE_FILE_H_
#define LANEVAULT_CAPTURE_CASCADE_FILE_H_

#include <string>

#include "opencv2/objdetect.hpp"

namespace lanevault::capture {

// Loads an OpenCV cascade. False when the file is not one: OpenCV throws on
// malformed XML, and a bad config file must be an error value, not a crash.
inline bool LoadCascade(const std::string& path,
                        cv::CascadeClassifier& cascade) {
  try {
    return cascade.load(path);
  } catch (const cv::Exception&) {
    return false;
  }
}

}  // namespace lanevault::capture

#endif  // LANEVAULT_CAPTURE_CASCADE_FILE_H_
