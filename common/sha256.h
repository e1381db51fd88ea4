// SHA-256 (FIPS 180-4), used to name models by content and to hash canonical
// precision configs, so that a result in the database can be matched to the
// exact model and config that produced it. Streaming: Update() any number of
// times, then Finish() once. The hashing is libsodium's (the library under
// ZeroMQ's CURVE), not code of our own.
#ifndef MIXQ_COMMON_SHA256_H_
#define MIXQ_COMMON_SHA256_H_

#include <sodium/crypto_hash_sha256.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace mixq {

class Sha256 {
 public:
  using Digest = std::array<uint8_t, 32>;

  Sha256();
  void Update(const void* data, size_t size);
  void Update(std::string_view data) { Update(data.data(), data.size()); }
  // Pads, returns the digest; the object must not be used afterwards.
  Digest Finish();

 private:
  crypto_hash_sha256_state state_;
};

// Lower-case hex of a digest (64 characters).
std::string DigestHex(const Sha256::Digest& digest);
// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);
// True when `text` has the form DigestHex() gives: 64 lower-case hex digits.
bool IsSha256Hex(std::string_view text);
// Lower-case hex SHA-256 of the file's raw bytes (no decompression). NotFound
// if it cannot be opened, DataLoss if a read fails; messages start with path.
StatusOr<std::string> Sha256File(const std::string& path);

}  // namespace mixq

#endif  // MIXQ_COMMON_SHA256_H_
