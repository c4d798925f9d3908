#include "crypto/pkcs11_token.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "crypto/pkcs11_handles.h"

namespace lanevault::crypto {
namespace {

constexpr size_t kIvBytes = 12;
constexpr size_t kTagBytes = 16;
constexpr CK_ULONG kRootKeyBytes = 32;  // AES-256

// PKCS#11 has one C_Initialize per process and module: a second token
// object on the same module (a test, a re-open) must neither fail on
// CKR_CRYPTOKI_ALREADY_INITIALIZED nor C_Finalize under the first one.
// A module someone else in the process initialized first is theirs to
// finalize, never ours.
struct InitCount {
  int users = 0;
  bool ours = false;  // our C_Initialize made it; finalize with the last user
};
absl::Mutex init_mu;
absl::flat_hash_map<CK_FUNCTION_LIST*, InitCount>& InitCounts()
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(init_mu) {
  static auto* counts = new absl::flat_hash_map<CK_FUNCTION_LIST*, InitCount>;
  return *counts;
}

absl::Status CkError(absl::StatusCode code, CK_RV rv, absl::string_view what) {
  return absl::Status(code, absl::StrCat(what, ": ", CkrName(rv)));
}

// The status code a caller can act on for a token's refusal.
absl::StatusCode CodeFor(CK_RV rv) {
  switch (rv) {
    case CKR_PIN_INCORRECT:
    case CKR_PIN_INVALID:
    case CKR_PIN_LEN_RANGE:
    case CKR_PIN_LOCKED:
    case CKR_PIN_EXPIRED:
    case CKR_USER_NOT_LOGGED_IN:
    case CKR_USER_PIN_NOT_INITIALIZED:
      return absl::StatusCode::kPermissionDenied;
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_DEVICE_REMOVED:
    case CKR_KEY_HANDLE_INVALID:
    case CKR_OBJECT_HANDLE_INVALID:
      return absl::StatusCode::kNotFound;
    default:
      return absl::StatusCode::kUnavailable;
  }
}

// Token labels are 32 bytes padded with spaces, not NUL-terminated.
std::string TrimLabel(const CK_UTF8CHAR (&label)[32]) {
  std::string s(reinterpret_cast<const char*>(label), sizeof label);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  return s;
}

void Release(Pkcs11Token::Handles& h) {
  if (h.functions != nullptr && h.session != CK_INVALID_HANDLE) {
    // Closing the last session also logs the user out.
    h.functions->C_CloseSession(h.session);
    h.session = CK_INVALID_HANDLE;
  }
  if (h.initialized) {
    bool finalize = false;
    {
      absl::MutexLock lock(&init_mu);
      InitCount& count = InitCounts()[h.functions];
      if (--count.users == 0) {
        finalize = count.ours;
        InitCounts().erase(h.functions);
      }
    }
    if (finalize) h.functions->C_Finalize(nullptr);
    h.initialized = false;
  }
  if (h.library != nullptr) {
    dlclose(h.library);
    h.library = nullptr;
  }
}

absl::Status Initialize(const std::string& module, Pkcs11Token::Handles& h) {
  h.library = dlopen(module.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (h.library == nullptr) {
    const char* why = dlerror();
    return absl::NotFoundError(
        absl::StrCat("cannot load the PKCS#11 module ", module, ": ",
                     why != nullptr ? why : "dlopen failed"));
  }
  auto get_list = reinterpret_cast<CK_C_GetFunctionList>(
      dlsym(h.library, "C_GetFunctionList"));
  if (get_list == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        module, " is not a PKCS#11 module (no C_GetFunctionList)"));
  }
  if (CK_RV rv = get_list(&h.functions); rv != CKR_OK || !h.functions) {
    return CkError(absl::StatusCode::kUnavailable, rv,
                   absl::StrCat("C_GetFunctionList of ", module));
  }
  absl::MutexLock lock(&init_mu);
  InitCount& count = InitCounts()[h.functions];
  if (count.users == 0) {
    // The daemon's threads may call in at once: let the module use the
    // operating system's locks.
    CK_C_INITIALIZE_ARGS args{};
    args.flags = CKF_OS_LOCKING_OK;
    CK_RV rv = h.functions->C_Initialize(&args);
    if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
      InitCounts().erase(h.functions);
      return CkError(CodeFor(rv), rv, absl::StrCat("C_Initialize of ", module));
    }
    count.ours = rv == CKR_OK;
  }
  ++count.users;
  h.initialized = true;
  return absl::OkStatus();
}

absl::StatusOr<CK_SLOT_ID> FindSlot(const Pkcs11TokenOptions& o,
                                    Pkcs11Token::Handles& h) {
  CK_ULONG n = 0;
  if (CK_RV rv = h.functions->C_GetSlotList(CK_TRUE, nullptr, &n);
      rv != CKR_OK) {
    return CkError(CodeFor(rv), rv, "C_GetSlotList (tokens present)");
  }
  std::vector<CK_SLOT_ID> slots(n);
  if (CK_RV rv = h.functions->C_GetSlotList(CK_TRUE, slots.data(), &n);
      rv != CKR_OK) {
    return CkError(CodeFor(rv), rv, "C_GetSlotList (tokens present)");
  }
  slots.resize(n);
  std::vector<std::string> seen;
  for (CK_SLOT_ID slot : slots) {
    CK_TOKEN_INFO info;
    if (h.functions->C_GetTokenInfo(slot, &info) != CKR_OK) continue;
    std::string label = TrimLabel(info.label);
    if (label == o.token_label) {
      if ((info.flags & CKF_TOKEN_INITIALIZED) == 0) {
        return absl::FailedPreconditionError(
            absl::StrCat("token '", label, "' is not initialized"));
      }
      return slot;
    }
    seen.push_back(absl::StrCat("'", label, "'"));
  }
  return absl::NotFoundError(absl::StrCat(
      "no token labelled '", o.token_label, "' in ", o.module,
      " (tokens: ", seen.empty() ? "none" : absl::StrJoin(seen, ", "), ")"));
}

absl::StatusOr<bool> GetBool(Pkcs11Token::Handles& h, CK_ATTRIBUTE_TYPE type,
                             absl::string_view name) {
  CK_BBOOL value = CK_FALSE;
  CK_ATTRIBUTE a{type, &value, sizeof value};
  if (CK_RV rv = h.functions->C_GetAttributeValue(h.session, h.key, &a, 1);
      rv != CKR_OK) {
    return CkError(CodeFor(rv), rv,
                   absl::StrCat("C_GetAttributeValue(", name, ")"));
  }
  return value == CK_TRUE;
}

// A root key found by label must be one the token keeps to itself: a key
// imported as extractable (or readable) would make the token a formality.
absl::Status CheckKeyStaysInside(const Pkcs11TokenOptions& o,
                                 Pkcs11Token::Handles& h) {
  struct Want {
    CK_ATTRIBUTE_TYPE type;
    const char* name;
    bool value;
  };
  for (const Want& w : {Want{CKA_SENSITIVE, "CKA_SENSITIVE", true},
                        Want{CKA_EXTRACTABLE, "CKA_EXTRACTABLE", false},
                        Want{CKA_ENCRYPT, "CKA_ENCRYPT", true},
                        Want{CKA_DECRYPT, "CKA_DECRYPT", true}}) {
    auto got = GetBool(h, w.type, w.name);
    if (!got.ok()) return got.status();
    if (*got != w.value) {
      return absl::FailedPreconditionError(
          absl::StrCat("the token's key '", o.key_label, "' has ", w.name, "=",
                       *got ? "TRUE" : "FALSE",
                       "; a root key must be sensitive, not "
                       "extractable, and encrypt and decrypt"));
    }
  }
  CK_ULONG len = 0;
  CK_ATTRIBUTE a{CKA_VALUE_LEN, &len, sizeof len};
  if (CK_RV rv = h.functions->C_GetAttributeValue(h.session, h.key, &a, 1);
      rv != CKR_OK) {
    return CkError(CodeFor(rv), rv, "C_GetAttributeValue(CKA_VALUE_LEN)");
  }
  if (len != kRootKeyBytes) {
    return absl::FailedPreconditionError(
        absl::StrCat("the token's key '", o.key_label, "' is ", len * 8,
                     " bits; the root key is AES-256"));
  }
  return absl::OkStatus();
}

// NOT_FOUND when no AES key has the label; the handle in h.key otherwise.
absl::Status FindKey(const Pkcs11TokenOptions& o, Pkcs11Token::Handles& h) {
  CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
  CK_KEY_TYPE type = CKK_AES;
  CK_ATTRIBUTE tmpl[] = {
      {CKA_CLASS, &cls, sizeof cls},
      {CKA_KEY_TYPE, &type, sizeof type},
      {CKA_LABEL, const_cast<char*>(o.key_label.data()), o.key_label.size()},
  };
  if (CK_RV rv = h.functions->C_FindObjectsInit(h.session, tmpl, 3);
      rv != CKR_OK) {
    return CkError(CodeFor(rv), rv, "C_FindObjectsInit");
  }
  CK_OBJECT_HANDLE found[2];
  CK_ULONG n = 0;
  CK_RV rv = h.functions->C_FindObjects(h.session, found, 2, &n);
  h.functions->C_FindObjectsFinal(h.session);
  if (rv != CKR_OK) return CkError(CodeFor(rv), rv, "C_FindObjects");
  if (n == 0) {
    return absl::NotFoundError(absl::StrCat("no AES key labelled '",
                                            o.key_label, "' on token '",
                                            o.token_label, "'"));
  }
  if (n > 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        "more than one AES key labelled '", o.key_label, "' on token '",
        o.token_label, "': which one is the root key is ambiguous"));
  }
  h.key = found[0];
  return absl::OkStatus();
}

absl::Status GenerateKey(const Pkcs11TokenOptions& o, Pkcs11Token::Handles& h) {
  CK_MECHANISM mech{CKM_AES_KEY_GEN, nullptr, 0};
  CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
  CK_KEY_TYPE type = CKK_AES;
  CK_ULONG len = kRootKeyBytes;
  CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
  // Made inside the token, kept there (CKA_TOKEN), never readable
  // (SENSITIVE) nor exportable even wrapped (not EXTRACTABLE), only visible
  // after login (PRIVATE). It encrypts and decrypts data; it wraps no token
  // objects, since the master key is the host's, not the token's.
  CK_ATTRIBUTE tmpl[] = {
      {CKA_CLASS, &cls, sizeof cls},
      {CKA_KEY_TYPE, &type, sizeof type},
      {CKA_VALUE_LEN, &len, sizeof len},
      {CKA_LABEL, const_cast<char*>(o.key_label.data()), o.key_label.size()},
      {CKA_TOKEN, &yes, sizeof yes},
      {CKA_PRIVATE, &yes, sizeof yes},
      {CKA_SENSITIVE, &yes, sizeof yes},
      {CKA_EXTRACTABLE, &no, sizeof no},
      {CKA_ENCRYPT, &yes, sizeof yes},
      {CKA_DECRYPT, &yes, sizeof yes},
      {CKA_WRAP, &no, sizeof no},
      {CKA_UNWRAP, &no, sizeof no},
  };
  if (CK_RV rv = h.functions->C_GenerateKey(
          h.session, &mech, tmpl, sizeof tmpl / sizeof tmpl[0], &h.key);
      rv != CKR_OK) {
    return CkError(
        CodeFor(rv), rv,
        absl::StrCat("C_GenerateKey(CKM_AES_KEY_GEN, 256 bits, '", o.key_label,
                     "') on token '", o.token_label, "'"));
  }
  return absl::OkStatus();
}

CK_GCM_PARAMS GcmParams(unsigned char* iv, absl::string_view aad) {
  CK_GCM_PARAMS p{};
  p.pIv = iv;
  p.ulIvLen = kIvBytes;
  p.ulIvBits = kIvBytes * 8;
  p.pAAD = reinterpret_cast<unsigned char*>(const_cast<char*>(aad.data()));
  p.ulAADLen = aad.size();
  p.ulTagBits = kTagBytes * 8;
  return p;
}

}  // namespace

std::string CkrName(CK_RV rv) {
  switch (rv) {
#define LV_CKR(name) \
  case name:         \
    return #name;
    LV_CKR(CKR_OK)
    LV_CKR(CKR_GENERAL_ERROR)
    LV_CKR(CKR_HOST_MEMORY)
    LV_CKR(CKR_ARGUMENTS_BAD)
    LV_CKR(CKR_FUNCTION_FAILED)
    LV_CKR(CKR_ATTRIBUTE_SENSITIVE)
    LV_CKR(CKR_ATTRIBUTE_TYPE_INVALID)
    LV_CKR(CKR_ATTRIBUTE_VALUE_INVALID)
    LV_CKR(CKR_DEVICE_ERROR)
    LV_CKR(CKR_DEVICE_REMOVED)
    LV_CKR(CKR_ENCRYPTED_DATA_INVALID)
    LV_CKR(CKR_ENCRYPTED_DATA_LEN_RANGE)
    LV_CKR(CKR_KEY_HANDLE_INVALID)
    LV_CKR(CKR_KEY_FUNCTION_NOT_PERMITTED)
    LV_CKR(CKR_KEY_UNEXTRACTABLE)
    LV_CKR(CKR_MECHANISM_INVALID)
    LV_CKR(CKR_MECHANISM_PARAM_INVALID)
    LV_CKR(CKR_OBJECT_HANDLE_INVALID)
    LV_CKR(CKR_OPERATION_ACTIVE)
    LV_CKR(CKR_PIN_INCORRECT)
    LV_CKR(CKR_PIN_INVALID)
    LV_CKR(CKR_PIN_LEN_RANGE)
    LV_CKR(CKR_PIN_EXPIRED)
    LV_CKR(CKR_PIN_LOCKED)
    LV_CKR(CKR_SESSION_HANDLE_INVALID)
    LV_CKR(CKR_SESSION_READ_ONLY)
    LV_CKR(CKR_TEMPLATE_INCOMPLETE)
    LV_CKR(CKR_TEMPLATE_INCONSISTENT)
    LV_CKR(CKR_TOKEN_NOT_PRESENT)
    LV_CKR(CKR_TOKEN_NOT_RECOGNIZED)
    LV_CKR(CKR_TOKEN_WRITE_PROTECTED)
    LV_CKR(CKR_USER_ALREADY_LOGGED_IN)
    LV_CKR(CKR_USER_NOT_LOGGED_IN)
    LV_CKR(CKR_USER_PIN_NOT_INITIALIZED)
    LV_CKR(CKR_USER_TYPE_INVALID)
    LV_CKR(CKR_BUFFER_TOO_SMALL)
    LV_CKR(CKR_CRYPTOKI_NOT_INITIALIZED)
    LV_CKR(CKR_CRYPTOKI_ALREADY_INITIALIZED)
#undef LV_CKR
    default:
      return absl::StrFormat("CKR 0x%08x", static_cast<unsigned long>(rv));
  }
}

Pkcs11Token::Pkcs11Token(Pkcs11TokenOptions options,
                         std::unique_ptr<Handles> handles, bool created_key)
    : options_(std::move(options)),
      handles_(std::move(handles)),
      created_key_(created_key) {}

Pkcs11Token::~Pkcs11Token() {
  if (handles_) Release(*handles_);
}

absl::StatusOr<std::unique_ptr<Pkcs11Token>> Pkcs11Token::Open(
    const Pkcs11TokenOptions& options, const SecureBytes& pin) {
  if (absl::Status s = InitCrypto(); !s.ok()) return s;
  if (options.module.empty() || options.token_label.empty() ||
      options.key_label.empty()) {
    return absl::InvalidArgumentError(
        "a token needs its module, token_label and key_label");
  }
  auto h = std::make_unique<Handles>();
  // Every error path releases what was taken so far.
  struct Guard {
    Handles* h;
    ~Guard() {
      if (h != nullptr) Release(*h);
    }
  } guard{h.get()};
  if (absl::Status s = Initialize(options.module, *h); !s.ok()) return s;
  auto slot = FindSlot(options, *h);
  if (!slot.ok()) return slot.status();
  if (CK_RV rv = h->functions->C_OpenSession(
          *slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr,
          &h->session);
      rv != CKR_OK) {
    return CkError(
        CodeFor(rv), rv,
        absl::StrCat("C_OpenSession on token '", options.token_label, "'"));
  }
  // Login state is per application, not per session: a second token object
  // in this process finds the user logged in already.
  CK_RV rv = h->functions->C_Login(
      h->session, CKU_USER, const_cast<CK_UTF8CHAR*>(pin.data()), pin.size());
  if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
    return CkError(
        CodeFor(rv), rv,
        absl::StrCat("C_Login as user on token '", options.token_label, "' (",
                     rv == CKR_PIN_INCORRECT ? "the PIN is wrong"
                                             : "the token refused the login",
                     ")"));
  }
  bool created = false;
  absl::Status found = FindKey(options, *h);
  if (absl::IsNotFound(found) && options.create_key) {
    if (absl::Status s = GenerateKey(options, *h); !s.ok()) return s;
    created = true;
  } else if (!found.ok()) {
    return found;
  }
  if (absl::Status s = CheckKeyStaysInside(options, *h); !s.ok()) return s;
  guard.h = nullptr;
  return std::unique_ptr<Pkcs11Token>(
      new Pkcs11Token(options, std::move(h), created));
}

absl::StatusOr<std::string> Pkcs11Token::Wrap(
    const SecureBytes& secret, absl::string_view associated_data) {
  Handles& h = *handles_;
  // Sized once, so the IV the token reads at C_EncryptInit stays put.
  std::string out(kIvBytes + secret.size() + kTagBytes, '\0');
  randombytes_buf(out.data(), kIvBytes);
  unsigned char* iv = reinterpret_cast<unsigned char*>(out.data());
  CK_GCM_PARAMS params = GcmParams(iv, associated_data);
  CK_MECHANISM mech{CKM_AES_GCM, &params, sizeof params};
  if (CK_RV rv = h.functions->C_EncryptInit(h.session, &mech, h.key);
      rv != CKR_OK) {
    return CkError(CodeFor(rv), rv,
                   absl::StrCat("C_EncryptInit(CKM_AES_GCM) with key '",
                                options_.key_label, "'"));
  }
  CK_ULONG len = secret.size() + kTagBytes;
  CK_RV rv = h.functions->C_Encrypt(
      h.session, const_cast<CK_BYTE*>(secret.data()), secret.size(),
      reinterpret_cast<unsigned char*>(out.data()) + kIvBytes, &len);
  if (rv != CKR_OK) {
    return CkError(CodeFor(rv), rv,
                   absl::StrCat("C_Encrypt(CKM_AES_GCM) with key '",
                                options_.key_label, "'"));
  }
  out.resize(kIvBytes + len);
  return out;
}

absl::StatusOr<SecureBytes> Pkcs11Token::Unwrap(
    absl::string_view wrapped, absl::string_view associated_data) {
  if (wrapped.size() < kIvBytes + kTagBytes) {
    return absl::PermissionDeniedError(
        "the wrapped secret is too short to be the token's");
  }
  Handles& h = *handles_;
  unsigned char iv[kIvBytes];
  std::memcpy(iv, wrapped.data(), kIvBytes);
  CK_GCM_PARAMS params = GcmParams(iv, associated_data);
  CK_MECHANISM mech{CKM_AES_GCM, &params, sizeof params};
  if (CK_RV rv = h.functions->C_DecryptInit(h.session, &mech, h.key);
      rv != CKR_OK) {
    return CkError(CodeFor(rv), rv,
                   absl::StrCat("C_DecryptInit(CKM_AES_GCM) with key '",
                                options_.key_label, "'"));
  }
  const absl::string_view body = wrapped.substr(kIvBytes);
  SecureBytes plain(body.size());
  CK_ULONG len = plain.size();
  CK_RV rv = h.functions->C_Decrypt(
      h.session, reinterpret_cast<CK_BYTE*>(const_cast<char*>(body.data())),
      body.size(), plain.data(), &len);
  if (rv != CKR_OK) {
    // A tag that does not verify: the bytes are not this key's, or not for
    // this use. SoftHSM2 says CKR_ENCRYPTED_DATA_INVALID or
    // CKR_GENERAL_ERROR; either way the root key did not open it.
    return CkError(absl::StatusCode::kPermissionDenied, rv,
                   absl::StrCat("the token's key '", options_.key_label,
                                "' on token '", options_.token_label,
                                "' does not open the wrapped secret "
                                "(C_Decrypt, CKM_AES_GCM)"));
  }
  SecureBytes exact = SecureBytes::CopyOf(plain.view().substr(0, len));
  return exact;
}

absl::StatusOr<SecureBytes> ReadPinFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    const int err = errno;
    return absl::Status(
        err == ENOENT ? absl::StatusCode::kNotFound
                      : absl::StatusCode::kPermissionDenied,
        absl::StrCat("cannot open the PIN file ", path, ": ", strerror(err)));
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || (st.st_mode & 077) != 0) {
    close(fd);
    return absl::FailedPreconditionError(absl::StrCat(
        "the PIN file ", path,
        " may be read by group or others; make it 0600 (or 0400)"));
  }
  auto pin = ReadSecret(fd);
  close(fd);
  if (!pin.ok()) {
    return absl::Status(
        pin.status().code(),
        absl::StrCat("the PIN file ", path, ": ", pin.status().message()));
  }
  return pin;
}

}  // namespace lanevault::crypto
