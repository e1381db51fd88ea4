// A worker's content-addressed file cache (--cache DIR): blob <sha256> lives
// at DIR/<sha256>, written under a temporary name and renamed only after its
// SHA-256 matched, so a file in the cache is always whole and correct. A
// blob whose original path exists on this machine with the same hash is used
// in place and never copied.
#ifndef MIXQ_WORKER_BLOB_CACHE_H_
#define MIXQ_WORKER_BLOB_CACHE_H_

#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/resource_limits.h"
#include "common/status.h"
#include "schemas/mixq.pb.h"

namespace mixq {

class BlobCache {
 public:
  // `dir` is created if missing. `use_local_paths` false ignores the blob's
  // own path (tests use it to force transfers). Blobs above `max_bytes` are
  // refused before any byte is fetched (kMaxBlobBytes unless a test says).
  BlobCache(std::string dir, bool use_local_paths, uint64_t max_bytes = kMaxBlobBytes);

  // A local file with the blob's content, if there is one already.
  std::optional<std::string> Find(const proto::BlobRef& blob);

  // Receiving a blob: Begin, Append the chunks in order, Finish verifies
  // and moves it into place. A new Begin abandons an unfinished blob (its
  // partial file is removed). A hash that is not 64 lower-case hex digits
  // is refused (InvalidArgument) before it names any file, so is a blob
  // announced larger than the cache's limit, and chunks
  // beyond the blob's declared size are refused (DataLoss) before writing.
  Status Begin(const proto::BlobRef& blob);
  Status Append(uint64_t offset, const std::string& data);
  uint64_t received() const { return received_; }
  StatusOr<std::string> Finish();

 private:
  // sha256 of `path`, memoized by (path, size, mtime) so a big local file is
  // hashed once per process.
  StatusOr<std::string> HashOf(const std::string& path);
  // Where the blob being received is written until it is verified.
  std::string PartPath() const;

  std::string dir_;
  bool use_local_paths_;
  uint64_t max_bytes_;
  std::map<std::string, std::string> hashed_;  // "path|size|mtime" -> sha256
  proto::BlobRef incoming_;
  std::unique_ptr<std::ofstream> out_;
  uint64_t received_ = 0;
};

}  // namespace mixq

#endif  // MIXQ_WORKER_BLOB_CACHE_H_
