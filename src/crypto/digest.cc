#include "crypto/digest.h"

#include <sodium.h>

#include "crypto/sodium_bytes.h"

namespace lanevault::crypto {
using internal::U;

std::string Sha256(absl::string_view data) {
  std::string out(crypto_hash_sha256_BYTES, '\0');
  crypto_hash_sha256(reinterpret_cast<unsigned char*>(out.data()), U(data),
                     data.size());
  return out;
}

}  // namespace lanevault::crypto
