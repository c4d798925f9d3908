#ifndef LANEVAULT_TLOG_CHECKPOINT_H_
#define LANEVAULT_TLOG_CHECKPOINT_H_

// Signed tree heads in the C2SP tlog-checkpoint format, carried as a C2SP
// signed note with an Ed25519 signature:
//
//   <origin>\n<tree size>\n<base64 root hash>\n
//   \n
//   — <key name> <base64(4-byte key hash || 64-byte signature)>\n
//
// The verifier key string is "<name>+<hex key hash>+<base64(0x01 || key)>",
// as the signed-note spec gives it, so other note verifiers can check ours.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "crypto/signing.h"

namespace lanevault::tlog {

struct TreeHead {
  std::string origin;
  uint64_t size = 0;
  std::string root_hash;  // 32 bytes
};

// The first four bytes of SHA-256(name || 0x0A || 0x01 || public key).
std::string NoteKeyHash(absl::string_view name, absl::string_view public_key);
std::string VerifierKey(absl::string_view name, absl::string_view public_key);

// The checkpoint body and the note that signs it.
std::string CheckpointBody(const TreeHead& head);
std::string SignCheckpoint(const TreeHead& head, const crypto::SigningKey& key);

// Verifies `note` against `verifier_key` and parses the tree head.
// DATA_LOSS for a bad signature or a malformed note; INVALID_ARGUMENT for a
// malformed verifier key.
absl::StatusOr<TreeHead> OpenCheckpoint(absl::string_view note,
                                        absl::string_view verifier_key);

}  // namespace lanevault::tlog

#endif  // LANEVAULT_TLOG_CHECKPOINT_H_
