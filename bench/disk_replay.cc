#include "disk_replay.h"

#include <algorithm>
#include <filesystem>
#include <random>
#include <system_error>
#include <vector>

#include "absl/time/clock.h"
#include "scratch_file.h"

namespace lanevault::bench {
namespace {

// Writes `page` at every page of [0, bytes) of `file`.
absl::Status Fill(ScratchFile& file, const std::vector<char>& page,
                  int64_t bytes) {
  for (int64_t at = 0; at < bytes; at += static_cast<int64_t>(page.size())) {
    if (absl::Status s = file.WriteAt(page.data(), page.size(), at); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<double> ReplayWrites(const std::string& dir,
                                    const WriteShape& shape) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const std::string wal_path = dir + "/replay-wal";
  const std::string db_path = dir + "/replay-db";
  const int64_t frame = shape.page_size + 24;
  // One frame's bytes: a header that is not zero, then the page.
  std::vector<char> frame_bytes(static_cast<size_t>(frame), '\0');
  std::mt19937_64 rng(7);
  for (size_t i = 0; i < frame_bytes.size(); ++i) {
    if (i < 24 || !shape.zero_pages) frame_bytes[i] = static_cast<char>(rng());
  }
  const std::vector<char> page(frame_bytes.begin() + 24, frame_bytes.end());

  ScratchFile db, wal;
  if (absl::Status s = db.Create(db_path); !s.ok()) return s;
  if (absl::Status s = wal.Create(wal_path); !s.ok()) return s;
  const int64_t frames = shape.wal_bytes / frame;
  if (absl::Status s = Fill(db, page, shape.db_bytes); !s.ok()) return s;
  if (absl::Status s = Fill(wal, frame_bytes, frames * frame); !s.ok()) {
    return s;
  }
  if (absl::Status s = db.Sync(); !s.ok()) return s;
  if (absl::Status s = wal.Sync(); !s.ok()) return s;

  const int64_t commits = std::max<int64_t>(1, shape.commits);
  const absl::Time t0 = absl::Now();
  int64_t written = 0;
  for (int64_t c = 0; c < commits; ++c) {
    const int64_t upto = frames * (c + 1) / commits;
    for (; written < upto; ++written) {
      if (absl::Status s = wal.WriteAt(frame_bytes.data(), frame_bytes.size(),
                                       written * frame);
          !s.ok()) {
        return s;
      }
    }
    if (absl::Status s = wal.Sync(); !s.ok()) return s;
  }
  if (absl::Status s = Fill(db, page, shape.db_bytes); !s.ok()) return s;
  if (absl::Status s = db.Sync(); !s.ok()) return s;
  if (absl::Status s = wal.Truncate(0); !s.ok()) return s;
  const double seconds = absl::ToDoubleSeconds(absl::Now() - t0);
  std::filesystem::remove(wal_path, ec);
  std::filesystem::remove(db_path, ec);
  return seconds;
}

}  // namespace lanevault::bench
