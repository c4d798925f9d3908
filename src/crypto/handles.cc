#include "crypto/handles.h"

#include <sodium.h>

#include <array>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "crypto/sodium_bytes.h"

namespace lanevault::crypto {
namespace {

using internal::U;

constexpr size_t kIdBytes = 16;
constexpr size_t kHalf = kIdBytes / 2;
// Enough that a made-up or other-scope handle is refused at the door
// (one chance in 2^40), short enough to read out on a call.
constexpr size_t kTagBytes = 5;
constexpr int kRounds = 4;

absl::string_view IdPrefix(HandleKey::Kind kind) {
  return kind == HandleKey::Kind::kRecord ? "rec_" : "itm_";
}
absl::string_view HandlePrefix(HandleKey::Kind kind) {
  return kind == HandleKey::Kind::kRecord ? "rh_" : "ih_";
}

bool IsLowerHex(absl::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isxdigit(c) || absl::ascii_isupper(c)) return false;
  }
  return true;
}

// Keyed BLAKE2b of (a domain byte, the round, the half) cut to a half.
void RoundFunction(const SecureBytes& key, uint8_t round,
                   const uint8_t* half_in, uint8_t* out) {
  std::array<uint8_t, 2 + kHalf> msg{};
  msg[0] = 'F';
  msg[1] = round;
  std::memcpy(msg.data() + 2, half_in, kHalf);
  crypto_generichash(out, kHalf, msg.data(), msg.size(), key.data(),
                     key.size());
}

void Permute(const SecureBytes& key, std::array<uint8_t, kIdBytes>& block,
             bool forward) {
  uint8_t* left = block.data();
  uint8_t* right = block.data() + kHalf;
  std::array<uint8_t, kHalf> f{};
  for (int i = 0; i < kRounds; ++i) {
    const uint8_t round = static_cast<uint8_t>(forward ? i : kRounds - 1 - i);
    if (forward) {
      // (L, R) -> (R, L ^ F(R))
      RoundFunction(key, round, right, f.data());
      for (size_t j = 0; j < kHalf; ++j) left[j] ^= f[j];
      std::swap_ranges(left, left + kHalf, right);
    } else {
      // (L, R) -> (R ^ F(L), L)
      std::swap_ranges(left, left + kHalf, right);
      RoundFunction(key, round, right, f.data());
      for (size_t j = 0; j < kHalf; ++j) left[j] ^= f[j];
    }
  }
  sodium_memzero(f.data(), f.size());
}

std::string Tag(const SecureBytes& key,
                const std::array<uint8_t, kIdBytes>& block) {
  std::array<uint8_t, 1 + kIdBytes> msg{};
  msg[0] = 'T';
  std::memcpy(msg.data() + 1, block.data(), kIdBytes);
  std::string out(kTagBytes, '\0');
  crypto_generichash(reinterpret_cast<unsigned char*>(out.data()), out.size(),
                     msg.data(), msg.size(), key.data(), key.size());
  return out;
}

}  // namespace

HandleKey HandleKey::DeriveFrom(const MasterKey& master) {
  return HandleKey(
      master.DeriveSubkey(crypto_generichash_KEYBYTES, 7, "lvhandle"));
}

SecureBytes HandleKey::ScopeKey(Kind kind, absl::string_view scope) const {
  // The scope's name is hashed whole after a kind byte: no two (kind,
  // scope) pairs share a key.
  std::string msg = absl::StrCat(kind == Kind::kRecord ? "R" : "I", scope);
  SecureBytes out = SecureBytes::ShortLived(crypto_generichash_KEYBYTES);
  crypto_generichash(out.data(), out.size(), U(msg), msg.size(), key_.data(),
                     key_.size());
  return out;
}

bool HandleKey::LooksLikeHandle(Kind kind, absl::string_view s) {
  if (!absl::StartsWith(s, HandlePrefix(kind))) return false;
  s.remove_prefix(HandlePrefix(kind).size());
  return s.size() == 2 * (kIdBytes + kTagBytes) && IsLowerHex(s);
}

absl::StatusOr<std::string> HandleKey::Issue(Kind kind, absl::string_view scope,
                                             absl::string_view id) const {
  if (!IsWellFormedId(id, IdPrefix(kind))) {
    return absl::InvalidArgumentError(
        absl::StrCat("not an id of the form ", IdPrefix(kind), "<32 hex>"));
  }
  std::string raw = absl::HexStringToBytes(id.substr(IdPrefix(kind).size()));
  std::array<uint8_t, kIdBytes> block{};
  std::memcpy(block.data(), raw.data(), kIdBytes);
  sodium_memzero(raw.data(), raw.size());
  const SecureBytes key = ScopeKey(kind, scope);
  Permute(key, block, /*forward=*/true);
  std::string bytes(reinterpret_cast<const char*>(block.data()), kIdBytes);
  absl::StrAppend(&bytes, Tag(key, block));
  return absl::StrCat(HandlePrefix(kind), absl::BytesToHexString(bytes));
}

absl::StatusOr<std::string> HandleKey::Open(Kind kind, absl::string_view scope,
                                            absl::string_view handle) const {
  if (!LooksLikeHandle(kind, handle)) {
    const bool raw_id = IsWellFormedId(handle, IdPrefix(kind));
    return absl::InvalidArgumentError(absl::StrCat(
        raw_id ? "an id, not a handle: " : "not a handle: ", "name the ",
        kind == Kind::kRecord ? "record" : "item", " by the handle (",
        HandlePrefix(kind), "…) an answer under this purpose gave"));
  }
  const std::string bytes =
      absl::HexStringToBytes(handle.substr(HandlePrefix(kind).size()));
  std::array<uint8_t, kIdBytes> block{};
  std::memcpy(block.data(), bytes.data(), kIdBytes);
  const SecureBytes key = ScopeKey(kind, scope);
  const std::string tag = Tag(key, block);
  if (sodium_memcmp(tag.data(), bytes.data() + kIdBytes, kTagBytes) != 0) {
    return absl::PermissionDeniedError(
        "this handle was not issued under this purpose's scope; handles do "
        "not carry over between purposes");
  }
  Permute(key, block, /*forward=*/false);
  std::string id =
      absl::StrCat(IdPrefix(kind),
                   absl::BytesToHexString(absl::string_view(
                       reinterpret_cast<const char*>(block.data()), kIdBytes)));
  sodium_memzero(block.data(), block.size());
  return id;
}

}  // namespace lanevault::crypto
