#include "receipt/receipt.h"

#include "absl/strings/str_cat.h"
#include "common/data_category.h"
#include "common/ids.h"
#include "crypto/digest.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace lanevault::receipt {
namespace {

constexpr size_t kPublicKeyBytes = 32;
constexpr absl::string_view kCommitmentPrefix = "lanevault-receipt-item-v1\n";

}  // namespace

std::string SerializeBody(const v1::ReceiptBody& body) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    body.SerializeToCodedStream(&coded);
  }  // the coded stream flushes into `out` when it goes
  return out;
}

std::string SignedMessage(absl::string_view body) {
  return absl::StrCat(kReceiptSignaturePrefix, body);
}

v1::Receipt SignReceipt(const crypto::SigningKey& key,
                        const v1::ReceiptBody& body) {
  v1::Receipt receipt;
  receipt.set_body(SerializeBody(body));
  receipt.set_signature(key.Sign(SignedMessage(receipt.body())));
  receipt.set_public_key(key.public_key());
  return receipt;
}

absl::StatusOr<v1::ReceiptBody> VerifyReceipt(
    const v1::Receipt& receipt, absl::string_view trusted_public_key) {
  if (trusted_public_key.size() != kPublicKeyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("a trusted receipt key is ", kPublicKeyBytes,
                     " bytes, not ", trusted_public_key.size()));
  }
  if (receipt.body().empty() && receipt.signature().empty()) {
    return absl::PermissionDeniedError("no receipt (empty)");
  }
  // The key the receipt names is a hint: one that is not the trusted key
  // says at once that the vault we trust did not sign it.
  if (!receipt.public_key().empty() &&
      receipt.public_key() != trusted_public_key) {
    return absl::PermissionDeniedError(
        "the receipt names a signing key that is not the trusted receipt "
        "key");
  }
  if (!crypto::VerifyEd25519(trusted_public_key, SignedMessage(receipt.body()),
                             receipt.signature())) {
    return absl::PermissionDeniedError(
        "the receipt's signature does not verify with the trusted receipt "
        "key: altered, or signed by another key");
  }
  v1::ReceiptBody body;
  if (!body.ParseFromString(receipt.body())) {
    return absl::PermissionDeniedError(
        "the receipt's signed body does not parse");
  }
  return body;
}

bool CommitsUnderSalt(v1::DataCategory category) {
  return !IsImageCategory(category);
}

std::string ContentCommitment(absl::string_view salt,
                              absl::string_view content) {
  return crypto::Sha256(absl::StrCat(kCommitmentPrefix, salt, content));
}

std::string CommittedText(const v1::Item& item) {
  std::string text = item.content();
  if (!CommitsUnderSalt(item.category())) return text;
  for (const v1::PlateCandidate& c : item.plate_candidates()) {
    absl::StrAppend(&text, "\n", c.text());
  }
  return text;
}

absl::Status CheckContent(const v1::ReceiptBody& body,
                          absl::string_view item_handle,
                          absl::string_view content, absl::string_view salt) {
  bool listed = false;
  for (const v1::ReceiptItem& item : body.items()) {
    if (item.item_handle() != item_handle) continue;
    listed = true;
    if (!item.content_commitment().empty()) {
      if (salt.size() != kContentSaltBytes) {
        return absl::FailedPreconditionError(absl::StrCat(
            "the receipt commits to ", item_handle,
            " under the salt its answer carried beside it "
            "(Item.receipt_salt, ",
            kContentSaltBytes, " bytes): give it to check the content"));
      }
      if (item.content_commitment() == ContentCommitment(salt, content)) {
        return absl::OkStatus();
      }
    } else if (!item.content_sha256().empty() &&
               item.content_sha256() == crypto::Sha256(content)) {
      return absl::OkStatus();
    }
  }
  if (!listed) {
    return absl::NotFoundError(
        absl::StrCat("the receipt lists no item ", item_handle));
  }
  return absl::DataLossError(
      absl::StrCat("the content given for ", item_handle,
                   " is not what the receipt vouches for (altered, another "
                   "item's, or under another salt)"));
}

v1::ReceiptItem ItemFor(absl::string_view item_handle,
                        v1::DataCategory category, absl::string_view content,
                        absl::string_view salt) {
  v1::ReceiptItem item;
  item.set_item_handle(std::string(item_handle));
  item.set_category(category);
  if (!CommitsUnderSalt(category)) {
    item.set_content_sha256(crypto::Sha256(content));
  } else if (salt.size() == kContentSaltBytes) {
    item.set_content_commitment(ContentCommitment(salt, content));
  } else {
    // Never a bare digest of a text: a line nothing matches instead.
    item.set_content_commitment(std::string(32, '\0'));
  }
  return item;
}

v1::ReceiptItem ItemFor(v1::Item& item) {
  if (CommitsUnderSalt(item.category())) {
    item.set_receipt_salt(RandomBytes(kContentSaltBytes));
  } else {
    item.clear_receipt_salt();
  }
  return ItemFor(item.item_id(), item.category(), CommittedText(item),
                 item.receipt_salt());
}

}  // namespace lanevault::receipt
