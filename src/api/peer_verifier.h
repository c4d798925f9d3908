#ifndef LANEVAULT_API_PEER_VERIFIER_H_
#define LANEVAULT_API_PEER_VERIFIER_H_

// Who is calling: the client certificate, verified with OpenSSL against the
// CA, the certificate revocation list and the deny-list on every call (the
// verdict cached per certificate). The TLS layer only requests the
// certificate; verifying it here means that every refused certificate
// (none, another CA, expired, revoked, denied, a server certificate) is
// refused with the reason and logged like any other refusal, and that the
// CRL and deny-list can be reloaded without a restart.

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace lanevault::api {

struct PeerTrust {
  std::string ca_file;         // PEM: the CA that issues client certificates
  std::string crl_file;        // optional PEM CRL(s) by that CA
  std::string deny_list_file;  // optional; see PeerVerifier::Reload
  // The principal is the first URI subject-alternative name instead of the
  // subject's common name.
  bool principal_from_uri = false;
};

struct PeerIdentity {
  std::string principal;
  std::string serial_hex;  // for deny-lists and the log
  absl::Time not_after;
};

class PeerVerifier {
 public:
  // Reads the files once; any error names the file.
  static absl::StatusOr<std::unique_ptr<PeerVerifier>> Create(PeerTrust trust,
                                                              Clock* clock);
  ~PeerVerifier();

  // Re-reads the CA, the CRL and the deny-list. On any error nothing changes
  // and the error says which file and why. Deny-list lines: "serial:HEX",
  // "sha256:HEX" (of the certificate's DER) or "principal:NAME"; '#' starts
  // a comment.
  absl::Status Reload();

  // The identity of a verified client certificate; UNAUTHENTICATED with the
  // reason otherwise. `chain_pem` may hold intermediates after the leaf.
  absl::StatusOr<PeerIdentity> Verify(absl::string_view leaf_pem,
                                      absl::string_view chain_pem) const;

 private:
  struct Trust;  // the parsed CA store, CRLs and deny-list
  PeerVerifier(PeerTrust trust, Clock* clock);
  absl::StatusOr<PeerIdentity> VerifyUncached(const Trust& trust,
                                              absl::string_view leaf_pem,
                                              absl::string_view chain_pem,
                                              absl::Time now) const;

  struct Cached {
    absl::StatusOr<PeerIdentity> verdict;
    absl::Time until;
  };

  const PeerTrust config_;
  Clock* const clock_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const Trust> trust_ ABSL_GUARDED_BY(mu_);
  mutable absl::flat_hash_map<std::string, Cached> cache_ ABSL_GUARDED_BY(mu_);
};

}  // namespace lanevault::api

#endif  // LANEVAULT_API_PEER_VERIFIER_H_
