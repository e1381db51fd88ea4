#include "common/file_bytes.h"

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <system_error>

namespace mixq {
namespace {

struct GzClose {
  void operator()(gzFile_s* f) const { gzclose(f); }
};
using GzHandle = std::unique_ptr<gzFile_s, GzClose>;

constexpr unsigned kChunkBytes = 1u << 20;

}  // namespace

StatusOr<std::vector<uint8_t>> ReadFileBytes(const std::string& path, uint64_t max_bytes) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status)) return NotFound(path + ": no such file");
  if (std::filesystem::is_directory(status)) {
    return InvalidArgument(path + ": is a directory, not a file");
  }

  errno = 0;
  GzHandle file(gzopen(path.c_str(), "rb"));
  if (file == nullptr) {
    return FailedPrecondition(
        path + ": cannot open: " + (errno != 0 ? std::strerror(errno) : "out of memory"));
  }
  gzbuffer(file.get(), 256 * 1024);

  std::vector<uint8_t> bytes;
  for (;;) {
    const size_t old_size = bytes.size();
    bytes.resize(old_size + kChunkBytes);
    const int n = gzread(file.get(), bytes.data() + old_size, kChunkBytes);
    if (n < 0) {
      int code = 0;
      const char* what = gzerror(file.get(), &code);
      return DataLoss(path + ": corrupt gzip data after " + std::to_string(old_size) +
                      " bytes: " + what);
    }
    bytes.resize(old_size + static_cast<size_t>(n));
    if (n == 0) break;
    if (bytes.size() > max_bytes) {
      return InvalidArgument(path + ": holds more than " + std::to_string(max_bytes) +
                             " bytes (decompressed), the limit of a data file");
    }
  }
  // A gzip stream cut short reads as a clean end of file; zlib only reports
  // it through the error state.
  int code = Z_OK;
  const char* what = gzerror(file.get(), &code);
  if (code != Z_OK) {
    return DataLoss(path + ": truncated or corrupt gzip stream after " +
                    std::to_string(bytes.size()) + " bytes: " + what);
  }
  return bytes;
}

}  // namespace mixq
