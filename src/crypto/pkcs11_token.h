#ifndef LANEVAULT_CRYPTO_PKCS11_TOKEN_H_
#define LANEVAULT_CRYPTO_PKCS11_TOKEN_H_

// A PKCS#11 token (an HSM, or SoftHSM2 for tests) that holds the vault's
// root key: an AES-256 key made inside the token as sensitive and not
// extractable, so it never leaves it. The host gives the token a secret
// (the master key) to encrypt with AES-GCM and gets only the ciphertext
// back; a copy of that ciphertext opens nothing without the token and its
// PIN. The module is loaded with dlopen, so only programs that use a token
// carry anything of it.

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "crypto/secure_bytes.h"

namespace lanevault::crypto {

struct Pkcs11TokenOptions {
  std::string module;       // the PKCS#11 library, e.g. libsofthsm2.so
  std::string token_label;  // the token's label (as softhsm2-util --show)
  std::string key_label;    // CKA_LABEL of the root key
  // Make the root key in the token when no key has `key_label` (at init);
  // otherwise a missing key is NOT_FOUND.
  bool create_key = false;
};

// One logged-in session with the token, and the root key found in it. One
// thread at a time: a PKCS#11 session runs one operation at once (the
// daemon uses it only while it opens the vault, then drops it).
class Pkcs11Token {
 public:
  // Loads the module, finds the token by label, logs in as the user with
  // `pin` and finds (or, with create_key, makes) the root key. Errors name
  // the PKCS#11 call, its CKR_ code and what was tried: NOT_FOUND for a
  // module, token or key that is not there, PERMISSION_DENIED for a wrong or
  // locked PIN, FAILED_PRECONDITION for a key the token would let out.
  static absl::StatusOr<std::unique_ptr<Pkcs11Token>> Open(
      const Pkcs11TokenOptions& options, const SecureBytes& pin);
  ~Pkcs11Token();
  Pkcs11Token(const Pkcs11Token&) = delete;
  Pkcs11Token& operator=(const Pkcs11Token&) = delete;

  // `secret` encrypted inside the token under the root key with AES-256-GCM
  // (a random 12-byte IV, `associated_data` bound, a 128-bit tag): IV,
  // ciphertext and tag, in that order.
  absl::StatusOr<std::string> Wrap(const SecureBytes& secret,
                                   absl::string_view associated_data);
  // The secret again; PERMISSION_DENIED when the root key does not open it
  // (another token or key, other associated data, damaged bytes).
  absl::StatusOr<SecureBytes> Unwrap(absl::string_view wrapped,
                                     absl::string_view associated_data);

  // Whether the root key was made by this Open (create_key).
  bool created_key() const { return created_key_; }
  const Pkcs11TokenOptions& options() const { return options_; }

  // The loaded module's function list, session and key handle, for the
  // tests that ask the token itself what it lets out. Opaque here so the
  // PKCS#11 header stays inside this module's .cc files.
  struct Handles;
  const Handles& handles() const { return *handles_; }

 private:
  Pkcs11Token(Pkcs11TokenOptions options, std::unique_ptr<Handles> handles,
              bool created_key);

  Pkcs11TokenOptions options_;
  std::unique_ptr<Handles> handles_;
  bool created_key_;
};

// A user PIN from a file that only its owner may read (FAILED_PRECONDITION
// otherwise), or from a file descriptor, into guarded memory; one trailing
// newline dropped. The caller's SecureBytes zeroes it when dropped.
absl::StatusOr<SecureBytes> ReadPinFile(const std::string& path);

}  // namespace lanevault::crypto

#endif  // LANEVAULT_CRYPTO_PKCS11_TOKEN_H_
