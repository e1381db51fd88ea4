#include "common/image_listing.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace mixq {
namespace {

namespace fs = std::filesystem;

// The largest list file read: 1 GiB, far past kMaxImageFiles lines of any
// sane path length.
constexpr uintmax_t kMaxListFileBytes = uintmax_t{1} << 30;

std::string Lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

enum class FileKind { kImage, kUnsupportedImage, kOther };

FileKind KindOf(const fs::path& path) {
  const std::string ext = Lower(path.extension().string());
  if (ext == ".jpg" || ext == ".jpeg" || ext == ".png") return FileKind::kImage;
  for (const char* other : {".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp"}) {
    if (ext == other) return FileKind::kUnsupportedImage;
  }
  return FileKind::kOther;
}

Status TooMany(const std::string& where) {
  return InvalidArgument(where + ": more than " + std::to_string(kMaxImageFiles) +
                         " images, the limit of one dataset");
}

// The images under one class folder, in torchvision's order: folders by
// sorted path, the files of each by sorted name.
Status ListClass(const fs::path& class_dir, int64_t label, std::vector<ImageFile>* files) {
  std::vector<fs::path> folders = {class_dir};
  std::error_code ec;
  for (fs::recursive_directory_iterator
           it(class_dir, fs::directory_options::follow_directory_symlink, ec),
       end;
       !ec && it != end; it.increment(ec)) {
    if (it->is_directory(ec)) folders.push_back(it->path());
  }
  if (ec) return InvalidArgument(class_dir.string() + ": cannot list: " + ec.message());
  std::sort(folders.begin(), folders.end(),
            [](const fs::path& a, const fs::path& b) { return a.string() < b.string(); });
  const size_t before = files->size();
  for (const fs::path& folder : folders) {
    std::vector<fs::path> names;
    for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->is_directory(ec)) continue;
      switch (KindOf(it->path())) {
        case FileKind::kImage:
          names.push_back(it->path());
          break;
        case FileKind::kUnsupportedImage:
          return InvalidArgument(it->path().string() +
                                 ": unsupported image format (mixq reads JPEG and PNG); convert "
                                 "it or move it out of the dataset");
        case FileKind::kOther:
          break;
      }
    }
    if (ec) return InvalidArgument(folder.string() + ": cannot list: " + ec.message());
    std::sort(names.begin(), names.end(), [](const fs::path& a, const fs::path& b) {
      return a.filename().string() < b.filename().string();
    });
    for (fs::path& name : names) {
      if (static_cast<int64_t>(files->size()) >= kMaxImageFiles) return TooMany(class_dir.string());
      files->push_back({name.string(), label, "", "", ""});
    }
  }
  if (files->size() == before) {
    return InvalidArgument(class_dir.string() + ": class folder with no JPEG or PNG file");
  }
  return Status::Ok();
}

StatusOr<ImageListing> ListFolder(const fs::path& root) {
  std::vector<std::string> classes;
  std::error_code ec;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_directory(ec)) classes.push_back(it->path().filename().string());
  }
  if (ec) return InvalidArgument(root.string() + ": cannot list: " + ec.message());
  if (classes.empty()) {
    return InvalidArgument(root.string() +
                           ": no class folders (an image dataset is a folder of class folders, "
                           "or a list file of 'path label' lines)");
  }
  std::sort(classes.begin(), classes.end());
  ImageListing listing;
  for (size_t label = 0; label < classes.size(); ++label) {
    MIXQ_RETURN_IF_ERROR(
        ListClass(root / classes[label], static_cast<int64_t>(label), &listing.files));
  }
  listing.classes = std::move(classes);
  return listing;
}

StatusOr<ImageListing> ListFile(const fs::path& list) {
  std::error_code ec;
  const uintmax_t size = fs::file_size(list, ec);
  if (ec) return InvalidArgument(list.string() + ": cannot read: " + ec.message());
  if (size > kMaxListFileBytes) {
    return InvalidArgument(list.string() + ": " + std::to_string(size) +
                           " bytes, more than a list file's limit of " +
                           std::to_string(kMaxListFileBytes));
  }
  std::ifstream in(list);
  if (!in) return InvalidArgument(list.string() + ": cannot open");
  const fs::path base = list.parent_path();
  ImageListing listing;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    const std::string where = list.string() + ":" + std::to_string(number);
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
    size_t first = 0;
    while (first < line.size() && std::isspace(static_cast<unsigned char>(line[first]))) ++first;
    if (first == line.size() || line[first] == '#') continue;
    const size_t split = line.find_last_of(" \t");
    if (split == std::string::npos || split < first) {
      return InvalidArgument(where + ": expected 'path label', got '" + line + "'");
    }
    const std::string label_text = line.substr(split + 1);
    std::string path = line.substr(first, split - first);
    while (!path.empty() && std::isspace(static_cast<unsigned char>(path.back()))) path.pop_back();
    int64_t label = 0;
    bool digits = !label_text.empty() && label_text.size() <= 18;
    for (char c : label_text) {
      digits = digits && std::isdigit(static_cast<unsigned char>(c));
      if (digits) label = label * 10 + (c - '0');
    }
    if (!digits) {
      return InvalidArgument(where + ": label '" + label_text + "' is not a non-negative integer");
    }
    if (KindOf(path) != FileKind::kImage) {
      return InvalidArgument(where + ": '" + path +
                             "' is not a JPEG or PNG file name (.jpg, .jpeg, .png)");
    }
    if (static_cast<int64_t>(listing.files.size()) >= kMaxImageFiles) return TooMany(list.string());
    const fs::path file(path);
    listing.files.push_back(
        {file.is_absolute() ? path : (base / file).lexically_normal().string(), label, "", "", ""});
  }
  if (in.bad()) return InvalidArgument(list.string() + ": read error");
  if (listing.files.empty()) return InvalidArgument(list.string() + ": lists no image");
  return listing;
}

}  // namespace

StatusOr<ImageListing> ListUnlabelledImages(const std::string& folder) {
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) return NotFound(folder + ": no such image folder");
  std::vector<fs::path> names;
  for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_directory(ec)) continue;
    switch (KindOf(it->path())) {
      case FileKind::kImage:
        if (static_cast<int64_t>(names.size()) >= kMaxImageFiles) return TooMany(folder);
        names.push_back(it->path());
        break;
      case FileKind::kUnsupportedImage:
        return InvalidArgument(it->path().string() +
                               ": unsupported image format (mixq reads JPEG and PNG)");
      case FileKind::kOther:
        break;
    }
  }
  if (ec) return InvalidArgument(folder + ": cannot list: " + ec.message());
  if (names.empty()) return InvalidArgument(folder + ": no JPEG or PNG file");
  std::sort(names.begin(), names.end(), [](const fs::path& a, const fs::path& b) {
    return a.filename().string() < b.filename().string();
  });
  ImageListing listing;
  for (fs::path& name : names) listing.files.push_back({name.string(), -1, "", "", ""});
  return listing;
}

StatusOr<ImageListing> ListImages(const std::string& path) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (ec || !fs::exists(status)) return NotFound(path + ": no such image folder or list file");
  if (fs::is_directory(status)) return ListFolder(path);
  return ListFile(path);
}

}  // namespace mixq
