#ifndef LANEVAULT_BENCH_MASTER_KEY_SOURCE_H_
#define LANEVAULT_BENCH_MASTER_KEY_SOURCE_H_

// The benches' --master_key_source: "file", a development key file (the old
// default), or "unseal", as lanevaultd in unseal mode: a 3-of-5 seal file
// in the vault's folder, opened by shares 1, 3 and 5 through the same
// Unsealer, and the key handed over in memory (VaultOptions.master_key).
// After the open the vault is the same either way, so the figures should
// match; this shows they do.

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "crypto/master_key.h"
#include "crypto/seal_file.h"
#include "crypto/secure_bytes.h"
#include "vault/vault.h"

namespace lanevault::bench {

// Sets `o`'s master key from `source` in `dir`; `held` keeps an unsealed
// key alive until the vault is open.
inline absl::Status UseMasterKeySource(absl::string_view source,
                                       const std::string& dir,
                                       vault::VaultOptions& o,
                                       crypto::SecureBytes& held) {
  if (source == "file") {
    const std::string path = dir + "/master.key";
    if (absl::Status s = crypto::MasterKey::CreateKeyFile(path);
        !s.ok() && !absl::IsAlreadyExists(s)) {
      return s;
    }
    o.master_key_file = path;
    return absl::OkStatus();
  }
  if (source != "unseal") {
    return absl::InvalidArgumentError(absl::StrCat(
        "--master_key_source is file or unseal, not '", source, "'"));
  }
  const std::string seal_path = dir + "/unseal.seal";
  auto seal = crypto::SealMasterKey(crypto::NewMasterKeyBytes(), 3, 5);
  if (!seal.ok()) return seal.status();
  if (absl::Status s = crypto::WriteSealFile(seal_path, seal->file); !s.ok()) {
    return s;
  }
  auto file = crypto::ReadSealFile(seal_path);
  if (!file.ok()) return file.status();
  crypto::Unsealer unsealer(*file);
  for (int i : {0, 2, 4}) {
    if (auto added = unsealer.Add(seal->shares[i].view()); !added.ok()) {
      return added.status();
    }
  }
  auto master = unsealer.Open();
  if (!master.ok()) return master.status();
  held = std::move(*master);
  o.master_key = &held;
  return absl::OkStatus();
}

}  // namespace lanevault::bench

#endif  // LANEVAULT_BENCH_MASTER_KEY_SOURCE_H_
