// seal_scan SEAL_FILE DIR SHARE_FILE... [--expect_found]
//
// Puts the master key together from the shares with the project's own
// code, then reads every regular file under DIR (following no links) and
// looks for the key as raw bytes, hex (either case) and base64. Exit 0 when
// nothing holds it (or, with --expect_found, when something does: the
// control that shows the scan would see it); 1 otherwise; 2 on bad input.

#include <dirent.h>
#include <sys/stat.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "common/files.h"
#include "crypto/seal_file.h"

namespace {

int files = 0;
long long bytes = 0;
std::vector<std::string> found;

void Scan(const std::string& dir, const std::vector<std::string>& needles) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return;
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    const std::string path = dir + "/" + name;
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      Scan(path, needles);
    } else if (S_ISREG(st.st_mode)) {
      auto content = lanevault::ReadFileToString(path);
      if (!content.ok()) {
        std::fprintf(stderr, "cannot read %s\n", path.c_str());
        found.push_back(path + " (unreadable)");
        continue;
      }
      ++files;
      bytes += static_cast<long long>(content->size());
      for (const std::string& n : needles) {
        if (content->find(n) != std::string::npos) {
          found.push_back(path);
          break;
        }
      }
      lanevault::crypto::Wipe(*content);
    }
  }
  closedir(d);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  bool expect_found = false;
  if (!args.empty() && args.back() == "--expect_found") {
    expect_found = true;
    args.pop_back();
  }
  if (args.size() < 3) {
    std::fprintf(stderr,
                 "usage: seal_scan SEAL_FILE DIR SHARE_FILE... "
                 "[--expect_found]\n");
    return 2;
  }
  auto seal = lanevault::crypto::ReadSealFile(args[0]);
  if (!seal.ok()) {
    std::fprintf(stderr, "%s\n", std::string(seal.status().message()).c_str());
    return 2;
  }
  lanevault::crypto::Unsealer unsealer(*seal);
  for (size_t i = 2; i < args.size() && !unsealer.ready(); ++i) {
    auto text = lanevault::ReadFileToString(args[i]);
    if (!text.ok() || !unsealer.Add(*text).ok()) {
      std::fprintf(stderr, "share %s not taken\n", args[i].c_str());
      return 2;
    }
  }
  auto master = unsealer.Open();
  if (!master.ok()) {
    std::fprintf(stderr, "%s\n",
                 std::string(master.status().message()).c_str());
    return 2;
  }
  const std::string raw(master->view());
  const std::string hex = absl::BytesToHexString(raw);
  const std::vector<std::string> needles = {
      raw, hex, absl::AsciiStrToUpper(hex), absl::Base64Escape(raw),
      absl::WebSafeBase64Escape(raw)};
  Scan(args[1], needles);
  for (const std::string& f : found) {
    std::printf("master key found in %s\n", f.c_str());
  }
  std::printf("scanned %d files (%lld bytes) under %s: %s\n", files, bytes,
              args[1].c_str(),
              found.empty() ? "master key not found" : "MASTER KEY FOUND");
  return found.empty() != expect_found ? 0 : 1;
}
