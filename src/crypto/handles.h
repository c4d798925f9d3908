#ifndef LANEVAULT_CRYPTO_HANDLES_H_
#define LANEVAULT_CRYPTO_HANDLES_H_

// Purpose-scoped handles: how answers name records and items, so that two
// people who read the same crossing for purposes of different scopes hold
// names that share nothing.
//
// A handle is a keyed pseudorandom permutation of the id's 128 random bits
// under a key of the scope's own (derived from the master key and the
// scope's name), plus a short tag that says whether it was issued under
// that scope. Without the vault's key, handles of one record under two
// scopes are unrelated random strings; with it, a handle opens back to its
// id, and only under the scope it was issued in. The same record always
// has the same handle within a scope, so colleagues of one purpose can
// still pass a record on by its handle.
//
// The permutation is a four-round Feistel network over two 64-bit halves
// with keyed BLAKE2b as the round function (Luby-Rackoff: a strong
// pseudorandom permutation from a pseudorandom function); the tag is keyed
// BLAKE2b over the permuted bytes.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "crypto/master_key.h"
#include "crypto/secure_bytes.h"

namespace lanevault::crypto {

class HandleKey {
 public:
  enum class Kind {
    kRecord,  // "rec_…" ids, "rh_…" handles
    kItem,    // "itm_…" ids, "ih_…" handles
  };

  static HandleKey DeriveFrom(const MasterKey& master);

  // The handle of `id` (a well-formed id of `kind`) under `scope`;
  // INVALID_ARGUMENT for anything else.
  absl::StatusOr<std::string> Issue(Kind kind, absl::string_view scope,
                                    absl::string_view id) const;
  // The id a handle issued under `scope` names. INVALID_ARGUMENT for a
  // string that is no handle of `kind` (a raw id included: answers name
  // records by handle, and so must questions); PERMISSION_DENIED for a
  // handle of another scope, or one made up.
  absl::StatusOr<std::string> Open(Kind kind, absl::string_view scope,
                                   absl::string_view handle) const;

  // Whether `s` has the shape of a handle of `kind` (says nothing of its
  // scope).
  static bool LooksLikeHandle(Kind kind, absl::string_view s);

 private:
  explicit HandleKey(SecureBytes key) : key_(std::move(key)) {}
  // The key of one scope and kind.
  SecureBytes ScopeKey(Kind kind, absl::string_view scope) const;
  SecureBytes key_;
};

}  // namespace lanevault::crypto

#endif  // LANEVAULT_CRYPTO_HANDLES_H_
