// The crash test's victim: ingests records from several threads (group
// commit), rotates keys now and then while the maintainer re-wraps, and
// prints "ACK <record id>" only after Intake returned OK. The parent kills
// it with SIGKILL at a random moment.
//
//   vault_crash_child DIR RUN_ID

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "testing/crash_records.h"
#include "vault/vault.h"

int main(int argc, char** argv) {
  using namespace lanevault;
  if (argc != 3) {
    std::fprintf(stderr, "usage: vault_crash_child DIR RUN_ID\n");
    return 2;
  }
  const std::string dir = argv[1];
  const std::string run = argv[2];
  vault::VaultOptions o;
  o.database = dir + "/vault.db";
  o.master_key_file = dir + "/master.key";
  auto v = vault::Vault::Open(o);
  if (!v.ok()) {
    std::fprintf(stderr, "open: %s\n", v.status().ToString().c_str());
    return 1;
  }
  vault::Vault& vault = **v;
  vault.StartMaintenance();
  absl::Mutex out_mu;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int n = 0;; ++n) {
        if (t == 0 && n % 40 == 39) {
          v1::AuditEntry rot;
          rot.set_principal("crash-test");
          rot.set_action(v1::ACTION_ROTATE_KEYS);
          (void)vault.RotateKeys(rot);
        }
        const std::string id = absl::StrCat("rec_", run, "_", t, "_", n);
        v1::Record r = testing::CrashRecord(id, absl::Now());
        v1::AuditEntry audit;
        audit.set_principal("lane-1");
        audit.set_action(v1::ACTION_INTAKE);
        audit.set_record_id(id);
        if (!vault.Intake(r, audit).ok()) continue;
        const std::string line = absl::StrCat("ACK ", id, "\n");
        absl::MutexLock lock(&out_mu);
        if (::write(1, line.data(), line.size()) < 0) return;
      }
    });
  }
  for (std::thread& t : threads) t.join();  // never: killed first
  return 0;
}
