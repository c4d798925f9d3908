#ifndef LANEVAULT_TESTING_TEST_UTIL_H_
#define LANEVAULT_TESTING_TEST_UTIL_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace lanevault::testing {

// A fresh folder under $TMPDIR, removed with everything in it at the end.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Join(absl::string_view name) const;

 private:
  std::string path_;
};

// Runs deploy/pki/make-dev-pki.sh into `dir` (the openssl command, as in
// production setups). Fails the test on error.
void MakeDevPki(const std::string& dir);

// Renders footage with the given plates into `dir` (frames/, truth files),
// or copies what this build of the test program rendered before.
void MakeFootage(const std::string& dir,
                 const std::vector<std::string>& plates);

// Runs SQL on a vault file behind the vault's back (tamper tests). Fails
// the test on error.
void ExecSql(const std::string& db_path, const std::string& sql);

// True if `needle` occurs anywhere in the file's raw bytes.
// The first column of the first row of `sql` on a vault file; -1 on error.
int64_t QueryInt(const std::string& db_path, const std::string& sql);

// The first column of the first row as bytes; empty on error.
std::string QueryBlob(const std::string& db_path, const std::string& sql);

bool FileContains(const std::string& path, absl::string_view needle);
// The file's bytes, whole; empty if it cannot be read.
std::string FileBytes(const std::string& path);

// `bytes` bytes (at least 35) that begin as a 16x16 JPEG's headers and go
// on as `fill`: what intake takes for an image item (it reads only the
// header), for tests about sizes and ciphertext, not pixels. A read cannot
// mark it, so it withholds it.
std::string JpegHeaderThen(size_t bytes, char fill = 'f');
// The same header, then `body` as its scan data (any 0xFF in it made 0xFE,
// so that it holds no marker).
std::string JpegHeaderThen(std::string body);

// A real JPEG of `width` x `height` pixels (a gradient and a line, varied
// by `seed`), which a read can decode and mark.
std::string TestJpeg(int width = 48, int height = 48, int seed = 0);

}  // namespace lanevault::testing

#endif  // LANEVAULT_TESTING_TEST_UTIL_H_
