#ifndef LANEVAULT_CRYPTO_TOKEN_SEAL_H_
#define LANEVAULT_CRYPTO_TOKEN_SEAL_H_

// The master key wrapped by a PKCS#11 token's root key, and the file that
// keeps it (vault.token.seal_file). The associated data binds the format and
// both labels, so the bytes open only as what they were made for.

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/pkcs11_token.h"
#include "crypto/secure_bytes.h"
#include "lanevault/v1/unseal.pb.h"

namespace lanevault::crypto {

// `master_key` (32 bytes) wrapped inside `token`.
absl::StatusOr<v1::TokenSealFile> SealWithToken(Pkcs11Token& token,
                                                const SecureBytes& master_key);

// The master key again. FAILED_PRECONDITION when the file names another
// token or key than `token` is; PERMISSION_DENIED when the token's key does
// not open it (another key of the same label, a damaged file).
absl::StatusOr<SecureBytes> OpenWithToken(Pkcs11Token& token,
                                          const v1::TokenSealFile& file);

// Mode 0600, written whole (temporary file, fsync, rename, folder fsync).
absl::Status WriteTokenSealFile(const std::string& path,
                                const v1::TokenSealFile& file);
// NOT_FOUND when missing; DATA_LOSS when it does not parse or lacks a part.
absl::StatusOr<v1::TokenSealFile> ReadTokenSealFile(const std::string& path);

}  // namespace lanevault::crypto

#endif  // LANEVAULT_CRYPTO_TOKEN_SEAL_H_
