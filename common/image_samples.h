// The samples of an image-folder dataset as a model takes them: each file
// decoded (image_codec.h), resized and center-cropped (image_transform.h) as
// the dataset's preprocessing says, on demand, one sample at a time, and kept
// in a cache bounded in bytes (least recently used out first), because a
// search evaluates the same shard for many configs while decoding a photo
// costs about as much as an INT8 pass over it. Only the files a caller asks
// for are read, so a worker needs only its shard's files.
//
// Thread-safe: Get() may be called concurrently (the cache takes a lock;
// decoding happens outside it).
#ifndef MIXQ_COMMON_IMAGE_SAMPLES_H_
#define MIXQ_COMMON_IMAGE_SAMPLES_H_

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/image_codec.h"
#include "common/image_listing.h"
#include "common/image_transform.h"
#include "common/status.h"

namespace mixq {

// The default bound of the decoded-image cache: 512 MiB, about 3,400
// 224x224 RGB samples.
inline constexpr size_t kImageCacheBytes = size_t{512} << 20;

// How a file becomes the model's pixels, in this order, as torchvision's
// Resize / CenterCrop on a PIL image would do it.
struct ImageResizeCrop {
  ColorMode color = ColorMode::kRgb;
  // Resize: `resize_shorter` > 0 sets the shorter side (torchvision
  // Resize(int)); else `resize_height` x `resize_width` when > 0 (exact);
  // else none.
  int64_t resize_shorter = 0;
  int64_t resize_height = 0, resize_width = 0;
  Interpolation interpolation = Interpolation::kBilinear;
  // Center crop to this size when > 0.
  int64_t crop_height = 0, crop_width = 0;
};

// The size every sample comes out at when the preprocessing fixes it (the
// crop, else an exact resize); {0, 0} when it does not, and the model's
// input size decides (Get()'s height and width).
std::pair<int64_t, int64_t> FixedImageSize(const ImageResizeCrop& how);

class ImageSamples {
 public:
  // `files[i].path` empty: sample i is not on this machine (a worker holds
  // only its shard's files); asking for it is FailedPrecondition.
  ImageSamples(std::vector<ImageFile> files, ImageResizeCrop how,
               size_t cache_bytes = kImageCacheBytes);

  int64_t size() const { return static_cast<int64_t>(files_.size()); }
  // Names sample `index`'s file (a worker's newly fetched copy). Not
  // thread-safe: no Get() may run meanwhile. Out of range: ignored. The
  // cache keeps what it holds: a file is named by its content, so a new
  // path of the same sample holds the same pixels.
  void SetPath(int64_t index, const std::string& path);
  // Names sample `index`'s label mask (ImageFile::mask); as SetPath.
  void SetMaskPath(int64_t index, const std::string& path);
  const std::vector<ImageFile>& files() const { return files_; }

  // Sample `index` as 8-bit pixels of `height` x `width` (HWC; 3 channels in
  // RGB order, or 1 for ColorMode::kGray). Without a resize or a crop in the
  // preprocessing, the image is resized exactly to that size; with them, the
  // crop (or exact resize) must give it. Errors name the file: a decoding
  // failure (image_codec.h) or a crop that leaves another size.
  StatusOr<std::shared_ptr<const Image>> Get(int64_t index, int64_t height, int64_t width) const;

 private:
  StatusOr<Image> Load(int64_t index, int64_t height, int64_t width) const;

  std::vector<ImageFile> files_;
  ImageResizeCrop how_;
  size_t cache_bytes_;

  // LRU cache: the most recent key at the front of order_.
  struct Entry {
    std::shared_ptr<const Image> image;
    std::list<std::string>::iterator position;
  };
  mutable std::mutex mu_;
  mutable std::list<std::string> order_;
  mutable std::unordered_map<std::string, Entry> cache_;
  mutable size_t cached_bytes_ = 0;
};

}  // namespace mixq

#endif  // MIXQ_COMMON_IMAGE_SAMPLES_H_
