#include "common/image_transform.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <vector>

namespace mixq {
namespace {

// Weights are fixed point with this many fractional bits: 8-bit samples
// times weights whose magnitudes sum to at most about 1.2 (the cubic's
// negative lobes) stay well inside an int32_t.
constexpr int kWeightBits = 22;
constexpr double kWeightOne = double{1 << kWeightBits};

double Triangle(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

// Keys' cubic convolution kernel with a = -0.5 (Catmull-Rom).
double Cubic(double x) {
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

// For each output sample of a pass of `in` -> `out` samples, the window of
// input samples it reads (first, count) and their fixed-point weights
// (taps_per_output slots per output sample, the first `count` used).
struct FilterBank {
  int64_t taps_per_output = 0;
  std::vector<int64_t> first, count;
  std::vector<int32_t> weights;
};

FilterBank MakeFilterBank(int64_t in, int64_t out, Interpolation how) {
  const bool cubic = how == Interpolation::kBicubic;
  const double radius = cubic ? 2.0 : 1.0;
  const double scale = static_cast<double>(in) / static_cast<double>(out);
  // Shrinking stretches the filter over every input sample an output covers.
  const double stretch = std::max(scale, 1.0);
  const double support = radius * stretch;
  // Multiplying by the reciprocal; dividing gave the same fixed-point weights
  // for every size pair up to 700 x 700, so the choice does not show.
  const double inverse_stretch = 1.0 / stretch;

  FilterBank bank;
  bank.taps_per_output = static_cast<int64_t>(std::ceil(support)) * 2 + 1;
  bank.first.resize(out);
  bank.count.resize(out);
  bank.weights.assign(out * bank.taps_per_output, 0);
  std::vector<double> window(bank.taps_per_output);
  for (int64_t i = 0; i < out; ++i) {
    const double center = (static_cast<double>(i) + 0.5) * scale;
    // Truncation, not floor: center - support + 0.5 can be negative, and
    // is then clamped to 0 either way.
    const int64_t lo = std::max<int64_t>(0, static_cast<int64_t>(center - support + 0.5));
    const int64_t hi = std::min<int64_t>(in, static_cast<int64_t>(center + support + 0.5));
    double sum = 0.0;
    for (int64_t j = lo; j < hi; ++j) {
      const double x = (static_cast<double>(j) - center + 0.5) * inverse_stretch;
      window[j - lo] = cubic ? Cubic(x) : Triangle(x);
      sum += window[j - lo];
    }
    bank.first[i] = lo;
    bank.count[i] = hi - lo;
    int32_t* weights = &bank.weights[i * bank.taps_per_output];
    for (int64_t j = lo; j < hi; ++j) {
      const double w = sum != 0.0 ? window[j - lo] / sum : window[j - lo];
      // Half away from zero, as PIL rounds its weights.
      const double scaled = w * kWeightOne;
      weights[j - lo] = static_cast<int32_t>(scaled < 0 ? scaled - 0.5 : scaled + 0.5);
    }
  }
  return bank;
}

uint8_t ClipToByte(int32_t sum) {
  if (sum <= 0) return 0;
  if (sum >= (256 << kWeightBits)) return 255;
  return static_cast<uint8_t>(sum >> kWeightBits);
}

// The horizontal pass: each row of `src` resized to `width` samples per
// channel.
Image ResizeWidth(const Image& src, int64_t width, Interpolation how) {
  const FilterBank bank = MakeFilterBank(src.width, width, how);
  const int64_t c = src.channels;
  Image dst{src.height, width, c, std::vector<uint8_t>(src.height * width * c)};
  for (int64_t y = 0; y < src.height; ++y) {
    const uint8_t* in = &src.pixels[y * src.width * c];
    uint8_t* out = &dst.pixels[y * width * c];
    for (int64_t x = 0; x < width; ++x) {
      const int32_t* weights = &bank.weights[x * bank.taps_per_output];
      for (int64_t ch = 0; ch < c; ++ch) {
        const uint8_t* sample = in + bank.first[x] * c + ch;
        int32_t sum = 1 << (kWeightBits - 1);  // one half: the shift rounds to nearest
        for (int64_t t = 0; t < bank.count[x]; ++t) sum += weights[t] * sample[t * c];
        out[x * c + ch] = ClipToByte(sum);
      }
    }
  }
  return dst;
}

// The vertical pass, a whole output row at a time so that reads run along
// the input's rows: output row y is the weighted sum of rows first..+count.
Image ResizeHeight(const Image& src, int64_t height, Interpolation how) {
  const FilterBank bank = MakeFilterBank(src.height, height, how);
  const int64_t row = src.width * src.channels;
  Image dst{height, src.width, src.channels, std::vector<uint8_t>(height * row)};
  std::vector<int32_t> sums(row);
  for (int64_t y = 0; y < height; ++y) {
    std::fill(sums.begin(), sums.end(), 1 << (kWeightBits - 1));
    const int32_t* weights = &bank.weights[y * bank.taps_per_output];
    for (int64_t t = 0; t < bank.count[y]; ++t) {
      const uint8_t* in = &src.pixels[(bank.first[y] + t) * row];
      for (int64_t k = 0; k < row; ++k) sums[k] += weights[t] * in[k];
    }
    for (int64_t k = 0; k < row; ++k) dst.pixels[y * row + k] = ClipToByte(sums[k]);
  }
  return dst;
}

// The input sample each output sample of an axis copies. PIL steps through
// the input by adding in / out to a running position that starts at half a
// step, and truncates it; the rounding errors of that running sum decide
// ties such as (3 + 0.5) * 2 / 7 = 1, which PIL maps to sample 0.
std::vector<int64_t> NearestSources(int64_t in, int64_t out) {
  const double step = static_cast<double>(in) / static_cast<double>(out);
  std::vector<int64_t> sources(out);
  double position = step * 0.5;
  for (int64_t i = 0; i < out; ++i, position += step) {
    sources[i] = std::min(in - 1, static_cast<int64_t>(position));
  }
  return sources;
}

Image ResizeNearest(const Image& src, int64_t height, int64_t width) {
  const std::vector<int64_t> rows = NearestSources(src.height, height);
  const std::vector<int64_t> columns = NearestSources(src.width, width);
  Image dst{height, width, src.channels, {}};
  dst.pixels.resize(height * width * src.channels);
  const int64_t c = src.channels;
  for (int64_t y = 0; y < height; ++y) {
    const uint8_t* row = &src.pixels[rows[y] * src.width * c];
    uint8_t* out = &dst.pixels[y * width * c];
    for (int64_t x = 0; x < width; ++x) std::copy_n(row + columns[x] * c, c, out + x * c);
  }
  return dst;
}

}  // namespace

Image ResizeImage(const Image& src, int64_t height, int64_t width, Interpolation how) {
  assert(height > 0 && width > 0 && src.height > 0 && src.width > 0);
  if (how == Interpolation::kNearest) return ResizeNearest(src, height, width);
  // Horizontal first, through an 8-bit image, as PIL does: the order and
  // the intermediate rounding both show in the last bit.
  if (width == src.width) return height == src.height ? src : ResizeHeight(src, height, how);
  Image wide = ResizeWidth(src, width, how);
  return height == src.height ? wide : ResizeHeight(wide, height, how);
}

std::pair<int64_t, int64_t> ShorterSideSize(int64_t height, int64_t width, int64_t size) {
  assert(height > 0 && width > 0 && size > 0);
  const bool wide = width > height;
  const int64_t shorter = wide ? height : width;
  const int64_t longer = wide ? width : height;
  // Python's size * long / short is the correctly rounded quotient of two
  // integers; below 2^53 the doubles are exact and IEEE division rounds the
  // same way.
  const auto other =
      static_cast<int64_t>(static_cast<double>(size * longer) / static_cast<double>(shorter));
  return wide ? std::pair{size, other} : std::pair{other, size};
}

namespace {

// Python's int(round(d / 2.0)) for d >= 0: an exact half goes to the even
// neighbour.
int64_t HalfRoundedToEven(int64_t d) {
  const int64_t half = d / 2;
  if (d % 2 == 0) return half;
  return half % 2 == 0 ? half : half + 1;
}

}  // namespace

Image CenterCrop(const Image& src, int64_t height, int64_t width) {
  assert(height > 0 && width > 0);
  // Where the crop is larger, the image sits in a zero canvas with
  // (d // 2) before it; then the crop's top is 0 on that axis.
  const int64_t pad_top = height > src.height ? (height - src.height) / 2 : 0;
  const int64_t pad_left = width > src.width ? (width - src.width) / 2 : 0;
  const int64_t top = height > src.height ? 0 : HalfRoundedToEven(src.height - height);
  const int64_t left = width > src.width ? 0 : HalfRoundedToEven(src.width - width);
  const int64_t c = src.channels;
  Image dst{height, width, c, std::vector<uint8_t>(height * width * c, 0)};
  // Output row y shows source row top + y - pad_top, where that exists.
  for (int64_t y = 0; y < height; ++y) {
    const int64_t sy = top + y - pad_top;
    if (sy < 0 || sy >= src.height) continue;
    const int64_t x_begin = std::max<int64_t>(0, pad_left - left);
    const int64_t x_end = std::min<int64_t>(width, src.width + pad_left - left);
    if (x_begin >= x_end) continue;
    const uint8_t* from = &src.pixels[(sy * src.width + (left + x_begin - pad_left)) * c];
    std::copy_n(from, (x_end - x_begin) * c, &dst.pixels[(y * width + x_begin) * c]);
  }
  return dst;
}

}  // namespace mixq
