// lanevaultctl receipt: a system that received evidence checks the answer's
// signed receipt (where the evidence came from, under which restrictions,
// and that it was not altered) with the vault's receipt key.

#include "cmd/ctl_receipt.h"

#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "cmd/ctl_commands.h"
#include "cmd/ctl_common.h"
#include "common/files.h"
#include "common/program.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"
#include "lanevault/v1/audit_service.grpc.pb.h"
#include "receipt/receipt.h"

ABSL_DECLARE_FLAG(bool, json);

namespace lanevault::ctl {
using ContentFlag = RepeatedFlag<struct ContentTag>;
using SaltFlag = RepeatedFlag<struct SaltTag>;

}  // namespace lanevault::ctl

ABSL_FLAG(std::string, receipt, "",
          "'receipt verify': the saved receipt (binary or text-format "
          "lanevault.v1.Receipt, as --receipt_out writes it).");
ABSL_FLAG(std::string, public_key, "",
          "'receipt verify': the vault's receipt key to trust, 64 hex digits "
          "(see 'receipt pubkey'). Without it or --public_key_file, the key "
          "is fetched from the server, which is weaker than a pinned key.");
ABSL_FLAG(std::string, public_key_file, "",
          "'receipt verify': a file holding the receipt key to trust (hex, "
          "or its 32 raw bytes).");
ABSL_FLAG(lanevault::ctl::ContentFlag, content, {},
          "'receipt verify': HANDLE=FILE, the item content the answer "
          "returned under that item handle; checked against the receipt's "
          "digest. Repeat it for each item.");
ABSL_FLAG(lanevault::ctl::SaltFlag, salt, {},
          "'receipt verify': HANDLE=HEX, the receipt salt the answer carried "
          "beside a text item (a plate's text; 'record get' prints it, and "
          "--json gives it as receipt_salt, base64): the receipt commits to "
          "a text under it. Repeat it for each text item.");
ABSL_FLAG(std::string, receipt_out, "",
          "record get / get-item / search / lookup-plate: save the answer's "
          "signed receipt to this file (for 'receipt verify').");

namespace lanevault::ctl {
namespace {

constexpr size_t kKeyBytes = 32;

// 2 * `bytes` hex digits (surrounding space ignored) as `bytes` bytes;
// empty if not.
std::string BytesFromHex(absl::string_view text, size_t bytes) {
  text = absl::StripAsciiWhitespace(text);
  if (text.size() != 2 * bytes) return "";
  for (char c : text) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return "";
  }
  return absl::HexStringToBytes(text);
}

// 64 hex digits as a 32-byte key; empty if not.
std::string KeyFromHex(absl::string_view text) {
  return BytesFromHex(text, kKeyBytes);
}

struct TrustedKey {
  std::string bytes;
  std::string source;  // "pinned (--public_key)", "server", ...
  bool pinned = false;
};

TrustedKey ResolveKey() {
  const std::string hex = absl::GetFlag(FLAGS_public_key);
  const std::string file = absl::GetFlag(FLAGS_public_key_file);
  if (!hex.empty() && !file.empty()) {
    Fail("give --public_key or --public_key_file, not both", 2);
  }
  if (!hex.empty()) {
    std::string key = KeyFromHex(hex);
    if (key.empty()) Fail("--public_key: want 64 hex digits (32 bytes)", 2);
    return {key, "pinned (--public_key)", true};
  }
  if (!file.empty()) {
    absl::StatusOr<std::string> text = ReadFileToString(file);
    if (!text.ok()) Fail(text.status());
    std::string key = text->size() == kKeyBytes ? *text : KeyFromHex(*text);
    if (key.empty()) {
      Fail(absl::StrCat("--public_key_file ", file,
                        ": want 64 hex digits or 32 raw bytes"),
           2);
    }
    return {key, absl::StrCat("pinned (", file, ")"), true};
  }
  auto stub = v1::AuditService::NewStub(Connect());
  grpc::ClientContext ctx;
  Prepare(ctx);
  v1::GetPublicKeyResponse resp;
  if (grpc::Status s = stub->GetPublicKey(&ctx, {}, &resp); !s.ok()) {
    FailRpc(s);
  }
  if (resp.receipt_public_key().size() != kKeyBytes) {
    Fail(absl::StrCat("the server at ", Server(),
                      " publishes no receipt key (a lanevaultd from before "
                      "receipts?): give --public_key"));
  }
  return {resp.receipt_public_key(), absl::StrCat("server ", Server()), false};
}

// Keeps the text-format parser quiet while a binary file is tried as text.
class QuietErrors : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int, google::protobuf::io::ColumnNumber,
                const std::string&) override {}
};

// A receipt file: text format (what --receipt_out writes) or binary.
v1::Receipt LoadReceipt(const std::string& path) {
  absl::StatusOr<std::string> data = ReadFileToString(path);
  if (!data.ok()) Fail(data.status());
  v1::Receipt receipt;
  // Binary receipts practically never parse as text format; text-format
  // ones often parse as (garbage) binary, so text is tried first.
  QuietErrors quiet;
  google::protobuf::TextFormat::Parser text;
  text.RecordErrorsTo(&quiet);
  if (text.ParseFromString(*data, &receipt)) return receipt;
  receipt.Clear();
  if (receipt.ParseFromString(*data)) return receipt;
  Fail(absl::StrCat(path,
                    " is not a lanevault.v1.Receipt (binary or text "
                    "format)"));
}

std::string Hex(absl::string_view bytes) {
  return absl::BytesToHexString(bytes);
}

std::string Restrictions(const v1::ReceiptBody& body) {
  if (body.restrictions().empty()) return "none stated by the contract";
  return absl::StrJoin(body.restrictions(), "; ");
}

void PrintBody(const v1::ReceiptBody& body) {
  std::printf(
      "vault           %s\naudit sequence  %llu\nissued          %s\n"
      "principal       %s\npurpose         %s\ncase            %s\n"
      "method          %s\ncontract        %s v%llu\n",
      body.vault_origin().c_str(),
      static_cast<unsigned long long>(body.audit_sequence()),
      body.has_issued() ? When(body.issued()).c_str() : "-",
      body.principal().c_str(), body.purpose().c_str(),
      body.case_id().empty() ? "-" : body.case_id().c_str(),
      body.method().c_str(), body.contract_id().c_str(),
      static_cast<unsigned long long>(body.contract_version()));
  std::printf("restrictions    %s\n", Restrictions(body).c_str());
  for (const std::string& r : body.restrictions()) {
    std::printf("  - %s\n", r.c_str());
  }
  std::printf("records         %s\n",
              body.record_handles().empty()
                  ? "-"
                  : absl::StrJoin(body.record_handles(), " ").c_str());
  for (const v1::ReceiptItem& item : body.items()) {
    const bool salted = !item.content_commitment().empty();
    std::printf("item            %s %s %s:%s\n", item.item_handle().c_str(),
                CategoryName(item.category()).c_str(),
                salted ? "salted-sha256" : "sha256",
                Hex(salted ? item.content_commitment() : item.content_sha256())
                    .c_str());
  }
}

google::protobuf::Value StringValue(absl::string_view s) {
  google::protobuf::Value v;
  v.set_string_value(std::string(s));
  return v;
}

int Verify() {
  const std::string path = absl::GetFlag(FLAGS_receipt);
  if (path.empty()) Fail("receipt verify needs --receipt FILE", 2);
  // HANDLE=FILE pairs, checked before anything is fetched.
  std::vector<std::pair<std::string, std::string>> contents;
  for (const std::string& given : ContentFlag::Given()) {
    const size_t eq = given.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == given.size()) {
      Fail(absl::StrCat("--content ", given, ": want HANDLE=FILE"), 2);
    }
    contents.emplace_back(given.substr(0, eq), given.substr(eq + 1));
  }
  // HANDLE=HEX pairs: a text item's receipt salt.
  std::map<std::string, std::string> salts;
  for (const std::string& given : SaltFlag::Given()) {
    const size_t eq = given.find('=');
    const std::string salt =
        eq == std::string::npos
            ? ""
            : BytesFromHex(given.substr(eq + 1), receipt::kContentSaltBytes);
    if (eq == 0 || salt.empty()) {
      Fail(absl::StrCat("--salt ", given, ": want HANDLE=HEX, ",
                        2 * receipt::kContentSaltBytes, " hex digits"),
           2);
    }
    const std::string handle = given.substr(0, eq);
    if (!salts.emplace(handle, salt).second) {
      Fail(absl::StrCat("--salt names ", handle, " twice"), 2);
    }
  }
  std::set<std::string> content_given;
  for (const auto& [handle, file] : contents) content_given.insert(handle);
  for (const auto& [handle, salt] : salts) {
    if (!content_given.contains(handle)) {
      Fail(absl::StrCat("--salt ", handle,
                        " has no --content for that handle: a salt checks "
                        "a content given with it"),
           2);
    }
  }
  const bool json = absl::GetFlag(FLAGS_json);
  const v1::Receipt receipt = LoadReceipt(path);
  if (receipt.body().empty() && receipt.signature().empty()) {
    Fail(absl::StrCat(path, " holds no receipt (the answer carried none)"));
  }
  const TrustedKey key = ResolveKey();

  google::protobuf::Struct out;
  auto& fields = *out.mutable_fields();
  fields["receipt"] = StringValue(path);
  fields["trusted_key"] = StringValue(Hex(key.bytes));
  fields["key_source"] = StringValue(key.source);
  fields["key_pinned"].set_bool_value(key.pinned);

  absl::StatusOr<v1::ReceiptBody> body =
      receipt::VerifyReceipt(receipt, key.bytes);
  bool ok = body.ok();
  if (!json) {
    std::printf("receipt         %s\ntrusted key     %s (%s)\n", path.c_str(),
                Hex(key.bytes).c_str(), key.source.c_str());
    if (!key.pinned) {
      std::printf(
          "                note: this key is the one the server gave; a "
          "server that lies\n                about it passes its own "
          "receipts. Pin the key (--public_key)\n                for a "
          "check that does not trust the server.\n");
    }
  }
  if (!ok) {
    if (json) {
      fields["verified"].set_bool_value(false);
      fields["error"] = StringValue(body.status().message());
    } else {
      std::printf("RECEIPT NOT VERIFIED: %s\n",
                  std::string(body.status().message()).c_str());
    }
  } else {
    fields["verified"].set_bool_value(true);
    std::string body_json;
    google::protobuf::util::JsonPrintOptions o;
    o.preserve_proto_field_names = true;
    (void)google::protobuf::util::MessageToJsonString(*body, &body_json, o);
    (void)google::protobuf::util::JsonStringToMessage(body_json,
                                                      &fields["body"]);
    if (!json) {
      std::printf("signature       verified\n");
      PrintBody(*body);
    }
    auto* checks = fields["contents"].mutable_list_value();
    for (const auto& [handle, file] : contents) {
      absl::StatusOr<std::string> data = ReadFileToString(file);
      const auto salt = salts.find(handle);
      absl::Status s = data.ok() ? receipt::CheckContent(
                                       *body, handle, *data,
                                       salt == salts.end() ? "" : salt->second)
                                 : data.status();
      ok &= s.ok();
      google::protobuf::Value& check = *checks->add_values();
      auto& c = *check.mutable_struct_value()->mutable_fields();
      c["handle"] = StringValue(handle);
      c["file"] = StringValue(file);
      c["matches"].set_bool_value(s.ok());
      if (!s.ok()) c["error"] = StringValue(s.message());
      if (!json) {
        std::printf(
            "content         %s (%s): %s\n", handle.c_str(), file.c_str(),
            s.ok() ? "matches the receipt"
                   : absl::StrCat("DOES NOT MATCH: ", s.message()).c_str());
      }
    }
    // What the receipt vouches for that was not checked: an OK says
    // nothing of it.
    std::vector<std::string> unchecked;
    for (const v1::ReceiptItem& item : body->items()) {
      if (!content_given.contains(item.item_handle())) {
        unchecked.push_back(item.item_handle());
      }
    }
    auto* not_checked = fields["contents_not_checked"].mutable_list_value();
    for (const std::string& h : unchecked) {
      *not_checked->add_values() = StringValue(h);
    }
    if (!json && !unchecked.empty()) {
      std::printf(
          "not checked     %s (no --content given: this check says nothing "
          "of their bytes)\n",
          absl::StrJoin(unchecked, " ").c_str());
    }
  }
  fields["ok"].set_bool_value(ok);
  if (json) {
    PrintJson(out);
    std::printf("\n");
  } else {
    std::printf("%s\n", ok ? "OK: the receipt and every content given verify"
                           : "FAILED: do not rely on this evidence's origin "
                             "or terms");
  }
  return ok ? 0 : 1;
}

int PublicKey() {
  auto stub = v1::AuditService::NewStub(Connect());
  grpc::ClientContext ctx;
  Prepare(ctx);
  v1::GetPublicKeyResponse resp;
  if (grpc::Status s = stub->GetPublicKey(&ctx, {}, &resp); !s.ok()) {
    FailRpc(s);
  }
  if (resp.receipt_public_key().empty()) {
    Fail(
        "this server publishes no receipt key (a lanevaultd from before "
        "receipts?)");
  }
  std::printf("%s\n", Hex(resp.receipt_public_key()).c_str());
  return 0;
}

}  // namespace

void PrintReceiptTerms(const v1::Receipt& receipt, std::FILE* out) {
  std::fflush(stdout);  // in order with what the answer printed before
  if (receipt.body().empty() && receipt.signature().empty()) {
    std::fprintf(out, "no receipt (the server attached none)\n");
    return;
  }
  v1::ReceiptBody body;
  if (!body.ParseFromString(receipt.body())) {
    std::fprintf(out, "receipt unreadable (its body does not parse)\n");
    return;
  }
  std::fprintf(out, "restrictions: %s\n", Restrictions(body).c_str());
}

int SaveReceiptIfAsked(const v1::Receipt& receipt,
                       const std::vector<std::string>& verify_flags) {
  const std::string out = absl::GetFlag(FLAGS_receipt_out);
  if (out.empty()) return 0;
  if (receipt.body().empty() && receipt.signature().empty()) {
    std::fprintf(stderr,
                 "lanevaultctl: no receipt in the answer: nothing written to "
                 "%s\n",
                 out.c_str());
    return 1;
  }
  std::string text;
  if (!google::protobuf::TextFormat::PrintToString(receipt, &text)) {
    Fail("could not write the receipt as text");
  }
  if (absl::Status s = WriteFileAtomically(out, text, 0600); !s.ok()) Fail(s);
  // On stderr: --json output stays one document.
  std::fflush(stdout);
  std::string check = absl::StrCat("lanevaultctl receipt verify --receipt ",
                                   out, " --public_key KEY");
  for (const std::string& f : verify_flags) absl::StrAppend(&check, " ", f);
  v1::ReceiptBody body;
  if (verify_flags.empty() && body.ParseFromString(receipt.body()) &&
      body.items_size() > 0) {
    absl::StrAppend(&check,
                    "\n  (to check the answer's content too, save it with "
                    "--out_dir: the command then names each file)");
  }
  std::fprintf(stderr, "receipt saved to %s; check it with:\n  %s\n",
               out.c_str(), check.c_str());
  return 0;
}

int ReceiptCommand(const std::vector<std::string>& args) {
  if (args.size() == 2 && args[1] == "verify") return Verify();
  if (args.size() == 2 && args[1] == "pubkey") return PublicKey();
  Fail(
      "usage: lanevaultctl receipt verify --receipt FILE [--public_key HEX | "
      "--public_key_file F] [--content HANDLE=FILE ...] [--salt HANDLE=HEX "
      "...] [--json] | receipt "
      "pubkey (see --help)",
      2);
}

}  // namespace lanevault::ctl
