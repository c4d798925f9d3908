// The PKCS#11 token against a real SoftHSM2: the root key is made inside
// the token and never leaves it, the master key wrapped by it opens only
// with that token, key and PIN.

#include "crypto/pkcs11_token.h"

#include <sys/stat.h>

#include <fstream>
#include <memory>
#include <string>

#include "crypto/pkcs11_handles.h"
#include "crypto/seal_file.h"
#include "crypto/token_seal.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/softhsm.h"

namespace lanevault::crypto {
namespace {

using lanevault::testing::kSoftHsmModule;
using lanevault::testing::SoftHsm;
using ::testing::HasSubstr;

constexpr char kPin[] = "11223344";

class Pkcs11TokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = lanevault::testing::SoftHsmMissing(); !why.empty()) {
      GTEST_SKIP() << why;
    }
    hsm_ = std::make_unique<SoftHsm>();
    hsm_->InitToken("vault-a", kPin);
  }

  static Pkcs11TokenOptions Options(const std::string& token = "vault-a",
                                    bool create = false) {
    Pkcs11TokenOptions o;
    o.module = kSoftHsmModule;
    o.token_label = token;
    o.key_label = "lanevault-root";
    o.create_key = create;
    return o;
  }

  static std::unique_ptr<Pkcs11Token> OpenOrDie(const Pkcs11TokenOptions& o,
                                                const std::string& pin = kPin) {
    auto token = Pkcs11Token::Open(o, SecureBytes::CopyOf(pin));
    EXPECT_TRUE(token.ok()) << token.status();
    return token.ok() ? std::move(*token) : nullptr;
  }

  std::unique_ptr<SoftHsm> hsm_;
};

TEST_F(Pkcs11TokenTest, WrapUnwrapRoundTripAcrossSessions) {
  SecureBytes master = NewMasterKeyBytes();
  std::string wrapped;
  {
    auto token = OpenOrDie(Options("vault-a", /*create=*/true));
    ASSERT_NE(token, nullptr);
    EXPECT_TRUE(token->created_key());
    auto w = token->Wrap(master, "purpose A");
    ASSERT_TRUE(w.ok()) << w.status();
    wrapped = *w;
    EXPECT_EQ(wrapped.size(), 12u + 32u + 16u);  // IV, ciphertext, tag
    EXPECT_EQ(wrapped.find(std::string(master.view())), std::string::npos);
    // A second wrap of the same secret takes a fresh IV.
    auto again = token->Wrap(master, "purpose A");
    ASSERT_TRUE(again.ok());
    EXPECT_NE(*again, wrapped);
  }
  // A later session (a daemon restart) finds the same key by label.
  auto token = OpenOrDie(Options());
  ASSERT_NE(token, nullptr);
  EXPECT_FALSE(token->created_key());
  auto opened = token->Unwrap(wrapped, "purpose A");
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->view(), master.view());

  // Other associated data, or one flipped bit, opens nothing.
  auto other = token->Unwrap(wrapped, "purpose B");
  EXPECT_EQ(other.status().code(), absl::StatusCode::kPermissionDenied)
      << other.status();
  std::string damaged = wrapped;
  damaged[20] ^= 1;
  EXPECT_EQ(token->Unwrap(damaged, "purpose A").status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(Pkcs11TokenTest, RootKeyValueCannotBeReadNorExported) {
  auto token = OpenOrDie(Options("vault-a", /*create=*/true));
  ASSERT_NE(token, nullptr);
  const Pkcs11Token::Handles& h = token->handles();
  // The token refuses to give the value out.
  unsigned char value[64];
  CK_ATTRIBUTE a{CKA_VALUE, value, sizeof value};
  CK_RV rv = h.functions->C_GetAttributeValue(h.session, h.key, &a, 1);
  EXPECT_EQ(rv, static_cast<CK_RV>(CKR_ATTRIBUTE_SENSITIVE)) << CkrName(rv);
  EXPECT_EQ(a.ulValueLen, CK_UNAVAILABLE_INFORMATION);
  // And it is marked so for good.
  CK_BBOOL extractable = CK_TRUE, sensitive = CK_FALSE,
           never_extractable = CK_FALSE, local = CK_FALSE;
  CK_ATTRIBUTE flags[] = {
      {CKA_EXTRACTABLE, &extractable, sizeof extractable},
      {CKA_SENSITIVE, &sensitive, sizeof sensitive},
      {CKA_NEVER_EXTRACTABLE, &never_extractable, sizeof never_extractable},
      {CKA_LOCAL, &local, sizeof local},
  };
  ASSERT_EQ(h.functions->C_GetAttributeValue(h.session, h.key, flags, 4),
            static_cast<CK_RV>(CKR_OK));
  EXPECT_EQ(extractable, CK_FALSE);
  EXPECT_EQ(sensitive, CK_TRUE);
  EXPECT_EQ(never_extractable, CK_TRUE);
  EXPECT_EQ(local, CK_TRUE);  // generated inside the token
  // Nor can it be made extractable afterwards (PKCS#11: a one-way flag).
  CK_BBOOL yes = CK_TRUE;
  CK_ATTRIBUTE make_extractable{CKA_EXTRACTABLE, &yes, sizeof yes};
  EXPECT_NE(
      h.functions->C_SetAttributeValue(h.session, h.key, &make_extractable, 1),
      static_cast<CK_RV>(CKR_OK));
}

TEST_F(Pkcs11TokenTest, WrongPinIsRefusedClearly) {
  ASSERT_NE(OpenOrDie(Options("vault-a", true)), nullptr);
  auto token = Pkcs11Token::Open(Options(), SecureBytes::CopyOf("99999999"));
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(token.status().message(), HasSubstr("CKR_PIN_INCORRECT"));
  EXPECT_THAT(token.status().message(), HasSubstr("C_Login"));
  EXPECT_THAT(token.status().message(), HasSubstr("vault-a"));
}

TEST_F(Pkcs11TokenTest, MissingTokenKeyOrModuleIsNamed) {
  auto no_token =
      Pkcs11Token::Open(Options("vault-zz"), SecureBytes::CopyOf(kPin));
  EXPECT_EQ(no_token.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(no_token.status().message(), HasSubstr("'vault-zz'"));
  EXPECT_THAT(no_token.status().message(), HasSubstr("'vault-a'"));

  auto no_key = Pkcs11Token::Open(Options(), SecureBytes::CopyOf(kPin));
  EXPECT_EQ(no_key.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(no_key.status().message(), HasSubstr("lanevault-root"));

  Pkcs11TokenOptions bad = Options();
  bad.module = hsm_->Join("no-such-module.so");
  auto no_module = Pkcs11Token::Open(bad, SecureBytes::CopyOf(kPin));
  EXPECT_EQ(no_module.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(no_module.status().message(), HasSubstr("no-such-module.so"));
}

// A key of the right label that the token would let out is not a root key.
TEST_F(Pkcs11TokenTest, ExtractableKeyOfTheLabelIsRefused) {
  {
    auto token = OpenOrDie(Options("vault-a", true));
    ASSERT_NE(token, nullptr);
    const Pkcs11Token::Handles& h = token->handles();
    ASSERT_EQ(h.functions->C_DestroyObject(h.session, h.key),
              static_cast<CK_RV>(CKR_OK));
    unsigned char raw[32] = {1, 2, 3};
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE type = CKK_AES;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    std::string label = "lanevault-root";
    CK_ATTRIBUTE tmpl[] = {
        {CKA_CLASS, &cls, sizeof cls},
        {CKA_KEY_TYPE, &type, sizeof type},
        {CKA_VALUE, raw, sizeof raw},
        {CKA_LABEL, label.data(), label.size()},
        {CKA_TOKEN, &yes, sizeof yes},
        {CKA_PRIVATE, &yes, sizeof yes},
        {CKA_SENSITIVE, &no, sizeof no},
        {CKA_EXTRACTABLE, &yes, sizeof yes},
        {CKA_ENCRYPT, &yes, sizeof yes},
        {CKA_DECRYPT, &yes, sizeof yes},
    };
    CK_OBJECT_HANDLE imported;
    ASSERT_EQ(h.functions->C_CreateObject(h.session, tmpl, 10, &imported),
              static_cast<CK_RV>(CKR_OK));
  }
  auto token = Pkcs11Token::Open(Options(), SecureBytes::CopyOf(kPin));
  EXPECT_EQ(token.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(token.status().message(), HasSubstr("CKA_SENSITIVE=FALSE"));
}

TEST_F(Pkcs11TokenTest, SealedMasterKeyOpensOnlyWithItsTokenAndKey) {
  hsm_->InitToken("vault-b", kPin);
  SecureBytes master = NewMasterKeyBytes();
  const std::string path = hsm_->Join("token.seal");
  {
    auto token = OpenOrDie(Options("vault-a", true));
    ASSERT_NE(token, nullptr);
    auto file = SealWithToken(*token, master);
    ASSERT_TRUE(file.ok()) << file.status();
    ASSERT_TRUE(WriteTokenSealFile(path, *file).ok());
  }
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto file = ReadTokenSealFile(path);
  ASSERT_TRUE(file.ok()) << file.status();
  {
    auto token = OpenOrDie(Options());
    ASSERT_NE(token, nullptr);
    auto opened = OpenWithToken(*token, *file);
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_EQ(opened->view(), master.view());
  }
  // Another token with a key of the same label: refused by the labels, and
  // its key opens nothing even when the file is relabelled to it.
  {
    auto other = OpenOrDie(Options("vault-b", true));
    ASSERT_NE(other, nullptr);
    EXPECT_EQ(OpenWithToken(*other, *file).status().code(),
              absl::StatusCode::kFailedPrecondition);
    v1::TokenSealFile relabelled = *file;
    relabelled.set_token_label("vault-b");
    EXPECT_EQ(other
                  ->Unwrap(file->wrapped_master_key(),
                           "lanevault token seal v1\nvault-a\n"
                           "lanevault-root\n")
                  .status()
                  .code(),
              absl::StatusCode::kPermissionDenied);
    EXPECT_EQ(OpenWithToken(*other, relabelled).status().code(),
              absl::StatusCode::kPermissionDenied);
  }
  // The key deleted from the token (and a new one of the same label made):
  // the file opens nothing.
  {
    auto token = OpenOrDie(Options());
    ASSERT_NE(token, nullptr);
    const Pkcs11Token::Handles& h = token->handles();
    ASSERT_EQ(h.functions->C_DestroyObject(h.session, h.key),
              static_cast<CK_RV>(CKR_OK));
  }
  EXPECT_EQ(
      Pkcs11Token::Open(Options(), SecureBytes::CopyOf(kPin)).status().code(),
      absl::StatusCode::kNotFound);
  auto fresh = OpenOrDie(Options("vault-a", true));
  ASSERT_NE(fresh, nullptr);
  EXPECT_TRUE(fresh->created_key());
  auto opened = OpenWithToken(*fresh, *file);
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kPermissionDenied)
      << opened.status();
}

TEST_F(Pkcs11TokenTest, PinFileMustBePrivate) {
  const std::string path = hsm_->Join("pin");
  std::ofstream(path) << kPin << "\n";
  chmod(path.c_str(), 0644);
  EXPECT_EQ(ReadPinFile(path).status().code(),
            absl::StatusCode::kFailedPrecondition);
  chmod(path.c_str(), 0600);
  auto pin = ReadPinFile(path);
  ASSERT_TRUE(pin.ok()) << pin.status();
  EXPECT_EQ(pin->view(), kPin);  // the newline dropped
  EXPECT_EQ(ReadPinFile(hsm_->Join("none")).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace lanevault::crypto
