// Two insiders who compare notes: one reads the plates of a set of
// crossings for vehicle inspection, the other their faces for identity
// verification, each within their own rules (different teams, so neither's
// linkage history stops the other). Every field of every answer they got —
// searches, reads, item reads, lookups, receipts — is tried as a join key,
// as it came and cut down to the minute and the hour; none may tell which
// face goes with which plate. A handle carried from one purpose to the
// other is refused. The watermark on a returned face names the read, and
// the receipt verifies against the bytes.

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "api/scoped_answers.h"
#include "common/clock.h"
#include "crypto/digest.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"
#include "gtest/gtest.h"
#include "lanevault/v1/audit_service.grpc.pb.h"
#include "lanevault/v1/compliance.grpc.pb.h"
#include "lanevault/v1/lanes.grpc.pb.h"
#include "opencv2/imgcodecs.hpp"
#include "opencv2/imgproc.hpp"
#include "receipt/receipt.h"
#include "testing/api_fixture.h"
#include "testing/test_pki.h"

namespace lanevault {
namespace {

using ::testing::HasSubstr;
using Stub = v1::EvidenceService::Stub;

constexpr char kVehicle[] = "vehicle-inspection";
constexpr char kIdentity[] = "identity-verification";
constexpr int kCrossings = 8;

std::string Jpeg(const cv::Mat& image) {
  std::vector<uchar> out;
  cv::imencode(".jpg", image, out, {cv::IMWRITE_JPEG_QUALITY, 92});
  return std::string(out.begin(), out.end());
}

// Crossing i's crops grow with i, as a nearer vehicle's do on both sides.
cv::Mat Nearer(const cv::Mat& crop, int i) {
  cv::Mat out;
  cv::resize(crop, out, {}, 0.8 + 0.05 * i, 0.8 + 0.05 * i, cv::INTER_CUBIC);
  return out;
}

std::string PlateCrop(const std::string& text, int i) {
  cv::Mat plate(50, 250, CV_8UC3, cv::Scalar(210, 215, 220));
  cv::putText(plate, text, {20, 38}, cv::FONT_HERSHEY_DUPLEX, 1.1,
              cv::Scalar(25, 25, 25), 2);
  return Jpeg(Nearer(plate, i));
}

std::string FaceCrop(int i) {
  cv::Mat face(120, 120, CV_8UC3, cv::Scalar(90 + 10 * i, 120, 160));
  cv::ellipse(face, {60, 60}, {38, 50}, 0, 0, 360,
              cv::Scalar(150, 170, 200 - 5 * i), cv::FILLED);
  cv::circle(face, {45, 50}, 6, cv::Scalar(40, 40, 40), cv::FILLED);
  cv::circle(face, {75, 50}, 6, cv::Scalar(40, 40, 40), cv::FILLED);
  cv::Mat noise(face.size(), face.type());
  cv::randn(noise, 0, 6);
  face += noise;
  return Jpeg(Nearer(face, i));
}

// What one answer, or all the answers about one crossing, say: each value
// as a token. Strings and bytes stand for themselves whatever field they
// came in (an id in one field may be a join key for an id in another);
// numbers are qualified by their field; every time also as its minute and
// its hour, the cuts an attacker would try.
using Tokens = std::set<std::string>;

void AddTime(const google::protobuf::Timestamp& t, Tokens& out) {
  const absl::Time at = absl::FromUnixSeconds(t.seconds());
  out.insert(absl::StrCat("time:", t.seconds(), ".", t.nanos()));
  out.insert(absl::StrCat("minute:",
                          absl::ToUnixSeconds(FloorTo(at, absl::Minutes(1)))));
  out.insert(
      absl::StrCat("hour:", absl::ToUnixSeconds(FloorTo(at, absl::Hours(1)))));
}

void Flatten(const google::protobuf::Message& m, Tokens& out) {
  using google::protobuf::FieldDescriptor;
  if (m.GetDescriptor()->full_name() == "google.protobuf.Timestamp") {
    AddTime(static_cast<const google::protobuf::Timestamp&>(m), out);
    return;
  }
  const google::protobuf::Reflection* r = m.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  for (const FieldDescriptor* f : fields) {
    const int n = f->is_repeated() ? r->FieldSize(m, f) : 1;
    for (int i = 0; i < n; ++i) {
      const bool rep = f->is_repeated();
      switch (f->cpp_type()) {
        case FieldDescriptor::CPPTYPE_MESSAGE: {
          const auto& sub =
              rep ? r->GetRepeatedMessage(m, f, i) : r->GetMessage(m, f);
          // A receipt's body is a message in bytes: its fields count too.
          if (f->message_type()->full_name() == "lanevault.v1.Receipt") {
            v1::ReceiptBody body;
            ASSERT_TRUE(body.ParseFromString(
                static_cast<const v1::Receipt&>(sub).body()));
            Flatten(body, out);
          }
          Flatten(sub, out);
          break;
        }
        case FieldDescriptor::CPPTYPE_STRING: {
          std::string v =
              rep ? r->GetRepeatedString(m, f, i) : r->GetString(m, f);
          out.insert(absl::StrCat("s:", v));
          break;
        }
        default: {
          std::string v;
          switch (f->cpp_type()) {
            case FieldDescriptor::CPPTYPE_INT32:
              v = absl::StrCat(rep ? r->GetRepeatedInt32(m, f, i)
                                   : r->GetInt32(m, f));
              break;
            case FieldDescriptor::CPPTYPE_INT64:
              v = absl::StrCat(rep ? r->GetRepeatedInt64(m, f, i)
                                   : r->GetInt64(m, f));
              break;
            case FieldDescriptor::CPPTYPE_UINT32:
              v = absl::StrCat(rep ? r->GetRepeatedUInt32(m, f, i)
                                   : r->GetUInt32(m, f));
              break;
            case FieldDescriptor::CPPTYPE_UINT64:
              v = absl::StrCat(rep ? r->GetRepeatedUInt64(m, f, i)
                                   : r->GetUInt64(m, f));
              break;
            case FieldDescriptor::CPPTYPE_FLOAT:
              v = absl::StrCat(rep ? r->GetRepeatedFloat(m, f, i)
                                   : r->GetFloat(m, f));
              break;
            case FieldDescriptor::CPPTYPE_DOUBLE:
              v = absl::StrCat(rep ? r->GetRepeatedDouble(m, f, i)
                                   : r->GetDouble(m, f));
              break;
            case FieldDescriptor::CPPTYPE_BOOL:
              v = (rep ? r->GetRepeatedBool(m, f, i) : r->GetBool(m, f))
                      ? "true"
                      : "false";
              break;
            case FieldDescriptor::CPPTYPE_ENUM:
              v = absl::StrCat(rep ? r->GetRepeatedEnumValue(m, f, i)
                                   : r->GetEnumValue(m, f));
              break;
            default:
              break;
          }
          out.insert(absl::StrCat(f->name(), ":", v));
        }
      }
    }
  }
}

// The tokens that single out crossing `a` of one side's notes among the
// other side's: for a join there must be some value a's notes share with
// its true partner and not with every other crossing (or the reverse).
// Empty when nothing joins.
std::vector<std::string> JoinKeys(const std::map<std::string, Tokens>& side_a,
                                  const std::map<std::string, Tokens>& side_b) {
  std::vector<std::string> keys;
  for (const auto& [record, a] : side_a) {
    std::set<std::string> shared_by_all;
    bool first = true;
    std::map<std::string, Tokens> shared;
    for (const auto& [other, b] : side_b) {
      Tokens common;
      std::set_intersection(a.begin(), a.end(), b.begin(), b.end(),
                            std::inserter(common, common.end()));
      shared[other] = common;
      if (first) {
        shared_by_all = common;
        first = false;
      }
    }
    for (const auto& [other, common] : shared) {
      if (common == shared_by_all) continue;
      for (const std::string& t : common) {
        if (!shared_by_all.contains(t)) {
          keys.push_back(absl::StrCat(record, "~", other, " via ", t));
        }
      }
      for (const std::string& t : shared_by_all) {
        if (!common.contains(t)) {
          keys.push_back(absl::StrCat(record, "~", other, " lacks ", t));
        }
      }
    }
  }
  return keys;
}

TEST(JoinKeys, FindsAJoinWhenOneExists) {
  // The check itself must be able to fail: an exact second shared by one
  // pair only is a join.
  std::map<std::string, Tokens> a = {{"r1", {"s:x", "time:10"}},
                                     {"r2", {"s:x", "time:20"}}};
  std::map<std::string, Tokens> b = {{"r1", {"s:x", "time:10"}},
                                     {"r2", {"s:x", "time:20"}}};
  EXPECT_FALSE(JoinKeys(a, b).empty());
  b = {{"r1", {"s:x", "time:30"}}, {"r2", {"s:x", "time:40"}}};
  EXPECT_TRUE(JoinKeys(a, b).empty());
}

class JoinTest : public testing::ApiFixture {
 protected:
  static void SetUpTestSuite() {
    ApiFixture::SetUpTestSuite();
    testing::CertSpec two = testing::ClientCert("inspector-two", 7001);
    two.valid_until = absl::Hours(24 * 60);
    testing::IssueCert(dir_->Join("pki"), "inspector-two", two);
  }

  // Two teams at the checkpoint, so each inspector's linkage history is
  // their own team's: the one reads plates, the other faces, both allowed.
  std::unique_ptr<policy::Policy> MakePolicy() override {
    return testing::PilotPolicy([](v1::Contract& contract) {
      for (v1::RoleBinding& b : *contract.mutable_bindings()) {
        if (b.role() != "inspector") continue;
        b.clear_principal_patterns();
        b.add_principal_patterns("inspector-dev");
        b.set_group("vehicle-team");
        v1::RoleBinding* other = contract.add_bindings();
        *other = b;
        other->clear_principal_patterns();
        other->add_principal_patterns("inspector-two");
        other->set_group("identity-team");
        break;
      }
    });
  }
  void Configure(api::ServerOptions& so) override {
    so.limits.lockout_refusals = 100;
  }
  void ConfigureVault(vault::VaultOptions& vo) override { vo.clock = &clock_; }

  // kCrossings crossings within one hour, minutes apart, on two lanes, each
  // with its own frame numbers: a plate text, a plate crop and a face.
  void TakeCrossings() {
    for (int i = 0; i < kCrossings; ++i) {
      v1::Record r;
      r.set_record_id(NewId("rec_"));
      r.set_lane_id(i % 2 == 0 ? "lane-1" : "lane-2");
      r.set_checkpoint_id("demo-poe");
      const absl::Time seen = hour_ + absl::Minutes(3 + 6 * i) +
                              absl::Seconds(7 * i) + absl::Milliseconds(i);
      *r.mutable_first_seen() = ToProto(seen);
      *r.mutable_last_seen() = ToProto(seen + absl::Seconds(2));
      r.set_frames_seen(20 + i);
      // Not the fixture's own record's plate (KXR4821): its deadline is an
      // hour of the real clock, so in an hour's last two minutes it is not
      // yet past the test's clock, and a lookup would find it too.
      const std::string plate = absl::StrCat("KXR", 4830 + i);
      const std::pair<v1::DataCategory, std::string> items[] = {
          {v1::DATA_CATEGORY_PLATE_TEXT, plate},
          {v1::DATA_CATEGORY_PLATE_IMAGE, PlateCrop(plate, i)},
          {v1::DATA_CATEGORY_FACE_IMAGE, FaceCrop(i)}};
      for (const auto& [category, content] : items) {
        v1::Item* item = r.add_items();
        item->set_item_id(NewId("itm_"));
        item->set_category(category);
        item->set_content(content);
        item->set_frame_index(1000 * i + 17);
        // Where the crop was cut follows the vehicle on both sides.
        item->mutable_box()->set_x(
            (category == v1::DATA_CATEGORY_FACE_IMAGE ? 700 : 500) + 7 * i);
        item->mutable_box()->set_width(100 + i);
        *item->mutable_deadline() = ToProto(seen + absl::Hours(6));
      }
      ASSERT_TRUE(vault_->Intake(r, {}).ok());
      crossings_.push_back(r);
    }
  }

  std::unique_ptr<Stub> As(const std::string& who) {
    return v1::EvidenceService::NewStub(Channel(who));
  }

  // Every page of a search under `purpose`, a few at a time.
  std::vector<v1::SearchRecordsResponse> SearchAll(Stub& stub,
                                                   const std::string& purpose) {
    std::vector<v1::SearchRecordsResponse> pages;
    std::string token;
    do {
      grpc::ClientContext ctx;
      testing::WithDeadline(ctx);
      v1::SearchRecordsRequest req;
      req.set_purpose(purpose);
      req.set_page_size(3);
      req.set_page_token(token);
      v1::SearchRecordsResponse resp;
      grpc::Status s = stub.SearchRecords(&ctx, req, &resp);
      EXPECT_TRUE(s.ok()) << s.error_message();
      if (!s.ok()) break;
      token = resp.next_page_token();
      pages.push_back(std::move(resp));
    } while (!token.empty());
    return pages;
  }

  grpc::Status Get(Stub& stub, const std::string& handle,
                   const std::string& purpose, v1::GetRecordResponse* resp) {
    grpc::ClientContext ctx;
    testing::WithDeadline(ctx);
    v1::GetRecordRequest req;
    req.set_record_id(handle);
    req.set_purpose(purpose);
    return stub.GetRecord(&ctx, req, resp);
  }

  v1::GetRecordResponse Read(Stub& stub, const std::string& handle,
                             const std::string& purpose) {
    v1::GetRecordResponse resp;
    grpc::Status s = Get(stub, handle, purpose, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }

  grpc::StatusCode ReadCode(Stub& stub, const std::string& handle,
                            const std::string& purpose) {
    v1::GetRecordResponse resp;
    return Get(stub, handle, purpose, &resp).error_code();
  }

  v1::GetItemResponse ReadItem(Stub& stub, const std::string& record,
                               const std::string& item,
                               const std::string& purpose) {
    grpc::ClientContext ctx;
    testing::WithDeadline(ctx);
    v1::GetItemRequest req;
    req.set_record_id(record);
    req.set_item_id(item);
    req.set_purpose(purpose);
    v1::GetItemResponse resp;
    grpc::Status s = stub.GetItem(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }

  // Which true record a handle under `purpose` names (the test's own key
  // to the answers; the readers have none).
  // Empty for the fixture's own record, which is not one of them.
  std::string Truth(const std::string& handle, const std::string& purpose) {
    for (const v1::Record& r : crossings_) {
      if (Handle(r.record_id(), purpose) == handle) return r.record_id();
    }
    return "";
  }

  // One side's notes, per true record: everything its answers said.
  struct Notes {
    std::map<std::string, Tokens> by_record;
    std::map<std::string, std::string> handle_of;  // true id -> handle
    std::vector<v1::GetRecordResponse> reads;
  };

  Notes Collect(Stub& stub, const std::string& purpose, bool lookups) {
    Notes notes;
    // A page names several records: what it says of one of them (its
    // summary) goes to that record, what it says as a whole (receipt,
    // page token) to every record on it.
    for (const v1::SearchRecordsResponse& page : SearchAll(stub, purpose)) {
      Tokens whole;
      Flatten(page.receipt(), whole);
      if (!page.next_page_token().empty()) {
        whole.insert(absl::StrCat("s:", page.next_page_token()));
      }
      for (const v1::RecordSummary& s : page.records()) {
        const std::string id = Truth(s.record_id(), purpose);
        if (id.empty()) continue;
        notes.handle_of[id] = s.record_id();
        Flatten(s, notes.by_record[id]);
        notes.by_record[id].insert(whole.begin(), whole.end());
      }
    }
    EXPECT_EQ(notes.handle_of.size(), static_cast<size_t>(kCrossings));
    for (const auto& [id, handle] : notes.handle_of) {
      v1::GetRecordResponse read = Read(stub, handle, purpose);
      Flatten(read, notes.by_record[id]);
      for (const v1::Item& item : read.record().items()) {
        if (item.category() == v1::DATA_CATEGORY_PLATE_TEXT) continue;
        Flatten(ReadItem(stub, handle, item.item_id(), purpose),
                notes.by_record[id]);
      }
      if (lookups) {
        for (const v1::Item& item : read.record().items()) {
          if (item.category() != v1::DATA_CATEGORY_PLATE_TEXT) continue;
          grpc::ClientContext ctx;
          testing::WithDeadline(ctx);
          v1::LookupPlateRequest req;
          req.set_plate_text(item.content());
          req.set_purpose(purpose);
          v1::LookupPlateResponse resp;
          EXPECT_TRUE(stub.LookupPlate(&ctx, req, &resp).ok());
          EXPECT_THAT(resp.record_ids(), ::testing::ElementsAre(handle));
          Flatten(resp, notes.by_record[id]);
        }
      }
      notes.reads.push_back(std::move(read));
    }
    return notes;
  }

  FakeClock clock_{absl::Now()};
  absl::Time hour_;
  std::vector<v1::Record> crossings_;
};

TEST_F(JoinTest, PlateAndFaceReadersFindNothingToJoinOn) {
  // An hour ahead of now (the certificates are valid already), read at its
  // end.
  hour_ = FloorTo(absl::Now(), absl::Hours(1)) + absl::Hours(1);
  clock_.Set(hour_ + absl::Minutes(58));
  TakeCrossings();
  auto plates = As("inspector-dev");
  auto faces = As("inspector-two");
  Notes a = Collect(*plates, kVehicle, /*lookups=*/true);
  Notes b = Collect(*faces, kIdentity, /*lookups=*/false);
  ASSERT_EQ(a.by_record.size(), static_cast<size_t>(kCrossings));
  ASSERT_EQ(b.by_record.size(), static_cast<size_t>(kCrossings));

  // Each side got what its purpose allows, and the check has something
  // to work on: exact minutes and lanes on the plate side.
  for (const v1::GetRecordResponse& r : a.reads) {
    ASSERT_EQ(r.record().items_size(), 2);
    EXPECT_FALSE(r.record().lane_id().empty());
    EXPECT_THAT(r.withheld_categories(),
                ::testing::ElementsAre(v1::DATA_CATEGORY_FACE_IMAGE));
    EXPECT_TRUE(r.withheld_item_ids().empty());
  }
  // Nothing that follows the crossing on both sides without being equal:
  // no crop position, and items in handle order, not as stored.
  for (const Notes* side : {&a, &b}) {
    for (const v1::GetRecordResponse& r : side->reads) {
      for (int i = 0; i < r.record().items_size(); ++i) {
        EXPECT_FALSE(r.record().items(i).has_box());
        if (i > 0) {
          EXPECT_LE(std::make_pair(r.record().items(i - 1).category(),
                                   r.record().items(i - 1).item_id()),
                    std::make_pair(r.record().items(i).category(),
                                   r.record().items(i).item_id()));
        }
      }
    }
  }
  // Crops that grew with the vehicle's nearness come back at one size per
  // category, so their size joins nothing.
  for (const Notes* side : {&a, &b}) {
    for (const v1::GetRecordResponse& r : side->reads) {
      for (const v1::Item& item : r.record().items()) {
        if (item.category() == v1::DATA_CATEGORY_PLATE_TEXT) continue;
        const std::vector<uchar> bytes(item.content().begin(),
                                       item.content().end());
        const cv::Size size = cv::imdecode(bytes, cv::IMREAD_COLOR).size();
        EXPECT_EQ(size, item.category() == v1::DATA_CATEGORY_FACE_IMAGE
                            ? cv::Size(128, 128)
                            : cv::Size(256, 64));
      }
    }
  }
  for (const v1::GetRecordResponse& r : b.reads) {
    ASSERT_EQ(r.record().items_size(), 1);
    EXPECT_EQ(r.record().items(0).category(), v1::DATA_CATEGORY_FACE_IMAGE);
    EXPECT_TRUE(r.record().lane_id().empty());
    EXPECT_EQ(r.record().first_seen().seconds() % 3600, 0);
  }

  EXPECT_THAT(JoinKeys(a.by_record, b.by_record), ::testing::IsEmpty());
  EXPECT_THAT(JoinKeys(b.by_record, a.by_record), ::testing::IsEmpty());
  // No handle, item handle or id is common to the two sides at all.
  for (const auto& [id, tokens] : a.by_record) {
    for (const auto& [other, theirs] : b.by_record) {
      for (const std::string& t : tokens) {
        if (t.rfind("s:rh_", 0) == 0 || t.rfind("s:ih_", 0) == 0 ||
            t.rfind("s:rec_", 0) == 0 || t.rfind("s:itm_", 0) == 0) {
          EXPECT_FALSE(theirs.contains(t)) << t;
        }
      }
    }
  }
}

TEST_F(JoinTest, AHandleIsRefusedUnderAnotherPurposeAndARawIdEverywhere) {
  hour_ = FloorTo(absl::Now(), absl::Hours(1)) + absl::Hours(1);
  clock_.Set(hour_ + absl::Minutes(58));
  TakeCrossings();
  auto plates = As("inspector-dev");
  auto faces = As("inspector-two");
  const v1::Record& r = crossings_[0];
  const std::string vehicle = Handle(r.record_id(), kVehicle);
  const std::string identity = Handle(r.record_id(), kIdentity);
  ASSERT_NE(vehicle, identity);
  // The face reader replays the plate reader's handle: refused before
  // anything is looked up, and logged as a refusal of the caller.
  EXPECT_EQ(ReadCode(*faces, vehicle, kIdentity),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Log().back().reason_code(), "bad_handle");
  EXPECT_EQ(Log().back().record_id(), vehicle);
  EXPECT_EQ(ReadCode(*plates, identity, kVehicle),
            grpc::StatusCode::PERMISSION_DENIED);
  // A raw record id, a made-up handle: refused too.
  EXPECT_EQ(ReadCode(*plates, r.record_id(), kVehicle),
            grpc::StatusCode::INVALID_ARGUMENT);
  std::string forged = vehicle;
  forged.back() = forged.back() == '0' ? '1' : '0';
  EXPECT_EQ(ReadCode(*plates, forged, kVehicle),
            grpc::StatusCode::PERMISSION_DENIED);
  // Item handles are scoped the same way.
  v1::GetRecordResponse read = Read(*faces, identity, kIdentity);
  ASSERT_EQ(read.record().items_size(), 1);
  grpc::ClientContext ctx;
  testing::WithDeadline(ctx);
  v1::GetItemRequest req;
  req.set_record_id(vehicle);
  req.set_item_id(read.record().items(0).item_id());
  req.set_purpose(kVehicle);
  v1::GetItemResponse item;
  EXPECT_EQ(plates->GetItem(&ctx, req, &item).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // A record's handle with an item handle of another record of the same
  // scope: not found, in words that name no id (an id is the same under
  // every scope, so it would join).
  v1::GetRecordResponse other =
      Read(*faces, Handle(crossings_[1].record_id(), kIdentity), kIdentity);
  ASSERT_EQ(other.record().items_size(), 1);
  grpc::ClientContext ctx2;
  testing::WithDeadline(ctx2);
  req.set_record_id(identity);
  req.set_item_id(other.record().items(0).item_id());
  req.set_purpose(kIdentity);
  grpc::Status mixed = faces->GetItem(&ctx2, req, &item);
  EXPECT_EQ(mixed.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(mixed.error_message().find("rec_"), std::string::npos)
      << mixed.error_message();
  EXPECT_EQ(mixed.error_message().find("itm_"), std::string::npos)
      << mixed.error_message();
  // The log names the record itself for the allowed read, whatever handle
  // the question used, so linkage and quotas still count per record.
  bool logged = false;
  for (const v1::AuditEntry& e : Log()) {
    logged = logged || (e.verdict() == v1::VERDICT_ALLOW &&
                        e.action() == v1::ACTION_READ_RECORD &&
                        e.record_id() == r.record_id());
  }
  EXPECT_TRUE(logged);
}

TEST_F(JoinTest, ALeakedFaceNamesItsReadAndTheReceiptCoversItsBytes) {
  hour_ = FloorTo(absl::Now(), absl::Hours(1)) + absl::Hours(1);
  clock_.Set(hour_ + absl::Minutes(58));
  TakeCrossings();
  auto faces = As("inspector-two");
  v1::GetRecordResponse read =
      Read(*faces, Handle(crossings_[2].record_id(), kIdentity), kIdentity);
  ASSERT_EQ(read.record().items_size(), 1);
  const v1::Item& face = read.record().items(0);
  // The receipt verifies with the vault's key and covers these bytes.
  absl::StatusOr<v1::ReceiptBody> body = receipt::VerifyReceipt(
      read.receipt(), vault_->receipt_key().public_key());
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_TRUE(
      receipt::CheckContent(*body, face.item_id(), face.content()).ok());
  EXPECT_EQ(body->purpose(), kIdentity);
  EXPECT_THAT(body->restrictions(),
              ::testing::Contains(HasSubstr("not to be matched")));
  EXPECT_NE(face.content(), crossings_[2].items(2).content());  // marked

  auto audit = v1::AuditService::NewStub(Channel("auditor-dev"));
  auto trace = [&](const std::string& image) {
    grpc::ClientContext ctx;
    testing::WithDeadline(ctx);
    v1::TraceImageRequest req;
    req.set_image(image);
    v1::TraceImageResponse resp;
    grpc::Status s = audit->TraceImage(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  };
  v1::TraceImageResponse traced = trace(face.content());
  ASSERT_TRUE(traced.found()) << traced.detail();
  EXPECT_EQ(traced.entry().sequence(), body->audit_sequence());
  EXPECT_EQ(traced.entry().principal(), "inspector-two");
  EXPECT_EQ(traced.entry().purpose(), kIdentity);
  EXPECT_EQ(traced.entry().record_id(), crossings_[2].record_id());
  // The image as stored, never returned, names nobody.
  EXPECT_FALSE(trace(crossings_[2].items(2).content()).found());
  // An inspector may not trace.
  auto as_inspector = v1::AuditService::NewStub(Channel("inspector-two"));
  grpc::ClientContext ctx;
  testing::WithDeadline(ctx);
  v1::TraceImageRequest req;
  req.set_image(face.content());
  v1::TraceImageResponse resp;
  EXPECT_EQ(as_inspector->TraceImage(&ctx, req, &resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

// Whoever holds an answer's receipt without its content (a system it was
// filed with, a copy of it) must not get the plate from it: the receipt
// commits to a plate's text under a salt that travels with the text alone,
// new for every answer, so neither the plate formats tried against the
// receipt nor two receipts of the same plate compared give it away. The
// reader, holding text and salt, still checks the text against it.
TEST_F(JoinTest, AReceiptAloneDoesNotGiveThePlate) {
  hour_ = FloorTo(absl::Now(), absl::Hours(1)) + absl::Hours(1);
  clock_.Set(hour_ + absl::Minutes(58));
  TakeCrossings();
  auto plates = As("inspector-dev");
  const std::string handle = Handle(crossings_[3].record_id(), kVehicle);
  std::vector<std::string> commitments;
  for (int read = 0; read < 2; ++read) {
    v1::GetRecordResponse answer = Read(*plates, handle, kVehicle);
    absl::StatusOr<v1::ReceiptBody> body = receipt::VerifyReceipt(
        answer.receipt(), vault_->receipt_key().public_key());
    ASSERT_TRUE(body.ok()) << body.status();
    const v1::Item* text = nullptr;
    for (const v1::Item& item : answer.record().items()) {
      if (item.category() == v1::DATA_CATEGORY_PLATE_TEXT) text = &item;
      if (item.category() == v1::DATA_CATEGORY_PLATE_IMAGE) {
        EXPECT_TRUE(item.receipt_salt().empty());
        EXPECT_TRUE(
            receipt::CheckContent(*body, item.item_id(), item.content()).ok());
      }
    }
    ASSERT_NE(text, nullptr);
    ASSERT_FALSE(text->content().empty());
    ASSERT_EQ(text->receipt_salt().size(), receipt::kContentSaltBytes);
    const v1::ReceiptItem* line = nullptr;
    for (const v1::ReceiptItem& l : body->items()) {
      if (l.item_handle() == text->item_id()) line = &l;
    }
    ASSERT_NE(line, nullptr);
    // The receipt holder's try: the plate's text (as if the right format
    // had been guessed), bare or under any salt but the answer's.
    EXPECT_TRUE(line->content_sha256().empty());
    EXPECT_NE(line->content_commitment(), crypto::Sha256(text->content()));
    EXPECT_NE(line->content_commitment(),
              receipt::ContentCommitment("", text->content()));
    EXPECT_NE(
        line->content_commitment(),
        receipt::ContentCommitment(
            std::string(receipt::kContentSaltBytes, '\0'), text->content()));
    EXPECT_EQ(
        receipt::CheckContent(*body, text->item_id(), text->content()).code(),
        absl::StatusCode::kFailedPrecondition);
    // The reader's check: text (with any other readings) and salt together.
    const std::string committed = receipt::CommittedText(*text);
    EXPECT_TRUE(receipt::CheckContent(*body, text->item_id(), committed,
                                      text->receipt_salt())
                    .ok());
    EXPECT_EQ(receipt::CheckContent(*body, text->item_id(), committed + "X",
                                    text->receipt_salt())
                  .code(),
              absl::StatusCode::kDataLoss);
    commitments.push_back(line->content_commitment());
  }
  EXPECT_NE(commitments[0], commitments[1]);
}

// A crossing over the hour (first seen a second before it, last seen
// after) was told as such on the hourly side (its last seen in the next
// hour) and computed as such from the minutes on the other: a rare trait
// both sides share, a join key. Every answer now gives both ends as the cell
// the crossing was first seen in, reads and searches alike.
TEST_F(JoinTest, ACrossingOverTheHourIsToldAsTheHourItBeganIn) {
  hour_ = FloorTo(absl::Now(), absl::Hours(1)) + absl::Hours(1);
  clock_.Set(hour_ + absl::Hours(1) + absl::Minutes(10));
  v1::Record r;
  r.set_record_id(NewId("rec_"));
  r.set_lane_id("lane-1");
  r.set_checkpoint_id("demo-poe");
  const absl::Time seen = hour_ + absl::Minutes(59) + absl::Seconds(59);
  *r.mutable_first_seen() = ToProto(seen);
  *r.mutable_last_seen() = ToProto(seen + absl::Minutes(2));
  const std::pair<v1::DataCategory, std::string> items[] = {
      {v1::DATA_CATEGORY_PLATE_TEXT, "KXR4899"},
      {v1::DATA_CATEGORY_PLATE_IMAGE, PlateCrop("KXR4899", 1)},
      {v1::DATA_CATEGORY_FACE_IMAGE, FaceCrop(1)}};
  for (const auto& [category, content] : items) {
    v1::Item* item = r.add_items();
    item->set_item_id(NewId("itm_"));
    item->set_category(category);
    item->set_content(content);
    *item->mutable_deadline() = ToProto(seen + absl::Hours(6));
  }
  ASSERT_TRUE(vault_->Intake(r, {}).ok());

  const struct {
    const char* who;
    const char* purpose;
    absl::Duration cell;
  } sides[] = {{"inspector-dev", kVehicle, absl::Minutes(1)},
               {"inspector-two", kIdentity, absl::Hours(1)}};
  for (const auto& side : sides) {
    auto stub = As(side.who);
    const absl::Time cell = FloorTo(seen, side.cell);
    v1::GetRecordResponse read =
        Read(*stub, Handle(r.record_id(), side.purpose), side.purpose);
    EXPECT_EQ(FromProto(read.record().first_seen()), cell) << side.purpose;
    EXPECT_EQ(FromProto(read.record().last_seen()), cell) << side.purpose;
    bool listed = false;
    for (const v1::SearchRecordsResponse& page :
         SearchAll(*stub, side.purpose)) {
      for (const v1::RecordSummary& s : page.records()) {
        if (s.record_id() != Handle(r.record_id(), side.purpose)) continue;
        listed = true;
        EXPECT_EQ(FromProto(s.first_seen()), cell) << side.purpose;
        EXPECT_EQ(FromProto(s.last_seen()), cell) << side.purpose;
      }
    }
    EXPECT_TRUE(listed) << side.purpose;
  }
}

TEST_F(JoinTest, AnOfficerResolvesAHandleWithAReasonLogged) {
  hour_ = FloorTo(absl::Now(), absl::Hours(1)) + absl::Hours(1);
  clock_.Set(hour_ + absl::Minutes(58));
  TakeCrossings();
  const v1::Record& r = crossings_[5];
  auto officer = v1::ComplianceService::NewStub(Channel("compliance-dev"));
  auto resolve = [&](v1::ComplianceService::Stub& stub,
                     const std::string& handle, const std::string& reason,
                     v1::ResolveHandleResponse* resp) {
    grpc::ClientContext ctx;
    testing::WithDeadline(ctx);
    v1::ResolveHandleRequest req;
    req.set_handle(handle);
    req.set_reason(reason);
    return stub.ResolveHandle(&ctx, req, resp).error_code();
  };
  v1::ResolveHandleResponse resp;
  EXPECT_EQ(resolve(*officer, Handle(r.record_id(), kIdentity), "", &resp),
            grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_EQ(resolve(*officer, Handle(r.record_id(), kIdentity),
                    "investigation 7: a leaked face", &resp),
            grpc::StatusCode::OK);
  EXPECT_EQ(resp.record_id(), r.record_id());
  EXPECT_EQ(resp.scope(), "identity");
  EXPECT_THAT(resp.purposes(), ::testing::ElementsAre(kIdentity));
  const v1::AuditEntry logged = Log().back();
  EXPECT_EQ(logged.action(), v1::ACTION_RESOLVE_HANDLE);
  EXPECT_EQ(logged.record_id(), r.record_id());
  EXPECT_THAT(logged.detail(), HasSubstr("investigation 7"));
  // An item handle resolves to its item.
  ASSERT_EQ(resolve(*officer, Handle(r.items(0).item_id(), kVehicle, true),
                    "which item", &resp),
            grpc::StatusCode::OK);
  EXPECT_EQ(resp.item_id(), r.items(0).item_id());
  // A made-up handle resolves to nothing; an inspector may not resolve.
  std::string forged = Handle(r.record_id(), kVehicle);
  forged.back() = forged.back() == '0' ? '1' : '0';
  EXPECT_EQ(resolve(*officer, forged, "curious", &resp),
            grpc::StatusCode::NOT_FOUND);
  auto inspector = v1::ComplianceService::NewStub(Channel("inspector-dev"));
  EXPECT_EQ(resolve(*inspector, Handle(r.record_id(), kVehicle), "me", &resp),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(JoinTest, WhenAFaceExpiresTellsNoMoreThanItsAnswer) {
  // The red team's poll: an identity reader who reads a face again near its
  // deadline learns when it expires; had it expired to the second, that
  // would be its capture time to the second, which joins it to the plate
  // side's minutes. Two crossings taken through the lane API 40 minutes
  // apart in one hour must expire at one instant.
  hour_ = FloorTo(absl::Now(), absl::Hours(1)) + absl::Hours(1);
  auto lane = v1::LaneService::NewStub(Channel("lane-dev"));
  std::vector<std::string> ids;
  for (absl::Duration at : {absl::Minutes(10), absl::Minutes(50)}) {
    clock_.Set(hour_ + at + absl::Seconds(17));
    *record_.mutable_first_seen() = ToProto(clock_.Now());
    *record_.mutable_last_seen() = ToProto(clock_.Now());
    grpc::ClientContext ctx;
    testing::WithDeadline(ctx);
    v1::SubmitCrossingResponse resp;
    ASSERT_TRUE(lane->SubmitCrossing(&ctx,
                                     SealedCrossing(absl::StrCat(
                                         "k-", absl::ToInt64Seconds(at))),
                                     &resp)
                    .ok());
    ASSERT_EQ(Log().back().action(), v1::ACTION_INTAKE);
    ids.push_back(Log().back().record_id());
  }
  auto faces = As("inspector-two");
  auto read_face = [&](const std::string& id) {
    grpc::ClientContext ctx;
    testing::WithDeadline(ctx);
    v1::GetRecordRequest req;
    req.set_record_id(Handle(id, kIdentity));
    req.set_purpose(kIdentity);
    req.add_categories(v1::DATA_CATEGORY_FACE_IMAGE);
    v1::GetRecordResponse resp;
    return faces->GetRecord(&ctx, req, &resp).error_code();
  };
  // The pilot keeps faces 12 hours: both are there a second before the
  // hour both deadlines were floored to, and neither is at it.
  clock_.Set(hour_ + absl::Hours(12) - absl::Seconds(1));
  for (const std::string& id : ids) {
    EXPECT_EQ(read_face(id), grpc::StatusCode::OK);
  }
  clock_.Set(hour_ + absl::Hours(12));
  for (const std::string& id : ids) {
    EXPECT_NE(read_face(id), grpc::StatusCode::OK);
  }
}

}  // namespace
}  // namespace lanevault
