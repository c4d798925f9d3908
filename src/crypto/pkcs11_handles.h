#ifndef LANEVAULT_CRYPTO_PKCS11_HANDLES_H_
#define LANEVAULT_CRYPTO_PKCS11_HANDLES_H_

// What a Pkcs11Token holds of the loaded module. Only for pkcs11_token.cc
// and the tests that ask the token what it lets out: everything else sees
// Pkcs11Token alone and never the PKCS#11 header.

#include <p11-kit/pkcs11.h>

#include "crypto/pkcs11_token.h"

namespace lanevault::crypto {

struct Pkcs11Token::Handles {
  void* library = nullptr;  // dlopen handle
  CK_FUNCTION_LIST* functions = nullptr;
  CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
  CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
  bool initialized = false;  // holds one of the module's C_Initialize counts
};

// "CKR_PIN_INCORRECT" for the codes a token is likely to return, else hex.
std::string CkrName(CK_RV rv);

}  // namespace lanevault::crypto

#endif  // LANEVAULT_CRYPTO_PKCS11_HANDLES_H_
