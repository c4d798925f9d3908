#ifndef LANEVAULT_CRYPTO_KEY_FILE_H_
#define LANEVAULT_CRYPTO_KEY_FILE_H_

// A 32-byte secret in a file of its own (a master key, an officer's signing
// seed): created 0600 and never overwritten, refused when others can read
// it, read straight into guarded memory.

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/secure_bytes.h"

namespace lanevault::crypto {

// ALREADY_EXISTS if `path` exists.
absl::Status CreateKeyFileOf32Bytes(const std::string& path);
// FAILED_PRECONDITION if group or others can read it, INVALID_ARGUMENT if it
// is not exactly 32 bytes.
absl::StatusOr<SecureBytes> LoadKeyFileOf32Bytes(const std::string& path);

}  // namespace lanevault::crypto

#endif  // LANEVAULT_CRYPTO_KEY_FILE_H_
