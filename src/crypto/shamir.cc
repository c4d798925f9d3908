#include "crypto/shamir.h"

#include <sodium.h>

#include "absl/strings/str_cat.h"

namespace lanevault::crypto {
namespace internal {

uint8_t GfMul(uint8_t a, uint8_t b) {
  // Russian-peasant multiplication with masks instead of branches.
  uint8_t product = 0;
  for (int i = 0; i < 8; ++i) {
    product ^= static_cast<uint8_t>(-(b & 1) & a);
    const uint8_t carry = static_cast<uint8_t>(-(a >> 7));
    a = static_cast<uint8_t>((a << 1) ^ (carry & 0x1b));
    b >>= 1;
  }
  return product;
}

uint8_t GfInverse(uint8_t a) {
  // a^254 = a^-1 in GF(2^8) (and 0 for 0), by square-and-multiply over the
  // fixed exponent: the same operations for every a.
  uint8_t result = 1;
  uint8_t base = a;
  for (int bit = 0; bit < 8; ++bit) {
    if ((254 >> bit) & 1) result = GfMul(result, base);
    base = GfMul(base, base);
  }
  return result;
}

std::vector<SecretShare> ShamirSplitWith(
    const SecureBytes& secret, const std::vector<SecureBytes>& coefficients,
    int n) {
  std::vector<SecretShare> shares;
  shares.reserve(n);
  for (int x = 1; x <= n; ++x) {
    SecretShare share{static_cast<uint8_t>(x), SecureBytes(secret.size())};
    for (size_t i = 0; i < secret.size(); ++i) {
      // Horner's rule from the highest coefficient down to the secret.
      uint8_t y = 0;
      for (size_t j = coefficients.size(); j > 0; --j) {
        y = GfMul(y, static_cast<uint8_t>(x)) ^ coefficients[j - 1].data()[i];
      }
      share.value.data()[i] =
          GfMul(y, static_cast<uint8_t>(x)) ^ secret.data()[i];
    }
    shares.push_back(std::move(share));
  }
  return shares;
}

}  // namespace internal

absl::StatusOr<std::vector<SecretShare>> ShamirSplit(const SecureBytes& secret,
                                                     int k, int n) {
  if (k < 2 || n < k || n > 255) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a K-of-N split needs 2 <= K <= N <= 255, not ", k, " of ", n));
  }
  if (secret.size() == 0) {
    return absl::InvalidArgumentError("nothing to split");
  }
  if (absl::Status s = InitCrypto(); !s.ok()) return s;
  std::vector<SecureBytes> coefficients;
  for (int j = 1; j < k; ++j) {
    SecureBytes c(secret.size());
    randombytes_buf(c.data(), c.size());
    coefficients.push_back(std::move(c));
  }
  return internal::ShamirSplitWith(secret, coefficients, n);
}

absl::StatusOr<SecureBytes> ShamirCombine(
    const std::vector<SecretShare>& shares) {
  if (shares.empty()) return absl::InvalidArgumentError("no shares");
  const size_t size = shares.front().value.size();
  for (size_t i = 0; i < shares.size(); ++i) {
    if (shares[i].index == 0) {
      return absl::InvalidArgumentError("a share's index is never 0");
    }
    if (shares[i].value.size() != size) {
      return absl::InvalidArgumentError("shares of different lengths");
    }
    for (size_t j = 0; j < i; ++j) {
      if (shares[j].index == shares[i].index) {
        return absl::InvalidArgumentError(
            absl::StrCat("share ", shares[i].index, " given twice"));
      }
    }
  }
  // The Lagrange basis at 0: l_i = prod_{j != i} x_j / (x_j - x_i), and
  // subtraction is XOR in this field.
  SecureBytes secret(size);
  for (size_t i = 0; i < shares.size(); ++i) {
    uint8_t numerator = 1;
    uint8_t denominator = 1;
    for (size_t j = 0; j < shares.size(); ++j) {
      if (j == i) continue;
      numerator = internal::GfMul(numerator, shares[j].index);
      denominator =
          internal::GfMul(denominator, shares[j].index ^ shares[i].index);
    }
    const uint8_t basis =
        internal::GfMul(numerator, internal::GfInverse(denominator));
    for (size_t b = 0; b < size; ++b) {
      secret.data()[b] ^= internal::GfMul(basis, shares[i].value.data()[b]);
    }
  }
  return secret;
}

}  // namespace lanevault::crypto
