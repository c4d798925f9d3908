#include "receipt/receipt.h"

#include "absl/strings/str_cat.h"
#include "crypto/digest.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace lanevault::receipt {
namespace {

constexpr size_t kPublicKeyBytes = 32;

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

absl::Status CheckContent(const v1::ReceiptBody& body,
                          absl::string_view item_handle,
                          absl::string_view content) {
  bool listed = false;
  const std::string digest = crypto::Sha256(content);
  for (const v1::ReceiptItem& item : body.items()) {
    if (item.item_handle() != item_handle) continue;
    if (item.content_sha256() == digest) return absl::OkStatus();
    listed = true;
  }
  if (!listed) {
    return absl::NotFoundError(
        absl::StrCat("the receipt lists no item ", item_handle));
  }
  return absl::DataLossError(
      absl::StrCat("the content given for ", item_handle,
                   " is not what the receipt vouches for (altered, or "
                   "another item's)"));
}

v1::ReceiptItem ItemFor(absl::string_view item_handle,
                        v1::DataCategory category, absl::string_view content) {
  v1::ReceiptItem item;
  item.set_item_handle(std::string(item_handle));
  item.set_category(category);
  item.set_content_sha256(crypto::Sha256(content));
  return item;
}

v1::ReceiptItem ItemFor(const v1::Item& item) {
  return ItemFor(item.item_id(), item.category(), item.content());
}

}  // namespace lanevault::receipt
