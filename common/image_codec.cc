#include "common/image_codec.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <system_error>

#include "common/image_decoders.h"
#include "common/resource_limits.h"

namespace mixq {
namespace {

constexpr uint8_t kJpegSignature[] = {0xFF, 0xD8, 0xFF};
constexpr uint8_t kPngSignature[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

template <size_t N>
bool StartsWith(const uint8_t* data, size_t size, const uint8_t (&signature)[N]) {
  return size >= N && std::equal(signature, signature + N, data);
}

// ITU-R 601-2 luma in PIL's 16-bit fixed point: the weights 0.299, 0.587 and
// 0.114 times 2^16, rounded (they sum to exactly 2^16), and a half added
// before the shift. Equal to PIL's convert("L") on all 2^24 colours.
uint8_t Luma(const uint8_t* rgb) {
  return static_cast<uint8_t>((rgb[0] * 19595 + rgb[1] * 38470 + rgb[2] * 7471 + 0x8000) >> 16);
}

Image ToMode(Image image, ColorMode mode) {
  const int64_t channels = mode == ColorMode::kRgb ? 3 : 1;
  if (image.channels == channels) return image;
  const int64_t count = image.height * image.width;
  Image out{image.height, image.width, channels, std::vector<uint8_t>(count * channels)};
  for (int64_t i = 0; i < count; ++i) {
    if (channels == 3) {
      std::fill_n(&out.pixels[i * 3], 3, image.pixels[i]);
    } else {
      out.pixels[i] = Luma(&image.pixels[i * 3]);
    }
  }
  return out;
}

std::string HexBytes(const uint8_t* data, size_t size) {
  std::string hex;
  for (size_t i = 0; i < size; ++i) {
    char byte[4];
    std::snprintf(byte, sizeof byte, "%s%02x", i == 0 ? "" : " ", data[i]);
    hex += byte;
  }
  return hex;
}

struct FileClose {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

// The file's bytes as they are: not common/file_bytes.h's ReadFileBytes,
// which inflates gzip files, where PIL would refuse a gzip'd JPEG.
StatusOr<std::vector<uint8_t>> ReadImageBytes(const std::string& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status)) return NotFound(path + ": no such file");
  if (std::filesystem::is_directory(status)) {
    return InvalidArgument(path + ": is a directory, not an image file");
  }
  const uintmax_t file_bytes = std::filesystem::file_size(path, ec);
  if (!ec && file_bytes > kMaxImageFileBytes) {
    return InvalidArgument(path + ": holds " + std::to_string(file_bytes) + " bytes, more than " +
                           std::to_string(kMaxImageFileBytes) + ", the limit of an image file");
  }
  errno = 0;
  std::unique_ptr<std::FILE, FileClose> file(std::fopen(path.c_str(), "rb"));
  if (file == nullptr) {
    return FailedPrecondition(path + ": cannot open: " + std::strerror(errno));
  }
  // Read in pieces, holding the limit as they come: a pipe or a special
  // file has no size to check first.
  constexpr size_t kPieceBytes = size_t{1} << 20;
  std::vector<uint8_t> bytes;
  for (;;) {
    const size_t old_size = bytes.size();
    bytes.resize(old_size + kPieceBytes);
    const size_t n = std::fread(bytes.data() + old_size, 1, kPieceBytes, file.get());
    bytes.resize(old_size + n);
    if (bytes.size() > kMaxImageFileBytes) {
      return InvalidArgument(path + ": holds more than " + std::to_string(kMaxImageFileBytes) +
                             " bytes, the limit of an image file");
    }
    if (n < kPieceBytes) break;
  }
  if (std::ferror(file.get())) {
    return FailedPrecondition(path + ": cannot read: " + std::strerror(errno));
  }
  return bytes;
}

}  // namespace

Status CheckImageDimensions(const std::string& name, int64_t height, int64_t width,
                            int64_t max_pixels) {
  const std::string size = std::to_string(width) + "x" + std::to_string(height);
  if (height <= 0 || width <= 0) {
    return InvalidArgument(name + ": declares an image of " + size + " pixels (width x height)");
  }
  // height * width > max_pixels, as a quotient so that nothing can overflow.
  if (height > max_pixels / width) {
    return InvalidArgument(name + ": declares an image of " + size +
                           " pixels (width x height), more than the limit of " +
                           std::to_string(max_pixels) + " pixels");
  }
  return Status::Ok();
}

StatusOr<Image> DecodeImage(const uint8_t* data, size_t size, const std::string& name,
                            ColorMode mode, int64_t max_pixels) {
  if (size == 0) return DataLoss(name + ": empty file, not a JPEG or PNG");
  max_pixels = std::min(max_pixels, kMaxImagePixels);
  Image image;
  if (StartsWith(data, size, kJpegSignature)) {
    MIXQ_ASSIGN_OR_RETURN(image, DecodeJpeg(data, size, name, max_pixels));
  } else if (StartsWith(data, size, kPngSignature)) {
    MIXQ_ASSIGN_OR_RETURN(image, DecodePng(data, size, name, max_pixels));
  } else {
    return InvalidArgument(name + ": not a JPEG or PNG (starts with bytes " +
                           HexBytes(data, std::min<size_t>(size, 8)) + ")");
  }
  return ToMode(std::move(image), mode);
}

StatusOr<Image> DecodeImageFile(const std::string& path, ColorMode mode) {
  MIXQ_ASSIGN_OR_RETURN(const std::vector<uint8_t> bytes, ReadImageBytes(path));
  return DecodeImage(bytes.data(), bytes.size(), path, mode);
}

}  // namespace mixq
