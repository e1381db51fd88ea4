#include "worker/blob_cache.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "common/sha256.h"

namespace mixq {

namespace fs = std::filesystem;

BlobCache::BlobCache(std::string dir, bool use_local_paths, uint64_t max_bytes)
    : dir_(std::move(dir)), use_local_paths_(use_local_paths), max_bytes_(max_bytes) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
}

StatusOr<std::string> BlobCache::HashOf(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return NotFound(path + ": no such file");
  const std::string key = path + "|" + std::to_string(st.st_size) + "|" +
                          std::to_string(st.st_mtim.tv_sec) + "." +
                          std::to_string(st.st_mtim.tv_nsec);
  auto it = hashed_.find(key);
  if (it != hashed_.end()) return it->second;
  MIXQ_ASSIGN_OR_RETURN(std::string sha, Sha256File(path));
  hashed_[key] = sha;
  return sha;
}

std::optional<std::string> BlobCache::Find(const proto::BlobRef& blob) {
  // A file in the cache is named by its hash, so anything else ("../x",
  // "/etc/x") names none; Begin() refuses it.
  if (!IsSha256Hex(blob.sha256())) return std::nullopt;
  if (use_local_paths_ && !blob.path().empty()) {
    StatusOr<std::string> sha = HashOf(blob.path());
    if (sha.ok() && *sha == blob.sha256()) return blob.path();
  }
  const std::string cached = (fs::path(dir_) / blob.sha256()).string();
  // Verified when first used by this process: a cache file could have been
  // damaged since another process wrote it.
  StatusOr<std::string> sha = HashOf(cached);
  if (sha.ok() && *sha == blob.sha256()) return cached;
  return std::nullopt;
}

std::string BlobCache::PartPath() const {
  return (fs::path(dir_) / (incoming_.sha256() + ".part." + std::to_string(getpid()))).string();
}

Status BlobCache::Begin(const proto::BlobRef& blob) {
  if (out_) {
    out_.reset();
    std::error_code ec;
    fs::remove(PartPath(), ec);
  }
  if (!IsSha256Hex(blob.sha256())) {
    return InvalidArgument("a blob hash of " + std::to_string(blob.sha256().size()) +
                           " bytes that is not 64 lower-case hex digits");
  }
  if (blob.size() > max_bytes_) {
    return InvalidArgument("blob " + blob.sha256().substr(0, 12) + " (" + blob.path() + ") is " +
                           std::to_string(blob.size()) +
                           " bytes, more than this worker's limit of " +
                           std::to_string(max_bytes_));
  }
  incoming_ = blob;
  received_ = 0;
  const std::string tmp = PartPath();
  out_ = std::make_unique<std::ofstream>(tmp, std::ios::binary | std::ios::trunc);
  if (!*out_) return Unavailable(tmp + ": cannot write to the cache");
  return Status::Ok();
}

Status BlobCache::Append(uint64_t offset, const std::string& data) {
  if (!out_) return FailedPrecondition("no blob being received");
  if (offset != received_) {
    return DataLoss("blob " + incoming_.sha256() + ": chunk at " + std::to_string(offset) +
                    ", expected " + std::to_string(received_));
  }
  // Checked before writing: a coordinator cannot fill the disk beyond what
  // the task said the blob holds.
  if (data.size() > incoming_.size() - received_) {
    return DataLoss("blob " + incoming_.sha256() + ": more than its " +
                    std::to_string(incoming_.size()) + " bytes sent");
  }
  out_->write(data.data(), static_cast<std::streamsize>(data.size()));
  if (!*out_) return Unavailable("cache write failed for " + incoming_.sha256());
  received_ += data.size();
  return Status::Ok();
}

StatusOr<std::string> BlobCache::Finish() {
  if (!out_) return FailedPrecondition("no blob being received");
  out_->close();
  out_.reset();
  const std::string tmp = PartPath();
  const std::string final_path = (fs::path(dir_) / incoming_.sha256()).string();
  MIXQ_ASSIGN_OR_RETURN(std::string sha, Sha256File(tmp));
  if (sha != incoming_.sha256()) {
    std::error_code ec;
    fs::remove(tmp, ec);
    return DataLoss("blob " + incoming_.sha256() + ": received bytes hash to " + sha);
  }
  std::error_code ec;
  fs::rename(tmp, final_path, ec);
  if (ec) return Unavailable(final_path + ": " + ec.message());
  return final_path;
}

}  // namespace mixq
