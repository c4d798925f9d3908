#include "raw_read_server.h"

#include <sqlite3.h>

#include <cstdio>
#include <random>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/server_builder.h"
#include "lanevault/v1/evidence.grpc.pb.h"
#include "rpc/server_threads.h"
#include "rpc/tls.h"
#include "vault/group_commit.h"

namespace lanevault::bench {

class RawReadServer::Service final : public v1::EvidenceService::Service {
 public:
  Service(sqlite3* db, std::string row,
          std::map<std::string, v1::GetRecordResponse> responses)
      : db_(db), row_(std::move(row)), responses_(std::move(responses)) {}
  ~Service() override { sqlite3_close(db_); }

  grpc::Status GetRecord(grpc::ServerContext*,
                         const v1::GetRecordRequest* request,
                         v1::GetRecordResponse* response) override {
    auto it = responses_.find(request->record_id());
    if (it == responses_.end()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such record");
    }
    // Logged durably before anything is handed over, as the vault does.
    const int rc = commits_.Submit(
        0, [this](std::vector<int> group) { return Commit(group.size()); });
    if (rc != SQLITE_OK) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, sqlite3_errstr(rc));
    }
    response->CopyFrom(it->second);
    return grpc::Status::OK;
  }

  int64_t Rows() {
    absl::MutexLock lock(&rows_mu_);
    return rows_;
  }

 private:
  // One transaction (one fsync) for the whole group, as the vault's log.
  std::vector<int> Commit(size_t n) {
    int rc = sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    sqlite3_stmt* ins = nullptr;
    if (rc == SQLITE_OK) {
      rc = sqlite3_prepare_v2(db_, "INSERT INTO log(entry) VALUES(?)", -1, &ins,
                              nullptr);
    }
    for (size_t i = 0; rc == SQLITE_OK && i < n; ++i) {
      sqlite3_bind_blob(ins, 1, row_.data(), static_cast<int>(row_.size()),
                        SQLITE_STATIC);
      rc = sqlite3_step(ins) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(db_);
      sqlite3_reset(ins);
    }
    sqlite3_finalize(ins);
    if (rc == SQLITE_OK) {
      rc = sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
    } else {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    if (rc == SQLITE_OK) {
      absl::MutexLock lock(&rows_mu_);
      rows_ += static_cast<int64_t>(n);
    }
    return std::vector<int>(n, rc);
  }

  sqlite3* const db_;  // used only by the group's leader
  const std::string row_;
  const std::map<std::string, v1::GetRecordResponse> responses_;
  vault::GroupCommit<int, int> commits_;
  absl::Mutex rows_mu_;
  int64_t rows_ ABSL_GUARDED_BY(rows_mu_) = 0;
};

absl::StatusOr<std::unique_ptr<RawReadServer>> RawReadServer::Start(
    RawReadOptions options) {
  std::remove(options.database.c_str());
  std::remove((options.database + "-wal").c_str());
  std::remove((options.database + "-shm").c_str());
  sqlite3* db = nullptr;
  if (sqlite3_open(options.database.c_str(), &db) != SQLITE_OK) {
    const std::string why = sqlite3_errmsg(db);
    sqlite3_close(db);
    return absl::UnavailableError(
        absl::StrCat("cannot open ", options.database, ": ", why));
  }
  // The vault's durability: WAL, a full fsync per commit.
  if (sqlite3_exec(db,
                   "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                   "CREATE TABLE log(sequence INTEGER PRIMARY KEY, "
                   "entry BLOB NOT NULL)",
                   nullptr, nullptr, nullptr) != SQLITE_OK) {
    const std::string why = sqlite3_errmsg(db);
    sqlite3_close(db);
    return absl::UnavailableError(absl::StrCat("cannot set up the log: ", why));
  }
  std::string row(options.log_row_bytes, '\0');
  std::mt19937_64 rng(11);
  for (char& c : row) c = static_cast<char>(rng());
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> creds =
      rpc::ServerTlsCredentials(options.tls);
  if (!creds.ok()) {
    sqlite3_close(db);
    return creds.status();
  }
  std::unique_ptr<RawReadServer> server(new RawReadServer());
  server->service_ = std::make_unique<Service>(db, std::move(row),
                                               std::move(options.responses));
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", *creds, &server->port_);
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             options.max_streams_per_connection);
  // The vault's threading (api/server.cc), so the ratio is not a thread
  // pool's.
  rpc::KeepServerThreads(builder);
  builder.RegisterService(server->service_.get());
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError("the raw read server cannot listen");
  }
  return server;
}

RawReadServer::~RawReadServer() {
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::seconds(2));
  }
}

int64_t RawReadServer::LoggedRows() { return service_->Rows(); }

}  // namespace lanevault::bench
