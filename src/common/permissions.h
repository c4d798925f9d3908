#ifndef LANEVAULT_COMMON_PERMISSIONS_H_
#define LANEVAULT_COMMON_PERMISSIONS_H_

// Checks the daemons make at start, so that a key file anyone can read or a
// state directory anyone can write stops the program with the path and the
// fix instead of running on. (CheckPrivateFile in files.h is the one for a
// file that holds a secret.)

#include <string>

#include "absl/status/status.h"

namespace lanevault {

// OK when others cannot write `dir` nor any folder above it, so that no
// other user can replace the database, the spool or a resume position, nor
// rename the folder away. A folder above with the sticky bit (/tmp) is fine:
// others cannot rename what they do not own in it. When `dir` does not exist
// yet, its nearest existing parent is checked (the program makes the rest,
// private by its umask). FAILED_PRECONDITION naming the folder, its mode and
// the fix (chmod o-w …) otherwise. `what` says what the folder holds
// ("the vault", "the spool").
absl::Status CheckStateDirectory(const std::string& dir,
                                 const std::string& what);

// CheckPrivateFile (files.h) when `path` is not empty, prefixed with `what`
// ("tls.server_key"): the config field or flag that names the file.
absl::Status CheckSecretFile(const std::string& path, const std::string& what);

}  // namespace lanevault

#endif  // LANEVAULT_COMMON_PERMISSIONS_H_
