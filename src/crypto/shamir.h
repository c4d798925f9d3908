#ifndef LANEVAULT_CRYPTO_SHAMIR_H_
#define LANEVAULT_CRYPTO_SHAMIR_H_

// K-of-N Shamir secret sharing over GF(2^8), byte by byte (as HashiCorp
// Vault's unseal keys and Debian's libgfshare do). The field is AES's
// (x^8 + x^4 + x^3 + x + 1), so published AES multiplication and inverse
// values double as known vectors. Arithmetic has no tables and no
// secret-dependent branches, so timing does not leak share bytes.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/secure_bytes.h"

namespace lanevault::crypto {

struct SecretShare {
  uint8_t index = 0;  // x, 1..255; 0 would be the secret itself
  SecureBytes value;  // the polynomials at x, one byte per secret byte
};

// N shares of `secret` of which any K give it back and K-1 give nothing.
// Coefficients are fresh libsodium randomness. INVALID_ARGUMENT unless
// 2 <= k <= n <= 255 and the secret is not empty.
absl::StatusOr<std::vector<SecretShare>> ShamirSplit(const SecureBytes& secret,
                                                     int k, int n);

// Lagrange interpolation at 0 over the shares given (all of them: pass
// exactly K). INVALID_ARGUMENT for no shares, an index 0, a repeated index
// or differing lengths. Fewer than K shares give a wrong secret, not an
// error: the caller checks the result (the seal file's AEAD does).
absl::StatusOr<SecureBytes> ShamirCombine(
    const std::vector<SecretShare>& shares);

namespace internal {
// Field operations, exposed for the known-vector tests.
uint8_t GfMul(uint8_t a, uint8_t b);
uint8_t GfInverse(uint8_t a);  // 0 for 0
// ShamirSplit with given coefficients: coefficients[j] holds, for each
// secret byte, the coefficient of x^(j+1) (K-1 strings of the secret's
// length).
std::vector<SecretShare> ShamirSplitWith(
    const SecureBytes& secret, const std::vector<SecureBytes>& coefficients,
    int n);
}  // namespace internal

}  // namespace lanevault::crypto

#endif  // LANEVAULT_CRYPTO_SHAMIR_H_
