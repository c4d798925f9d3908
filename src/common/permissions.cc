#include "common/permissions.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/files.h"

namespace lanevault {

absl::Status CheckStateDirectory(const std::string& dir,
                                 const std::string& what) {
  std::error_code ec;
  std::filesystem::path path =
      std::filesystem::absolute(dir.empty() ? "." : dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat(what, ": cannot resolve ", dir, ": ", ec.message()));
  }
  path = path.lexically_normal();
  if (!path.has_filename() && path != path.root_path()) {
    path = path.parent_path();  // "a/b/" -> "a/b"
  }
  for (std::filesystem::path p = path;; p = p.parent_path()) {
    struct stat st;
    if (::stat(p.c_str(), &st) != 0) {
      if (errno != ENOENT && errno != ENOTDIR) {
        return absl::FailedPreconditionError(absl::StrCat(
            what, ": cannot stat ", p.string(), ": ", std::strerror(errno)));
      }
    } else {
      if (!S_ISDIR(st.st_mode)) {
        return absl::FailedPreconditionError(
            absl::StrCat(what, ": ", p.string(), " is not a directory"));
      }
      // The folder itself: no sticky bit makes it safe, since all its
      // entries are ours to protect. Above it, or above where it will be
      // made, a sticky folder (/tmp) is.
      const bool others_write = (st.st_mode & S_IWOTH) != 0;
      const bool sticky = (st.st_mode & S_ISVTX) != 0;
      if (others_write && (p == path || !sticky)) {
        return absl::FailedPreconditionError(absl::StrFormat(
            "%s: %s has mode %04o: any user can write it and replace or "
            "remove what the program keeps there; refusing to start (chmod "
            "o-w %s)",
            what, p.string(), st.st_mode & 07777, p.string()));
      }
    }
    if (p == p.root_path() || !p.has_parent_path()) break;
  }
  return absl::OkStatus();
}

absl::Status CheckSecretFile(const std::string& path, const std::string& what) {
  if (path.empty()) return absl::OkStatus();
  if (absl::Status s = CheckPrivateFile(path); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat(what, ": ", s.message()));
  }
  return absl::OkStatus();
}

}  // namespace lanevault
