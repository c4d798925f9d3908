#include "testing/test_util.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/files.h"
#include "footage/scene.h"
#include "gtest/gtest.h"
#include "opencv2/imgcodecs.hpp"
#include "opencv2/imgproc.hpp"

namespace lanevault::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl =
      absl::StrCat(base ? base : "/tmp", "/lanevault-test-XXXXXX");
  char* made = mkdtemp(tmpl.data());
  if (made == nullptr) std::abort();
  path_ = made;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::Join(absl::string_view name) const {
  return absl::StrCat(path_, "/", name);
}

void MakeDevPki(const std::string& dir) {
  const std::string cmd = absl::StrCat(
      LANEVAULT_SOURCE_DIR, "/deploy/pki/make-dev-pki.sh ", dir, " >/dev/null");
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

namespace {

namespace fs = std::filesystem;

// A file's size and change time; "-" for a file that is not there.
std::string FileStamp(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return "-";
  return absl::StrCat(st.st_size, "-", st.st_mtim.tv_sec, ".",
                      st.st_mtim.tv_nsec);
}

// What the footage of this process is rendered by: the running test
// program (the renderer is linked into it) and the face photo and fonts it
// reads, its name apart. An empty name when it cannot be told (footage is
// then rendered every time).
struct RendererBuild {
  std::string name, stamp;
};
RendererBuild ThisRenderer() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  std::string inputs;
  for (const auto* list :
       {&footage::DefaultFaceImages(), &footage::DefaultFontFiles()}) {
    for (const std::string& path : *list) {
      absl::StrAppend(&inputs, FileStamp(path), ";");
    }
  }
  const std::string program = FileStamp(exe.string());
  if (program == "-") return {};
  // The inputs' stamps, hashed into a short name.
  return {
      exe.filename().string(),
      absl::StrCat(program, "-", absl::Hex(std::hash<std::string>{}(inputs)))};
}

absl::Status RenderFootage(const std::string& dir,
                           const std::vector<std::string>& plates) {
  footage::SceneOptions options;
  for (const auto& p : plates) options.vehicles.push_back({p, {40, 40, 150}});
  absl::StatusOr<footage::Scene> scene = footage::RenderScene(options);
  if (!scene.ok()) return scene.status();
  return footage::WriteScene(*scene, options, dir);
}

// The cache of one renderer's build, made once: another build's is removed
// (a rebuilt program or an upgraded font renders differently). A cache
// appears whole, by a rename, so two test processes that render at once both
// end with it. Empty: no cache could be made.
std::string CachedFootage(const std::vector<std::string>& plates) {
  const RendererBuild renderer = ThisRenderer();
  if (renderer.name.empty()) return "";
  const fs::path root =
      fs::path(LANEVAULT_BINARY_DIR) / "tests/footage-cache" / renderer.name;
  const fs::path mine = root / renderer.stamp;
  // A plate is letters and digits: the commas keep lists apart.
  const fs::path cached =
      mine / absl::StrCat("plates,", absl::StrJoin(plates, ","));
  std::error_code ec;
  if (fs::is_directory(cached, ec)) return cached.string();
  fs::create_directories(mine, ec);
  if (ec) return "";
  for (const fs::directory_entry& e : fs::directory_iterator(root, ec)) {
    if (e.path() != mine) {
      std::error_code ignored;
      fs::remove_all(e.path(), ignored);
    }
  }
  std::string tmpl = (mine / "rendering-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) return "";
  if (!RenderFootage(tmpl, plates).ok()) {
    fs::remove_all(tmpl, ec);
    return "";  // rendered again in the test's own directory, and reported
  }
  fs::rename(tmpl, cached, ec);
  if (ec) fs::remove_all(tmpl, ec);  // another process's rename came first
  return fs::is_directory(cached, ec) ? cached.string() : "";
}

}  // namespace

void MakeFootage(const std::string& dir,
                 const std::vector<std::string>& plates) {
  // Each test of a program runs in a process of its own under ctest, and
  // rendering takes seconds: the footage of a plate list is rendered once
  // per build of the program and copied (tests may change their copy).
  const std::string cached = CachedFootage(plates);
  std::error_code ec;
  if (!cached.empty()) {
    fs::copy(cached, dir, fs::copy_options::recursive, ec);
    if (!ec) return;
    fs::remove_all(dir, ec);
  }
  const absl::Status rendered = RenderFootage(dir, plates);
  ASSERT_TRUE(rendered.ok()) << rendered;
}

void ExecSql(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  const std::string message = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << message;
}

int64_t QueryInt(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  int64_t value = -1;
  if (sqlite3_open(db_path.c_str(), &db) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      value = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return value;
}

std::string QueryBlob(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string value;
  if (sqlite3_open(db_path.c_str(), &db) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      const void* p = sqlite3_column_blob(stmt, 0);
      if (p != nullptr) {
        value.assign(static_cast<const char*>(p),
                     sqlite3_column_bytes(stmt, 0));
      }
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return value;
}

bool FileContains(const std::string& path, absl::string_view needle) {
  // Read whole and searched with glibc's memmem: a PostgreSQL cluster's
  // files are tens of megabytes, which a byte-at-a-time stream iterator took
  // seconds over in the unoptimised sanitizer tree.
  absl::StatusOr<std::string> bytes = ReadFileToString(path);
  if (!bytes.ok()) return false;
  return memmem(bytes->data(), bytes->size(), needle.data(), needle.size()) !=
         nullptr;
}

std::string FileBytes(const std::string& path) {
  absl::StatusOr<std::string> bytes = ReadFileToString(path);
  return bytes.ok() ? *std::move(bytes) : std::string();
}

std::string JpegHeaderThen(size_t bytes, char fill) {
  // SOI, a baseline frame header (SOF0: 8-bit, 16 rows, 16 columns, three
  // components), then a scan header (SOS) whose data the filler is.
  static constexpr char kHeader[] =
      "\xff\xd8\xff\xc0\x00\x11\x08\x00\x10\x00\x10\x03\x01\x11\x00\x02"
      "\x11\x01\x03\x11\x01\xff\xda\x00\x0c\x03\x01\x00\x02\x11\x03\x11"
      "\x00\x3f\x00";
  std::string out(kHeader, sizeof(kHeader) - 1);
  out.resize(std::max(bytes, out.size()), fill);
  return out;
}

std::string JpegHeaderThen(std::string body) {
  // 0xFF in scan data starts a marker; the body stands for data, not them.
  std::replace(body.begin(), body.end(), '\xff', '\xfe');
  return JpegHeaderThen(0) + body;
}

std::string TestJpeg(int width, int height, int seed) {
  cv::Mat image(height, width, CV_8UC3);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      image.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uint8_t>(4 * x + seed),
                                            static_cast<uint8_t>(4 * y),
                                            static_cast<uint8_t>(128 + seed));
    }
  }
  cv::line(image, {0, seed % height}, {width - 1, height - 1},
           cv::Scalar(20, 20, 20), 2);
  std::vector<uchar> bytes;
  cv::imencode(".jpg", image, bytes, {cv::IMWRITE_JPEG_QUALITY, 90});
  return std::string(bytes.begin(), bytes.end());
}

}  // namespace lanevault::testing
