// lanevaultctl: an inspector's records, one at a time, for a stated purpose.

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "cmd/ctl_commands.h"
#include "cmd/ctl_common.h"
#include "cmd/ctl_receipt.h"
#include "common/files.h"
#include "common/program.h"
#include "common/time_util.h"
#include "lanevault/v1/evidence.grpc.pb.h"
#include "receipt/receipt.h"

ABSL_DECLARE_FLAG(std::string, case_id);
ABSL_DECLARE_FLAG(std::string, categories);
ABSL_DECLARE_FLAG(bool, json);
ABSL_DECLARE_FLAG(std::string, lane);
ABSL_DECLARE_FLAG(int, limit);
ABSL_DECLARE_FLAG(std::string, out_dir);
ABSL_DECLARE_FLAG(std::string, purpose);
ABSL_DECLARE_FLAG(bool, all);
ABSL_DECLARE_FLAG(std::string, page_token);
ABSL_DECLARE_FLAG(std::string, receipt_out);

namespace lanevault::ctl {
namespace {

using ctl::CategoryName;
using ctl::Connect;
using ctl::FailRpc;
using ctl::ParseCategories;
using ctl::Prepare;
using ctl::PrintJson;
using ctl::When;

// A plate text's other readings, best first (the plate text is rank 1): a
// lookup may have matched one of them, and the reader should know which.
// Only capitals and digits are printed, whatever the server sent.
void PrintOtherReadings(const v1::Item& item) {
  if (item.plate_candidates().empty()) return;
  std::string line = "  also read as";
  int rank = 2;
  for (const v1::PlateCandidate& c : item.plate_candidates()) {
    std::string text = c.text();
    for (char& ch : text) {
      if (!((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))) ch = '?';
    }
    absl::StrAppend(&line, rank == 2 ? " " : ", ", text, " (rank ", rank, ", ",
                    c.votes(), " frames)");
    ++rank;
  }
  std::printf("%s\n", line.c_str());
}

// A text's receipt salt: the receipt commits to the text under it, so
// whoever keeps the text keeps the salt to check it ('receipt verify
// --salt').
void PrintReceiptSalt(const v1::Item& item) {
  if (item.receipt_salt().empty()) return;
  std::printf("  receipt salt %s\n",
              absl::BytesToHexString(item.receipt_salt()).c_str());
}

// Saves the returned items into `out_dir` (when given), readable by the
// reader alone: each JPEG as <item handle>.jpg, each text the receipt
// commits to under a salt as <item handle>.txt (the bytes committed to: the
// text, then a plate's other readings a line each). Returns
// the flags 'receipt verify' checks them with: "--content HANDLE=FILE", and
// "--salt HANDLE=HEX" for a text.
std::vector<std::string> SaveContents(
    const std::string& out_dir, const std::vector<const v1::Item*>& items) {
  std::vector<std::string> flags;
  if (out_dir.empty()) return flags;
  for (const v1::Item* item : items) {
    const bool image = item->media_type() == "image/jpeg";
    const bool salted_text = !image && !item->receipt_salt().empty();
    if (!image && !salted_text) continue;
    // The name comes from the server: a handle is letters, digits and '_'
    // or '-', never a path out of `out_dir`.
    const std::string& id = item->item_id();
    if (id.empty() || id[0] == '.' ||
        id.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU"
                             "VWXYZ0123456789_-.") != std::string::npos) {
      Fail(absl::StrCat("the server named an item '", id,
                        "', which is no file name: nothing saved for it"));
    }
    const auto path =
        std::filesystem::path(out_dir) / (id + (image ? ".jpg" : ".txt"));
    // Evidence the reader chose to save: readable by them alone. A text as
    // the receipt commits to it: the reading, then its other readings.
    if (absl::Status s = WriteFileAtomically(
            path.string(),
            image ? item->content() : receipt::CommittedText(*item), 0600);
        !s.ok()) {
      Fail(s);
    }
    flags.push_back(absl::StrCat("--content ", id, "=", path.string()));
    if (salted_text) {
      flags.push_back(absl::StrCat(
          "--salt ", id, "=", absl::BytesToHexString(item->receipt_salt())));
    }
  }
  return flags;
}

// What the CONTENT column shows of an item: a plate's text, an image's
// media type, or why an image came back without its bytes.
std::string ContentColumn(const v1::Item& item) {
  if (item.category() == v1::DATA_CATEGORY_PLATE_TEXT) return item.content();
  if (item.content().empty() && item.media_type().empty()) {
    return "withheld: the vault cannot watermark this image";
  }
  return item.media_type();
}

int Get(const std::string& record_id) {
  v1::GetRecordRequest req;
  req.set_record_id(record_id);
  req.set_purpose(absl::GetFlag(FLAGS_purpose));
  req.set_case_id(absl::GetFlag(FLAGS_case_id));
  for (auto c : ParseCategories(absl::GetFlag(FLAGS_categories)))
    req.add_categories(c);
  // Quota-counted, and logged as a hand-over: never sent twice.
  v1::GetRecordResponse resp;
  if (grpc::Status s = Ask<v1::EvidenceService>(
          rpc::RetrySafety::kOnce,
          [&](auto& service, grpc::ClientContext& ctx) {
            return service.GetRecord(&ctx, req, &resp);
          });
      !s.ok()) {
    FailRpc(s);
  }
  const std::string out_dir = absl::GetFlag(FLAGS_out_dir);
  if (absl::Status s = MakeDirectories(out_dir); !s.ok()) Fail(s);
  if (absl::GetFlag(FLAGS_json)) {
    PrintJson(resp);
    std::printf("\n");
  } else {
    const v1::Record& r = resp.record();
    std::printf(
        "record    %s\nlane      %s (checkpoint %s)\nseen      %s\n"
        "contract  %s v%llu\nallowed   by %s: %s\n",
        r.record_id().c_str(), r.lane_id().c_str(), r.checkpoint_id().c_str(),
        When(r.first_seen()).c_str(), r.contract_id().c_str(),
        static_cast<unsigned long long>(r.contract_version()),
        resp.decision().rule_ids_size() > 0
            ? resp.decision().rule_ids(0).c_str()
            : "-",
        resp.decision().reason().c_str());
    std::printf("%-45s %-12s %8s  %s\n", "ITEM", "CATEGORY", "BYTES",
                "CONTENT");
    for (const v1::Item& item : r.items()) {
      std::string shown = ContentColumn(item);
      std::printf("%-45s %-12s %8zu  %s\n", item.item_id().c_str(),
                  CategoryName(item.category()).c_str(), item.content().size(),
                  shown.c_str());
      PrintOtherReadings(item);
      PrintReceiptSalt(item);
    }
    PrintReceiptTerms(resp.receipt());
  }
  std::vector<const v1::Item*> items;
  for (const v1::Item& item : resp.record().items()) items.push_back(&item);
  return SaveReceiptIfAsked(resp.receipt(), SaveContents(out_dir, items));
}

int GetItem(const std::string& record_id, const std::string& item_id) {
  v1::GetItemRequest req;
  req.set_record_id(record_id);
  req.set_item_id(item_id);
  req.set_purpose(absl::GetFlag(FLAGS_purpose));
  req.set_case_id(absl::GetFlag(FLAGS_case_id));
  v1::GetItemResponse resp;
  if (grpc::Status s = Ask<v1::EvidenceService>(
          rpc::RetrySafety::kOnce,
          [&](auto& service, grpc::ClientContext& ctx) {
            return service.GetItem(&ctx, req, &resp);
          });
      !s.ok()) {
    FailRpc(s);
  }
  const std::string out_dir = absl::GetFlag(FLAGS_out_dir);
  if (absl::Status s = MakeDirectories(out_dir); !s.ok()) Fail(s);
  if (absl::GetFlag(FLAGS_json)) {
    PrintJson(resp);
    std::printf("\n");
  } else {
    const v1::Item& item = resp.item();
    std::printf("item      %s\ncategory  %s\nbytes     %zu\ncontent   %s\n",
                item.item_id().c_str(), CategoryName(item.category()).c_str(),
                item.content().size(), ContentColumn(item).c_str());
    PrintOtherReadings(item);
    PrintReceiptSalt(item);
    PrintReceiptTerms(resp.receipt());
  }
  return SaveReceiptIfAsked(resp.receipt(),
                            SaveContents(out_dir, {&resp.item()}));
}

int Search() {
  const bool all = absl::GetFlag(FLAGS_all);
  const bool json = absl::GetFlag(FLAGS_json);
  if (all && !absl::GetFlag(FLAGS_receipt_out).empty()) {
    Fail("--receipt_out saves one answer's receipt; --all asks for many", 2);
  }
  v1::SearchRecordsRequest req;
  req.set_purpose(absl::GetFlag(FLAGS_purpose));
  req.set_case_id(absl::GetFlag(FLAGS_case_id));
  req.set_lane_id(absl::GetFlag(FLAGS_lane));
  SetWindowFromFlags(req);
  req.set_page_size(absl::GetFlag(FLAGS_limit));
  req.set_page_token(absl::GetFlag(FLAGS_page_token));
  if (!json) {
    std::printf("%-45s %-10s %s\n", "RECORD", "LANE", "FIRST SEEN");
  }
  v1::SearchRecordsResponse resp;
  size_t records = 0;
  for (int page = 1;; ++page) {
    // Each page is a quota-counted search: never sent twice.
    if (grpc::Status s = Ask<v1::EvidenceService>(
            rpc::RetrySafety::kOnce,
            [&](auto& service, grpc::ClientContext& ctx) {
              resp.Clear();
              return service.SearchRecords(&ctx, req, &resp);
            });
        !s.ok()) {
      FailRpc(s);
    }
    records += resp.records_size();
    if (json) {
      // With --all, one JSON document per page, one after another.
      PrintJson(resp);
      std::printf("\n");
    } else {
      for (const auto& r : resp.records()) {
        std::printf("%-45s %-10s %s\n", r.record_id().c_str(),
                    r.lane_id().c_str(), When(r.first_seen()).c_str());
      }
    }
    if (!all || resp.next_page_token().empty()) break;
    Progress(absl::StrCat("page ", page, ": ", records, " records so far"));
    req.set_page_token(resp.next_page_token());
  }
  if (json) return SaveReceiptIfAsked(resp.receipt(), {});
  if (!resp.next_page_token().empty()) {
    std::printf("(more: --page_token %s, or --all)\n",
                resp.next_page_token().c_str());
  }
  PrintReceiptTerms(resp.receipt());
  return SaveReceiptIfAsked(resp.receipt(), {});
}

int LookupPlate(const std::string& plate) {
  v1::LookupPlateRequest req;
  req.set_plate_text(plate);
  req.set_purpose(absl::GetFlag(FLAGS_purpose));
  req.set_case_id(absl::GetFlag(FLAGS_case_id));
  v1::LookupPlateResponse resp;
  if (grpc::Status s = Ask<v1::EvidenceService>(
          rpc::RetrySafety::kOnce,
          [&](auto& service, grpc::ClientContext& ctx) {
            return service.LookupPlate(&ctx, req, &resp);
          });
      !s.ok()) {
    FailRpc(s);
  }
  if (absl::GetFlag(FLAGS_json)) {
    PrintJson(resp);
    return SaveReceiptIfAsked(resp.receipt(), {});
  }
  if (resp.record_ids().empty()) std::printf("no record with that plate\n");
  for (const std::string& id : resp.record_ids())
    std::printf("%s\n", id.c_str());
  if (resp.truncated()) std::printf("(more exist; narrow by case)\n");
  // On stderr: stdout stays the bare list of records for scripts.
  PrintReceiptTerms(resp.receipt(), stderr);
  return SaveReceiptIfAsked(resp.receipt(), {});
}

}  // namespace

int RecordCommand(const std::vector<std::string>& args) {
  if (args.size() == 3 && args[1] == "get") return Get(args[2]);
  if (args.size() == 4 && args[1] == "get-item")
    return GetItem(args[2], args[3]);
  if (args.size() == 2 && args[1] == "search") return Search();
  if (args.size() == 3 && args[1] == "lookup-plate")
    return LookupPlate(args[2]);
  Fail(
      "usage: lanevaultctl record get ID | get-item ID ITEM_ID | search | "
      "lookup-plate PLATE (see --help)",
      2);
}

}  // namespace lanevault::ctl
