#include "common/image_manifest.h"

#include <cctype>
#include <filesystem>
#include <fstream>

#include "common/image_listing.h"
#include "common/resource_limits.h"
#include "common/sha256.h"

namespace mixq {
namespace {

constexpr char kHeader[] = "mixq-image-manifest 1";

// A decimal number of at most 18 digits (well within int64), or -1.
int64_t Decimal(const std::string& text) {
  if (text.empty() || text.size() > 18) return -1;
  int64_t value = 0;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return -1;
    value = value * 10 + (c - '0');
  }
  return value;
}

}  // namespace

std::string FormatImageManifest(const std::vector<ImageManifestEntry>& entries) {
  std::string text = std::string(kHeader) + "\n";
  for (const ImageManifestEntry& e : entries) {
    std::string name = e.name;
    for (char& c : name) {
      if (static_cast<unsigned char>(c) < 0x20) c = '?';
    }
    text +=
        e.sha256 + " " + std::to_string(e.size) + " " + std::to_string(e.label) + " " + name + "\n";
  }
  return text;
}

StatusOr<BuiltImageManifest> BuildFileManifest(std::vector<ManifestFile> files) {
  BuiltImageManifest built;
  built.entries.reserve(files.size());
  built.paths.reserve(files.size());
  for (ManifestFile& file : files) {
    std::error_code ec;
    const uint64_t size = std::filesystem::file_size(file.path, ec);
    if (ec) return NotFound(file.path + ": " + ec.message());
    if (size > kMaxBlobBytes) {
      return InvalidArgument(file.path + ": " + std::to_string(size) +
                             " bytes, more than the limit of a job's file");
    }
    MIXQ_ASSIGN_OR_RETURN(std::string sha, Sha256File(file.path));
    built.entries.push_back({std::move(sha), size, file.label, std::move(file.name)});
    built.paths.push_back(std::move(file.path));
  }
  built.text = FormatImageManifest(built.entries);
  built.sha256 = Sha256Hex(built.text);
  return built;
}

StatusOr<BuiltImageManifest> BuildImageManifest(const std::string& images_path, bool unlabelled) {
  MIXQ_ASSIGN_OR_RETURN(ImageListing listing,
                        unlabelled ? ListUnlabelledImages(images_path) : ListImages(images_path));
  std::filesystem::path root(images_path);
  std::error_code ec;
  if (!std::filesystem::is_directory(root, ec)) root = root.parent_path();
  std::vector<ManifestFile> files;
  files.reserve(listing.files.size());
  for (ImageFile& file : listing.files) {
    std::string name = std::filesystem::path(file.path).lexically_relative(root).string();
    if (name.empty() || name.rfind("..", 0) == 0) name = file.path;
    files.push_back({std::move(file.path), unlabelled ? 0 : file.label, std::move(name)});
  }
  return BuildFileManifest(std::move(files));
}

StatusOr<std::string> SaveImageManifest(const BuiltImageManifest& manifest,
                                        const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const std::string path = (std::filesystem::path(dir) / (manifest.sha256 + ".manifest")).string();
  if (std::filesystem::exists(path, ec)) return path;
  const std::string partial = path + ".partial";
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    out << manifest.text;
    if (!out) return Unavailable(partial + ": cannot write the image manifest");
  }
  std::filesystem::rename(partial, path, ec);
  if (ec) return Unavailable(path + ": cannot write the image manifest: " + ec.message());
  return path;
}

StatusOr<std::vector<ImageManifestEntry>> ReadImageManifest(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound(path + ": cannot open the image manifest");
  std::string line;
  if (!std::getline(in, line) || line != kHeader) {
    return InvalidArgument(path + ": not an image manifest (first line is not '" +
                           std::string(kHeader) + "')");
  }
  std::vector<ImageManifestEntry> entries;
  for (int64_t number = 2; std::getline(in, line); ++number) {
    const std::string where = path + ":" + std::to_string(number);
    if (static_cast<int64_t>(entries.size()) >= kMaxImageFiles) {
      return InvalidArgument(where + ": more than " + std::to_string(kMaxImageFiles) + " images");
    }
    const size_t first = line.find(' ');
    const size_t second = first == std::string::npos ? first : line.find(' ', first + 1);
    const size_t third = second == std::string::npos ? second : line.find(' ', second + 1);
    if (third == std::string::npos) {
      return InvalidArgument(where + ": expected 'sha256 bytes label name'");
    }
    ImageManifestEntry e;
    e.sha256 = line.substr(0, first);
    const int64_t size = Decimal(line.substr(first + 1, second - first - 1));
    e.label = Decimal(line.substr(second + 1, third - second - 1));
    e.name = line.substr(third + 1, 4096);
    if (!IsSha256Hex(e.sha256) || size < 0 || static_cast<uint64_t>(size) > kMaxBlobBytes ||
        e.label < 0) {
      return InvalidArgument(where + ": expected 'sha256 bytes label name', got '" +
                             line.substr(0, 120) + "'");
    }
    e.size = static_cast<uint64_t>(size);
    entries.push_back(std::move(e));
  }
  if (in.bad()) return DataLoss(path + ": read error");
  if (entries.empty()) return InvalidArgument(path + ": an image manifest without images");
  return entries;
}

}  // namespace mixq
