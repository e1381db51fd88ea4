#include "common/image_samples.h"

namespace mixq {

std::pair<int64_t, int64_t> FixedImageSize(const ImageResizeCrop& how) {
  if (how.crop_height > 0) return {how.crop_height, how.crop_width};
  if (how.resize_shorter <= 0 && how.resize_height > 0) {
    return {how.resize_height, how.resize_width};
  }
  return {0, 0};
}

ImageSamples::ImageSamples(std::vector<ImageFile> files, ImageResizeCrop how, size_t cache_bytes)
    : files_(std::move(files)), how_(how), cache_bytes_(cache_bytes) {}

void ImageSamples::SetPath(int64_t index, const std::string& path) {
  if (index >= 0 && index < size()) files_[static_cast<size_t>(index)].path = path;
}

void ImageSamples::SetMaskPath(int64_t index, const std::string& path) {
  if (index >= 0 && index < size()) files_[static_cast<size_t>(index)].mask = path;
}

StatusOr<Image> ImageSamples::Load(int64_t index, int64_t height, int64_t width) const {
  const ImageFile& file = files_[static_cast<size_t>(index)];
  if (file.path.empty()) {
    return FailedPrecondition("image sample " + std::to_string(index) +
                              " is not on this machine (its shard's files were not fetched)");
  }
  StatusOr<Image> decoded = DecodeImageFile(file.path, how_.color);
  if (!decoded.ok()) {
    // The file's content is what it is: no retry elsewhere decodes it
    // (InvalidArgument, not DataLoss), and a copy is named as the original.
    std::string message = decoded.status().message();
    if (!file.name.empty() && file.name != file.path) {
      const size_t at = message.find(file.path);
      if (at != std::string::npos) message.replace(at, file.path.size(), file.name);
    }
    return InvalidArgument(message + " (sample " + std::to_string(index) + ")");
  }
  Image image = std::move(*decoded);
  if (how_.resize_shorter > 0) {
    const auto [h, w] = ShorterSideSize(image.height, image.width, how_.resize_shorter);
    if (h != image.height || w != image.width) {
      image = ResizeImage(image, h, w, how_.interpolation);
    }
  } else if (how_.resize_height > 0) {
    if (how_.resize_height != image.height || how_.resize_width != image.width) {
      image = ResizeImage(image, how_.resize_height, how_.resize_width, how_.interpolation);
    }
  } else if (how_.crop_height <= 0 && (image.height != height || image.width != width)) {
    // Neither resize nor crop given: the model's input size decides.
    image = ResizeImage(image, height, width, how_.interpolation);
  }
  if (image.height != height || image.width != width) {
    if (how_.crop_height <= 0 && how_.resize_shorter <= 0) {
      return InvalidArgument((file.name.empty() ? file.path : file.name) +
                             ": preprocessing gives " + std::to_string(image.height) + "x" +
                             std::to_string(image.width) + " pixels, the model takes " +
                             std::to_string(height) + "x" + std::to_string(width));
    }
    image = CenterCrop(image, height, width);
  }
  return image;
}

StatusOr<std::shared_ptr<const Image>> ImageSamples::Get(int64_t index, int64_t height,
                                                         int64_t width) const {
  if (index < 0 || index >= size()) {
    return OutOfRange("image sample " + std::to_string(index) + " of " + std::to_string(size()));
  }
  if (height <= 0 || width <= 0) {
    return InvalidArgument("image sample size " + std::to_string(height) + "x" +
                           std::to_string(width) + " is not positive");
  }
  const std::string key =
      std::to_string(index) + ":" + std::to_string(height) + "x" + std::to_string(width);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(key);
    if (it != cache_.end()) {
      order_.splice(order_.begin(), order_, it->second.position);
      return it->second.image;
    }
  }
  MIXQ_ASSIGN_OR_RETURN(Image loaded, Load(index, height, width));
  auto image = std::make_shared<const Image>(std::move(loaded));
  const size_t bytes = image->pixels.size();
  if (bytes > cache_bytes_) return image;
  std::lock_guard<std::mutex> lock(mu_);
  if (cache_.count(key) != 0) return image;  // another thread loaded it meanwhile
  while (cached_bytes_ + bytes > cache_bytes_ && !order_.empty()) {
    auto victim = cache_.find(order_.back());
    cached_bytes_ -= victim->second.image->pixels.size();
    cache_.erase(victim);
    order_.pop_back();
  }
  order_.push_front(key);
  cache_[key] = {image, order_.begin()};
  cached_bytes_ += bytes;
  return image;
}

}  // namespace mixq
