#include "api/peer_verifier.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/files.h"
#include "common/logging.h"

namespace lanevault::api {
namespace {

// Verdicts are cached so a busy client costs one verification, not one per
// call; a reload empties the cache.
constexpr absl::Duration kCacheGood = absl::Minutes(5);
constexpr absl::Duration kCacheBad = absl::Seconds(30);
constexpr size_t kCacheMax = 4096;

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct StoreFree {
  void operator()(X509_STORE* s) const { X509_STORE_free(s); }
};
struct CtxFree {
  void operator()(X509_STORE_CTX* c) const { X509_STORE_CTX_free(c); }
};
struct StackFree {
  void operator()(STACK_OF(X509) * s) const { sk_X509_pop_free(s, X509_free); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

std::vector<X509Ptr> ParseCerts(absl::string_view pem) {
  std::vector<X509Ptr> out;
  std::unique_ptr<BIO, BioFree> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  while (bio != nullptr) {
    X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (x == nullptr) break;
    out.emplace_back(x);
  }
  return out;
}

std::string Hex(const unsigned char* data, size_t n) {
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(data), n));
}

std::string SerialHex(X509* cert) {
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  if (bn == nullptr) return "";
  char* hex = BN_bn2hex(bn);
  std::string out = absl::AsciiStrToLower(hex != nullptr ? hex : "");
  OPENSSL_free(hex);
  BN_free(bn);
  // As deny-lists write it: no leading zeros.
  while (out.size() > 1 && out[0] == '0') out.erase(0, 1);
  return out;
}

std::string Sha256Hex(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (X509_digest(cert, EVP_sha256(), md, &n) != 1) return "";
  return Hex(md, n);
}

std::string CommonName(X509* cert) {
  X509_NAME* subject = X509_get_subject_name(cert);
  const int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (at < 0) return "";
  ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     ASN1_STRING_length(s));
}

std::string FirstUri(X509* cert) {
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  std::string out;
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    if (n->type == GEN_URI) {
      const ASN1_STRING* s = n->d.uniformResourceIdentifier;
      out.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                 ASN1_STRING_length(s));
      break;
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

absl::Time NotAfter(X509* cert) {
  struct tm tm = {};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1) {
    return absl::InfinitePast();
  }
  return absl::FromTimeT(timegm(&tm));
}

std::string Reason(int error, X509* leaf) {
  switch (error) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return absl::StrCat(
          "the client certificate expired on ",
          absl::FormatTime("%Y-%m-%d", NotAfter(leaf), absl::UTCTimeZone()),
          "; ask for a new one");
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return "the client certificate is not valid yet (check the clock)";
    case X509_V_ERR_CERT_REVOKED:
      return "the client certificate is revoked (certificate revocation list)";
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
      return "the client certificate was not issued by this server's CA";
    case X509_V_ERR_INVALID_PURPOSE:
      return "the certificate is not a client certificate (extended key "
             "usage clientAuth missing)";
    case X509_V_ERR_UNABLE_TO_GET_CRL:
    case X509_V_ERR_CRL_HAS_EXPIRED:
    case X509_V_ERR_CRL_NOT_YET_VALID:
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
      // Fail closed: without a current revocation list nobody is let in.
      return absl::StrCat("the server's revocation list cannot be used (",
                          X509_verify_cert_error_string(error),
                          "); the operator must install a current one");
    default:
      return absl::StrCat("the client certificate does not verify: ",
                          X509_verify_cert_error_string(error));
  }
}

}  // namespace

struct PeerVerifier::Trust {
  std::unique_ptr<X509_STORE, StoreFree> store;
  bool check_crl = false;
  absl::flat_hash_set<std::string> denied_serials;
  absl::flat_hash_set<std::string> denied_fingerprints;
  absl::flat_hash_set<std::string> denied_principals;
};

namespace {

absl::Status LoadDenyList(const std::string& path, absl::string_view text,
                          absl::flat_hash_set<std::string>* serials,
                          absl::flat_hash_set<std::string>* fingerprints,
                          absl::flat_hash_set<std::string>* principals) {
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    std::string value;
    if (absl::ConsumePrefix(&line, "serial:")) {
      value = absl::AsciiStrToLower(absl::StripAsciiWhitespace(line));
      if (absl::StartsWith(value, "0x")) value.erase(0, 2);
      while (value.size() > 1 && value[0] == '0') value.erase(0, 1);
      serials->insert(value);
    } else if (absl::ConsumePrefix(&line, "sha256:")) {
      value = absl::AsciiStrToLower(absl::StripAsciiWhitespace(line));
      value.erase(std::remove(value.begin(), value.end(), ':'), value.end());
      fingerprints->insert(value);
    } else if (absl::ConsumePrefix(&line, "principal:")) {
      principals->insert(std::string(absl::StripAsciiWhitespace(line)));
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", line_number,
                       ": expected serial:HEX, sha256:HEX or principal:NAME"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

PeerVerifier::PeerVerifier(PeerTrust trust, Clock* clock)
    : config_(std::move(trust)), clock_(clock) {}
PeerVerifier::~PeerVerifier() = default;

absl::StatusOr<std::unique_ptr<PeerVerifier>> PeerVerifier::Create(
    PeerTrust trust, Clock* clock) {
  std::unique_ptr<PeerVerifier> v(new PeerVerifier(std::move(trust), clock));
  if (absl::Status s = v->Reload(); !s.ok()) return s;
  return v;
}

absl::Status PeerVerifier::Reload() {
  auto next = std::make_shared<Trust>();
  next->store.reset(X509_STORE_new());
  absl::StatusOr<std::string> ca = ReadFileToString(config_.ca_file);
  if (!ca.ok()) return ca.status();
  std::vector<X509Ptr> cas = ParseCerts(*ca);
  if (cas.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(config_.ca_file, " holds no PEM certificate"));
  }
  for (X509Ptr& c : cas) X509_STORE_add_cert(next->store.get(), c.get());
  if (!config_.crl_file.empty()) {
    absl::StatusOr<std::string> pem = ReadFileToString(config_.crl_file);
    if (!pem.ok()) return pem.status();
    std::unique_ptr<BIO, BioFree> bio(
        BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
    int crls = 0;
    while (X509_CRL* crl =
               PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr)) {
      X509_STORE_add_crl(next->store.get(), crl);
      X509_CRL_free(crl);
      ++crls;
    }
    if (crls == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(config_.crl_file, " holds no PEM X509 CRL"));
    }
    next->check_crl = true;
  }
  if (!config_.deny_list_file.empty()) {
    absl::StatusOr<std::string> text = ReadFileToString(config_.deny_list_file);
    if (!text.ok()) return text.status();
    if (absl::Status s =
            LoadDenyList(config_.deny_list_file, *text, &next->denied_serials,
                         &next->denied_fingerprints, &next->denied_principals);
        !s.ok()) {
      return s;
    }
  }
  absl::MutexLock lock(&mu_);
  trust_ = std::move(next);
  cache_.clear();
  spdlog::info(
      "client trust loaded: CA {}{}{}", config_.ca_file,
      config_.crl_file.empty() ? "" : absl::StrCat(", CRL ", config_.crl_file),
      config_.deny_list_file.empty()
          ? ""
          : absl::StrCat(", deny-list ", config_.deny_list_file, " (",
                         trust_->denied_serials.size() +
                             trust_->denied_fingerprints.size() +
                             trust_->denied_principals.size(),
                         " entries)"));
  return absl::OkStatus();
}

absl::StatusOr<PeerIdentity> PeerVerifier::Verify(
    absl::string_view leaf_pem, absl::string_view chain_pem) const {
  if (leaf_pem.empty()) {
    return absl::UnauthenticatedError(
        "no client certificate: every call needs one issued by this "
        "server's CA");
  }
  const absl::Time now = clock_->Now();
  // The leaf and whatever chain came with it: the verdict covers both.
  const std::string key = absl::StrCat(leaf_pem, chain_pem);
  std::shared_ptr<const Trust> trust;
  {
    absl::MutexLock lock(&mu_);
    if (auto it = cache_.find(key);
        it != cache_.end() && now < it->second.until) {
      return it->second.verdict;
    }
    trust = trust_;
  }
  absl::StatusOr<PeerIdentity> verdict =
      VerifyUncached(*trust, leaf_pem, chain_pem, now);
  absl::Time until = now + (verdict.ok() ? kCacheGood : kCacheBad);
  if (verdict.ok()) until = std::min(until, verdict->not_after);
  absl::MutexLock lock(&mu_);
  if (trust_ == trust) {  // not reloaded meanwhile
    if (cache_.size() >= kCacheMax) cache_.clear();
    cache_[key] = Cached{verdict, until};
  }
  return verdict;
}

absl::StatusOr<PeerIdentity> PeerVerifier::VerifyUncached(
    const Trust& trust, absl::string_view leaf_pem, absl::string_view chain_pem,
    absl::Time now) const {
  std::vector<X509Ptr> leaf = ParseCerts(leaf_pem);
  if (leaf.empty()) {
    return absl::UnauthenticatedError("the client certificate does not parse");
  }
  X509* cert = leaf.front().get();
  std::unique_ptr<STACK_OF(X509), StackFree> untrusted(sk_X509_new_null());
  for (X509Ptr& c : ParseCerts(chain_pem)) {
    if (X509_cmp(c.get(), cert) == 0) continue;
    sk_X509_push(untrusted.get(), c.release());
  }
  std::unique_ptr<X509_STORE_CTX, CtxFree> ctx(X509_STORE_CTX_new());
  if (ctx == nullptr || X509_STORE_CTX_init(ctx.get(), trust.store.get(), cert,
                                            untrusted.get()) != 1) {
    return absl::InternalError("cannot set up certificate verification");
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, absl::ToTimeT(now));
  X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_CLIENT);
  if (trust.check_crl) {
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_CRL_CHECK);
  }
  if (X509_verify_cert(ctx.get()) != 1) {
    return absl::UnauthenticatedError(
        Reason(X509_STORE_CTX_get_error(ctx.get()), cert));
  }
  PeerIdentity id;
  id.serial_hex = SerialHex(cert);
  id.not_after = NotAfter(cert);
  id.principal = config_.principal_from_uri ? FirstUri(cert) : CommonName(cert);
  if (id.principal.empty()) {
    return absl::UnauthenticatedError(
        config_.principal_from_uri
            ? "the client certificate has no URI subject-alternative name"
            : "the client certificate's subject has no common name");
  }
  if (trust.denied_serials.contains(id.serial_hex) ||
      trust.denied_fingerprints.contains(Sha256Hex(cert)) ||
      trust.denied_principals.contains(id.principal)) {
    return absl::UnauthenticatedError(
        absl::StrCat("the client certificate (serial ", id.serial_hex,
                     ") is on the server's deny-list"));
  }
  return id;
}

}  // namespace lanevault::api
