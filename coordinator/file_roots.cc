#include "coordinator/file_roots.h"

#include <algorithm>
#include <filesystem>
#include <optional>

namespace mixq {
namespace {

namespace fs = std::filesystem;

// `path` absolute, with symlinks and `..` resolved as far as it exists and
// no trailing separator; nothing when that cannot be worked out (a folder on
// the way that cannot be searched): the caller then refuses the path.
std::optional<fs::path> Resolved(const std::string& path) {
  if (path.empty()) return std::nullopt;
  std::error_code ec;
  const fs::path absolute = fs::absolute(path, ec);
  if (ec) return std::nullopt;
  fs::path resolved = fs::weakly_canonical(absolute, ec);
  if (ec) return std::nullopt;
  resolved = resolved.lexically_normal();
  if (resolved.filename().empty() && resolved.has_relative_path()) {
    resolved = resolved.parent_path();
  }
  return resolved;
}

// Component-wise, so that /data2 is not under /data.
bool Under(const fs::path& path, const std::string& root) {
  const fs::path r(root);
  auto [in_root, in_path] = std::mismatch(r.begin(), r.end(), path.begin(), path.end());
  return in_root == r.end();
}

// An empty root (one not set) holds nothing.
bool UnderAny(const std::string& path, const std::vector<std::string>& roots) {
  const std::optional<fs::path> resolved = Resolved(path);
  if (!resolved) return false;
  return std::any_of(roots.begin(), roots.end(), [&](const std::string& root) {
    return !root.empty() && Under(*resolved, root);
  });
}

StatusOr<std::string> Folder(const std::string& dir, const std::string& option, bool create) {
  std::error_code ec;
  if (create) fs::create_directories(dir, ec);
  if (!fs::is_directory(dir, ec)) {
    return InvalidArgument(option + " '" + dir + "' is not a folder" +
                           (ec ? ": " + ec.message() : std::string()));
  }
  std::optional<fs::path> resolved = Resolved(dir);
  if (!resolved) return InvalidArgument(option + " '" + dir + "': cannot resolve the folder");
  return resolved->string();
}

}  // namespace

StatusOr<FileRoots> FileRoots::Make(const std::vector<std::string>& data_roots,
                                    const std::string& output_root, const std::string& own_dir) {
  FileRoots roots;
  for (const std::string& dir : data_roots) {
    MIXQ_ASSIGN_OR_RETURN(std::string root, Folder(dir, "--data-root", false));
    roots.data_roots_.push_back(std::move(root));
  }
  MIXQ_ASSIGN_OR_RETURN(roots.output_root_, Folder(output_root, "--output-root", true));
  MIXQ_ASSIGN_OR_RETURN(roots.own_dir_, Folder(own_dir, "calibration folder", true));
  return roots;
}

bool FileRoots::MayRead(const std::string& path) const {
  return UnderAny(path, data_roots_) || UnderAny(path, {own_dir_});
}

bool FileRoots::MayWrite(const std::string& path) const {
  return UnderAny(path, {output_root_, own_dir_});
}

Status FileRoots::CheckRead(const std::string& path, const std::string& what) const {
  if (MayRead(path)) return Status::Ok();
  return InvalidArgument(what + " '" + path +
                         "' is outside the coordinator's data roots (--data-root)");
}

Status FileRoots::CheckWrite(const std::string& path, const std::string& what) const {
  if (MayWrite(path)) return Status::Ok();
  return InvalidArgument(what + " '" + path +
                         "' is outside the coordinator's output root (--output-root)");
}

}  // namespace mixq
