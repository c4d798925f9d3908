#ifndef LANEVAULT_TLOG_COSIGNATURE_H_
#define LANEVAULT_TLOG_COSIGNATURE_H_

// Witness cosignatures on checkpoints, as C2SP tlog-cosignature defines the
// Ed25519 kind (cosignature/v1). A cosignature is one more signature line of
// the checkpoint note:
//
//   — <witness name> base64(key ID || u64 big-endian timestamp || sig)
//
// key ID = SHA-256(name || "\n" || 0x04 || public key)[:4], and the Ed25519
// signature covers "cosignature/v1\ntime <timestamp>\n" followed by the
// whole checkpoint body (signature lines excluded). Its verifier key is a
// signed-note vkey with type byte 0x04: "<name>+<hex key ID>+<base64(0x04 ||
// key)>". A log's own key (type 0x01) is a different thing: checkpoint.h.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "crypto/signing.h"

namespace lanevault::tlog {

// A witness's public identity, as a verifier (a log, an auditor) pins it.
struct Cosigner {
  std::string name;
  std::string public_key;  // 32 bytes, Ed25519
};

// The four-byte key ID of a cosignature/v1 key.
std::string CosignerKeyId(absl::string_view name, absl::string_view public_key);
// "<name>+<hex key ID>+<base64(0x04 || key)>".
std::string CosignerVerifierKey(absl::string_view name,
                                absl::string_view public_key);
// INVALID_ARGUMENT unless `vkey` is a well-formed cosignature/v1 vkey whose
// key ID matches its name and key.
absl::StatusOr<Cosigner> ParseCosignerVerifierKey(absl::string_view vkey);

// The exact bytes an Ed25519 cosignature signs.
std::string CosignedMessage(absl::string_view checkpoint_body,
                            uint64_t timestamp);

// One signature line ("— name base64...\n") cosigning `checkpoint_body`
// (the note's text up to and including the last body line's newline) at
// `timestamp` (POSIX seconds).
std::string Cosign(absl::string_view checkpoint_body, uint64_t timestamp,
                   absl::string_view name, const crypto::SigningKey& key);

struct VerifiedCosignature {
  std::string name;
  uint64_t timestamp = 0;
};

// The checkpoint body of a note: everything before the blank line, with its
// final newline. DATA_LOSS when the note has no signature block.
absl::StatusOr<std::string> NoteBody(absl::string_view note);
// The note's signature lines (without their newline), in order.
std::vector<std::string> NoteSignatureLines(absl::string_view note);

// The cosigners among `trusted` whose valid cosignature the note carries,
// each once. Lines from unknown keys, or that do not verify, are ignored
// (the spec says so: a log may carry cosignatures its reader does not
// trust).
absl::StatusOr<std::vector<VerifiedCosignature>> VerifyCosignatures(
    absl::string_view note, const std::vector<Cosigner>& trusted);

}  // namespace lanevault::tlog

#endif  // LANEVAULT_TLOG_COSIGNATURE_H_
