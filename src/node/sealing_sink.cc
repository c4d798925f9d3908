#include "node/sealing_sink.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/files.h"
#include "common/ids.h"
#include "common/time_util.h"
#include "crypto/sealed_box.h"
#include "crypto/secure_bytes.h"

namespace lanevault::node {

SealingSink::SealingSink(std::string intake_public_key, Spool* spool)
    : public_key_(std::move(intake_public_key)), spool_(spool) {}

absl::Status SealingSink::Submit(v1::Record record) {
  return Submit(std::move(record), capture::Provenance{});
}

absl::Status SealingSink::Submit(v1::Record record,
                                 const capture::Provenance& from) {
  v1::SpoolEntry entry;
  entry.set_lane_id(record.lane_id());
  entry.set_checkpoint_id(record.checkpoint_id());
  std::string plain = record.SerializeAsString();
  // The lane keeps its copy of the record until the spool has it (it may
  // retry); this one is wiped as soon as it is sealed.
  absl::StatusOr<std::string> sealed =
      crypto::IntakeKey::Seal(public_key_, plain);
  crypto::Wipe(plain);
  for (v1::Item& item : *record.mutable_items()) {
    crypto::Wipe(*item.mutable_content());
  }
  if (!sealed.ok()) return sealed.status();
  entry.set_sealed_record(std::move(*sealed));
  entry.set_idempotency_key(NewId("sub_"));
  *entry.mutable_spooled_at() = ToProto(absl::Now());
  entry.set_source(from.source);
  entry.set_settled_before(from.settled_before);
  return spool_->Append(entry).status();
}

absl::StatusOr<std::string> ParseIntakePublicKey(const std::string& text) {
  std::string line = text;
  if (!line.empty() && line[0] == '@') {
    absl::StatusOr<std::string> file = ReadFileToString(line.substr(1));
    if (!file.ok()) return file.status();
    line = std::move(*file);
  }
  std::string key;
  if (!absl::Base64Unescape(absl::StripAsciiWhitespace(line), &key) ||
      key.size() != 32) {
    return absl::InvalidArgumentError(
        "intake_public_key: not a 32-byte key in base64 (take it from "
        "`lanevaultd --config … --print_intake_key` on the vault host)");
  }
  return key;
}

}  // namespace lanevault::node
