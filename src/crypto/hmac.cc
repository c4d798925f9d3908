#include "crypto/hmac.h"

#include <sodium.h>

#include "crypto/sodium_bytes.h"

namespace lanevault::crypto {
using internal::U;

std::string HmacSha256(absl::string_view key, absl::string_view message) {
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, U(key), key.size());
  crypto_auth_hmacsha256_update(&state, U(message), message.size());
  std::string out(crypto_auth_hmacsha256_BYTES, '\0');
  crypto_auth_hmacsha256_final(&state,
                               reinterpret_cast<unsigned char*>(out.data()));
  sodium_memzero(&state, sizeof state);
  return out;
}

bool ConstantTimeEqual(absl::string_view a, absl::string_view b) {
  return a.size() == b.size() &&
         sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace lanevault::crypto
