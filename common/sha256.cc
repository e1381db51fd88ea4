#include "common/sha256.h"

#include <sodium/core.h>

#include <fstream>
#include <vector>

#include "common/log.h"

namespace mixq {
namespace {

// sodium_init() is idempotent and thread-safe; a function-local static runs
// it once per process. Its SHA-256 is portable code that needs no CPU
// dispatch, so hashing stays correct even if init fails (it can only fail
// when libsodium cannot take its own lock); we say so rather than abort.
void InitSodiumOnce() {
  static const bool kInitialized = [] {
    if (sodium_init() < 0) {
      log().warn(
          "libsodium: sodium_init() failed; SHA-256 still works, other primitives would not");
      return false;
    }
    return true;
  }();
  (void)kInitialized;
}

}  // namespace

Sha256::Sha256() {
  InitSodiumOnce();
  crypto_hash_sha256_init(&state_);
}

void Sha256::Update(const void* data, size_t size) {
  crypto_hash_sha256_update(&state_, static_cast<const unsigned char*>(data), size);
}

Sha256::Digest Sha256::Finish() {
  Digest digest;
  crypto_hash_sha256_final(&state_, digest.data());
  return digest;
}

std::string DigestHex(const Sha256::Digest& digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(64);
  for (uint8_t byte : digest) {
    hex.push_back(kHex[byte >> 4]);
    hex.push_back(kHex[byte & 15]);
  }
  return hex;
}

bool IsSha256Hex(std::string_view text) {
  if (text.size() != 64) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string Sha256Hex(std::string_view data) {
  Sha256 sha;
  sha.Update(data);
  return DigestHex(sha.Finish());
}

StatusOr<std::string> Sha256File(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return NotFound(path + ": cannot open file");
  Sha256 sha;
  std::vector<char> chunk(1 << 16);
  while (file) {
    file.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    sha.Update(chunk.data(), static_cast<size_t>(file.gcount()));
  }
  if (!file.eof()) return DataLoss(path + ": read failed");
  return DigestHex(sha.Finish());
}

}  // namespace mixq
