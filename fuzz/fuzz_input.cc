#include "fuzz/fuzz_input.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string_view>

#include "fuzz/fuzz_check.h"

namespace mixq::fuzz {

std::vector<std::string> SplitParts(const uint8_t* data, size_t size, size_t max_parts) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::string_view separator(kPartSeparator);
  std::vector<std::string> parts;
  size_t begin = 0;
  while (parts.size() + 1 < max_parts) {
    const size_t at = text.find(separator, begin);
    if (at == std::string_view::npos) break;
    parts.emplace_back(text.substr(begin, at - begin));
    begin = at + separator.size();
  }
  parts.emplace_back(text.substr(begin));
  return parts;
}

std::string JoinParts(const std::vector<std::string>& parts) {
  std::string joined;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) joined += kPartSeparator;
    joined += parts[i];
  }
  return joined;
}

ScratchFolder::ScratchFolder() {
  namespace fs = std::filesystem;
  std::error_code error;
  fs::path base =
      fs::is_directory("/dev/shm", error) ? fs::path("/dev/shm") : fs::temp_directory_path(error);
  if (error) Fail("no folder for scratch files: " + error.message());
  path_ = (base / ("mixq-fuzz-" + std::to_string(getpid()))).string();
  fs::create_directories(path_, error);
  if (error) Fail("cannot make " + path_ + ": " + error.message());
}

ScratchFolder::~ScratchFolder() {
  std::error_code error;
  std::filesystem::remove_all(path_, error);
}

void ScratchFolder::Reset() {
  namespace fs = std::filesystem;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(path_, error)) {
    fs::remove_all(entry.path(), error);
    if (error) Fail("cannot empty " + path_ + ": " + error.message());
  }
  if (error) Fail("cannot list " + path_ + ": " + error.message());
}

std::string ScratchFolder::Write(const std::string& name, const std::string& bytes) {
  const std::string file = path_ + "/" + name;
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) Fail("cannot write " + file);
  return file;
}

void WriteSeedsIfAsked(const std::vector<std::pair<std::string, std::string>>& seeds) {
  const char* dir = std::getenv("MIXQ_FUZZ_WRITE_SEEDS");
  if (dir == nullptr || *dir == '\0') return;
  std::filesystem::create_directories(dir);
  for (const auto& [name, bytes] : seeds) {
    const std::filesystem::path path = std::filesystem::path(dir) / name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) {
      std::fprintf(stderr, "cannot write %s\n", path.c_str());
      std::exit(1);
    }
  }
  std::printf("wrote %zu seeds to %s\n", seeds.size(), dir);
  std::exit(0);
}

}  // namespace mixq::fuzz
