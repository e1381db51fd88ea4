// The list a coordinator sends its workers for an image-folder dataset: one
// line per sample, in the dataset's order, naming the file by content
// (`<sha256> <bytes> <label> <name>`, the name being the file's path under
// the dataset's folder, for messages only), after a first line
// `mixq-image-manifest 1`.
// A worker reads it (as a blob, fetched once) and then fetches only the
// files of its task's slice, by their hashes, so that a 50,000-image
// validation set never travels whole to every worker (schemas/protocol.md).
#ifndef MIXQ_COMMON_IMAGE_MANIFEST_H_
#define MIXQ_COMMON_IMAGE_MANIFEST_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace mixq {

struct ImageManifestEntry {
  std::string sha256;  // 64 lowercase hex digits
  uint64_t size = 0;   // bytes
  int64_t label = 0;
  std::string name;  // for messages; no control characters (a newline would end the line)
};

std::string FormatImageManifest(const std::vector<ImageManifestEntry>& entries);

// An image folder or list file as a manifest: ListImages(images_path), each
// file hashed, named by its path under the folder (or the list's folder).
// `unlabelled`: ListUnlabelledImages(images_path) instead (a detection or
// segmentation set), every label 0 in the manifest.
struct BuiltImageManifest {
  std::vector<ImageManifestEntry> entries;
  std::vector<std::string> paths;  // entries[i]'s file on this machine
  std::string text;                // FormatImageManifest(entries)
  std::string sha256;              // of `text`: the dataset's content
};
StatusOr<BuiltImageManifest> BuildImageManifest(const std::string& images_path,
                                                bool unlabelled = false);

// Files given in order (e.g. a segmentation dataset's masks, or an
// unlabelled image folder), each hashed. NotFound or InvalidArgument naming
// a file that cannot be read or is past kMaxBlobBytes.
struct ManifestFile {
  std::string path;  // on this machine
  int64_t label = 0;
  std::string name;  // for messages
};
StatusOr<BuiltImageManifest> BuildFileManifest(std::vector<ManifestFile> files);

// Writes the manifest's text to `dir`/<sha256>.manifest (creating `dir`;
// whole or not at all: under another name first, then renamed) unless it is
// there already, and returns that path. Unavailable naming the file when it
// cannot be written.
StatusOr<std::string> SaveImageManifest(const BuiltImageManifest& manifest, const std::string& dir);

// Parses a manifest file; a manifest is data from the network, so every
// line is checked: the header, 64 hex digits, a size no larger than
// kMaxBlobBytes, a non-negative label, and no more than kMaxImageFiles
// lines. InvalidArgument naming `path` and the line otherwise.
StatusOr<std::vector<ImageManifestEntry>> ReadImageManifest(const std::string& path);

}  // namespace mixq

#endif  // MIXQ_COMMON_IMAGE_MANIFEST_H_
