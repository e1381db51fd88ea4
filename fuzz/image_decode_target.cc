// Fuzz target: a JPEG or PNG file as an image-folder dataset holds it,
// through the decoders (common/image_codec.h DecodeImage, in both colour
// modes) and, when it decodes, torchvision's Resize and CenterCrop
// (common/image_transform.h) with each interpolation.
//
// Input: 4 header bytes, then the file. The header picks the sizes of the
// transforms, each (byte & 63) + 1 so they stay at most 64 x 64: byte 0 and
// 1 the resize's height and width, byte 2 and 3 the crop's height and width
// (a crop larger than the image pads it). Seeds: fuzz/make_image_seeds.py.
//
// Checked beyond not crashing: RGB and grey decoding accept or refuse the
// same file with the same status; an accepted image has the mode's channels,
// both sides > 0, no more pixels than the limit and exactly its
// pixels' bytes, and its grey pixels are the luma of its RGB ones (PIL's
// convert("L"), which leaves a grey source as it is). Every transform gives
// the size asked for; resizing or cropping to the image's own size gives the
// image back.
//
// Pixel limit: a header declaring 8192 x 8192 (kMaxImagePixels) makes the
// decoders allocate 192 MiB before the data turns out to be missing, and a
// corrupt JPEG of that size decodes whole (libjpeg makes up the missing
// data, and PIL accepts the file too) in 3 s under the sanitizers. The peak,
// 0.75 GB, stays under libFuzzer's -rss_limit_mb of 2048, but with such a
// seed the target ran 26 inputs a second (822 without). So it decodes with a
// lower limit of its
// own, DecodeImage's max_pixels = kMaxFuzzPixels, which the same check from
// the header enforces; the product's own limit is tested in
// tests/common/image_codec_test.cc. The transforms run on images of at most
// kMaxTransformPixels: a resize reads every source pixel through a filter as
// wide as the shrink (0.7 s for a 1024 x 1024 source under the fuzzer's
// instrumentation), and a larger source only lengthens the same loops.
#include <algorithm>
#include <cstdint>
#include <string>

#include "common/image_codec.h"
#include "common/image_transform.h"
#include "fuzz/fuzz_check.h"

namespace {

constexpr size_t kHeaderBytes = 4;
constexpr int64_t kMaxFuzzPixels = int64_t{1} << 20;       // 1024 x 1024
constexpr int64_t kMaxTransformPixels = int64_t{1} << 16;  // 256 x 256

int64_t SideFrom(uint8_t byte) { return (byte & 63) + 1; }

// PIL's convert("L") of one RGB pixel, restated from common/image_codec.h
// as the oracle of the grey decode.
uint8_t Luma(const uint8_t* rgb) {
  return static_cast<uint8_t>((rgb[0] * 19595 + rgb[1] * 38470 + rgb[2] * 7471 + 0x8000) >> 16);
}

void CheckShape(const mixq::Image& image, int64_t height, int64_t width, int64_t channels,
                const std::string& what) {
  MIXQ_FUZZ_CHECK(image.height == height && image.width == width && image.channels == channels,
                  what + " is " + std::to_string(image.height) + "x" + std::to_string(image.width) +
                      "x" + std::to_string(image.channels) + ", not " + std::to_string(height) +
                      "x" + std::to_string(width) + "x" + std::to_string(channels));
  MIXQ_FUZZ_CHECK(static_cast<int64_t>(image.pixels.size()) == height * width * channels,
                  what + " holds " + std::to_string(image.pixels.size()) + " bytes");
}

void CheckDecoded(const mixq::Image& rgb, const mixq::Image& grey) {
  MIXQ_FUZZ_CHECK(rgb.height > 0 && rgb.width > 0, "a decoded image with a side of 0");
  MIXQ_FUZZ_CHECK(rgb.height <= kMaxFuzzPixels / rgb.width, "a decoded image past max_pixels");
  CheckShape(rgb, rgb.height, rgb.width, 3, "the RGB image");
  CheckShape(grey, rgb.height, rgb.width, 1, "the grey image");
  for (int64_t i = 0; i < rgb.height * rgb.width; ++i) {
    MIXQ_FUZZ_CHECK(grey.pixels[i] == Luma(&rgb.pixels[i * 3]),
                    "grey pixel " + std::to_string(i) + " is not the luma of the RGB one");
  }
}

void Transform(const mixq::Image& image, const uint8_t* header) {
  const int64_t height = SideFrom(header[0]), width = SideFrom(header[1]);
  const int64_t crop_height = SideFrom(header[2]), crop_width = SideFrom(header[3]);
  const int64_t c = image.channels;
  CheckShape(mixq::CenterCrop(image, crop_height, crop_width), crop_height, crop_width, c,
             "the crop");
  const bool small = image.height <= 64 && image.width <= 64;
  if (small) {
    MIXQ_FUZZ_CHECK(mixq::CenterCrop(image, image.height, image.width).pixels == image.pixels,
                    "a crop to the image's own size changes it");
  }
  for (mixq::Interpolation how : {mixq::Interpolation::kNearest, mixq::Interpolation::kBilinear,
                                  mixq::Interpolation::kBicubic}) {
    const std::string what =
        "the resize (interpolation " + std::to_string(static_cast<int>(how)) + ")";
    const mixq::Image resized = mixq::ResizeImage(image, height, width, how);
    CheckShape(resized, height, width, c, what);
    CheckShape(mixq::CenterCrop(resized, crop_height, crop_width), crop_height, crop_width, c,
               "the crop of " + what);
    if (small) {
      MIXQ_FUZZ_CHECK(
          mixq::ResizeImage(image, image.height, image.width, how).pixels == image.pixels,
          what + " to the image's own size changes it");
    }
  }
}

void Decode(const uint8_t* header, const uint8_t* file, size_t size) {
  auto rgb = mixq::DecodeImage(file, size, "fuzz.img", mixq::ColorMode::kRgb, kMaxFuzzPixels);
  auto grey = mixq::DecodeImage(file, size, "fuzz.img", mixq::ColorMode::kGray, kMaxFuzzPixels);
  MIXQ_FUZZ_CHECK(rgb.ok() == grey.ok() && rgb.status().code() == grey.status().code() &&
                      rgb.status().message() == grey.status().message(),
                  "RGB and grey decoding differ: '" + rgb.status().message() + "' and '" +
                      grey.status().message() + "'");
  if (!rgb.ok()) {
    mixq::fuzz::CheckRefusal(rgb.status(), "image decoder");
    return;
  }
  CheckDecoded(*rgb, *grey);
  // The dataset's own step before the crop: the shorter side to a size, the
  // other no shorter.
  const int64_t shorter = SideFrom(header[0]);
  const auto [h, w] = mixq::ShorterSideSize(rgb->height, rgb->width, shorter);
  MIXQ_FUZZ_CHECK((rgb->width > rgb->height ? h : w) == shorter && std::min(h, w) == shorter,
                  "ShorterSideSize gives " + std::to_string(h) + "x" + std::to_string(w));
  if (rgb->height * rgb->width > kMaxTransformPixels) return;
  Transform(*rgb, header);
  Transform(*grey, header);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < kHeaderBytes) return 0;
  mixq::fuzz::CatchEscapes([&] { Decode(data, data + kHeaderBytes, size - kHeaderBytes); });
  return 0;
}
