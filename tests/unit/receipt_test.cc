// Signed receipts: what a receiving system relies on when it checks the
// restrictions and content of an evidence answer.

#include "receipt/receipt.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "crypto/digest.h"
#include "crypto/signing.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace lanevault::receipt {
namespace {

// The salt a sample answer carried beside its plate text.
const std::string kPlateSalt = "0123456789abcdef";

crypto::SigningKey NewKey() {
  auto key = crypto::SigningKey::FromSeed(crypto::SigningKey::NewSeed());
  EXPECT_TRUE(key.ok()) << key.status();
  return std::move(*key);
}

v1::ReceiptBody SampleBody() {
  v1::ReceiptBody body;
  body.set_vault_origin("lanevault.dev/audit");
  body.set_audit_sequence(42);
  body.mutable_issued()->set_seconds(1796256000);
  body.set_principal("inspector-7");
  body.set_purpose("vehicle-inspection");
  body.set_case_id("CASE-1");
  body.set_method("/lanevault.v1.EvidenceService/GetRecord");
  body.add_record_handles("rh_abc");
  *body.add_items() =
      ItemFor("ih_plate", v1::DATA_CATEGORY_PLATE_TEXT, "AB123CD", kPlateSalt);
  *body.add_items() =
      ItemFor("ih_crop", v1::DATA_CATEGORY_PLATE_IMAGE, "\xff\xd8jpeg bytes");
  body.set_contract_id("land-border-pilot");
  body.set_contract_version(3);
  body.add_restrictions("not for training");
  body.add_restrictions("delete after review");
  return body;
}

TEST(ReceiptTest, SignThenVerifyGivesTheBodyBack) {
  const crypto::SigningKey key = NewKey();
  const v1::ReceiptBody body = SampleBody();
  const v1::Receipt receipt = SignReceipt(key, body);
  EXPECT_EQ(receipt.public_key(), key.public_key());
  EXPECT_EQ(receipt.signature().size(), 64u);
  absl::StatusOr<v1::ReceiptBody> got =
      VerifyReceipt(receipt, key.public_key());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*got, body));
  ASSERT_EQ(got->restrictions_size(), 2);
  EXPECT_EQ(got->restrictions(0), "not for training");
  EXPECT_EQ(got->restrictions(1), "delete after review");
}

TEST(ReceiptTest, SignatureCoversThePrefixAndTheBody) {
  const crypto::SigningKey key = NewKey();
  const v1::Receipt receipt = SignReceipt(key, SampleBody());
  EXPECT_EQ(kReceiptSignaturePrefix.size(), 21u);
  EXPECT_TRUE(crypto::VerifyEd25519(
      key.public_key(), std::string("lanevault-receipt-v1\n") + receipt.body(),
      receipt.signature()));
  // The bare body, unprefixed, is not what was signed.
  EXPECT_FALSE(crypto::VerifyEd25519(key.public_key(), receipt.body(),
                                     receipt.signature()));
}

TEST(ReceiptTest, EveryFlippedBitOfTheBodyIsRefused) {
  const crypto::SigningKey key = NewKey();
  const v1::Receipt receipt = SignReceipt(key, SampleBody());
  for (size_t i = 0; i < receipt.body().size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      v1::Receipt altered = receipt;
      (*altered.mutable_body())[i] ^= static_cast<char>(1 << bit);
      absl::StatusOr<v1::ReceiptBody> got =
          VerifyReceipt(altered, key.public_key());
      ASSERT_EQ(got.status().code(), absl::StatusCode::kPermissionDenied)
          << "byte " << i << " bit " << bit;
    }
  }
}

TEST(ReceiptTest, EveryFlippedBitOfTheSignatureIsRefused) {
  const crypto::SigningKey key = NewKey();
  const v1::Receipt receipt = SignReceipt(key, SampleBody());
  for (size_t i = 0; i < receipt.signature().size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      v1::Receipt altered = receipt;
      (*altered.mutable_signature())[i] ^= static_cast<char>(1 << bit);
      EXPECT_EQ(VerifyReceipt(altered, key.public_key()).status().code(),
                absl::StatusCode::kPermissionDenied)
          << "byte " << i << " bit " << bit;
    }
  }
}

TEST(ReceiptTest, ATruncatedOrMissingSignatureIsRefused) {
  const crypto::SigningKey key = NewKey();
  v1::Receipt receipt = SignReceipt(key, SampleBody());
  v1::Receipt truncated = receipt;
  truncated.mutable_signature()->pop_back();
  EXPECT_EQ(VerifyReceipt(truncated, key.public_key()).status().code(),
            absl::StatusCode::kPermissionDenied);
  receipt.clear_signature();
  EXPECT_EQ(VerifyReceipt(receipt, key.public_key()).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(VerifyReceipt(v1::Receipt(), key.public_key()).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(ReceiptTest, AnotherTrustedKeyRefusesIt) {
  const crypto::SigningKey vault = NewKey();
  const crypto::SigningKey other = NewKey();
  const v1::Receipt receipt = SignReceipt(vault, SampleBody());
  EXPECT_EQ(VerifyReceipt(receipt, other.public_key()).status().code(),
            absl::StatusCode::kPermissionDenied);
  // Even with the hint taken out, the signature decides.
  v1::Receipt no_hint = receipt;
  no_hint.clear_public_key();
  EXPECT_EQ(VerifyReceipt(no_hint, other.public_key()).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(VerifyReceipt(no_hint, vault.public_key()).ok());
}

TEST(ReceiptTest, ASelfSignedReceiptIsRefusedAgainstTheTrustedKey) {
  const crypto::SigningKey vault = NewKey();
  const crypto::SigningKey attacker = NewKey();
  // The attacker writes their own terms (no restrictions) and signs them,
  // embedding their own key: valid in itself, not the vault's.
  v1::ReceiptBody forged = SampleBody();
  forged.clear_restrictions();
  const v1::Receipt self_signed = SignReceipt(attacker, forged);
  EXPECT_TRUE(VerifyReceipt(self_signed, attacker.public_key()).ok());
  EXPECT_EQ(VerifyReceipt(self_signed, vault.public_key()).status().code(),
            absl::StatusCode::kPermissionDenied);
  // Nor does naming the vault's key over the attacker's signature help.
  v1::Receipt disguised = self_signed;
  disguised.set_public_key(vault.public_key());
  EXPECT_EQ(VerifyReceipt(disguised, vault.public_key()).status().code(),
            absl::StatusCode::kPermissionDenied);
  // And the vault's signature with a swapped body is refused too.
  v1::Receipt spliced = SignReceipt(vault, SampleBody());
  spliced.set_body(self_signed.body());
  EXPECT_EQ(VerifyReceipt(spliced, vault.public_key()).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(ReceiptTest, ASignedBodyThatDoesNotParseIsRefused) {
  const crypto::SigningKey key = NewKey();
  v1::Receipt receipt;
  receipt.set_body("\xff\xff\xff not a protobuf");
  receipt.set_signature(key.Sign(SignedMessage(receipt.body())));
  receipt.set_public_key(key.public_key());
  absl::StatusOr<v1::ReceiptBody> got =
      VerifyReceipt(receipt, key.public_key());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kPermissionDenied);
}

TEST(ReceiptTest, ATrustedKeyOfTheWrongLengthIsABadArgument) {
  const crypto::SigningKey key = NewKey();
  const v1::Receipt receipt = SignReceipt(key, SampleBody());
  EXPECT_EQ(VerifyReceipt(receipt, "short").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyReceipt(receipt, "").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ReceiptTest, CheckContentAcceptsExactlyTheReturnedBytes) {
  const v1::ReceiptBody body = SampleBody();
  EXPECT_TRUE(CheckContent(body, "ih_plate", "AB123CD", kPlateSalt).ok());
  EXPECT_TRUE(CheckContent(body, "ih_crop", "\xff\xd8jpeg bytes").ok());
  // Altered content.
  EXPECT_EQ(CheckContent(body, "ih_plate", "AB123CE", kPlateSalt).code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(CheckContent(body, "ih_crop", "\xff\xd8jpeg bytes ").code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(CheckContent(body, "ih_plate", "", kPlateSalt).code(),
            absl::StatusCode::kDataLoss);
  // The right text under another salt, and no salt at all.
  EXPECT_EQ(
      CheckContent(body, "ih_plate", "AB123CD", "fedcba9876543210").code(),
      absl::StatusCode::kDataLoss);
  EXPECT_EQ(CheckContent(body, "ih_plate", "AB123CD").code(),
            absl::StatusCode::kFailedPrecondition);
  // Another item's content under this handle.
  EXPECT_EQ(CheckContent(body, "ih_crop", "AB123CD").code(),
            absl::StatusCode::kDataLoss);
  // A handle the receipt does not list.
  EXPECT_EQ(CheckContent(body, "ih_other", "AB123CD").code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(CheckContent(body, "", "AB123CD").code(),
            absl::StatusCode::kNotFound);
}

// A text's line is a commitment under the answer's salt, never its bare
// digest: the salt is new for each answer and set on the item the answer
// returns; an image's line is its digest and it carries no salt. A text
// line made without a salt matches nothing, not the bare text.
TEST(ReceiptTest, ATextIsCommittedUnderTheAnswersSaltAndAnImageByItsDigest) {
  v1::Item text;
  text.set_item_id("ih_text");
  text.set_category(v1::DATA_CATEGORY_PLATE_TEXT);
  text.set_content("KXR4821");
  const v1::ReceiptItem first = ItemFor(text);
  const std::string first_salt = text.receipt_salt();
  ASSERT_EQ(first_salt.size(), kContentSaltBytes);
  EXPECT_TRUE(first.content_sha256().empty());
  EXPECT_EQ(first.content_commitment(),
            crypto::Sha256(absl::StrCat("lanevault-receipt-item-v1\n",
                                        first_salt, "KXR4821")));
  const v1::ReceiptItem second = ItemFor(text);
  EXPECT_NE(text.receipt_salt(), first_salt);
  EXPECT_NE(second.content_commitment(), first.content_commitment());

  // A plate's other readings are committed to with it, in rank order: a
  // relay that changes one breaks the check.
  v1::PlateCandidate* reading = text.add_plate_candidates();
  reading->set_text("KXR4B21");
  reading->set_votes(3);
  text.add_plate_candidates()->set_text("KXR482");
  EXPECT_EQ(CommittedText(text), "KXR4821\nKXR4B21\nKXR482");
  v1::ReceiptBody with_readings;
  *with_readings.add_items() = ItemFor(text);
  EXPECT_TRUE(CheckContent(with_readings, "ih_text", "KXR4821\nKXR4B21\nKXR482",
                           text.receipt_salt())
                  .ok());
  for (const char* relayed :
       {"KXR4821", "KXR4821\nKXR4B21", "KXR4821\nKXR482\nKXR4B21",
        "KXR4821\nKXR4821\nKXR482"}) {
    EXPECT_EQ(
        CheckContent(with_readings, "ih_text", relayed, text.receipt_salt())
            .code(),
        absl::StatusCode::kDataLoss)
        << relayed;
  }

  v1::Item metadata = text;
  metadata.clear_plate_candidates();
  metadata.set_category(v1::DATA_CATEGORY_METADATA);
  EXPECT_TRUE(ItemFor(metadata).content_sha256().empty());
  EXPECT_EQ(metadata.receipt_salt().size(), kContentSaltBytes);

  v1::Item image;
  image.set_item_id("ih_face");
  image.set_category(v1::DATA_CATEGORY_FACE_IMAGE);
  image.set_content("face jpeg");
  image.set_receipt_salt("left by a capture node");
  EXPECT_EQ(ItemFor(image).content_sha256(), crypto::Sha256("face jpeg"));
  EXPECT_TRUE(image.receipt_salt().empty());

  v1::ReceiptBody body;
  *body.add_items() = ItemFor("ih_text", v1::DATA_CATEGORY_PLATE_TEXT, "A");
  EXPECT_EQ(
      CheckContent(body, "ih_text", "A", std::string(kContentSaltBytes, '\0'))
          .code(),
      absl::StatusCode::kDataLoss);
}

TEST(ReceiptTest, ItemForRecordsHandleCategoryAndDigest) {
  v1::Item item;
  item.set_item_id("ih_face");
  item.set_category(v1::DATA_CATEGORY_FACE_IMAGE);
  item.set_content("face jpeg");
  item.set_media_type("image/jpeg");
  const v1::ReceiptItem line = ItemFor(item);
  EXPECT_EQ(line.item_handle(), "ih_face");
  EXPECT_EQ(line.category(), v1::DATA_CATEGORY_FACE_IMAGE);
  EXPECT_EQ(line.content_sha256(), crypto::Sha256("face jpeg"));
  EXPECT_EQ(line.content_sha256().size(), 32u);
}

// The receipt's format is SHA-256, computed by crypto::Sha256 (OpenSSL's,
// for the CPU's SHA instructions): the standard's bytes on its own test
// vectors (FIPS 180-2: "abc", the empty string, the 56-byte message at a
// block's edge), and crypto::Sha256's at every length around the blocks'
// edges and a plate crop's.
TEST(ReceiptTest, ItemDigestIsSha256AtEveryLength) {
  EXPECT_EQ(
      ItemFor("ih", v1::DATA_CATEGORY_PLATE_IMAGE, "abc").content_sha256(),
      std::string("\xba\x78\x16\xbf\x8f\x01\xcf\xea\x41\x41\x40\xde"
                  "\x5d\xae\x22\x23\xb0\x03\x61\xa3\x96\x17\x7a\x9c"
                  "\xb4\x10\xff\x61\xf2\x00\x15\xad",
                  32));
  EXPECT_EQ(crypto::Sha256(""),
            std::string("\xe3\xb0\xc4\x42\x98\xfc\x1c\x14\x9a\xfb\xf4\xc8"
                        "\x99\x6f\xb9\x24\x27\xae\x41\xe4\x64\x9b\x93\x4c"
                        "\xa4\x95\x99\x1b\x78\x52\xb8\x55",
                        32));
  EXPECT_EQ(crypto::Sha256(
                "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            std::string("\x24\x8d\x6a\x61\xd2\x06\x38\xb8\xe5\xc0\x26\x93"
                        "\x0c\x3e\x60\x39\xa3\x3c\xe4\x59\x64\xff\x21\x67"
                        "\xf6\xec\xed\xd4\x19\xdb\x06\xc1",
                        32));
  std::string content;
  for (size_t size : {0, 1, 55, 56, 63, 64, 65, 119, 128, 4095, 9000}) {
    content.resize(size);
    for (size_t i = 0; i < size; ++i) content[i] = static_cast<char>(i * 131);
    EXPECT_EQ(
        ItemFor("ih", v1::DATA_CATEGORY_PLATE_IMAGE, content).content_sha256(),
        crypto::Sha256(content))
        << size << " bytes";
  }
}

TEST(ReceiptTest, SerializationIsDeterministic) {
  const crypto::SigningKey key = NewKey();
  const v1::ReceiptBody body = SampleBody();
  const std::string once = SerializeBody(body);
  EXPECT_EQ(SerializeBody(body), once);
  v1::ReceiptBody copy;
  ASSERT_TRUE(copy.ParseFromString(once));
  EXPECT_EQ(SerializeBody(copy), once);
  // The same body signs to the same receipt (Ed25519 is deterministic).
  const v1::Receipt a = SignReceipt(key, body);
  const v1::Receipt b = SignReceipt(key, copy);
  EXPECT_EQ(a.body(), b.body());
  EXPECT_EQ(a.signature(), b.signature());
  EXPECT_EQ(a.body(), once);
}

}  // namespace
}  // namespace lanevault::receipt
