#ifndef LANEVAULT_CRYPTO_SEAL_FILE_H_
#define LANEVAULT_CRYPTO_SEAL_FILE_H_

// The unseal hierarchy: K of N officers' shares put together the unseal key
// U; U opens the master key M, which is on disk only wrapped by U, in the
// seal file. Shares are text for people ("lvshare1-3of5-2-1a2b3c4d-<hex>-
// <check>") whose check digits catch a typo before anything is combined.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "crypto/secure_bytes.h"
#include "lanevault/v1/unseal.pb.h"

namespace lanevault::crypto {

// A new seal of `master_key` (32 bytes): the seal file's content and the N
// shares as text, each in guarded memory. U is made, split and zeroed here.
struct NewSeal {
  v1::SealFile file;
  std::vector<SecureBytes> shares;  // share i+1 at i
};
absl::StatusOr<NewSeal> SealMasterKey(const SecureBytes& master_key, int k,
                                      int n);

// A new random master key (32 bytes), for a vault that starts sealed.
SecureBytes NewMasterKeyBytes();

// Writes a seal file: mode 0600, temporary file, fsync, rename, folder
// fsync, so a crash or a rekey leaves the old set or the new, whole.
absl::Status WriteSealFile(const std::string& path, const v1::SealFile& file);
// NOT_FOUND when missing; DATA_LOSS when it does not parse or is
// inconsistent (K, N, digests).
absl::StatusOr<v1::SealFile> ReadSealFile(const std::string& path);

// Collects shares one at a time until K put the master key together.
class Unsealer {
 public:
  explicit Unsealer(v1::SealFile file) : file_(std::move(file)) {}

  // Checks one share's text and keeps it. INVALID_ARGUMENT naming what is
  // wrong (malformed, check digits, another set, index out of range, not the
  // share its index was made as); ALREADY_EXISTS for an index already given.
  // Returns the share's index.
  absl::StatusOr<int> Add(absl::string_view share_text);
  int given() const { return static_cast<int>(shares_.size()); }
  std::vector<int> indexes() const;
  const v1::SealFile& file() const { return file_; }
  bool ready() const { return given() >= file_.threshold(); }

  // With K shares: M. DATA_LOSS when they do not open it (a damaged or
  // replaced seal file); the shares are dropped either way.
  absl::StatusOr<SecureBytes> Open();

 private:
  v1::SealFile file_;
  std::vector<std::pair<int, SecureBytes>> shares_;  // index, value
};

// Reads share texts, one a line, from `fd` until K good ones are held
// (blank lines skipped; a bad line is an error naming it). For a console
// unseal, and for --print_log_key in unseal mode.
absl::StatusOr<SecureBytes> UnsealFromFd(const v1::SealFile& file, int fd);

namespace internal {
// Share text for index `index` of a set (exposed for the tests).
SecureBytes EncodeShare(const v1::SealFile& file, int index,
                        const SecureBytes& value);
}  // namespace internal

}  // namespace lanevault::crypto

#endif  // LANEVAULT_CRYPTO_SEAL_FILE_H_
