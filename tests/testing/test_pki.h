#ifndef LANEVAULT_TESTING_TEST_PKI_H_
#define LANEVAULT_TESTING_TEST_PKI_H_

// Certificates the dev PKI script does not make, issued with OpenSSL by the
// CA in a dev PKI folder (ca.pem, ca.key): expired ones, ones with a URI
// name or no clientAuth, and certificate revocation lists.

#include <string>
#include <vector>

#include "absl/time/time.h"

namespace lanevault::testing {

struct CertSpec {
  std::string common_name;
  std::string uri;  // a URI subject-alternative name, if set
  long serial = 1000;
  absl::Duration valid_from = -absl::Hours(1);  // relative to now
  absl::Duration valid_until = absl::Hours(24);
  bool client_auth = true;  // extended key usage clientAuth (else serverAuth)
};

inline CertSpec ClientCert(std::string common_name, long serial) {
  CertSpec spec;
  spec.common_name = std::move(common_name);
  spec.serial = serial;
  return spec;
}

// Writes `pki`/`file_name`.pem and .key (0600). Fails the test on error.
void IssueCert(const std::string& pki, const std::string& file_name,
               const CertSpec& spec);

// Writes a CRL by the CA in `pki` revoking `serials`, valid for a day.
void WriteCrl(const std::string& pki, const std::vector<long>& serials,
              const std::string& path);

}  // namespace lanevault::testing

#endif  // LANEVAULT_TESTING_TEST_PKI_H_
