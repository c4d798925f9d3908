#ifndef LANEVAULT_RECEIPT_RECEIPT_H_
#define LANEVAULT_RECEIPT_RECEIPT_H_

// Signed receipts (lanevault/v1/receipt.proto): every evidence answer
// carries what it handed over and the contract's restrictions on use for its
// purpose, signed by the vault's receipt key, so the system that receives
// the evidence can check where it came from, under which terms, and that it
// was not altered.
//
// The signature is Ed25519 over kReceiptSignaturePrefix followed by the
// serialized ReceiptBody, exactly the bytes in Receipt.body.

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "crypto/signing.h"
#include "lanevault/v1/receipt.pb.h"
#include "lanevault/v1/types.pb.h"

namespace lanevault::receipt {

// The 21 bytes signed before the body: a signature over a receipt is never
// a signature over anything else the vault signs.
inline constexpr absl::string_view kReceiptSignaturePrefix =
    "lanevault-receipt-v1\n";

// `body` serialized deterministically (the same body, the same bytes).
std::string SerializeBody(const v1::ReceiptBody& body);

// The bytes a receipt's signature covers: the prefix, then `body`.
std::string SignedMessage(absl::string_view body);

// Serializes `body` and signs it with `key` (the vault's receipt key); the
// receipt names the key's public half as a hint for the receiver.
v1::Receipt SignReceipt(const crypto::SigningKey& key,
                        const v1::ReceiptBody& body);

// The body of `receipt`, once its signature verifies against
// `trusted_public_key` (32 bytes: the receipt key the receiver pinned, or
// fetched from the vault). The key inside the receipt is only a hint and is
// never trusted: a receipt naming another key is refused, and so is one
// signed by another key that names the trusted one.
// PERMISSION_DENIED for an empty receipt, a key that is not the trusted
// one, a bad signature, or a body that does not parse; INVALID_ARGUMENT
// when `trusted_public_key` is not 32 bytes.
absl::StatusOr<v1::ReceiptBody> VerifyReceipt(
    const v1::Receipt& receipt, absl::string_view trusted_public_key);

// The random salt of a text item's commitment, in bytes.
inline constexpr size_t kContentSaltBytes = 16;

// Whether a receipt commits to an item of `category` under a salt (text: a
// plate's text, metadata) rather than by its bare SHA-256 (images). A plate's
// text is a few characters in a few formats: its bare digest would give it
// to whoever holds the receipt alone, by trying them. An image's bytes as
// returned (marked for the read) cannot be tried.
bool CommitsUnderSalt(v1::DataCategory category);

// A text item's commitment: SHA-256 of "lanevault-receipt-item-v1\n", then
// `salt`, then `content`.
std::string ContentCommitment(absl::string_view salt,
                              absl::string_view content);

// The bytes a receipt commits to for a text item as an answer returns it:
// its content, then each of a plate's other readings (rank 2, 3, ...) after
// a newline, so a relay cannot change them either. An image's: its content.
std::string CommittedText(const v1::Item& item);

// OK when `body` (a verified receipt's) lists `item_handle` with exactly
// `content`: its SHA-256 for an image, its commitment under `salt` (the
// answer's Item.receipt_salt) for a text item. NOT_FOUND when the receipt
// does not list the handle; DATA_LOSS when it does with another digest (the
// content was altered, or is not what this answer returned);
// FAILED_PRECONDITION when the line is a commitment and `salt` is not the
// 16 bytes it needs.
absl::Status CheckContent(const v1::ReceiptBody& body,
                          absl::string_view item_handle,
                          absl::string_view content,
                          absl::string_view salt = "");

// A receipt's line for one returned item: its handle and category, and the
// SHA-256 of an image's content as returned (watermark included) or a text
// item's commitment under `salt` (kContentSaltBytes; a text item without
// one gets a line no content matches).
v1::ReceiptItem ItemFor(absl::string_view item_handle,
                        v1::DataCategory category, absl::string_view content,
                        absl::string_view salt = "");
// The same for an item as the answer returns it (its item_id the handle),
// over CommittedText(item): a text item is given a new random salt, which
// the answer carries beside it (Item.receipt_salt); an image carries none.
v1::ReceiptItem ItemFor(v1::Item& item);

}  // namespace lanevault::receipt

#endif  // LANEVAULT_RECEIPT_RECEIPT_H_
