#include "capture/resume_position.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/files.h"
#include "common/logging.h"

namespace lanevault::capture {
namespace {

namespace fs = std::filesystem;

constexpr char kHeader[] = "lanevault lane position v1";

absl::StatusOr<struct stat> Stat(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    const std::string message =
        absl::StrCat("cannot stat ", path, ": ", std::strerror(err));
    if (err == ENOENT || err == ENOTDIR) return absl::NotFoundError(message);
    return absl::UnavailableError(message);
  }
  return st;
}

int64_t MtimeNs(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 +
         st.st_mtim.tv_nsec;
}

std::string AbsolutePath(const std::string& path) {
  std::error_code ec;
  fs::path p = fs::weakly_canonical(fs::absolute(path, ec), ec);
  return ec ? path : p.string();
}

// A lane id as a file name: letters, digits, '-', '_' and a '.' that does
// not lead stay; anything else (a '/', say) becomes %XX.
std::string FileNameFor(const std::string& lane_id) {
  std::string out;
  for (size_t i = 0; i < lane_id.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(lane_id[i]);
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || (c == '.' && i > 0)) {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppendFormat(&out, "%%%02X", c);
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<std::string> SourceIdentity(const SourceSpec& spec) {
  const std::string path = AbsolutePath(spec.target);
  absl::StatusOr<struct stat> st = Stat(path);
  if (!st.ok()) return st.status();
  if (spec.kind == SourceSpec::Kind::kFolder) {
    return absl::StrCat("folder:", path);
  }
  return absl::StrCat("file:", path, " size=", st->st_size,
                      " mtime_ns=", MtimeNs(*st));
}

absl::StatusOr<std::string> SourceFingerprint(const SourceSpec& spec) {
  absl::StatusOr<struct stat> st = Stat(spec.target);
  if (!st.ok()) return st.status();
  std::string fingerprint =
      absl::StrCat(st->st_size, " ", MtimeNs(*st), " ", st->st_ino);
  if (spec.kind == SourceSpec::Kind::kFolder && S_ISDIR(st->st_mode)) {
    // Files copied into the folder change their own sizes and times, not
    // the folder's.
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(spec.target, ec)) {
      if (absl::StatusOr<struct stat> f = Stat(entry.path().string()); f.ok()) {
        absl::StrAppend(&fingerprint, ";", f->st_size, " ", MtimeNs(*f));
      }
    }
  }
  return fingerprint;
}

ResumePosition::ResumePosition(std::string dir, std::string lane_id,
                               std::string identity)
    : dir_(std::move(dir)),
      lane_id_(std::move(lane_id)),
      identity_(std::move(identity)),
      path_((fs::path(dir_) / (FileNameFor(lane_id_) + ".position")).string()) {
}

int64_t ResumePosition::Load() {
  absl::StatusOr<std::string> text = ReadFileToString(path_);
  if (!text.ok()) {
    if (text.status().code() != absl::StatusCode::kNotFound) {
      spdlog::error("lane {}: {}; starting at frame 0", lane_id_,
                    text.status().message());
    }
    return 0;
  }
  std::vector<std::string> lines = absl::StrSplit(*text, '\n');
  std::string lane, source;
  int64_t next_frame = -1;
  for (size_t i = 1; i < lines.size(); ++i) {
    std::pair<std::string, std::string> kv =
        absl::StrSplit(lines[i], absl::MaxSplits(' ', 1));
    if (kv.first == "lane") {
      if (!absl::CUnescape(kv.second, &lane)) lane.clear();
    } else if (kv.first == "source") {
      if (!absl::CUnescape(kv.second, &source)) source.clear();
    } else if (kv.first == "next_frame") {
      if (!absl::SimpleAtoi(kv.second, &next_frame)) next_frame = -1;
    }
  }
  if (lines.empty() || lines[0] != kHeader || next_frame < 0) {
    spdlog::error("lane {}: {} is not a lane position; starting at frame 0",
                  lane_id_, path_);
    return 0;
  }
  if (lane != lane_id_ || source != identity_) {
    spdlog::info(
        "lane {}: the position in {} was kept for {} ({}), not this source "
        "({}); starting at frame 0",
        lane_id_, path_, lane, source, identity_);
    return 0;
  }
  kept_ = next_frame;
  return next_frame;
}

absl::Status ResumePosition::Save(int64_t next_frame) {
  if (next_frame <= kept_) return absl::OkStatus();
  const std::string text =
      absl::StrCat(kHeader, "\nlane ", absl::CEscape(lane_id_), "\nsource ",
                   absl::CEscape(identity_), "\nnext_frame ", next_frame, "\n");
  if (absl::Status s = WriteFileAtomically(path_, text, 0600); !s.ok()) {
    return s;
  }
  // The rename is durable only once the folder's entry is.
  if (absl::Status s = SyncDirectory(dir_); !s.ok()) return s;
  kept_ = next_frame;
  return absl::OkStatus();
}

}  // namespace lanevault::capture
