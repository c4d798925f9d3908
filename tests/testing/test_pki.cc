#include "testing/test_pki.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <ctime>
#include <memory>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace lanevault::testing {
namespace {

struct Ca {
  X509* cert = nullptr;
  EVP_PKEY* key = nullptr;
  ~Ca() {
    X509_free(cert);
    EVP_PKEY_free(key);
  }
};

bool LoadCa(const std::string& pki, Ca* ca) {
  FILE* f = std::fopen((pki + "/ca.pem").c_str(), "r");
  if (f == nullptr) return false;
  ca->cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  f = std::fopen((pki + "/ca.key").c_str(), "r");
  if (f == nullptr) return false;
  ca->key = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  return ca->cert != nullptr && ca->key != nullptr;
}

void AddExt(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  ASSERT_NE(ext, nullptr) << value;
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

}  // namespace

void IssueCert(const std::string& pki, const std::string& file_name,
               const CertSpec& spec) {
  Ca ca;
  ASSERT_TRUE(LoadCa(pki, &ca)) << pki;
  EVP_PKEY* key = EVP_EC_gen("P-256");
  ASSERT_NE(key, nullptr);
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), spec.serial);
  X509_gmtime_adj(X509_getm_notBefore(cert),
                  absl::ToInt64Seconds(spec.valid_from));
  X509_gmtime_adj(X509_getm_notAfter(cert),
                  absl::ToInt64Seconds(spec.valid_until));
  X509_set_pubkey(cert, key);
  X509_NAME_add_entry_by_txt(
      X509_get_subject_name(cert), "CN", MBSTRING_ASC,
      reinterpret_cast<const unsigned char*>(spec.common_name.c_str()), -1, -1,
      0);
  X509_set_issuer_name(cert, X509_get_subject_name(ca.cert));
  AddExt(cert, ca.cert, NID_basic_constraints, "critical,CA:FALSE");
  AddExt(cert, ca.cert, NID_key_usage, "critical,digitalSignature");
  AddExt(cert, ca.cert, NID_ext_key_usage,
         spec.client_auth ? "clientAuth" : "serverAuth");
  AddExt(cert, ca.cert, NID_authority_key_identifier, "keyid:always");
  if (!spec.uri.empty()) {
    AddExt(cert, ca.cert, NID_subject_alt_name, "URI:" + spec.uri);
  }
  ASSERT_GT(X509_sign(cert, ca.key, EVP_sha256()), 0);
  const std::string base = absl::StrCat(pki, "/", file_name);
  FILE* out = std::fopen((base + ".pem").c_str(), "w");
  ASSERT_NE(out, nullptr);
  PEM_write_X509(out, cert);
  std::fclose(out);
  out = std::fopen((base + ".key").c_str(), "w");
  ASSERT_NE(out, nullptr);
  PEM_write_PrivateKey(out, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(out);
  chmod((base + ".key").c_str(), 0600);
  X509_free(cert);
  EVP_PKEY_free(key);
}

void WriteCrl(const std::string& pki, const std::vector<long>& serials,
              const std::string& path) {
  Ca ca;
  ASSERT_TRUE(LoadCa(pki, &ca)) << pki;
  X509_CRL* crl = X509_CRL_new();
  X509_CRL_set_version(crl, 1);
  X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca.cert));
  const time_t now = std::time(nullptr);
  ASN1_TIME* last = ASN1_TIME_adj(nullptr, now, 0, -60);
  ASN1_TIME* next = ASN1_TIME_adj(nullptr, now, 1, 0);
  X509_CRL_set1_lastUpdate(crl, last);
  X509_CRL_set1_nextUpdate(crl, next);
  for (long serial : serials) {
    X509_REVOKED* r = X509_REVOKED_new();
    ASN1_INTEGER* s = ASN1_INTEGER_new();
    ASN1_INTEGER_set(s, serial);
    X509_REVOKED_set_serialNumber(r, s);
    X509_REVOKED_set_revocationDate(r, last);
    X509_CRL_add0_revoked(crl, r);
    ASN1_INTEGER_free(s);
  }
  X509_CRL_sort(crl);
  ASSERT_GT(X509_CRL_sign(crl, ca.key, EVP_sha256()), 0);
  FILE* out = std::fopen(path.c_str(), "w");
  ASSERT_NE(out, nullptr);
  PEM_write_X509_CRL(out, crl);
  std::fclose(out);
  ASN1_TIME_free(last);
  ASN1_TIME_free(next);
  X509_CRL_free(crl);
}

}  // namespace lanevault::testing
