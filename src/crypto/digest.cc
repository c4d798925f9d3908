#include "crypto/digest.h"

#include <openssl/evp.h>

#include <cstdlib>

namespace lanevault::crypto {

// OpenSSL's rather than libsodium's: it uses the CPU's SHA instructions
// where there are some (several times libsodium's portable code), and
// SHA-256 is on hot paths (every access-log append's tree
// nodes, every read's receipt over each item it returns). The digest is
// fetched once: OpenSSL 3 would look it up again on every call otherwise.
std::string Sha256(absl::string_view data) {
  static EVP_MD* const kSha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  std::string out(32, '\0');
  unsigned int size = 0;
  if (kSha256 == nullptr ||
      EVP_Digest(data.data(), data.size(),
                 reinterpret_cast<unsigned char*>(out.data()), &size, kSha256,
                 nullptr) != 1 ||
      size != out.size()) {
    // No SHA-256 at all: nothing could be hashed, vouched for or checked.
    std::abort();
  }
  return out;
}

}  // namespace lanevault::crypto
