#include "common/image_codec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "common/image_decoders.h"
#include "common/resource_limits.h"
#include "tests/common/data_files.h"
#include "tests/common/image_files.h"

namespace mixq {
namespace {

using test::TempDir;

// "N of M bytes differ, by up to D": where decoded pixels part from PIL's.
std::string Difference(const std::vector<uint8_t>& got, const std::vector<uint8_t>& want) {
  if (got.size() != want.size()) {
    return std::to_string(got.size()) + " bytes, PIL has " + std::to_string(want.size());
  }
  size_t count = 0;
  int largest = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const int d = std::abs(got[i] - want[i]);
    count += d != 0;
    largest = std::max(largest, d);
  }
  return std::to_string(count) + " of " + std::to_string(got.size()) + " bytes differ, by up to " +
         std::to_string(largest);
}

// Decodes every file of image_oracle.py's decode lines whose name starts
// with `prefix` into RGB and L, against PIL's convert("RGB") and ("L").
void ExpectDecodesLikePil(const test::PilOracle& pil, const std::string& prefix,
                          size_t expected_cases) {
  size_t cases = 0;
  for (const auto& line : pil.Lines("decode")) {
    const std::string& name = line.at(0);
    if (name.rfind(prefix, 0) != 0) continue;
    ++cases;
    for (ColorMode mode : {ColorMode::kRgb, ColorMode::kGray}) {
      const bool rgb = mode == ColorMode::kRgb;
      SCOPED_TRACE(name + (rgb ? " as RGB" : " as L"));
      StatusOr<Image> image = DecodeImageFile(pil.Path(line.at(1)), mode);
      ASSERT_TRUE(image.ok()) << image.status().ToString();
      EXPECT_EQ(image->height, std::stoll(line.at(2)));
      EXPECT_EQ(image->width, std::stoll(line.at(3)));
      EXPECT_EQ(image->channels, rgb ? 3 : 1);
      const std::vector<uint8_t> want = test::ReadAllBytes(pil.Path(name + (rgb ? ".rgb" : ".l")));
      EXPECT_TRUE(image->pixels == want) << Difference(image->pixels, want);
    }
  }
  // A case the script stopped writing would otherwise pass unnoticed.
  EXPECT_EQ(cases, expected_cases);
}

TEST(ImageCodec, JpegMatchesPilExactly) {
  const test::PilOracle& pil = test::PilOracle::Get();
  MIXQ_REQUIRE_PIL(pil);
  // Quality 90 at 4:2:0 and 4:4:4, progressive, grey: the IDCT and the
  // chroma upsampling are libjpeg-turbo's for both, so not a bit differs.
  ExpectDecodesLikePil(pil, "jpeg_", 4);
}

TEST(ImageCodec, PngMatchesPilExactly) {
  const test::PilOracle& pil = test::PilOracle::Get();
  MIXQ_REQUIRE_PIL(pil);
  // L, LA, RGB, RGBA, P, I;16 (clipped), Adam7-interlaced 8-bit RGB and
  // 16-bit RGBA, 16-bit RGB and LA, 1- and 2-bit grey, a 4-bit palette with
  // indices past its PLTE, tRNS on a palette and on grey.
  ExpectDecodesLikePil(pil, "png_", 15);
}

// PIL's L of pure red, green and blue is 76, 150 and 29: the 601-2 weights
// in 16-bit fixed point with a half added. Grey stays grey.
TEST(ImageCodec, LumaRoundsAsPil) {
  const std::vector<uint8_t> pixels = {255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 7, 7, 7};
  const std::vector<uint8_t> png = test::RgbPngBytes(1, 5, pixels);
  StatusOr<Image> grey = DecodeImage(png.data(), png.size(), "colours.png", ColorMode::kGray);
  ASSERT_TRUE(grey.ok()) << grey.status().ToString();
  EXPECT_EQ(grey->pixels, (std::vector<uint8_t>{76, 150, 29, 255, 7}));
  StatusOr<Image> rgb = DecodeImage(png.data(), png.size(), "colours.png", ColorMode::kRgb);
  ASSERT_TRUE(rgb.ok()) << rgb.status().ToString();
  EXPECT_EQ(rgb->pixels, pixels);
}

// The signature decides, not the name: a PNG named .jpg reads as a PNG.
TEST(ImageCodec, FormatComesFromTheSignature) {
  TempDir dir;
  const std::vector<uint8_t> pixels = test::Gradient(3, 4, 3);
  test::WriteBytes(dir.Path("really_a_png.jpg"), test::RgbPngBytes(3, 4, pixels));
  StatusOr<Image> image = DecodeImageFile(dir.Path("really_a_png.jpg"), ColorMode::kRgb);
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  EXPECT_EQ(image->pixels, pixels);
}

// A grey JPEG read as RGB repeats the grey; as L it is the stored grey.
TEST(ImageCodec, GreyJpegExpandsToRgb) {
  const std::vector<uint8_t> jpeg =
      test::JpegBytes(16, 24, 1, JCS_GRAYSCALE, test::Gradient(16, 24, 1));
  StatusOr<Image> grey = DecodeImage(jpeg.data(), jpeg.size(), "g.jpg", ColorMode::kGray);
  StatusOr<Image> rgb = DecodeImage(jpeg.data(), jpeg.size(), "g.jpg", ColorMode::kRgb);
  ASSERT_TRUE(grey.ok() && rgb.ok());
  ASSERT_EQ(rgb->pixels.size(), grey->pixels.size() * 3);
  for (size_t i = 0; i < grey->pixels.size(); ++i) {
    ASSERT_EQ(rgb->pixels[i * 3], grey->pixels[i]);
    ASSERT_EQ(rgb->pixels[i * 3 + 2], grey->pixels[i]);
  }
}

// Checks `result` is an error of `code` whose message starts with `name`
// and contains `text`.
void ExpectError(const StatusOr<Image>& result, StatusCode code, const std::string& name,
                 const std::string& text) {
  ASSERT_FALSE(result.ok()) << name << " decoded";
  EXPECT_EQ(result.status().code(), code) << result.status().ToString();
  EXPECT_EQ(result.status().message().rfind(name + ": ", 0), 0u) << result.status().ToString();
  EXPECT_NE(result.status().message().find(text), std::string::npos) << result.status().ToString();
}

StatusOr<Image> DecodeBytes(const std::vector<uint8_t>& bytes, const std::string& name) {
  return DecodeImage(bytes.data(), bytes.size(), name, ColorMode::kRgb);
}

// Where JPEG marker FF `code` starts in `jpeg`.
std::vector<uint8_t>::iterator FindMarker(std::vector<uint8_t>& jpeg, uint8_t code) {
  const uint8_t marker[] = {0xFF, code};
  return std::search(jpeg.begin(), jpeg.end(), std::begin(marker), std::end(marker));
}

std::vector<uint8_t> Prefix(const std::vector<uint8_t>& bytes, size_t n) {
  return std::vector<uint8_t>(bytes.begin(), bytes.begin() + n);
}

// libjpeg fills what is missing with grey and only warns; a cut file must
// fail instead (as in PIL), at any cut: mid-scan, before the end marker
// only, or in a progressive file, whose scans libjpeg buffers up front.
TEST(ImageCodec, TruncatedJpegIsAnError) {
  const std::vector<uint8_t> pixels = test::Gradient(48, 64, 3);
  for (bool progressive : {false, true}) {
    SCOPED_TRACE(progressive ? "progressive" : "baseline");
    const std::vector<uint8_t> jpeg = test::JpegBytes(48, 64, 3, JCS_RGB, pixels, progressive);
    ASSERT_TRUE(DecodeBytes(jpeg, "whole.jpg").ok());  // the uncut file is fine
    ExpectError(DecodeBytes(Prefix(jpeg, jpeg.size() / 2), "half.jpg"), StatusCode::kDataLoss,
                "half.jpg", "truncated JPEG");
    ExpectError(DecodeBytes(Prefix(jpeg, jpeg.size() - 2), "no_eoi.jpg"), StatusCode::kDataLoss,
                "no_eoi.jpg", "truncated JPEG");
  }
  ExpectError(DecodeBytes({0xFF, 0xD8, 0xFF}, "signature.jpg"), StatusCode::kDataLoss,
              "signature.jpg", "truncated JPEG");
}

// The image data cut in half fails; a PNG missing only its IEND decodes,
// as in PIL, since every row was there.
TEST(ImageCodec, TruncatedPngIsAnError) {
  const std::vector<uint8_t> pixels = test::Gradient(40, 50, 3);
  const std::vector<uint8_t> png = test::RgbPngBytes(40, 50, pixels);
  ExpectError(DecodeBytes(Prefix(png, png.size() / 2), "half.png"), StatusCode::kDataLoss,
              "half.png", "truncated PNG");
  ExpectError(DecodeBytes(Prefix(png, 20), "header.png"), StatusCode::kDataLoss, "header.png",
              "truncated PNG");
  StatusOr<Image> no_iend = DecodeBytes(Prefix(png, png.size() - 12), "no_iend.png");
  ASSERT_TRUE(no_iend.ok()) << no_iend.status().ToString();
  EXPECT_EQ(no_iend->pixels, pixels);
}

TEST(ImageCodec, CorruptDataIsAnError) {
  // A flipped byte in the PNG's compressed image data: zlib or the chunk's CRC
  // (whichever libpng meets first) refuses it.
  std::vector<uint8_t> png = test::RgbPngBytes(8, 8, test::Gradient(8, 8, 3));
  png[33 + 8 + 2] ^= 0x40;  // past the signature and IHDR, inside IDAT's data
  ExpectError(DecodeBytes(png, "flipped.png"), StatusCode::kDataLoss, "flipped.png", "corrupt PNG");

  // A JPEG whose Huffman table claims more codes than there can be.
  std::vector<uint8_t> jpeg = test::JpegBytes(16, 16, 3, JCS_RGB, test::Gradient(16, 16, 3));
  const auto dht = FindMarker(jpeg, 0xC4);
  ASSERT_NE(dht, jpeg.end());
  std::fill_n(dht + 5, 16, 0xFF);  // past marker, length and table id: the 16 counts
  ExpectError(DecodeBytes(jpeg, "bad_table.jpg"), StatusCode::kDataLoss, "bad_table.jpg",
              "corrupt JPEG");
}

TEST(ImageCodec, NotAnImageIsRefused) {
  const std::string text = "hello, not an image";
  ExpectError(DecodeBytes(std::vector<uint8_t>(text.begin(), text.end()), "notes.jpg"),
              StatusCode::kInvalidArgument, "notes.jpg", "not a JPEG or PNG");
  ExpectError(DecodeBytes({}, "empty.png"), StatusCode::kDataLoss, "empty.png", "empty");

  TempDir dir;
  test::WriteBytes(dir.Path("empty.jpg"), {});
  ExpectError(DecodeImageFile(dir.Path("empty.jpg"), ColorMode::kRgb), StatusCode::kDataLoss,
              dir.Path("empty.jpg"), "empty");
  ExpectError(DecodeImageFile(dir.Path("missing.jpg"), ColorMode::kRgb), StatusCode::kNotFound,
              dir.Path("missing.jpg"), "no such file");
  ExpectError(DecodeImageFile(dir.path(), ColorMode::kRgb), StatusCode::kInvalidArgument,
              dir.path(), "is a directory");
}

// A header that declares more than kMaxImagePixels is refused from the
// header: the message names the file and the size, where allocating first
// would have failed on the missing data (or run out of memory) instead.
TEST(ImageCodec, HugeDeclaredSizeIsRefusedBeforeDecoding) {
  // One row of 8 pixels as data, 100000 x 100000 declared.
  const std::vector<uint8_t> row(1 + 8 * 3, 0);
  ExpectError(DecodeBytes(test::PngBytes(100000, 100000, 8, 2, row), "huge.png"),
              StatusCode::kInvalidArgument, "huge.png",
              "declares an image of 100000x100000 pixels (width x height), more than the limit "
              "of 67108864 pixels");
  // Just past the limit: 8193 x 8192 = 2^26 + 8192.
  ExpectError(DecodeBytes(test::PngBytes(8193, 8192, 8, 2, row), "over.png"),
              StatusCode::kInvalidArgument, "over.png", "8193x8192");

  // A real JPEG whose frame header is patched to 60000 x 50000.
  std::vector<uint8_t> jpeg = test::JpegBytes(16, 16, 3, JCS_RGB, test::Gradient(16, 16, 3));
  const auto sof = FindMarker(jpeg, 0xC0);
  ASSERT_NE(sof, jpeg.end());
  // FF C0, length (2), precision (1), height (2), width (2).
  const uint8_t dims[] = {50000 >> 8, 50000 & 0xFF, 60000 >> 8, 60000 & 0xFF};
  std::copy(std::begin(dims), std::end(dims), sof + 5);
  ExpectError(DecodeBytes(jpeg, "huge.jpg"), StatusCode::kInvalidArgument, "huge.jpg",
              "declares an image of 60000x50000 pixels");
}

// A side of 0: libpng and libjpeg refuse the header themselves; the check
// behind them refuses it too.
TEST(ImageCodec, ZeroSizeIsRefused) {
  ExpectError(DecodeBytes(test::PngBytes(0, 4, 8, 2, {0}), "zero.png"), StatusCode::kDataLoss,
              "zero.png", "corrupt PNG");
  std::vector<uint8_t> jpeg = test::JpegBytes(16, 16, 3, JCS_RGB, test::Gradient(16, 16, 3));
  const auto sof = FindMarker(jpeg, 0xC0);
  ASSERT_NE(sof, jpeg.end());
  sof[5] = sof[6] = 0;  // height 0
  ExpectError(DecodeBytes(jpeg, "zero.jpg"), StatusCode::kDataLoss, "zero.jpg", "corrupt JPEG");

  const Status zero = CheckImageDimensions("z.png", 0, 5);
  EXPECT_EQ(zero.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(zero.message(), "z.png: declares an image of 5x0 pixels (width x height)");
  EXPECT_TRUE(CheckImageDimensions("ok.png", 8192, 8192).ok());  // exactly the limit
  EXPECT_FALSE(CheckImageDimensions("n.png", 1, kMaxImagePixels + 1).ok());
}

// A caller's lower limit (the fuzz target's) is checked from the header
// like kMaxImagePixels, and a higher one is held to kMaxImagePixels.
TEST(ImageCodec, CallersPixelLimitIsCheckedFromTheHeader) {
  const std::vector<uint8_t> png = test::RgbPngBytes(16, 16, test::Gradient(16, 16, 3));
  const std::vector<uint8_t> jpeg = test::JpegBytes(16, 16, 3, JCS_RGB, test::Gradient(16, 16, 3));
  for (const auto& [bytes, name] : {std::pair{png, "small.png"}, std::pair{jpeg, "small.jpg"}}) {
    ExpectError(DecodeImage(bytes.data(), bytes.size(), name, ColorMode::kRgb, 255),
                StatusCode::kInvalidArgument, name,
                "declares an image of 16x16 pixels (width x height), more than the limit of 255 "
                "pixels");
    EXPECT_TRUE(DecodeImage(bytes.data(), bytes.size(), name, ColorMode::kGray, 256).ok());
  }
  const std::vector<uint8_t> row(1 + 8 * 3, 0);
  const std::vector<uint8_t> over = test::PngBytes(8193, 8192, 8, 2, row);
  ExpectError(
      DecodeImage(over.data(), over.size(), "over.png", ColorMode::kRgb, kMaxImagePixels * 4),
      StatusCode::kInvalidArgument, "over.png", "more than the limit of 67108864 pixels");
}

TEST(ImageCodec, CmykJpegIsRefused) {
  const std::vector<uint8_t> jpeg = test::JpegBytes(8, 8, 4, JCS_CMYK, test::Gradient(8, 8, 4));
  ExpectError(DecodeBytes(jpeg, "print.jpg"), StatusCode::kUnimplemented, "print.jpg",
              "JPEG in colour space CMYK (4 components) is not supported");
}

}  // namespace
}  // namespace mixq
