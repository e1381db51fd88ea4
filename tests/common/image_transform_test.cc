#include "common/image_transform.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "tests/common/image_files.h"

namespace mixq {
namespace {

// image_oracle.py's sources (NAME.raw), by name.
std::map<std::string, Image> Sources(const test::PilOracle& pil) {
  std::map<std::string, Image> sources;
  for (const auto& line : pil.Lines("source")) {
    sources[line.at(0)] =
        Image{std::stoll(line.at(1)), std::stoll(line.at(2)), std::stoll(line.at(3)),
              test::ReadAllBytes(pil.Path(line.at(0) + ".raw"))};
  }
  return sources;
}

int MaxDifference(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  int largest = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    largest = std::max(largest, std::abs(a[i] - b[i]));
  }
  return largest;
}

// Every resize of image_oracle.py (RGB and grey, down by non-integer
// factors, one axis only, up, down one way and up the other, and 224 x 300
// to 256 x 342, Resize(256)'s size) against PIL's Image.resize, with all
// three filters: equal bit for bit.
TEST(ImageTransform, ResizeMatchesPilExactly) {
  const test::PilOracle& pil = test::PilOracle::Get();
  MIXQ_REQUIRE_PIL(pil);
  const std::map<std::string, Image> sources = Sources(pil);
  const std::map<std::string, Interpolation> filters = {{"nearest", Interpolation::kNearest},
                                                        {"bilinear", Interpolation::kBilinear},
                                                        {"bicubic", Interpolation::kBicubic}};
  size_t cases = 0;
  for (const auto& line : pil.Lines("resize")) {
    SCOPED_TRACE(line.at(0));
    ++cases;
    const Image& src = sources.at(line.at(1));
    const Image out =
        ResizeImage(src, std::stoll(line.at(3)), std::stoll(line.at(4)), filters.at(line.at(2)));
    EXPECT_EQ(out.height, std::stoll(line.at(3)));
    EXPECT_EQ(out.width, std::stoll(line.at(4)));
    EXPECT_EQ(out.channels, src.channels);
    const std::vector<uint8_t> want = test::ReadAllBytes(pil.Path(line.at(0) + ".out"));
    ASSERT_EQ(out.pixels.size(), want.size());
    EXPECT_TRUE(out.pixels == want) << "differs by up to " << MaxDifference(out.pixels, want);
  }
  EXPECT_EQ(cases, 27u);  // 2 sources x 4 sizes x 3 filters, and 256 x 342 x 3 filters
}

// CenterCrop against torchvision's rule written in Python with PIL (the
// script's center_crop): odd excesses, halves rounded to even, padding on
// one or both axes.
TEST(ImageTransform, CenterCropMatchesTorchvision) {
  const test::PilOracle& pil = test::PilOracle::Get();
  MIXQ_REQUIRE_PIL(pil);
  const std::map<std::string, Image> sources = Sources(pil);
  size_t cases = 0;
  for (const auto& line : pil.Lines("crop")) {
    SCOPED_TRACE(line.at(0));
    ++cases;
    const Image out =
        CenterCrop(sources.at(line.at(1)), std::stoll(line.at(2)), std::stoll(line.at(3)));
    EXPECT_EQ(out.pixels, test::ReadAllBytes(pil.Path(line.at(0) + ".out")));
  }
  EXPECT_EQ(cases, 9u);
}

Image Row(const std::vector<uint8_t>& values) {
  return Image{1, static_cast<int64_t>(values.size()), 1, values};
}

// Worked by hand. Bilinear 3 -> 5: output 1 is centred at 1.5 * 3 / 5 = 0.9
// and weighs input 0 by 0.6, input 1 by 0.4: 40. Bicubic's output 1 weighs
// inputs 0, 1, 2 by 0.696, 0.424 and -0.048 (sum 1.072): 32.8 / 1.072 =
// 30.6, so 31; PIL gives the same. 2 -> 1 averages: 127.5 rounds up.
TEST(ImageTransform, ResizeWorkedExamples) {
  EXPECT_EQ(ResizeImage(Row({0, 100, 200}), 1, 5, Interpolation::kBilinear).pixels,
            (std::vector<uint8_t>{0, 40, 100, 160, 200}));
  EXPECT_EQ(ResizeImage(Row({0, 100, 200}), 1, 5, Interpolation::kBicubic).pixels,
            (std::vector<uint8_t>{0, 31, 100, 169, 208}));
  EXPECT_EQ(ResizeImage(Row({0, 255}), 1, 1, Interpolation::kBilinear).pixels,
            (std::vector<uint8_t>{128}));
  // Shrinking widens the filter to radius 2: output 0 (centre 1) weighs
  // inputs 0, 1, 2 by 0.75, 0.75, 0.25, so 200 * 0.25 / 1.75 = 28.6, not the
  // 0 an unwidened filter (inputs 0 and 1 only) would give. PIL: 29, 171.
  EXPECT_EQ(ResizeImage(Row({0, 0, 200, 200}), 1, 2, Interpolation::kBilinear).pixels,
            (std::vector<uint8_t>{29, 171}));
}

// (3 + 0.5) * 2 / 7 is exactly 1, but PIL's running sum of 2/7 steps lands
// just below it: output 3 of 2 -> 7 copies input 0.
TEST(ImageTransform, NearestTiesFollowPil) {
  EXPECT_EQ(ResizeImage(Row({10, 20}), 1, 7, Interpolation::kNearest).pixels,
            (std::vector<uint8_t>{10, 10, 10, 10, 20, 20, 20}));
  const Image column{3, 1, 1, {1, 2, 3}};
  EXPECT_EQ(ResizeImage(column, 2, 1, Interpolation::kNearest).pixels,
            (std::vector<uint8_t>{1, 3}));
}

// Sizes torchvision 0.14.1's Resize(size) gave for these (h, w).
TEST(ImageTransform, ShorterSideSizeMatchesTorchvision) {
  const std::vector<std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t>> cases = {
      {375, 500, 256, 256, 341}, {500, 375, 256, 341, 256},   {224, 224, 256, 256, 256},
      {333, 500, 224, 224, 336}, {100, 301, 224, 224, 674},   {301, 100, 224, 674, 224},
      {1, 1000, 7, 7, 7000},     {4000, 3000, 256, 341, 256}, {97, 131, 32, 32, 43},
      {480, 640, 299, 299, 398}, {17, 17, 5, 5, 5},           {3, 7, 224, 224, 522},
  };
  for (const auto& [h, w, size, want_h, want_w] : cases) {
    EXPECT_EQ(ShorterSideSize(h, w, size), std::make_pair(want_h, want_w))
        << h << "x" << w << " to " << size;
  }
}

// Python's round(): an excess of 1 leaves 0 before, of 3 leaves 2 (1.5 to
// even), of 5 leaves 2 (2.5 to even). A larger crop pads with zeros, the
// smaller half before.
TEST(ImageTransform, CenterCropRoundsHalfToEvenAndPads) {
  EXPECT_EQ(CenterCrop(Row({0, 1, 2, 3, 4}), 1, 4).pixels, (std::vector<uint8_t>{0, 1, 2, 3}));
  EXPECT_EQ(CenterCrop(Row({0, 1, 2, 3, 4, 5}), 1, 3).pixels, (std::vector<uint8_t>{2, 3, 4}));
  EXPECT_EQ(CenterCrop(Row({0, 1, 2, 3, 4, 5, 6}), 1, 2).pixels, (std::vector<uint8_t>{2, 3}));
  const Image padded = CenterCrop(Row({7, 8}), 3, 5);
  EXPECT_EQ(padded.pixels, (std::vector<uint8_t>{0, 0, 0, 0, 0,  //
                                                 0, 7, 8, 0, 0,  //
                                                 0, 0, 0, 0, 0}));
  const Image rgb{1, 1, 3, {1, 2, 3}};
  EXPECT_EQ(CenterCrop(rgb, 1, 2).pixels, (std::vector<uint8_t>{1, 2, 3, 0, 0, 0}));
}

}  // namespace
}  // namespace mixq
