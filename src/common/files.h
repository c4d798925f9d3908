#ifndef LANEVAULT_COMMON_FILES_H_
#define LANEVAULT_COMMON_FILES_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace lanevault {

// Reads a whole file. NOT_FOUND when it does not exist, with the path.
absl::StatusOr<std::string> ReadFileToString(const std::string& path);

// Writes `data` to a temporary file beside `path`, fsyncs it, and renames it
// over `path`, so a crash leaves either the old or the new content.
absl::Status WriteFileAtomically(const std::string& path,
                                 absl::string_view data, int mode);

// fsyncs a folder, so that a rename or a new file in it survives a crash.
absl::Status SyncDirectory(const std::string& dir);

// WriteFileAtomically, then fsyncs the folder: on return the new content
// survives a crash, and a crash before it leaves the old.
absl::Status WriteFileDurably(const std::string& path, absl::string_view data,
                              int mode);

// Creates `dir` and its missing parents (mode from the umask). OK when `dir`
// is empty (the current directory) or already exists; otherwise the error
// with the path, never an exception.
absl::Status MakeDirectories(const std::string& dir);

// MakeDirectories for the folder `file` will be written in.
absl::Status MakeParentDirectories(const std::string& file);

// OK if `path` is a regular file that neither group nor others can read or
// write; FAILED_PRECONDITION naming the path and its mode otherwise. Used
// for every file that holds a secret (master key, TLS private key).
absl::Status CheckPrivateFile(const std::string& path);

// Opens `path` for reading and runs CheckPrivateFile's checks on the file
// it opened (fstat), so that what is read is what was checked: a file
// swapped between a check and an open is never read. The caller closes the
// descriptor.
absl::StatusOr<int> OpenPrivateFile(const std::string& path);

// OpenPrivateFile, then the whole file (at most `max_bytes`; a longer file
// is INVALID_ARGUMENT naming the path). The caller wipes the secret.
absl::StatusOr<std::string> ReadPrivateFile(const std::string& path,
                                            size_t max_bytes = 64 * 1024);

}  // namespace lanevault

#endif  // LANEVAULT_COMMON_FILES_H_
