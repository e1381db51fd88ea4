// The files of an image-folder dataset (`format: images`, schemas/dataset.md)
// in the order every process numbers them. Two forms:
//   * a folder of class folders, numbered as torchvision's ImageFolder does:
//     classes are the sub-folders sorted by name (label = position), and each
//     class's files are found recursively, folders in sorted path order and
//     files sorted by name within each, so that index i names the same image
//     in mixq and in a torchvision evaluation of the same folder;
//   * a list file of `path label` lines (paths relative to the list file's
//     folder; blank lines and lines starting with '#' skipped; the label is the
//     last whitespace-separated field, so paths may hold spaces).
// JPEG and PNG files are taken (.jpg, .jpeg, .png in any case); a file with
// another extension torchvision would load as an image (.bmp, .ppm, .pgm,
// .tif, .tiff, .webp) is refused rather than skipped, because skipping it
// would renumber every sample after it; other files are ignored as
// torchvision ignores them.
#ifndef MIXQ_COMMON_IMAGE_LISTING_H_
#define MIXQ_COMMON_IMAGE_LISTING_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace mixq {

// The most files one image dataset may list: 2^24 (16.7 million, past
// ImageNet's 1.28 million training images). Counted while listing, before
// the list grows past it.
inline constexpr int64_t kMaxImageFiles = int64_t{1} << 24;

struct ImageFile {
  std::string path;  // as found (folder form) or resolved against the list's folder
  int64_t label = 0;
  // What messages call the file when `path` is a copy (a worker's cache
  // names files by hash): its path under the dataset's folder. Empty: `path`.
  std::string name;
  // A segmentation dataset: the sample's label mask (Dataset::Open: the
  // masks folder's `<stem>.png`; a worker: its cached copy, empty until
  // fetched) and what messages call it (empty: `mask`).
  std::string mask;
  std::string mask_name;
};

struct ImageListing {
  std::vector<ImageFile> files;
  std::vector<std::string> classes;  // the folder form's class names; empty for a list file
};

// Lists the folder or list file at `path`. Errors name the file or folder:
// NotFound (no such path), InvalidArgument (a folder without class folders,
// a class folder with no JPEG or PNG file, an unsupported image format, a
// list line without a label or with a label that is not a non-negative
// integer, naming its line, a folder that cannot be read, with the system's
// reason), and past kMaxImageFiles.
StatusOr<ImageListing> ListImages(const std::string& path);

// The JPEG and PNG files directly in `folder`, sorted by name, each with
// label -1 (a detection or segmentation set, scored against annotations or
// masks, not labels). Sub-folders and other files are ignored; an
// unsupported image format is refused as above; so is a folder with no image.
StatusOr<ImageListing> ListUnlabelledImages(const std::string& folder);

}  // namespace mixq

#endif  // MIXQ_COMMON_IMAGE_LISTING_H_
