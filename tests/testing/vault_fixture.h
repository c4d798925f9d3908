#ifndef LANEVAULT_TESTS_TESTING_VAULT_FIXTURE_H_
#define LANEVAULT_TESTS_TESTING_VAULT_FIXTURE_H_

// A real vault (SQLite file, master key file) on a fake clock, and records
// shaped like the lane's: a plate text and a face crop, each with a deadline.

#include <memory>
#include <string>

#include "common/clock.h"
#include "common/ids.h"
#include "common/time_util.h"
#include "crypto/master_key.h"
#include "gtest/gtest.h"
#include "testing/test_util.h"
#include "vault/vault.h"

namespace lanevault::testing {

inline const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);

class VaultFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(crypto::MasterKey::CreateKeyFile(dir_.Join("master.key")).ok());
    Reopen();
  }
  void Reopen() {
    vault_.reset();
    vault::VaultOptions o = Options();
    auto v = vault::Vault::Open(o);
    ASSERT_TRUE(v.ok()) << v.status();
    vault_ = std::move(*v);
  }
  virtual vault::VaultOptions Options() {
    vault::VaultOptions o;
    o.database = db_path();
    o.master_key_file = dir_.Join("master.key");
    o.clock = &clock_;
    if (!postgres_.empty()) {
      // On PostgreSQL (see store_engines.h): the key store is a file still.
      o.postgres.conninfo = postgres_;
      o.key_store = dir_.Join("vault.keys");
    }
    return o;
  }
  std::string db_path() const { return dir_.Join("vault.db"); }

  // A record with a plate text item and a face "crop", each with its deadline.
  v1::Record MakeRecord(absl::string_view plate, absl::string_view face,
                        absl::Duration face_keep = absl::Hours(12)) {
    v1::Record r;
    r.set_record_id(NewId("rec_"));
    r.set_lane_id("lane-1");
    r.set_checkpoint_id("cp");
    r.set_contract_id("test");
    r.set_contract_version(3);
    *r.mutable_first_seen() = ToProto(clock_.Now());
    *r.mutable_last_seen() = ToProto(clock_.Now());
    v1::Item* text = r.add_items();
    text->set_item_id(NewId("itm_"));
    text->set_category(v1::DATA_CATEGORY_PLATE_TEXT);
    text->set_content(std::string(plate));
    *text->mutable_deadline() = ToProto(clock_.Now() + absl::Hours(24 * 30));
    v1::Item* img = r.add_items();
    img->set_item_id(NewId("itm_"));
    img->set_category(v1::DATA_CATEGORY_FACE_IMAGE);
    img->set_content(std::string(face));
    img->set_media_type("image/jpeg");
    *img->mutable_deadline() = ToProto(clock_.Now() + face_keep);
    return r;
  }
  v1::AuditEntry Entry(v1::Action action, absl::string_view record_id) {
    v1::AuditEntry e;
    e.set_principal("test");
    e.set_action(action);
    e.set_record_id(std::string(record_id));
    return e;
  }

  TempDir dir_;
  // A conninfo: the vault on PostgreSQL instead of the SQLite file.
  std::string postgres_;
  FakeClock clock_{kStart};
  std::unique_ptr<vault::Vault> vault_;
};

}  // namespace lanevault::testing

#endif  // LANEVAULT_TESTS_TESTING_VAULT_FIXTURE_H_
